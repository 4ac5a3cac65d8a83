import ClaudeEnvCLI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

exit(ClaudeEnv.run(Array(CommandLine.arguments.dropFirst())))
