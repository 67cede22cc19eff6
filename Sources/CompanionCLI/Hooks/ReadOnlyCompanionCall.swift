/// The only Bash calls the plugin approves on the user's behalf (PreToolUse
/// `permissionDecision: "allow"`): one plain `codex-companion status …` or
/// `codex-companion result …`, the read-only calls the codex-rescue agent and the
/// skills make while a job runs. Everything else is left to Claude Code's own
/// permission checks, `task`, `cancel` and `worktree-cleanup` above all.
///
/// Deliberately not a shell parser: the whole line must be made of plain words from a
/// small character set, so nothing can chain (`;`, `&&`, `|`, newline), redirect,
/// substitute (`$`, backticks), glob, or quote its way past the check. The program is
/// the bare name `codex-companion` (the plugin's `bin/` is on the Bash PATH) or exactly
/// `<CLAUDE_PLUGIN_ROOT>/bin/codex-companion`, optionally in double quotes.
package enum ReadOnlyCompanionCall {
    /// Options each subcommand may carry; `true` when the option takes a value.
    static let options: [String: [String: Bool]] = [
        "status": ["--all": false, "--wait": false, "--json": false, "--timeout-ms": true],
        "result": ["--json": false],
    ]

    package static func matches(_ command: String, pluginRoot: String?) -> Bool {
        var rest = Substring(command)
        while rest.first == " " { rest.removeFirst() }
        while rest.last == " " { rest.removeLast() }
        // The program: a quoted absolute launcher path, or a plain word.
        let program: Substring
        if rest.first == "\"" {
            rest.removeFirst()
            guard let close = rest.firstIndex(of: "\"") else { return false }
            program = rest[..<close]
            rest = rest[rest.index(after: close)...]
            guard rest.isEmpty || rest.first == " " else { return false }
            guard !program.contains(where: { "$`\\".contains($0) }) else { return false }
        } else {
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            program = rest[..<end]
            rest = rest[end...]
        }
        guard isLauncher(program, pluginRoot: pluginRoot) else { return false }
        guard rest.unicodeScalars.allSatisfy(isPlain) else { return false }
        let words = rest.split(separator: " ")
        guard let subcommand = words.first.map(String.init), let allowed = options[subcommand] else { return false }
        var positionals = 0
        var index = 1
        while index < words.count {
            let word = String(words[index])
            if word.hasPrefix("-") {
                guard let takesValue = allowed[word] else { return false }
                if takesValue {
                    index += 1
                    guard index < words.count, words[index].allSatisfy(\.isNumber) else { return false }
                }
            } else {
                positionals += 1
                guard positionals == 1, isJobReference(word) else { return false }
            }
            index += 1
        }
        return true
    }

    private static func isLauncher(_ program: Substring, pluginRoot: String?) -> Bool {
        if program == "codex-companion" { return true }
        guard let pluginRoot, pluginRoot.hasPrefix("/") else { return false }
        var root = pluginRoot
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        return program == root + "/bin/codex-companion"
    }

    /// Letters, digits, space and `-_.=`: no shell syntax at all.
    private static func isPlain(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", " ", "-", "_", ".", "=": return true
        default: return false
        }
    }

    private static func isJobReference(_ word: String) -> Bool {
        !word.isEmpty && word.count <= 80
            && word.unicodeScalars.allSatisfy {
                switch $0 {
                case "a"..."z", "A"..."Z", "0"..."9", "-", "_": return true
                default: return false
                }
            }
    }
}
