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
        case "perl", "ruby", "lua", "julia", "osascript", "Rscript", "php", "expect", "tclsh", "wish", "jimsh":
            return scriptingLanguage(name: name, args: args, site: site, depth: depth)
        case "pwsh", "powershell", "pwsh.exe", "powershell.exe":
            return powershell(args, site: site, depth: depth)
        case "awk", "gawk", "mawk", "nawk":
            let parsed = WrapperOptions.parse(args, shortWithValue: "FvfeE")
            if parsed.has("-f") { return .stop }
            guard let program = parsed.operands.first else { return .stop }
            // `-v name=value`: the values are variables of the program (`system(c " exec")`).
            let values = parsed.seen.filter { $0.name == "-v" }.compactMap(\.value)
            return interpreterCode(
                program, language: .awk, site: site, depth: depth, extraContext: values.joined(separator: " "))
        case "make", "gmake", "bmake":
            return makefile(args, site: site)
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
        if index == args.endIndex || args[index].text == "-" {
            if let language { return stdinProgram(language: language, site: site, depth: depth) }
            // A language whose code is not read (Tcl, expect): its program from stdin.
            let spelled = stdinSpelling(site: site)
            return spelled.isEmpty ? .stop : codeFallback(spelled)
        }
        return scriptFile(name, args[index...])
    }

    /// Code given to an interpreter as an argument.
    func interpreterCode(
        _ code: ShellWord, language: ScriptLanguage?, site: Site, depth: Int, extraContext: String = ""
    ) -> Step {
        let context = stdinSpelling(site: site) + " " + extraContext
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
        if depth >= Self.maxDepth {
            return pastLimit(code + " " + context, "codex (in code nested past what the guard follows)").map {
                .found($0)
            } ?? .stop
        }
        guard !budget.isExhausted, let processes = InterpreterCode.processes(in: code, language: language)
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

    /// `make`: a makefile's recipes are shell lines. The makefile the guard can see (one
    /// written earlier in the line, `-f <(…)`, `-f -` from stdin) denies when it mentions codex.
    private func makefile(_ args: ArraySlice<ShellWord>, site: Site) -> Step {
        var texts: [String] = []
        var explicit = false
        var index = args.startIndex
        while index < args.endIndex {
            let word = args[index]
            index += 1
            var file: ShellWord?
            if ["-f", "--file", "--makefile"].contains(word.text), index < args.endIndex {
                file = args[index]
                index += 1
            } else if word.text.hasPrefix("-f") && word.text.count > 2 && !word.hasExpansion {
                file = ShellWord(text: String(word.text.dropFirst(2)))
            } else if word.text.hasPrefix("--file=") || word.text.hasPrefix("--makefile=") {
                file = ShellWord(text: String(word.text.drop { $0 != "=" }.dropFirst()))
            }
            if let file {
                explicit = true
                texts.append(visibleText(of: file, site: site))
            }
        }
        if !explicit {
            for name in ["GNUmakefile", "makefile", "Makefile"] {
                if let file = site.env.file(name) { texts.append(file.content ?? file.spelling) }
            }
        }
        return CodexMention.mentions(texts.joined(separator: "\n")) ? .found("codex (in a makefile recipe)") : .stop
    }

    /// The text of a file argument as far as the line shows it: written earlier, `<(…)`, or stdin for `-`.
    private func visibleText(of file: ShellWord, site: Site) -> String {
        if file.text == "-" || file.text == "/dev/stdin" { return stdinSpelling(site: site) }
        for part in file.parts {
            guard case .process(let range) = part else { continue }
            if let text = site.evaluator.substitutionOutput(range) { return text }
            return range.map { spelling(of: site.commands[$0], evaluator: site.evaluator) }.joined(separator: " ")
        }
        guard let path = site.evaluator.string(file), let written = site.env.file(path) else { return "" }
        return written.content ?? written.spelling
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
