import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
/// One option a subcommand accepts.
public struct OptionSpec: Sendable {
    public var names: [String]
    public var takesValue: Bool
    public var valueName: String
    public var help: String

    public var key: String { names[0] }

    public static func flag(_ names: String..., help: String) -> OptionSpec {
        OptionSpec(names: names, takesValue: false, valueName: "", help: help)
    }

    public static func value(_ names: String..., valueName: String, help: String) -> OptionSpec {
        OptionSpec(names: names, takesValue: true, valueName: valueName, help: help)
    }
}

/// What a subcommand accepts after its options.
public enum PositionalPolicy: Sendable {
    case none
    /// Up to `max` values, named `label` in messages.
    case upTo(Int, label: String)
    /// Free text (the task prompt). Options must come before it; from the first
    /// word on, everything is text.
    case words
}

/// A subcommand's interface: its name, options and positionals.
public struct CommandSpec: Sendable {
    public var name: String
    public var synopsis: String
    public var summary: String
    public var options: [OptionSpec]
    public var positionals: PositionalPolicy
    public var hidden: Bool = false

    package func option(named name: String) -> OptionSpec? {
        (options + GlobalOptions.specs).first { $0.names.contains(name) }
    }
}

/// Options every subcommand accepts.
public struct GlobalOptions: Sendable, Equatable {
    public var cwd: String?
    public var stateDir: String?
    public var json = false
    public var help = false
    public var version = false
    public var parseOnly = false

    package static let specs: [OptionSpec] = [
        .value("--cwd", "-C", valueName: "dir", help: "Work as if started in <dir>."),
        .value("--state-dir", valueName: "dir", help: "Keep job records under <dir>."),
        .flag("--json", help: "Print one JSON object on stdout."),
        .flag("--help", "-h", help: "Show help."),
        .flag("--version", help: "Show the version."),
        .flag("--parse-only", help: "Check the arguments and print what was parsed; run nothing."),
    ]
}

/// The result of parsing: which subcommand, its options, its positionals.
public struct ParsedCommand: Sendable {
    public var spec: CommandSpec
    public var global: GlobalOptions
    public var values: [String: String] = [:]
    public var flags: Set<String> = []
    public var positionals: [String] = []

    public var name: String { spec.name }
    public func flag(_ key: String) -> Bool { flags.contains(key) }
    public func value(_ key: String) -> String? { values[key] }
}

public enum ArgumentParser {
    /// Parses a full argument list (without argv[0]).
    /// - Throws: `CompanionError` with exit code 64 naming the problem.
    public static func parse(_ arguments: [String], commands: [CommandSpec]) throws(CompanionError) -> ParsedCommand {
        var global = GlobalOptions()
        var index = 0
        // Global options may stand before the subcommand.
        var leading: [String] = []
        while index < arguments.count, arguments[index].hasPrefix("-"), arguments[index] != "-" {
            let argument = arguments[index]
            let (name, inline) = splitInline(argument)
            guard let spec = GlobalOptions.specs.first(where: { $0.names.contains(name) }) else {
                throw .usage(
                    "unknown option \(Printable.clipped(name)) before the subcommand; run codex-companion --help")
            }
            leading.append(argument)
            if spec.takesValue && inline == nil {
                index += 1
                guard index < arguments.count else { throw .usage("option \(name) needs a value (\(spec.valueName))") }
                leading.append(arguments[index])
            }
            index += 1
        }
        var scratch = ParsedCommand(
            spec: CommandSpec(name: "", synopsis: "", summary: "", options: [], positionals: .none), global: global)
        try applyOptions(leading, into: &scratch, allowPositionals: false)
        global = scratch.global

        guard index < arguments.count else {
            if global.help || global.version || global.parseOnly {
                return ParsedCommand(
                    spec: CommandSpec(name: "", synopsis: "", summary: "", options: [], positionals: .none),
                    global: global)
            }
            throw .usage("missing subcommand; run codex-companion --help to see them")
        }
        let name = arguments[index]
        guard let spec = commands.first(where: { $0.name == name }) else {
            throw .usage("unknown subcommand '\(Printable.clipped(name))'; run codex-companion --help to see them")
        }
        var rest = Array(arguments[(index + 1)...])
        rest = splitSingleFreeArgument(rest, spec: spec)
        var parsed = ParsedCommand(spec: spec, global: global)
        try applyOptions(rest, into: &parsed, allowPositionals: true)
        try validatePositionals(parsed)
        return parsed
    }

    /// Slash commands pass the user's text as one argument. When exactly one argument
    /// is not an option (or an option's value), split it like a shell would.
    package static func splitSingleFreeArgument(_ rest: [String], spec: CommandSpec) -> [String] {
        var freeIndices: [Int] = []
        var i = 0
        while i < rest.count {
            let argument = rest[i]
            if argument == "--" { return rest }
            if argument.hasPrefix("-") && argument != "-"
                && !argument.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" })
            {
                let (name, inline) = splitInline(argument)
                if let option = spec.option(named: name), option.takesValue, inline == nil { i += 1 }
            } else {
                freeIndices.append(i)
            }
            i += 1
        }
        guard freeIndices.count == 1 else { return rest }
        let at = freeIndices[0]
        let words = ShellWords.splitLeniently(rest[at])
        // The other arguments are all options (the plugin's own, like --state-dir and
        // --json); keep them ahead of the user's words so they stay options even for
        // `task`, where everything after the first word of text is text.
        return Array(rest[..<at]) + Array(rest[(at + 1)...]) + words
    }

    package static func splitInline(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let eq = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<eq]), String(argument[argument.index(after: eq)...]))
    }

    package static func applyOptions(_ arguments: [String], into parsed: inout ParsedCommand, allowPositionals: Bool)
        throws(CompanionError)
    {
        var index = 0
        var textStarted = false
        let subject = parsed.spec.name.isEmpty ? "codex-companion" : parsed.spec.name
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if textStarted {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" {
                parsed.positionals.append(contentsOf: arguments[index...])
                break
            }
            if argument.hasPrefix("-") && argument != "-" {
                let (name, inline) = splitInline(argument)
                guard let option = parsed.spec.option(named: name) else {
                    throw .usage(
                        "unknown option \(Printable.clipped(name)) for \(subject); run codex-companion \(parsed.spec.name.isEmpty ? "" : parsed.spec.name + " ")--help"
                    )
                }
                var value: String? = inline
                if option.takesValue {
                    if value == nil {
                        guard index < arguments.count else {
                            throw .usage("option \(name) needs a value (\(option.valueName))")
                        }
                        value = arguments[index]
                        index += 1
                        if let next = value, next.hasPrefix("--"), parsed.spec.option(named: splitInline(next).0) != nil
                        {
                            throw .usage(
                                "option \(name) needs a value (\(option.valueName)), but got the option \(next)")
                        }
                    }
                } else if inline != nil {
                    throw .usage("option \(name) takes no value")
                }
                try record(option, value: value, into: &parsed)
                continue
            }
            guard allowPositionals else { throw .usage("unexpected argument '\(Printable.clipped(argument))'") }
            parsed.positionals.append(argument)
            if case .words = parsed.spec.positionals { textStarted = true }
        }
    }

    package static func record(_ option: OptionSpec, value: String?, into parsed: inout ParsedCommand)
        throws(CompanionError)
    {
        switch option.key {
        case "--cwd": parsed.global.cwd = value
        case "--state-dir": parsed.global.stateDir = value
        case "--json": parsed.global.json = true
        case "--help": parsed.global.help = true
        case "--version": parsed.global.version = true
        case "--parse-only": parsed.global.parseOnly = true
        default:
            if option.takesValue {
                if let previous = parsed.values[option.key], previous != value {
                    throw .usage(
                        "option \(option.key) was given twice with different values ('\(previous)' and '\(value ?? "")')"
                    )
                }
                parsed.values[option.key] = value
            } else {
                parsed.flags.insert(option.key)
            }
        }
        if option.takesValue, let value, value.isEmpty {
            throw .usage("option \(option.key) needs a non-empty value (\(option.valueName))")
        }
    }

    package static func validatePositionals(_ parsed: ParsedCommand) throws(CompanionError) {
        switch parsed.spec.positionals {
        case .none:
            if let first = parsed.positionals.first {
                throw .usage(
                    "\(parsed.spec.name) takes no arguments, but got '\(first)'; run codex-companion \(parsed.spec.name) --help"
                )
            }
        case .upTo(let max, let label):
            if parsed.positionals.count > max {
                throw .usage(
                    "\(parsed.spec.name) takes at most \(max) \(label), but got \(parsed.positionals.count): \(parsed.positionals.joined(separator: " "))"
                )
            }
        case .words:
            break
        }
    }
}
