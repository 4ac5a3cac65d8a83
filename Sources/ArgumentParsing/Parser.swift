/// What a command line asks for.
public enum Invocation: Sendable, Equatable {
    /// Show the help of the command at `path` (the program name first).
    case help(path: [String])
    /// Show the program's version.
    case version
    /// Run the command at `path` with these values.
    case run(path: [String], ParsedArguments)
}

/// The values given on a command line, by option name.
public struct ParsedArguments: Sendable, Equatable {
    public private(set) var flags: Set<String> = []
    public private(set) var values: [String: [String]] = [:]
    public private(set) var positionals: [String] = []
    public private(set) var trailingWords: [String] = []

    public init() {}

    public func isSet(_ flag: String) -> Bool { flags.contains(flag) }

    /// The last value given for `option`, or nil.
    public func value(_ option: String) -> String? { values[option]?.last }

    /// Every value given for a repeatable `option`, in order.
    public func allValues(_ option: String) -> [String] { values[option] ?? [] }

    fileprivate mutating func record(_ option: Option, value: String?) {
        if let value {
            values[option.long, default: []].append(value)
        } else {
            flags.insert(option.long)
        }
    }

    fileprivate mutating func appendPositional(_ word: String) { positionals.append(word) }
    fileprivate mutating func setTrailing(_ words: [String]) { trailingWords = words }
}

/// A command line that does not fit the declared commands; shown with a pointer to the help.
public struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    /// The command whose help explains the mistake, program name first.
    public var path: [String]

    public init(_ message: String, path: [String]) {
        self.message = message
        self.path = path
    }

    public var description: String {
        "error: \(message)\nRun '\(path.joined(separator: " ")) --help' for usage."
    }
}

extension Command {
    /// Parses `arguments` (without the program name) against this root command.
    ///
    /// `--help` or `-h` anywhere before `--` asks for help on the deepest command named so far;
    /// `--version` is understood on the root only.
    public func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        var command = self
        var path = [name]
        var parsed = ParsedArguments()
        var index = arguments.startIndex
        var positionalsSeen = false

        func option(named word: String, in command: Command) -> Option? {
            if word.hasPrefix("--") {
                let long = String(word.dropFirst(2))
                return command.options.first { $0.long == long }
            }
            if word.count == 2, let short = word.last {
                return command.options.first { $0.short == short }
            }
            return nil
        }

        while index < arguments.endIndex {
            let word = arguments[index]
            index += 1

            if word == "--" {
                guard let trailingName = command.trailingWordsName else {
                    throw UsageError(
                        "'\(path.joined(separator: " "))' takes no '--' words", path: path)
                }
                let rest = Array(arguments[index...])
                guard !rest.isEmpty else {
                    throw UsageError("'--' must be followed by \(trailingName)", path: path)
                }
                parsed.setTrailing(rest)
                break
            }
            if word == "--help" || word == "-h" {
                return .help(path: path)
            }
            if word == "--version" && path.count == 1 {
                return .version
            }

            if word.hasPrefix("-") && word != "-" {
                var spelled = word
                var inlineValue: String?
                if word.hasPrefix("--"), let equals = word.firstIndex(of: "=") {
                    spelled = String(word[..<equals])
                    inlineValue = String(word[word.index(after: equals)...])
                }
                guard let option = option(named: spelled, in: command) else {
                    throw UsageError(
                        "unknown option '\(spelled)' for '\(path.joined(separator: " "))'",
                        path: path)
                }
                if !option.isRepeatable
                    && (parsed.isSet(option.long) || parsed.value(option.long) != nil)
                {
                    throw UsageError(
                        "option '--\(option.long)' is given more than once", path: path)
                }
                if let valueName = option.valueName {
                    if let inlineValue {
                        parsed.record(option, value: inlineValue)
                    } else if index < arguments.endIndex {
                        parsed.record(option, value: arguments[index])
                        index += 1
                    } else {
                        throw UsageError(
                            "option '--\(option.long)' needs a value (\(valueName))", path: path)
                    }
                } else {
                    guard inlineValue == nil else {
                        throw UsageError("option '--\(option.long)' takes no value", path: path)
                    }
                    parsed.record(option, value: nil)
                }
                continue
            }

            if !positionalsSeen && !command.subcommands.isEmpty {
                guard let next = command.subcommand(named: word) else {
                    var message = "unknown command '\(word)' for '\(path.joined(separator: " "))'"
                    if let guess = closestName(to: word, among: command.subcommands.map(\.name)) {
                        message += "; did you mean '\(guess)'?"
                    }
                    throw UsageError(message, path: path)
                }
                guard parsed == ParsedArguments() else {
                    throw UsageError(
                        "options of '\(path.joined(separator: " "))' go after '\(word)'",
                        path: path + [word])
                }
                command = next
                path.append(word)
                continue
            }
            positionalsSeen = true
            parsed.appendPositional(word)
        }

        if !command.subcommands.isEmpty && command.arguments.isEmpty {
            let names = command.subcommands.map(\.name).joined(separator: ", ")
            throw UsageError(
                "'\(path.joined(separator: " "))' needs a command: \(names)", path: path)
        }
        try command.checkPositionals(parsed.positionals, path: path)
        return .run(path: path, parsed)
    }

    private func checkPositionals(_ words: [String], path: [String]) throws(UsageError) {
        let required = arguments.filter { !$0.isOptional }.count
        let unlimited = arguments.contains { $0.isRepeating }
        if words.count < required {
            let missing = arguments.filter { !$0.isOptional }[words.count].name
            throw UsageError("missing argument \(missing)", path: path)
        }
        if !unlimited && words.count > arguments.count {
            throw UsageError("unexpected argument '\(words[arguments.count])'", path: path)
        }
    }

    /// The command at `path` below this root, if every name in it exists.
    public func command(at path: [String]) -> Command? {
        guard path.first == name else { return nil }
        var command = self
        for name in path.dropFirst() {
            guard let next = command.subcommand(named: name) else { return nil }
            command = next
        }
        return command
    }
}

/// The candidate within two edits of `word`, to suggest after a typo.
func closestName(to word: String, among candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= 2 }
    return scored.min { $0.1 < $1.1 }?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
