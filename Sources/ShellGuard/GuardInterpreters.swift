// Interpreters: code given with `-c`/`-e`, a program read from standard input, or a
// script file. Code is read for its process calls (`InterpreterCode`); a call whose
// command is a literal is examined like a shell line or an argument vector, and one
// whose command is computed denies when the code (or what it reads) mentions codex.

extension InvocationFinder {
    func stepInterpreters(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step? {
        switch name {
        case "python", "python2", "python3", "pypy", "pypy3":
            let parsed = WrapperOptions.parse(args, shortWithValue: "cmWXQ")
            if let code = parsed.seenWord("-c") {
                return interpreterCode(code, language: .python, site: site, depth: depth)
            }
            if parsed.has("-m") { return .stop }
            if parsed.operands.first.map({ $0.text == "-" }) ?? true {
                return stdinProgram(language: .python, site: site, depth: depth)
            }
            return scriptFile(name, parsed.operands)
        case "perl", "ruby", "lua", "julia", "osascript", "Rscript", "php", "expect":
            return scriptingLanguage(name: name, args: args, site: site, depth: depth)
        case "pwsh", "powershell", "pwsh.exe", "powershell.exe":
            return powershell(args, site: site, depth: depth)
        case "awk", "gawk", "mawk", "nawk":
            let parsed = WrapperOptions.parse(args, shortWithValue: "FvfeE")
            if parsed.has("-f") { return .stop }
            guard let program = parsed.operands.first else { return .stop }
            return interpreterCode(program, language: .awk, site: site, depth: depth)
        default:
            return nil
        }
    }

    private func scriptingLanguage(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        var codes: [ShellWord] = []
        var index = args.startIndex
        while index < args.endIndex {
            let text = args[index].text
            guard text.hasPrefix("-"), text.count > 1, text != "--" else { break }
            let letters = text.dropFirst()
            if letters.hasSuffix("e") || letters.hasSuffix("E") || (name == "php" && letters == "r")
                || (name == "expect" && letters == "c") || text == "--eval" || text == "--exec"
            {
                if index + 1 < args.endIndex { codes.append(args[index + 1]) }
                index += 2
                continue
            }
            if ["-I", "-M", "-r", "-C", "-l", "-x"].contains(text) && name != "php" { index += 2 } else { index += 1 }
        }
        let language = ScriptLanguage.of(name)
        for code in codes {
            if case .found(let f) = interpreterCode(code, language: language, site: site, depth: depth) {
                return .found(f)
            }
        }
        if !codes.isEmpty { return .stop }
        if let language, index == args.endIndex || args[index].text == "-" {
            return stdinProgram(language: language, site: site, depth: depth)
        }
        return scriptFile(name, args[index...])
    }

    /// Code given to an interpreter as an argument.
    func interpreterCode(_ code: ShellWord, language: ScriptLanguage?, site: Site, depth: Int) -> Step {
        let context = stdinSpelling(site: site)
        guard let language, let text = site.evaluator.string(code) else {
            return codeFallback(spelling(of: code, evaluator: site.evaluator) + " " + context)
        }
        return analyzeCode(text, language: language, context: context, site: site, depth: depth)
    }

    /// An interpreter reading its program from standard input (`python3 -`, `| node`, `perl <<EOF`).
    func stdinProgram(language: ScriptLanguage, site: Site, depth: Int) -> Step {
        guard let index = site.index, index < site.commands.count else { return .stop }
        if let text = site.evaluator.input(of: index) {
            return analyzeCode(text, language: language, context: "", site: site, depth: depth)
        }
        let spelled = stdinSpelling(site: site)
        return spelled.isEmpty ? .stop : codeFallback(spelled)
    }

    /// Examines the process calls of `code`; `context` is what the code may read at run time.
    func analyzeCode(_ code: String, language: ScriptLanguage, context: String, site: Site, depth: Int) -> Step {
        guard depth < Self.maxDepth, !budget.isExhausted,
            let processes = InterpreterCode.processes(in: code, language: language)
        else {
            return codeFallback(code + " " + context)
        }
        budget.spend(code.utf8.count)
        for process in processes {
            switch process {
            case .shell(let line):
                if let found = scan(script: line, depth: depth + 1, env: site.env) { return .found(found) }
            case .argv(let items):
                let words = items.map { item in
                    item.map { ShellWord(text: $0) }
                        ?? ShellWord(text: code + " " + context, hasExpansion: true, hasStaticBasename: false)
                }
                guard !words.isEmpty else { continue }
                if let found = check(words[...], site: site, depth: depth + 1) { return .found(found) }
            case .computed:
                if CodexMention.mentions(code + " " + context)
                    || CodexMention.mentions(InterpreterCode.joinedLiterals(in: code, language: language))
                {
                    return .found("codex (run from interpreter code)")
                }
            case .code(let inner):
                let step = analyzeCode(inner, language: language, context: context, site: site, depth: depth + 1)
                if case .found = step { return step }
            }
        }
        return .stop
    }

    /// Code the guard cannot read: denied when it mentions codex and can start a process.
    private func codeFallback(_ text: String) -> Step {
        guard CodexMention.mentions(text) else { return .stop }
        let lower = text.lowercased()
        for marker in Self.spawnMarkers where lower.contains(marker) {
            return .found("codex (run from interpreter code)")
        }
        return .stop
    }

    /// What the command at `site` reads on its standard input, as far as the line tells.
    func stdinSpelling(site: Site) -> String {
        guard let index = site.index, index < site.commands.count else { return "" }
        let command = site.commands[index]
        var out = command.stdinTexts.joined(separator: " ")
        if let source = command.pipedFrom { out += producerSpelling(source, site: site) }
        if let input = site.evaluator.input(of: index) { out += " " + input }
        return out
    }

    static let spawnMarkers = [
        "system", "exec", "spawn", "popen", "subprocess", "child_process", "`", "qx", "%x", "shell", "run(",
        "call(", "process", "command", "open3", "|", "invoke", "start", "fork", "os.", "getline", "pty",
    ]
}
