// What commands establish for later ones beyond plain assignments: assigning
// expansions (`${T:=codex}`), `read` and `mapfile` from known input, and the prompt
// variables whose expansions run commands (`PS4` under `set -x`, `PROMPT_COMMAND`).

extension InvocationFinder {
    /// `${NAME:=word}` / `${NAME=word}` anywhere in the command assign NAME when it is unset.
    func assignDefaults(_ command: ShellCommand, into env: inout ShellEnvironment) {
        let words = command.assignments + command.words + command.redirections.map(\.target)
        for word in words where word.hasExpansion {
            for part in word.parts {
                guard case .parameter(let raw, _) = part, raw.hasPrefix("${"), raw.contains("=") else { continue }
                let inner = raw.dropFirst(2).dropLast()
                let name = String(inner.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                guard !name.isEmpty else { continue }
                var rest = inner.dropFirst(name.count)
                let colon = rest.hasPrefix(":")
                if colon { rest = rest.dropFirst() }
                guard rest.hasPrefix("=") else { continue }
                let value = String(rest.dropFirst())
                let evaluator = ShellEvaluator(commands: [], env: env, budget: budget)
                let resolved = evaluator.string(ShellWord(text: value))
                switch env.variables[name] {
                case .scalar(let old)? where !(colon && old.isEmpty):
                    continue
                case .scalar?:
                    env.variables[name] = resolved.map { .scalar($0) } ?? .unknown(spelling: value)
                default:
                    // Perhaps set in the environment, perhaps not: known only at run time.
                    env.variables[name] = .unknown(spelling: value)
                }
            }
        }
    }

    /// `read [-a array] [-d delim] names…` and `mapfile`/`readarray [-t] [-d delim] [array]`.
    func readInput(
        _ tool: String, _ args: ArraySlice<ShellWord>, command: ShellCommand, site: Site,
        into env: inout ShellEnvironment
    ) {
        let parsed = WrapperOptions.parse(args, shortWithValue: tool == "read" ? "adinNptu" : "dnOsuCc")
        var names = parsed.operands.map(\.text)
        let arrayName = tool == "read" ? parsed.value("-a") : (names.first ?? "MAPFILE")
        if tool != "read" { names = [] }
        let input = site.index.flatMap { site.evaluator.input(of: $0) }
        guard let input else {
            let spelled = stdinSpelling(site: site)
            for name in names + (arrayName.map { [$0] } ?? []) { env.variables[name] = .unknown(spelling: spelled) }
            return
        }
        let delimiter = parsed.value("-d").map { $0.isEmpty ? Character("\u{0}") : $0.first! } ?? "\n"
        if tool != "read", let arrayName {
            var lines = input.split(separator: delimiter, omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            env.variables[arrayName] = .array(lines)
            return
        }
        let line = String(input.prefix { $0 != delimiter })
        var ifs: [UInt8] = site.evaluator.ifsBytes
        if let assignment = command.assignments.last(where: { $0.assignmentName == "IFS" }) {
            let value = Self.assignmentValue(assignment, nameLength: 4)
            ifs = Array((site.evaluator.string(value) ?? " ").utf8)
        }
        if let arrayName {
            env.variables[arrayName] = .array(Self.splitRead(line, ifs: ifs, count: Int.max))
            return
        }
        let fields = Self.splitRead(line, ifs: ifs, count: names.count)
        for (i, name) in names.enumerated() { env.variables[name] = .scalar(i < fields.count ? fields[i] : "") }
    }

    /// Splits a line read by `read` into at most `count` fields, the last taking the rest.
    static func splitRead(_ line: String, ifs: [UInt8], count: Int) -> [String] {
        let blanks = ifs.filter { $0 == ShellByte.space || $0 == ShellByte.tab || $0 == ShellByte.newline }
        var bytes = Array(line.utf8)[...]
        while let f = bytes.first, blanks.contains(f) { bytes = bytes.dropFirst() }
        while let l = bytes.last, blanks.contains(l) { bytes = bytes.dropLast() }
        guard !ifs.isEmpty else { return [String(decoding: bytes, as: UTF8.self)] }
        var fields: [String] = []
        var current: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if fields.count == count - 1 {
                fields.append(String(decoding: bytes[i...], as: UTF8.self))
                return fields
            }
            let b = bytes[i]
            i += 1
            guard ifs.contains(b) else {
                current.append(b)
                continue
            }
            fields.append(String(decoding: current, as: UTF8.self))
            current = []
            // Blanks around a separator belong to it.
            while i < bytes.endIndex, blanks.contains(bytes[i]) { i += 1 }
            if blanks.contains(b), i < bytes.endIndex, ifs.contains(bytes[i]), !blanks.contains(bytes[i]) { i += 1 }
        }
        fields.append(String(decoding: current, as: UTF8.self))
        return fields
    }

    static let promptVariables: Set<String> = ["PS0", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND"]

    /// A prompt variable's value is expanded (PS4 with `set -x`) or run (PROMPT_COMMAND)
    /// later: examine it when it is set.
    func promptHooks(_ command: ShellCommand, evaluator: ShellEvaluator, depth: Int) -> String? {
        var assignments = command.assignments
        if let first = command.words.first?.text, ["export", "declare", "typeset", "local", "readonly"].contains(first)
        {
            assignments += command.words.dropFirst().filter(\.isAssignment)
        }
        for word in assignments {
            guard let name = word.assignmentName, Self.promptVariables.contains(name) else { continue }
            let value = Self.assignmentValue(word, nameLength: name.utf8.count + 1)
            let text = evaluator.string(value) ?? value.text
            let script = name == "PROMPT_COMMAND" ? text : ": " + text
            if let found = scan(script: script, depth: depth + 1, env: evaluator.env) { return found }
        }
        return nil
    }
}

extension InvocationFinder {
    /// Configuration values git runs as commands.
    static let gitCommandKeys: Set<String> = [
        "core.pager", "core.editor", "core.sshcommand", "core.fsmonitor", "core.hookspath", "diff.external",
        "sequence.editor", "credential.helper", "gpg.program", "pager.log", "pager.diff", "pager.show",
    ]

    /// git reads only its arguments, except for shell aliases and command-valued settings
    /// given with `-c`, and subcommands that run commands (`rebase --exec`, `bisect run`…).
    func gitCommands(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> String? {
        var rest = args
        while let word = rest.first, word.text.hasPrefix("-") {
            rest = rest.dropFirst()
            guard word.text == "-c" || word.text == "-C" || word.text == "--git-dir" || word.text == "--work-tree",
                let value = rest.first
            else { continue }
            rest = rest.dropFirst()
            guard word.text == "-c", let eq = value.text.firstIndex(of: "=") else { continue }
            let key = value.text[..<eq].lowercased()
            var setting = Substring(value.text[value.text.index(after: eq)...])
            guard key.hasPrefix("alias.") && setting.hasPrefix("!") || Self.gitCommandKeys.contains(key) else {
                continue
            }
            if setting.hasPrefix("!") { setting = setting.dropFirst() }
            if let found = scan(script: String(setting), depth: depth + 1, env: site.env) { return found }
        }
        guard let sub = rest.first?.text else { return nil }
        let operands = rest.dropFirst()
        switch sub {
        case "rebase":
            for (i, word) in operands.enumerated() where word.text == "--exec" || word.text == "-x" {
                guard let script = operands.dropFirst(i + 1).first else { continue }
                if case .found(let f) = runShellWords([script][...], site: site, depth: depth) { return f }
            }
        case "bisect" where operands.first?.text == "run":
            return check(operands.dropFirst(), site: site, depth: depth + 1)
        case "submodule" where operands.contains { $0.text == "foreach" }:
            guard let index = operands.firstIndex(where: { $0.text == "foreach" }) else { return nil }
            let script = operands[(index + 1)...].drop { $0.text.hasPrefix("-") }
            if case .found(let f) = runShellWords(script, site: site, depth: depth) { return f }
        default:
            break
        }
        return nil
    }

    /// `trap ACTION SIGNAL…`: the action runs later, at the signal or at exit.
    func trapAction(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        var rest = args
        if rest.first?.text == "--" { rest = rest.dropFirst() }
        guard let action = rest.first, rest.count >= 2, !action.text.hasPrefix("-") else { return .stop }
        return runShellWords([action][...], site: site, depth: depth)
    }
}
