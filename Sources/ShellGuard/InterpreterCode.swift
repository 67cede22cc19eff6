// What interpreter code would start as processes: the calls of the language's process
// functions (`os.system`, `subprocess.run`, `child_process.execSync`, perl and ruby
// `system`/`exec`/backquotes, awk `system()` and pipes…) with their arguments read as
// literals where they are literals. Code that only prints or transforms strings has no
// such call and starts nothing.

/// One process the code may start.
enum CodeProcess: Equatable {
    /// A shell command line (`os.system("…")`, backquotes).
    case shell(String)
    /// An argument vector; nil elements are computed at run time.
    case argv([String?])
    /// The command is computed at run time (a variable, concatenation, interpolation,
    /// or a process function reached dynamically).
    case computed
    /// Code the interpreter evaluates itself (`eval("…")`, `exec("…")` in Python).
    case code(String)
}

/// One argument of a call.
private enum CodeArgument {
    case literal(String)
    case list([String?])
    case computed
}

enum InterpreterCode {
    /// The processes `text` may start; nil when the code cannot be read confidently.
    static func processes(in text: String, language: ScriptLanguage) -> [CodeProcess]? {
        guard let tokens = CodeTokenizer.tokens(text, language: language) else { return nil }
        let table = CallTable.of(language)
        var out: [CodeProcess] = []
        var i = 0
        while i < tokens.count {
            defer { i += 1 }
            switch tokens[i] {
            case .shell(let command, let interpolated):
                out.append(interpolated ? .computed : .shell(command))
            case .string(let s, _) where table.isCallName(s) && isSubscript(at: i, in: tokens):
                // `cp["execSync"](…)`: a process function reached by name.
                out.append(.computed)
            case .identifier(let name):
                if language == .ruby, i > 0, tokens[i - 1] == .punct(0x3A), table.isCallName(name),
                    i < 2 || tokens[i - 2] != .punct(0x3A)
                {
                    out.append(.computed)  // `send(:system, …)`
                    continue
                }
                if table.dynamic.contains(name) {
                    out.append(.computed)
                    continue
                }
                if language == .javascript, name == "$", i + 1 < tokens.count,
                    case .string(let s, let interp) =
                        tokens[i + 1]
                {
                    out.append(interp ? .computed : .shell(s))  // zx / Bun shell: $`…`
                    continue
                }
                guard table.isCallName(name) else { continue }
                if let process = call(name, at: i, in: tokens, table: table, language: language) {
                    out.append(process)
                }
            case .punct(ShellByte.pipe) where language == .awk:
                if let process = awkPipe(at: i, in: tokens) { out.append(process) }
            default:
                continue
            }
        }
        return out
    }

    /// The code's string literals run together: a computed command is often glued from
    /// pieces (`"co" "dex"` in awk, `'co' 'dex'` in Python).
    static func joinedLiterals(in text: String, language: ScriptLanguage) -> String {
        guard let tokens = CodeTokenizer.tokens(text, language: language) else { return "" }
        var out = ""
        for token in tokens {
            switch token {
            case .string(let s, _), .shell(let s, _): out += s
            case .words(let w): out += w.joined()
            default: continue
            }
        }
        return out
    }

    /// The string at `i` subscripts an expression: `x["name"]`, `f()["name"]`.
    private static func isSubscript(at i: Int, in tokens: [CodeToken]) -> Bool {
        guard i >= 2, i + 1 < tokens.count, tokens[i - 1] == .punct(ShellByte.openBracket),
            tokens[i + 1] == .punct(ShellByte.closeBracket)
        else { return false }
        switch tokens[i - 2] {
        case .identifier, .punct(ShellByte.closeParen), .punct(ShellByte.closeBracket): return true
        default: return false
        }
    }

    /// awk `print … | "cmd"` and `"cmd" | getline`.
    private static func awkPipe(at i: Int, in tokens: [CodeToken]) -> CodeProcess? {
        if i > 0, tokens[i - 1] == .punct(ShellByte.pipe) { return nil }
        guard i + 1 < tokens.count, tokens[i + 1] != .punct(ShellByte.pipe) else { return nil }
        var next = i + 1
        if tokens[next] == .punct(ShellByte.ampersand) { next += 1 }
        guard next < tokens.count else { return nil }
        if tokens[next] == .identifier("getline") {
            guard i > 0, case .string(let s, _) = tokens[i - 1] else { return .computed }
            return .shell(s)
        }
        if case .string(let s, _) = tokens[next] { return .shell(s) }
        return .computed
    }

    /// The process a call of `name` at token `i` starts, nil when it starts none.
    private static func call(
        _ name: String, at i: Int, in tokens: [CodeToken], table: CallTable, language: ScriptLanguage
    ) -> CodeProcess? {
        // A method definition (`def system(…)`, `function exec(…)`) is not a call.
        if i > 0, case .identifier(let before) = tokens[i - 1], ["def", "function", "sub", "fn"].contains(before) {
            return nil
        }
        var args: [[CodeToken]]
        if i + 1 < tokens.count, tokens[i + 1] == .punct(ShellByte.openParen) {
            args = arguments(tokens, from: i + 2, closing: ShellByte.closeParen)
        } else if table.allowsBareCall, i + 1 < tokens.count, startsBareArgument(tokens[i + 1]) {
            args = arguments(tokens, from: i + 1, closing: nil)
        } else {
            return nil
        }
        if language == .perl, name == "eval", i + 1 < tokens.count, tokens[i + 1] == .punct(ShellByte.openBrace) {
            return nil
        }
        if language == .python, name.hasPrefix("spawn"), name != "spawn", !args.isEmpty { args.removeFirst() }
        let positional = args.compactMap { classify($0, language: language) }
        if name == "open" { return pipeOpen(positional) }
        guard let first = positional.first else { return nil }
        if table.code.contains(name) {
            if case .literal(let s) = first { return .code(s) }
            return .computed
        }
        switch first {
        case .computed:
            return .computed
        case .literal(let s) where positional.count == 1 || table.shellString.contains(name):
            return .shell(s)
        default:
            return .argv(positional.flatMap(Self.flatten))
        }
    }

    private static func startsBareArgument(_ token: CodeToken) -> Bool {
        switch token {
        case .string, .words, .shell: return true
        case .punct(let b): return b == ShellByte.dollar || b == ShellByte.at || b == ShellByte.openBracket
        case .identifier: return false
        }
    }

    private static func flatten(_ argument: CodeArgument) -> [String?] {
        switch argument {
        case .literal(let s): return [s]
        case .list(let items): return items
        case .computed: return [nil]
        }
    }

    /// perl / ruby `open`: a process only with a pipe mode (`"-|"`, `"|cmd"`, `"cmd|"`).
    private static func pipeOpen(_ args: [CodeArgument]) -> CodeProcess? {
        var literals: [String] = []
        var computed = false
        for arg in args {
            if case .literal(let s) = arg { literals.append(s) } else { computed = true }
        }
        if let mode = literals.firstIndex(where: { $0 == "-|" || $0 == "|-" }) {
            let rest = Array(literals[(mode + 1)...])
            if rest.isEmpty || computed { return .computed }
            return rest.count == 1 ? .shell(rest[0]) : .argv(rest)
        }
        for s in literals {
            let trimmed = s.trimmingBlanks()
            if trimmed.hasPrefix("|") { return .shell(String(trimmed.dropFirst())) }
            if trimmed.hasSuffix("|") { return .shell(String(trimmed.dropLast())) }
        }
        return nil
    }

    /// The tokens of each argument, from `start` up to the closing bracket (or, for a
    /// call without parentheses, the end of the statement).
    private static func arguments(_ tokens: [CodeToken], from start: Int, closing: UInt8?) -> [[CodeToken]] {
        var args: [[CodeToken]] = []
        var current: [CodeToken] = []
        var depth = 0
        var i = start
        while i < tokens.count {
            let token = tokens[i]
            i += 1
            if case .punct(let b) = token {
                if depth == 0
                    && (b == closing
                        || closing == nil
                            && (b == ShellByte.semicolon
                                || b == ShellByte.closeBrace || b == ShellByte.closeParen))
                {
                    break
                }
                if depth == 0 && b == 0x2C {
                    args.append(current)
                    current = []
                    continue
                }
                if b == ShellByte.openParen || b == ShellByte.openBracket || b == ShellByte.openBrace { depth += 1 }
                if b == ShellByte.closeParen || b == ShellByte.closeBracket || b == ShellByte.closeBrace { depth -= 1 }
            }
            current.append(token)
        }
        if !current.isEmpty { args.append(current) }
        return args
    }

    /// One argument's value; nil for options (`shell=True`, `{stdio: …}`, `key: value`).
    private static func classify(_ tokens: [CodeToken], language: ScriptLanguage) -> CodeArgument? {
        var tokens = tokens[...]
        if tokens.count >= 2, case .identifier(let key) = tokens.first!,
            tokens[tokens.startIndex + 1] == .punct(ShellByte.equals) || tokens[tokens.startIndex + 1] == .punct(0x3A)
        {
            let isComparison = tokens.count >= 3 && tokens[tokens.startIndex + 2] == .punct(ShellByte.equals)
            guard !isComparison else { return .computed }
            guard ["args", "cmd", "command", "executable"].contains(key) else { return nil }
            tokens = tokens.dropFirst(2)
        }
        guard let first = tokens.first else { return nil }
        if first == .punct(ShellByte.openBrace) || first == .punct(0x3A) { return nil }
        if tokens.count == 1 {
            switch first {
            case .string(let s, let interpolated): return interpolated ? .computed : .literal(s)
            case .words(let w): return .list(w)
            default: return .computed
            }
        }
        if first == .punct(ShellByte.openBracket) || first == .punct(ShellByte.openParen),
            let last = tokens.last, last == .punct(ShellByte.closeBracket) || last == .punct(ShellByte.closeParen)
        {
            let inner = Array(tokens.dropFirst().dropLast())
            let items = arguments(inner + [.punct(0)], from: 0, closing: 0).map { item -> String? in
                if item.count == 1, case .string(let s, false) = item[0] { return s }
                return nil
            }
            return .list(items)
        }
        return .computed
    }
}

/// The process functions of one language.
struct CallTable {
    /// Functions that start a process.
    var process: Set<String>
    /// Of those, the ones whose first argument is a shell command line even with more arguments.
    var shellString: Set<String>
    /// Functions that evaluate code of the same language.
    var code: Set<String>
    /// Identifiers that reach functions by computed names.
    var dynamic: Set<String>
    /// The language calls functions without parentheses (`system "ls"`).
    var allowsBareCall: Bool

    func isCallName(_ name: String) -> Bool { process.contains(name) || code.contains(name) }

    static func of(_ language: ScriptLanguage) -> CallTable {
        switch language {
        case .python: return python
        case .javascript: return javascript
        case .perl: return perl
        case .ruby: return ruby
        case .php: return php
        case .lua: return lua
        case .awk: return awk
        }
    }

    static let python = CallTable(
        process: [
            "system", "popen", "popen2", "popen3", "popen4", "run", "call", "check_call", "check_output", "Popen",
            "getoutput", "getstatusoutput", "spawn", "execl", "execle", "execlp", "execlpe", "execv", "execve",
            "execvp", "execvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp",
            "spawnvpe", "posix_spawn", "posix_spawnp", "create_subprocess_exec", "create_subprocess_shell",
            "startfile",
        ],
        shellString: [
            "system", "popen", "popen2", "popen3", "popen4", "getoutput", "getstatusoutput",
            "create_subprocess_shell",
        ],
        code: ["exec", "eval", "compile", "execfile"],
        dynamic: [
            "getattr", "importlib", "globals", "locals", "vars", "__builtins__", "builtins", "ctypes", "__dict__",
            "methodcaller", "attrgetter",
        ],
        allowsBareCall: false)

    static let javascript = CallTable(
        process: [
            "exec", "execSync", "execFile", "execFileSync", "spawn", "spawnSync", "fork", "execa", "execaSync",
            "execaCommand", "execaCommandSync", "execaNode", "Command", "run", "$",
        ],
        shellString: ["exec", "execSync", "execaCommand", "execaCommandSync"],
        code: ["eval", "Function", "runInThisContext", "runInNewContext", "runInContext", "Script"],
        dynamic: ["Reflect", "globalThis", "constructor", "binding"],
        allowsBareCall: false)

    static let perl = CallTable(
        process: ["system", "exec", "readpipe", "open", "open2", "open3", "spawn"],
        shellString: ["readpipe"],
        code: ["eval"],
        dynamic: ["can", "__SUB__"],
        allowsBareCall: true)

    static let ruby = CallTable(
        process: [
            "system", "exec", "spawn", "popen", "popen2", "popen2e", "popen3", "capture2", "capture2e", "capture3",
            "pipeline", "pipeline_r", "pipeline_w", "open",
        ],
        shellString: [],
        code: ["eval", "instance_eval", "class_eval", "module_eval"],
        dynamic: ["send", "__send__", "public_send", "method", "const_get", "instance_variable_get"],
        allowsBareCall: true)

    static let php = CallTable(
        process: ["system", "exec", "shell_exec", "passthru", "popen", "proc_open", "pcntl_exec", "expect_popen"],
        shellString: ["system", "exec", "shell_exec", "passthru", "popen", "proc_open"],
        code: ["eval", "assert", "create_function"],
        dynamic: ["call_user_func", "call_user_func_array", "ReflectionFunction"],
        allowsBareCall: false)

    static let lua = CallTable(
        process: ["execute", "popen"], shellString: ["execute", "popen"], code: ["load", "loadstring"],
        dynamic: ["_G", "_ENV", "rawget"], allowsBareCall: true)

    static let awk = CallTable(
        process: ["system"], shellString: ["system"], code: [], dynamic: [], allowsBareCall: false)
}
