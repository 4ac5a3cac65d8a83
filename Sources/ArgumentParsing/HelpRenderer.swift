/// Renders a command's help as plain text, laid out for an 80-column terminal.
import Foundation

public enum HelpRenderer {
    /// The help text of the command at the end of `path`, whose first element names `root`.
    public static func render(_ command: Command, path: [String]) -> String {
        var sections: [String] = []
        sections.append(
            wrap("OVERVIEW: \(command.abstract)", width: 80).joined(separator: "\n          "))
        if let discussion = command.discussion {
            let paragraphs = discussion.components(separatedBy: "\n\n")
            sections.append(
                paragraphs.map { wrap($0, width: 80).joined(separator: "\n") }.joined(
                    separator: "\n\n"))
        }
        // Each option or argument stays whole on a line; continuation lines are indented.
        let indent = "       "
        sections.append(
            wrap(["USAGE:"] + usageItems(command, path: path), width: 80, indent: indent.count)
                .joined(separator: "\n" + indent))

        if !command.arguments.isEmpty {
            sections.append(
                "ARGUMENTS:\n" + table(command.arguments.map { ("<\($0.name)>", $0.help) }))
        }
        var optionRows = command.options.map { option -> (String, String) in
            var spelled = option.short.map { "-\($0), " } ?? ""
            spelled += "--\(option.long)"
            if let valueName = option.valueName { spelled += " \(valueName)" }
            return (spelled, option.help)
        }
        if path.count == 1 {
            optionRows.append(("--version", "Show the version."))
        }
        optionRows.append(("-h, --help", "Show help information."))
        sections.append("OPTIONS:\n" + table(optionRows))

        if !command.subcommands.isEmpty {
            sections.append(
                "COMMANDS:\n" + table(command.subcommands.map { ($0.name, $0.abstract) }))
            sections.append(
                "See '\(path.joined(separator: " ")) <command> --help' for a command's own options."
            )
        }
        if !command.examples.isEmpty {
            let lines = command.examples.map { "  \($0.commandLine)\n      \($0.explanation)" }
            sections.append("EXAMPLES:\n" + lines.joined(separator: "\n"))
        }
        return sections.joined(separator: "\n\n") + "\n"
    }

    /// The one-line synopsis, for example `claude-env bench crypto [--json FILE]`.
    public static func usage(_ command: Command, path: [String]) -> String {
        usageItems(command, path: path).joined(separator: " ")
    }

    static func usageItems(_ command: Command, path: [String]) -> [String] {
        var words = [path.joined(separator: " ")]
        if !command.subcommands.isEmpty {
            words.append("<command>")
        }
        for option in command.options {
            let spelled = option.valueName.map { "--\(option.long) \($0)" } ?? "--\(option.long)"
            words.append(option.isRepeatable ? "[\(spelled) …]" : "[\(spelled)]")
        }
        for argument in command.arguments {
            var spelled = "<\(argument.name)>"
            if argument.isRepeating { spelled += " …" }
            words.append(argument.isOptional ? "[\(spelled)]" : spelled)
        }
        if let trailing = command.trailingWordsName {
            words.append("[-- \(trailing) …]")
        }
        return words
    }

    /// Two columns: names padded to a common width (at most 24), help wrapped beside them.
    static func table(_ rows: [(String, String)]) -> String {
        let nameWidth = min(24, rows.map(\.0.count).max() ?? 0)
        let helpWidth = 80 - 2 - nameWidth - 2
        return rows.map { name, help in
            let wrapped = wrap(help, width: helpWidth)
            let indent = String(repeating: " ", count: 2 + nameWidth + 2)
            var first = "  " + name
            if name.count > nameWidth {
                first += "\n" + indent
            } else {
                first += String(repeating: " ", count: nameWidth - name.count + 2)
            }
            return first + wrapped.joined(separator: "\n" + indent)
        }.joined(separator: "\n")
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        wrap(text.split(separator: " ").map(String.init), width: width, indent: 0)
    }

    /// Lines of at most `width` columns from `items` joined by spaces; every line after the
    /// first loses `indent` columns to the indentation it will get.
    static func wrap(_ items: [String], width: Int, indent: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for item in items {
            let room = lines.isEmpty ? width : width - indent
            if !line.isEmpty && line.count + 1 + item.count > room {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? item : " " + item
        }
        lines.append(line)
        return lines
    }
}
