import ArgumentParsing
import Testing

@Suite("command-line parsing")
struct ParserTests {
    static let root = Command(
        name: "tool", abstract: "A tool.",
        subcommands: [
            Command(
                name: "run", abstract: "Run.",
                options: [
                    Option("image", value: "NAME", help: "Image."),
                    Option("force", short: "f", help: "Force."),
                    Option("mount", value: "DIR", help: "Extra mount.", repeatable: true),
                ],
                arguments: [Argument("project", help: "Project.", optional: true)],
                trailingWordsName: "CMD"),
            Command(
                name: "put", abstract: "Put.",
                arguments: [Argument("paths", help: "Paths.", repeating: true)]),
        ])

    func run(_ words: [String]) throws -> ParsedArguments {
        guard case .run(_, let parsed) = try Self.root.parse(words) else {
            Issue.record("expected a command to run")
            return ParsedArguments()
        }
        return parsed
    }

    @Test("reads values separated or joined with '=', flags, short names and repeats")
    func readsOptions() throws {
        let parsed = try run([
            "run", "--image=alpine", "-f", "--mount", "/a", "--mount", "/b", "proj",
        ])
        #expect(parsed.value("image") == "alpine")
        #expect(parsed.isSet("force"))
        #expect(parsed.allValues("mount") == ["/a", "/b"])
        #expect(parsed.positionals == ["proj"])
    }

    @Test("everything after '--' is kept verbatim, options included")
    func trailingWords() throws {
        let parsed = try run(["run", "--", "bash", "-c", "--help"])
        #expect(parsed.trailingWords == ["bash", "-c", "--help"])
        #expect(!parsed.isSet("force"))
    }

    @Test("help is found wherever it is asked for, for the deepest command named")
    func help() throws {
        #expect(
            try Self.root.parse(["run", "--image", "x", "--help"]) == .help(path: ["tool", "run"]))
        #expect(try Self.root.parse(["-h"]) == .help(path: ["tool"]))
        #expect(try Self.root.parse(["--version"]) == .version)
    }

    @Test(
        "mistakes are usage errors that name the problem",
        arguments: [
            (["run", "--image"], "option '--image' needs a value (NAME)"),
            (["run", "--force=yes"], "option '--force' takes no value"),
            (["run", "--image", "a", "--image", "b"], "option '--image' is given more than once"),
            (["run", "a", "b"], "unexpected argument 'b'"),
            (["put"], "missing argument paths"),
            (["rn"], "unknown command 'rn' for 'tool'; did you mean 'run'?"),
            (["zzzzzz"], "unknown command 'zzzzzz' for 'tool'"),
            (["put", "--", "x"], "'tool put' takes no '--' words"),
            (["run", "--"], "'--' must be followed by CMD"),
            (["run", "--version"], "unknown option '--version' for 'tool run'"),
        ])
    func mistakes(words: [String], message: String) {
        #expect(
            throws: UsageError(
                message,
                path: words.first == "put" || words.first == "run" ? ["tool", words[0]] : ["tool"])
        ) {
            try Self.root.parse(words)
        }
    }

    @Test("a repeating argument takes every word")
    func repeating() throws {
        #expect(try run(["put", "a", "b", "c"]).positionals == ["a", "b", "c"])
    }

    @Test("help lists options, arguments and examples within 80 columns")
    func helpLayout() {
        let text = HelpRenderer.render(
            Self.root.command(at: ["tool", "run"])!, path: ["tool", "run"])
        #expect(
            text.contains(
                "USAGE: tool run [--image NAME] [--force] [--mount DIR …] [<project>] [-- CMD …]"))
        #expect(text.contains("  -f, --force"))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }
}
