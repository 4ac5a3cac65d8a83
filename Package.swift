// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "claude-env",
    products: [
        .executable(name: "claude-env", targets: ["claude-env"]),
        .executable(name: "crypto-bench", targets: ["CryptoBench"]),
    ],
    targets: [
        // C libraries, reached only through the thin wrapper modules below.
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CFuse",
            pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]
        ),

        // Wrappers that own the C handles.
        .target(name: "Crypto", dependencies: ["CCrypto"]),
        .target(name: "FuseBinding", dependencies: ["CFuse"]),
        .target(name: "CSystem"),
        .target(name: "Platform", dependencies: ["CSystem"]),

        // The vault file format.
        .target(name: "VaultStore", dependencies: ["Crypto", "CSystem"]),
        .target(name: "VaultTree", dependencies: ["VaultStore"]),
        .target(name: "VaultFS", dependencies: ["VaultTree", "VaultStore", "Crypto"]),
        .target(
            name: "VaultMount", dependencies: ["Crypto", "FuseBinding", "Platform", "VaultFS"]),

        // Container engines, the image, and the project a container is for.
        .target(name: "Container", dependencies: ["Crypto", "Platform"]),

        // The command line.
        .target(name: "ArgumentParsing"),
        .target(
            name: "ClaudeEnvCLI",
            dependencies: [
                "ArgumentParsing", "BenchmarkSuite", "Container", "Crypto", "FuseBinding",
                "Platform",
                "VaultFS", "VaultMount", "VaultStore",
            ]
        ),
        .executableTarget(name: "claude-env", dependencies: ["ClaudeEnvCLI"]),

        // Benchmarks: a library the CLI's `bench` command shares, and standalone programs.
        .target(
            name: "BenchmarkSuite",
            dependencies: ["ArgumentParsing", "Crypto", "Platform", "VaultFS", "VaultStore"],
            path: "Benchmarks/BenchmarkSuite"
        ),
        .executableTarget(
            name: "CryptoBench",
            dependencies: ["BenchmarkSuite"],
            path: "Benchmarks/CryptoBench"
        ),

        // Every parser of vault bytes, for libFuzzer (Fuzz/run.sh) and for replaying inputs.
        .executableTarget(
            name: "vault-format-fuzz",
            dependencies: ["Crypto", "VaultStore", "VaultTree", "VaultFS"],
            path: "Fuzz/VaultFormatFuzz"
        ),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
        .testTarget(name: "ArgumentParsingTests", dependencies: ["ArgumentParsing"]),
        .testTarget(name: "PlatformTests", dependencies: ["Platform"]),
        .testTarget(name: "ContainerTests", dependencies: ["Container"], exclude: ["Golden"]),
        .testTarget(name: "VaultStoreTests", dependencies: ["VaultStore", "Crypto"]),
        .testTarget(
            name: "VaultTreeTests",
            dependencies: ["VaultTree", "VaultStore", "Crypto", "TestSupport"]),
        .testTarget(
            name: "VaultFSTests",
            dependencies: ["VaultFS", "VaultStore", "Crypto", "TestSupport"],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "ClaudeEnvCLITests",
            dependencies: [
                "ClaudeEnvCLI", "BenchmarkSuite", "Crypto", "Platform", "VaultMount", "VaultStore",
            ],
            exclude: ["Golden"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
