// The guard's policy over a parsed command line.
//
// Commands are visited in the order the shell would meet them, with an environment
// of what the line itself established (variables, aliases, functions, files written).
// Each simple command's words are resolved statically where possible, then its
// command word is examined:
// - `codex` (any path, the npm entry script, a platform binary): deny;
// - a wrapper from the table (env, sudo, timeout, bash -c, eval, npx, uvx…): unwrap it
//   with its own option grammar and examine what it runs;
// - an alias or a function defined in the line: expand it / evaluate its body with
//   the call's arguments;
// - a command word that cannot be resolved, a shell reading a script the guard cannot
//   compute, eval of a computed string, code given to an interpreter: deny only when
//   that opaque text mentions codex in some spelling (`CodexMention`);
// - any other command: its arguments are data, except that a command not known to
//   only read its arguments (grep, git, cat…) is treated as a possible wrapper: an
//   argument naming the codex binary, or a shell-command string running it, denies.
// Past any depth limit the decision is "deny if codex is mentioned"; never allow blindly.

/// One guard decision. Holds the shared work budget across nested parses.
struct InvocationFinder {
    let budget: ParseBudget
    /// The whole command line: past a depth limit, a mention of codex anywhere in it denies.
    var line: String = ""
    /// How deep scripts inside scripts (`bash -c "eval '…'"`) and function calls are followed.
    static let maxDepth = 8
    /// How many wrapper layers one command may have before we stop unwrapping.
    static let maxUnwrapSteps = 64

    /// Where a simple command stands: its script, index, and the environment it sees.
    struct Site {
        var commands: [ShellCommand]
        var index: Int?
        var env: ShellEnvironment
        var evaluator: ShellEvaluator
    }

    // MARK: Scripts

    /// The decision past a depth limit: deny when the nested text or the whole line mentions
    /// codex in any spelling (what runs that deep may be built from any part of the line).
    func pastLimit(_ text: String, _ reason: String) -> String? {
        CodexMention.mentions(text) || CodexMention.mentions(line) ? reason : nil
    }

    func scan(script text: String, depth: Int, env: ShellEnvironment) -> String? {
        if budget.isExhausted || depth > Self.maxDepth {
            return pastLimit(text, "codex (in text nested past what the guard follows)")
        }
        let script = ShellParser.parse(text, budget: budget)
        if script.exceededNesting || script.wasTruncated, CodexMention.mentions(text) {
            return "codex (in text nested past what the guard follows)"
        }
        var env = env
        for (index, command) in script.commands.enumerated() {
            if budget.isExhausted { break }
            // Functions are known from their definition on.
            for function in script.functions where function.body.upperBound <= index + 1 {
                if env.functions[function.name] == nil || function.body.upperBound == index + 1 {
                    env.functions[function.name] = FunctionDefinition(commands: script.commands, body: function.body)
                }
            }
            if let found = visit(command, index: index, commands: script.commands, env: &env, depth: depth) {
                return found
            }
        }
        if budget.isExhausted, CodexMention.mentions(text) {
            return "codex (in text longer than the guard reads)"
        }
        if script.hadError && !budget.isExhausted {
            // The structure may have been misread: look at every word that could be a
            // command word.
            for word in ShellParser.commandPositionWords(in: text, budget: budget) {
                if let name = word.basename, CodexInvocationGuard.isCodexName(name) {
                    return Self.describe(word, next: nil)
                }
            }
        }
        return nil
    }

    /// Examines one simple command and records what it establishes for later ones.
    private func visit(
        _ command: ShellCommand, index: Int, commands: [ShellCommand], env: inout ShellEnvironment, depth: Int
    ) -> String? {
        assignDefaults(command, into: &env)
        let evaluator = ShellEvaluator(commands: commands, env: env, budget: budget)
        if let found = promptHooks(command, evaluator: evaluator, depth: depth) { return found }
        if command.words.isEmpty {
            for assignment in command.assignments { assign(assignment, evaluator: evaluator, into: &env) }
            return nil
        }
        var childEnv = env
        for assignment in command.assignments { assign(assignment, evaluator: evaluator, into: &childEnv) }
        let words = evaluator.resolveKeeping(command.words[...])
        let site = Site(
            commands: commands, index: index, env: childEnv,
            evaluator: ShellEvaluator(commands: commands, env: childEnv, budget: budget))
        if let found = check(words[...], site: site, depth: depth) { return found }
        record(words, command: command, index: index, evaluator: evaluator, into: &env)
        return nil
    }

    /// `NAME=value`, `NAME+=value`, `NAME=(a b)`.
    private func assign(_ word: ShellWord, evaluator: ShellEvaluator, into env: inout ShellEnvironment) {
        guard let name = word.assignmentName else { return }
        let appending = word.text.utf8.dropFirst(name.utf8.count).first == ShellByte.plus
        if let elements = word.arrayElements {
            if let values = evaluator.resolveAll(elements[...]) {
                env.variables[name] = .array(values.map(\.text))
            } else {
                env.variables[name] = .unknown(spelling: word.text)
            }
            return
        }
        if word.text.utf8.dropFirst(name.utf8.count).first == ShellByte.openBracket {
            assignElement(word, name: name, evaluator: evaluator, into: &env)
            return
        }
        let value = Self.assignmentValue(word, nameLength: name.utf8.count + (appending ? 2 : 1))
        env.companionPaths[name] = nil
        if let resolved = evaluator.fields(value) {
            var text = resolved.map(\.text).joined(separator: " ")
            if appending, case .scalar(let old)? = env.variables[name] { text = old + text }
            env.variables[name] = .scalar(text)
        } else {
            let spelled = spelling(of: value, evaluator: evaluator)
            env.variables[name] = .unknown(spelling: spelled)
            if !appending, value.basename?.hasPrefix("codex-companion") == true { env.companionPaths[name] = spelled }
        }
    }

    /// `NAME[i]=value`: sets one element when the index and value resolve; otherwise the
    /// whole variable becomes unknown (its later use falls back to the mention rule).
    private func assignElement(
        _ word: ShellWord, name: String, evaluator: ShellEvaluator, into env: inout ShellEnvironment
    ) {
        let bytes = word.text.utf8
        guard let close = bytes.firstIndex(of: ShellByte.closeBracket),
            let equals = bytes[close...].firstIndex(of: ShellByte.equals)
        else {
            env.variables[name] = .unknown(spelling: word.text)
            return
        }
        let open = bytes.index(after: bytes.index(bytes.startIndex, offsetBy: name.utf8.count))
        let index = Int(String(Substring(bytes[open..<close])))
        let prefix = bytes.distance(from: bytes.startIndex, to: equals) + 1
        let value = Self.assignmentValue(word, nameLength: prefix)
        guard let index, index >= 0, index < 4096, bytes[bytes.index(before: equals)] == ShellByte.closeBracket,
            let resolved = evaluator.fields(value)
        else {
            env.variables[name] = .unknown(spelling: spelling(of: value, evaluator: evaluator))
            return
        }
        var elements: [String] = []
        switch env.variables[name] {
        case .array(let old)?: elements = old
        case .scalar(let old)?: elements = [old]
        case nil: break
        default:
            env.variables[name] = .unknown(spelling: word.text)
            return
        }
        while elements.count <= index { elements.append("") }
        elements[index] = resolved.map(\.text).joined(separator: " ")
        env.variables[name] = .array(elements)
    }

    /// The value part of an assignment word, as a word of its own.
    static func assignmentValue(_ word: ShellWord, nameLength: Int) -> ShellWord {
        var parts = word.parts
        var text = word.text
        if case .literal(let first, let quoted)? = parts.first, first.utf8.count >= nameLength {
            let rest = String(Substring(first.utf8.dropFirst(nameLength)))
            if rest.isEmpty { parts.removeFirst() } else { parts[0] = .literal(rest, quoted: quoted) }
            text = String(Substring(text.utf8.dropFirst(nameLength)))
        }
        // An assignment value is neither split nor brace-expanded: quote every literal.
        parts = parts.map { part in
            switch part {
            case .literal(let t, _): return .literal(t, quoted: true)
            case .parameter(let r, _): return .parameter(r, quoted: true)
            case .command(let range, _): return .command(range, quoted: true)
            default: return part
            }
        }
        if parts.isEmpty { parts = [.literal("", quoted: true)] }
        return ShellWord(text: text, isQuoted: true, hasExpansion: word.hasExpansion, parts: parts)
    }

    /// What a command establishes for the commands after it: `export`/`declare`
    /// assignments, aliases, `read <<<`, `set --`, `printf -v`, files it writes.
    private func record(
        _ words: [ShellWord], command: ShellCommand, index: Int, evaluator: ShellEvaluator,
        into env: inout ShellEnvironment, evalDepth: Int = 0
    ) {
        guard let name = words.first?.basename else { return }
        let original = command.words
        switch name {
        case "eval":
            if let text = evaluator.resolveAll(words.dropFirst()[...])?.map(\.text).joined(separator: " ") {
                recordEffects(ofShellText: text, into: &env, evalDepth: evalDepth + 1)
            }
        case "export", "declare", "typeset", "local", "readonly":
            if words.dropFirst().contains(where: { $0.text.hasPrefix("-") && $0.text.contains("f") }) {
                for word in words.dropFirst() where !word.text.hasPrefix("-") && env.functions[word.text] != nil {
                    env.exportedFunctions.insert(word.text)
                }
            }
            for word in original.dropFirst() where word.isAssignment { assign(word, evaluator: evaluator, into: &env) }
            let isReference = words.dropFirst().contains { $0.text.hasPrefix("-") && $0.text.contains("n") }
            for word in words.dropFirst() where isReference && word.isAssignment {
                guard let name = word.assignmentName, let eq = word.text.firstIndex(of: "=") else { continue }
                env.variables[name] = .reference(String(word.text[word.text.index(after: eq)...]))
            }
        case "alias":
            for word in words.dropFirst() {
                guard let eq = word.text.firstIndex(of: "=") else { continue }
                env.aliases[String(word.text[..<eq])] = String(word.text[word.text.index(after: eq)...])
            }
        case "unalias":
            for word in words.dropFirst() { env.aliases[word.text] = nil }
        case "unset":
            for word in words.dropFirst() where !word.text.hasPrefix("-") {
                env.variables[word.text] = nil
                env.functions[word.text] = nil
            }
        case "read", "mapfile", "readarray":
            let site = Site(commands: evaluator.commands, index: index, env: env, evaluator: evaluator)
            readInput(name, words.dropFirst(), command: command, site: site, into: &env)
        case "set":
            if let dash = words.firstIndex(where: { $0.text == "--" }) {
                env.positional = words[(dash + 1)...].map(\.text)
            }
        case "printf":
            if words.count >= 3, words[1].text == "-v" {
                env.variables[words[2].text] = .scalar(
                    ShellEvaluator.printf(words.count > 3 ? words[3].text : "", words.dropFirst(4).map(\.text)))
            }
        default:
            break
        }
        // Files written by redirections.
        for redirection in command.redirections {
            switch redirection.op {
            case .writeTo, .appendTo, .clobber, .writeBoth, .appendBoth:
                guard let path = evaluator.string(redirection.target) else { continue }
                var content = evaluator.output(of: index)
                if redirection.op == .appendTo || redirection.op == .appendBoth, let old = env.file(path) {
                    content = old.content.flatMap { old in content.map { old + $0 } }
                }
                env.setFile(path, WrittenFile(content: content, spelling: spelling(of: command, evaluator: evaluator)))
            default:
                continue
            }
        }
        if name == "tee" {
            for word in words.dropFirst() where !word.text.hasPrefix("-") {
                env.setFile(word.text, WrittenFile(content: nil, spelling: spelling(of: command, evaluator: evaluator)))
            }
        }
    }

    /// What static text run by `eval` establishes for the rest of the line
    /// (`eval "tool=codex"; $tool exec`): its assignments, exports, aliases, files.
    private func recordEffects(ofShellText text: String, into env: inout ShellEnvironment, evalDepth: Int) {
        guard evalDepth <= Self.maxDepth, !budget.isExhausted else { return }
        let script = ShellParser.parse(text, budget: budget)
        for (index, command) in script.commands.enumerated() {
            if budget.isExhausted { return }
            assignDefaults(command, into: &env)
            let evaluator = ShellEvaluator(commands: script.commands, env: env, budget: budget)
            if command.words.isEmpty {
                for assignment in command.assignments { assign(assignment, evaluator: evaluator, into: &env) }
                continue
            }
            let words = evaluator.resolveKeeping(command.words[...])
            record(words, command: command, index: index, evaluator: evaluator, into: &env, evalDepth: evalDepth)
        }
    }

    // MARK: Spelling

    /// Source text of a word plus what its expansions are known to hold, for `CodexMention`.
    func spelling(of word: ShellWord, evaluator: ShellEvaluator) -> String {
        var out = word.text
        for part in word.parts {
            switch part {
            case .parameter(let raw, _):
                let name = raw.drop { $0 == "$" || $0 == "{" || $0 == "!" }.prefix {
                    $0.isLetter || $0.isNumber || $0 == "_"
                }
                switch evaluator.env.variables[String(name)] {
                case .scalar(let s)?: out += " " + s
                case .array(let a)?: out += " " + a.joined(separator: " ")
                case .unknown(let s)?: out += " " + s
                case .reference(let target)?: out += " " + target
                case nil: break
                }
            case .command(let range, _), .process(let range):
                for i in range where i < evaluator.commands.count {
                    out += " " + spelling(of: evaluator.commands[i], evaluator: evaluator, includeSubstitutions: false)
                }
            default:
                break
            }
        }
        return out
    }

    func spelling(of command: ShellCommand, evaluator: ShellEvaluator, includeSubstitutions: Bool = true) -> String {
        var out = ""
        for word in command.assignments + command.words {
            out += " " + (includeSubstitutions ? spelling(of: word, evaluator: evaluator) : word.text)
        }
        for text in command.stdinTexts { out += " " + text }
        for redirection in command.redirections where redirection.op == .readFrom {
            if let path = evaluator.string(redirection.target), let file = evaluator.env.file(path) {
                out += " " + (file.content ?? file.spelling)
            }
        }
        return out
    }

    /// The source of everything piped into command `index`.
    func producerSpelling(_ index: Int, site: Site) -> String {
        var out = ""
        var current: Int? = index
        var steps = 0
        while let i = current, i < site.commands.count, steps < 64 {
            out += spelling(of: site.commands[i], evaluator: site.evaluator)
            current = site.commands[i].pipedFrom
            steps += 1
        }
        return out
    }

    // MARK: Commands

    enum Step {
        /// Continue with these words as the command.
        case run(ArraySlice<ShellWord>)
        case found(String)
        /// Not an invocation.
        case stop
    }

    /// Examines one simple command (its words after the assignments).
    func check(_ words: ArraySlice<ShellWord>, site: Site, depth: Int) -> String? {
        var site = site
        if depth > Self.maxDepth {
            let text = words.map { spelling(of: $0, evaluator: site.evaluator) }.joined(separator: " ")
            return pastLimit(text, "codex (nested past what the guard follows)")
        }
        var rest = words
        var steps = 0
        var first = true
        while let word = rest.first {
            steps += 1
            if steps > Self.maxUnwrapSteps || budget.isExhausted {
                let text = rest.map(\.text).joined(separator: " ")
                return CodexMention.mentions(text) ? "codex (wrapped past what the guard follows)" : nil
            }
            let isFirst = first
            first = false
            // `env NAME=value cmd`, `sudo NAME=value cmd`: the value reaches what runs
            // (a child shell's `-c` code expands it).
            if !isFirst && word.isAssignment && word.assignmentName != nil {
                assign(word, evaluator: site.evaluator, into: &site.env)
                site.evaluator = ShellEvaluator(commands: site.commands, env: site.env, budget: budget)
                rest = rest.dropFirst()
                continue
            }
            // Aliases and functions apply to the command word only, before any wrapper.
            if isFirst && !word.isQuoted && !word.hasExpansion, let value = site.env.aliases[word.text] {
                var env = site.env
                env.aliases[word.text] = nil  // an alias does not expand itself
                let (expanded, remaining) = Self.expandAliasChain(value, rest.dropFirst(), aliases: env.aliases)
                let args = remaining.map { Self.quoteForShell($0.text) }.joined(separator: " ")
                return scan(script: expanded + " " + args, depth: depth + 1, env: env)
            }
            if isFirst, let function = site.env.functions[word.text], word.hasStaticBasename {
                return callFunction(function, args: rest.dropFirst(), site: site, depth: depth)
            }
            guard let name = word.basename else {
                return dynamicCommandWord(word, rest: rest, site: site)
            }
            if CodexInvocationGuard.isCodexName(name) || Self.matchesCodexGlob(word) {
                return Self.describe(word, next: rest.dropFirst().first)
            }
            // A script written earlier in the line and run by path.
            if word.text.contains("/"), let file = site.env.file(word.text) {
                return runWrittenFile(file, site: site, depth: depth)
            }
            let step: Step
            if Self.handledNames.contains(name) {
                step = self.step(name: name, args: rest.dropFirst(), site: site, depth: depth)
            } else if name == "git" {
                return gitCommands(rest.dropFirst(), site: site, depth: depth)
            } else if Self.dataCommands.contains(name) || name.hasPrefix("codex-companion") {
                // Data commands, and the companion's own launcher.
                return nil
            } else {
                step = unknownCommand(name: name, args: rest.dropFirst(), site: site, depth: depth)
            }
            switch step {
            case .run(let next): rest = site.evaluator.resolveKeeping(next)[...]
            case .found(let description): return description
            case .stop: return nil
            }
        }
        return nil
    }

    /// An alias whose value ends in a blank makes the next word alias-expanded too.
    static func expandAliasChain(
        _ value: String, _ rest: ArraySlice<ShellWord>, aliases: [String: String]
    ) -> (String, ArraySlice<ShellWord>) {
        var text = value
        var remaining = rest
        var steps = 0
        while text.last == " " || text.last == "\t", let next = remaining.first, next.isPlain,
            let expansion = aliases[next.text], steps < 16
        {
            text += expansion
            remaining = remaining.dropFirst()
            steps += 1
        }
        return (text, remaining)
    }

    /// A command word whose value is only known at run time.
    private func dynamicCommandWord(_ word: ShellWord, rest: ArraySlice<ShellWord>, site: Site) -> String? {
        // `$(which codex) exec`: the command word is the path of codex.
        if let inner = word.soleSubstitution, Self.locatesCodex(inner) {
            return Self.describe(word, next: rest.dropFirst().first)
        }
        // `"$_cc"` where `_cc` holds a run-time path to the companion's own launcher.
        if word.parts.count == 1, case .parameter(let raw, _) = word.parts[0],
            case let name = Self.parameterName(raw), let spelled = site.env.companionPaths[name],
            case .unknown(spelled)? = site.env.variables[name]
        {
            return nil
        }
        if CodexMention.mentions(spelling(of: word, evaluator: site.evaluator)) {
            return "\(Self.clip(word.text)) (a computed command name that spells codex)"
        }
        return nil
    }

    /// `$name` / `${name}` → `name` (empty for anything more complex).
    static func parameterName(_ raw: String) -> String {
        var text = Substring(raw)
        guard text.hasPrefix("$") else { return "" }
        text = text.dropFirst()
        if text.hasPrefix("{") && text.hasSuffix("}") { text = text.dropFirst().dropLast() }
        guard !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return "" }
        return String(text)
    }

    private func callFunction(
        _ function: FunctionDefinition, args: ArraySlice<ShellWord>, site: Site, depth: Int
    ) -> String? {
        if depth >= Self.maxDepth {
            let text =
                args.map(\.text).joined(separator: " ")
                + function.commands[function.body].map { spelling(of: $0, evaluator: site.evaluator) }.joined()
            return pastLimit(text, "codex (in functions nested past what the guard follows)")
        }
        var env = site.env
        let resolved = site.evaluator.resolveAll(args)
        env.positional = resolved?.map(\.text)
        if resolved == nil, CodexMention.mentions(args.map(\.text).joined(separator: " ")) {
            // Arguments only known at run time, but they spell codex: the body may run them.
            let runsArguments = function.commands[function.body].contains { command in
                command.words.contains { $0.text.contains("$@") || $0.text.contains("$*") || $0.text.contains("$1") }
            }
            if runsArguments { return "codex (passed to a function that runs its arguments)" }
        }
        for index in function.body where index < function.commands.count {
            if let found = visit(
                function.commands[index], index: index, commands: function.commands, env: &env, depth: depth + 1)
            {
                return found
            }
        }
        return nil
    }

    private func runWrittenFile(_ file: WrittenFile, site: Site, depth: Int) -> String? {
        if let content = file.content {
            return scan(script: content, depth: depth + 1, env: site.env)
        }
        return CodexMention.mentions(file.spelling) ? "codex (in a script written at run time)" : nil
    }

    /// Runs shell text. `dynamic`: part of it is only known at run time, described by `spelling`.
    func runShellText(_ text: String, dynamic: Bool, spelling: String, env: ShellEnvironment, depth: Int) -> Step {
        if let found = scan(script: text, depth: depth + 1, env: env) { return .found(found) }
        if dynamic && CodexMention.mentions(spelling) {
            return .found("codex (in a script computed at run time)")
        }
        return .stop
    }

    /// Runs a word (or words joined) as shell text.
    func runShellWords(_ words: ArraySlice<ShellWord>, site: Site, env: ShellEnvironment? = nil, depth: Int) -> Step {
        let resolved = site.evaluator.resolveAll(words)
        let text = (resolved.map { $0[...] } ?? words).map(\.text).joined(separator: " ")
        let spelled = words.map { spelling(of: $0, evaluator: site.evaluator) }.joined(separator: " ")
        let dynamic = resolved == nil || words.contains { $0.hasExpansion }
        return runShellText(text, dynamic: dynamic, spelling: spelled, env: env ?? site.env, depth: depth)
    }

    /// What a shell without `-c` reads as its script from its standard input.
    func runStdinScript(site: Site, depth: Int) -> Step {
        guard let index = site.index, index < site.commands.count else { return .stop }
        let command = site.commands[index]
        if command.stdinTexts.isEmpty && command.pipedFrom == nil {
            // `sh < file`: a file written in this line, or a script file (allowed like `sh file`).
            for redirection in command.redirections where redirection.op == .readFrom {
                for part in redirection.target.parts {
                    guard case .process(let range) = part else { continue }
                    if let text = site.evaluator.substitutionOutput(range) {
                        return runShellText(text, dynamic: false, spelling: "", env: site.env, depth: depth)
                    }
                    let spelled = range.map { spelling(of: site.commands[$0], evaluator: site.evaluator) }.joined()
                    return CodexMention.mentions(spelled) ? .found("codex (in a script computed at run time)") : .stop
                }
                guard let path = site.evaluator.string(redirection.target), let file = site.env.file(path) else {
                    continue
                }
                if let content = file.content {
                    return runShellText(content, dynamic: false, spelling: "", env: site.env, depth: depth)
                }
                return CodexMention.mentions(file.spelling) ? .found("codex (in a script written at run time)") : .stop
            }
            return .stop
        }
        if let text = site.evaluator.input(of: index) {
            return runShellText(text, dynamic: false, spelling: "", env: site.env, depth: depth)
        }
        var spelled = producerSpelling(index, site: site)
        if command.pipedFrom == nil { spelled += command.stdinTexts.joined(separator: " ") }
        return CodexMention.mentions(spelled) ? .found("codex (in a script piped into a shell)") : .stop
    }

    static func quoteForShell(_ text: String) -> String {
        if !text.isEmpty
            && text.utf8.allSatisfy({
                ShellByte.isNameByte($0) || $0 == ShellByte.minus
                    || $0 == ShellByte.slash || $0 == 0x2E || $0 == ShellByte.equals || $0 == 0x3A
            })
        {
            return text
        }
        var out = "'"
        for ch in text {
            if ch == "'" { out += "'\\''" } else { out.append(ch) }
        }
        return out + "'"
    }

    /// An unquoted glob in the command word's basename that matches `codex` (`cod?x`, `c*x`).
    static func matchesCodexGlob(_ word: ShellWord) -> Bool {
        guard let base = word.basename, base.contains(where: { "*?[".contains($0) }) else { return false }
        // The basename must be unquoted (a glob), though the directory may be quoted (`"$HOME"/bin/c?dex`).
        if word.parts.isEmpty {
            if word.isQuoted { return false }
        } else {
            guard case .literal(let last, quoted: false)? = word.parts.last, last.hasSuffix(base) else { return false }
        }
        return globMatch(Array(base.utf8)[...], Array("codex".utf8)[...])
    }

    private static func globMatch(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        guard let c = p.first else { return s.isEmpty }
        switch c {
        case ShellByte.star:
            var rest = s
            while true {
                if globMatch(p.dropFirst(), rest) { return true }
                if rest.isEmpty { return false }
                rest = rest.dropFirst()
            }
        case ShellByte.question:
            return !s.isEmpty && globMatch(p.dropFirst(), s.dropFirst())
        case ShellByte.openBracket:
            guard let close = p.dropFirst().firstIndex(of: ShellByte.closeBracket), let ch = s.first else {
                return false
            }
            var set = p[(p.startIndex + 1)..<close]
            var negate = false
            if set.first == ShellByte.bang || set.first == 0x5E {
                negate = true
                set = set.dropFirst()
            }
            var hit = false
            var i = set.startIndex
            while i < set.endIndex {
                if i + 2 < set.endIndex, set[i + 1] == ShellByte.minus {
                    if set[i] <= ch && ch <= set[i + 2] { hit = true }
                    i += 3
                } else {
                    if set[i] == ch { hit = true }
                    i += 1
                }
            }
            return hit != negate && globMatch(p[(close + 1)...], s.dropFirst())
        default:
            return s.first == c && globMatch(p.dropFirst(), s.dropFirst())
        }
    }

    /// `which codex`, `command -v codex`, `type -P codex`: prints the path of codex.
    static func locatesCodex(_ words: [ShellWord]) -> Bool {
        guard let tool = words.first?.basename, let last = words.last, words.count >= 2,
            let name = last.basename, CodexInvocationGuard.isCodexName(name)
        else { return false }
        switch tool {
        case "which", "whence", "where": return true
        case "command": return words.contains { $0.text == "-v" }
        case "type": return words.contains { $0.text == "-p" || $0.text == "-P" }
        default: return false
        }
    }

    static func describe(_ word: ShellWord, next: ShellWord?) -> String {
        var text = clip(word.text)
        if let next, isSubcommandLike(next.text) { text += " " + next.text }
        return text
    }

    private static func isSubcommandLike(_ text: String) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, bytes.count <= 24, first >= 0x61, first <= 0x7A else { return false }
        return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ShellByte.isDigit($0) || $0 == ShellByte.minus }
    }

    /// Keeps descriptions short and on one line.
    static func clip(_ text: String) -> String {
        var result = ""
        for ch in text.prefix(80) {
            result.append(ch.isNewline || ch == "\t" ? " " : ch)
        }
        return text.count > 80 ? result + "…" : result
    }
}
