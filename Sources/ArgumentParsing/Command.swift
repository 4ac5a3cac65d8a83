/// The declared shape of a command: its options, arguments, subcommands and help text.
///
/// Declarations are plain values so that help can be rendered, and parsing tested, without
/// running anything.
public struct Command: Sendable {
    public var name: String
    /// One line, shown in the parent's command list and at the top of the help.
    public var abstract: String
    /// Paragraphs shown after the usage line.
    public var discussion: String?
    public var options: [Option]
    public var arguments: [Argument]
    public var subcommands: [Command]
    public var examples: [Example]
    /// Set when the command accepts `-- WORDS…`, with the name shown in the usage line.
    public var trailingWordsName: String?

    public init(
        name: String,
        abstract: String,
        discussion: String? = nil,
        options: [Option] = [],
        arguments: [Argument] = [],
        subcommands: [Command] = [],
        examples: [Example] = [],
        trailingWordsName: String? = nil
    ) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.options = options
        self.arguments = arguments
        self.subcommands = subcommands
        self.examples = examples
        self.trailingWordsName = trailingWordsName
    }

    func subcommand(named name: String) -> Command? {
        subcommands.first { $0.name == name }
    }
}

/// A named option: a flag (`--force`) or one that takes a value (`--json FILE`).
public struct Option: Sendable {
    public var long: String
    public var short: Character?
    /// The placeholder for the value, or nil for a flag.
    public var valueName: String?
    public var help: String
    /// Whether the option may be given more than once.
    public var isRepeatable: Bool

    public init(
        _ long: String, short: Character? = nil, value valueName: String? = nil, help: String,
        repeatable: Bool = false
    ) {
        self.long = long
        self.short = short
        self.valueName = valueName
        self.help = help
        self.isRepeatable = repeatable
    }

    public var isFlag: Bool { valueName == nil }
}

/// A positional argument.
public struct Argument: Sendable {
    public var name: String
    public var help: String
    public var isOptional: Bool
    /// Whether it takes every remaining positional word.
    public var isRepeating: Bool

    public init(_ name: String, help: String, optional: Bool = false, repeating: Bool = false) {
        self.name = name
        self.help = help
        self.isOptional = optional
        self.isRepeating = repeating
    }
}

/// A command line shown in the help, with what it does.
public struct Example: Sendable {
    public var commandLine: String
    public var explanation: String

    public init(_ commandLine: String, _ explanation: String) {
        self.commandLine = commandLine
        self.explanation = explanation
    }
}
