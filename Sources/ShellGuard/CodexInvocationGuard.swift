/// Decides whether a Bash command line runs the OpenAI Codex CLI directly.
///
/// The command line is parsed (see `ShellParser`); every simple command found anywhere
/// in it (pipelines, lists, compound commands, function bodies, command and process
/// substitutions, expanded here-documents) is examined. A command runs Codex when its
/// command word, after assignments and after unwrapping commands that run their
/// arguments (`env`, `sudo`, `xargs`, `timeout`, `bash -c '…'`, `eval`, `npx`…), has
/// the basename `codex`. Words that merely mention codex (arguments, file names,
/// here-document bodies, comments) do not count.
public enum CodexInvocationGuard {
    /// nil when `command` does not run the Codex CLI; otherwise a short description
    /// of the invocation found, e.g. "codex exec" or "npx @openai/codex".
    public static func findInvocation(in command: String) -> String? {
        let finder = InvocationFinder(budget: ParseBudget.forInput(length: command.utf8.count))
        return finder.scan(script: command, depth: 0)
    }

    /// Wrappers that the fallback token scan steps over (with their options).
    static let simpleWrappers: Set<String> = [
        "env", "command", "exec", "nohup", "time", "nice", "timeout", "sudo", "doas", "xargs", "stdbuf",
        "setsid", "chrt", "ionice", "taskset", "caffeinate", "watch", "builtin", "unbuffer", "noglob",
        "nocorrect", "coproc", "busybox", "pkexec",
    ]

    /// Command names that are the Codex CLI.
    static func isCodexName(_ name: String) -> Bool {
        // A quoted Windows path (`"C:\tools\codex.exe"`) keeps its backslashes.
        var name = Substring(name)
        if let backslash = name.lastIndex(of: "\\") { name = name[name.index(after: backslash)...] }
        switch name.lowercased() {
        case "codex", "codex.exe", "codex.cmd", "codex.bat", "codex.ps1": return true
        default: return false
        }
    }

    /// A package specification (for npx and friends) that names the Codex CLI package.
    static func isCodexPackage(_ spec: String) -> Bool {
        var name = Substring(spec.lowercased())
        for prefix in ["npm:", "github:"] where name.hasPrefix(prefix) { name = name.dropFirst(prefix.count) }
        if name.hasPrefix("@") {
            // @scope/name[@version]
            if let at = name.dropFirst().firstIndex(of: "@") { name = name[..<at] }
        } else {
            if let hash = name.firstIndex(of: "#") { name = name[..<hash] }
            if let at = name.firstIndex(of: "@") { name = name[..<at] }
        }
        if name == "@openai/codex" || name == "openai/codex" || name == "codex" { return true }
        // A path to the binary, e.g. ./node_modules/.bin/codex.
        if let slash = name.lastIndex(of: "/"), !name.hasPrefix("@") {
            return isCodexName(String(name[name.index(after: slash)...]))
        }
        return false
    }
}

/// Where a command's standard input comes from, for shells that read their script from it.
struct StdinFeed {
    var command: ShellCommand
    var script: ShellScript

    /// Texts a shell without `-c` would read as its script: here-documents, here-strings,
    /// and the output of a literal `echo`/`printf`/`cat <<EOF` piped into it.
    var scripts: [String] {
        var texts = command.stdinTexts
        guard let source = command.pipedFrom, source < script.commands.count else { return texts }
        let producer = script.commands[source]
        guard let name = producer.words.first?.basename else { return texts }
        var args = producer.words.dropFirst()
        switch name {
        case "echo":
            while let first = args.first, first.text.hasPrefix("-"), first.text.dropFirst().allSatisfy({ "neE".contains($0) }) {
                args = args.dropFirst()
            }
            texts.append(args.map(\.text).joined(separator: " "))
        case "printf":
            let joined = args.map(\.text).joined(separator: " ")
            texts.append(joined.split(separator: "\\n", omittingEmptySubsequences: false).joined(separator: "\n"))
        case "cat" where args.isEmpty:
            texts.append(contentsOf: producer.stdinTexts)
        default:
            break
        }
        return texts
    }
}

/// One guard decision. Holds the shared work budget across nested parses.
struct InvocationFinder {
    let budget: ParseBudget
    /// How deep scripts inside scripts (`bash -c "eval '…'"`) are followed.
    static let maxDepth = 8
    /// How many wrapper layers one command may have before we stop unwrapping.
    static let maxUnwrapSteps = 64

    func scan(script text: String, depth: Int) -> String? {
        guard depth <= Self.maxDepth, !budget.isExhausted else { return nil }
        let script = ShellParser.parse(text, budget: budget)
        for command in script.commands {
            let feed = StdinFeed(command: command, script: script)
            if let found = check(command.words[...], stdin: feed, depth: depth) { return found }
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

    private enum Step {
        /// Continue with these words as the command.
        case run(ArraySlice<ShellWord>)
        case found(String)
        /// Not an invocation.
        case stop
    }

    /// Examines one simple command (its words after the assignments).
    func check(_ words: ArraySlice<ShellWord>, stdin: StdinFeed, depth: Int) -> String? {
        guard depth <= Self.maxDepth else { return nil }
        var rest = words
        var steps = 0
        while let first = rest.first {
            steps += 1
            if steps > Self.maxUnwrapSteps || budget.isExhausted { return nil }
            guard let name = first.basename else {
                // `$(which codex) exec`: the command word is the path of codex.
                if let inner = first.soleSubstitution, Self.locatesCodex(inner) {
                    return Self.describe(first, next: rest.dropFirst().first)
                }
                return nil
            }
            if CodexInvocationGuard.isCodexName(name) {
                return Self.describe(first, next: rest.dropFirst().first)
            }
            guard Self.handledNames.contains(name) else { return nil }
            switch step(name: name, args: rest.dropFirst(), stdin: stdin, depth: depth) {
            case .run(let next): rest = next
            case .found(let description): return description
            case .stop: return nil
            }
        }
        return nil
    }

    /// Every command name `step` knows; anything else ends the search at once.
    static let handledNames: Set<String> = [
        "env", "command", "exec", "nohup", "builtin", "noglob", "nocorrect", "coproc", "busybox", "time", "nice",
        "timeout", "sudo", "doas", "pkexec", "xargs", "stdbuf", "setsid", "unbuffer", "chrt", "ionice", "taskset",
        "caffeinate", "flock", "chroot", "watch", "eval", "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash",
        "posh", "fish", "rbash", "su", "script", "runuser", "find", "npx", "pnpx", "bunx", "npm", "pnpm", "yarn",
        "bun", "node", "nodejs",
    ]

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func step(name: String, args: ArraySlice<ShellWord>, stdin: StdinFeed, depth: Int) -> Step {
        switch name {
        case "env":
            return env(args, depth: depth)
        case "command":
            let parsed = WrapperOptions.parse(args)
            if parsed.has("-v") || parsed.has("-V") { return .stop }
            return .run(parsed.operands)
        case "exec":
            return .run(WrapperOptions.parse(args, shortWithValue: "a").operands)
        case "nohup", "builtin", "noglob", "nocorrect", "coproc", "busybox":
            return .run(WrapperOptions.parse(args).operands)
        case "time":
            return .run(
                WrapperOptions.parse(args, shortWithValue: "fo", longWithValue: ["--format", "--output"]).operands)
        case "nice":
            return .run(
                WrapperOptions.parse(args, shortWithValue: "n", longWithValue: ["--adjustment"], numericOptions: true)
                    .operands)
        case "timeout":
            let parsed = WrapperOptions.parse(args, shortWithValue: "sk", longWithValue: ["--signal", "--kill-after"])
            return .run(parsed.operands.dropFirst())  // the duration
        case "sudo":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "ugpCDrtUTRh",
                longWithValue: [
                    "--user", "--group", "--prompt", "--close-from", "--chdir", "--role", "--type", "--other-user",
                    "--command-timeout", "--chroot", "--host",
                ])
            for mode in ["-e", "-l", "-v", "-V", "-K", "--edit", "--list", "--validate", "--version",
                "--remove-timestamp", "--help"] where parsed.has(mode)
            {
                return .stop
            }
            return .run(parsed.operands.drop(while: \.isAssignment))
        case "doas":
            let parsed = WrapperOptions.parse(args, shortWithValue: "uC")
            if parsed.has("-C") || parsed.has("-L") { return .stop }
            return .run(parsed.operands)
        case "pkexec":
            return .run(WrapperOptions.parse(args, longWithValue: ["--user"]).operands)
        case "xargs":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "ILnPsdEaJRS",
                longWithValue: [
                    "--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var",
                ])
            return .run(parsed.operands)
        case "stdbuf":
            return .run(
                WrapperOptions.parse(args, shortWithValue: "ioe", longWithValue: ["--input", "--output", "--error"])
                    .operands)
        case "setsid", "unbuffer":
            return .run(WrapperOptions.parse(args).operands)
        case "chrt":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "TPD", longWithValue: ["--sched-runtime", "--sched-period", "--sched-deadline"])
            if parsed.has("-p") || parsed.has("--pid") || parsed.has("-m") || parsed.has("--max") { return .stop }
            var operands = parsed.operands
            if let priority = operands.first, priority.text.allSatisfy(\.isNumber) { operands = operands.dropFirst() }
            return .run(operands)
        case "ionice":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "cnpPu", longWithValue: ["--class", "--classdata", "--pid", "--pgid", "--uid"])
            for mode in ["-p", "-P", "-u", "--pid", "--pgid", "--uid"] where parsed.has(mode) { return .stop }
            return .run(parsed.operands)
        case "taskset":
            let parsed = WrapperOptions.parse(args)
            if parsed.has("-p") || parsed.has("--pid") { return .stop }
            return .run(parsed.operands.dropFirst())  // the mask or CPU list
        case "caffeinate":
            return .run(WrapperOptions.parse(args, shortWithValue: "tw").operands)
        case "flock":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "wEc", longWithValue: ["--timeout", "--conflict-exit-code", "--command"])
            if let script = parsed.value("-c") ?? parsed.value("--command") {
                return scanString(script, depth: depth)
            }
            return .run(parsed.operands.dropFirst())  // the lock file
        case "chroot":
            let parsed = WrapperOptions.parse(args, longWithValue: ["--userspec", "--groups"])
            return .run(parsed.operands.dropFirst())  // the new root
        case "watch":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "nq", longWithValue: ["--interval", "--equexit", "--shotsdir"])
            return scanString(parsed.operands.map(\.text).joined(separator: " "), depth: depth)
        case "eval":
            let operands = args.first?.text == "--" ? args.dropFirst() : args
            return scanString(operands.map(\.text).joined(separator: " "), depth: depth)
        case "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "fish", "rbash":
            return shell(args, stdin: stdin, depth: depth)
        case "su", "runuser":
            // GNU getopt permutes: the command string may come after the user name.
            if let script = WrapperOptions.permutedValue(
                of: "c", in: args, shortWithValue: "csgGw",
                long: ["--command", "--session-command"], longWithValue: ["--shell", "--group", "--supp-group"])
            {
                return scanString(script, depth: depth)
            }
            return .stop
        case "script":
            if let script = WrapperOptions.permutedValue(
                of: "c", in: args, shortWithValue: "cEIOBTmo", long: ["--command"],
                longWithValue: ["--echo", "--log-in", "--log-out", "--log-io", "--log-timing", "--logging-format",
                    "--output-limit"])
            {
                return scanString(script, depth: depth)
            }
            return .stop
        case "find":
            return find(args, stdin: stdin, depth: depth)
        case "npx", "pnpx", "bunx":
            return packageRunner(launcher: name, args, depth: depth)
        case "npm":
            return packageManager(name, args, runners: ["exec", "x"], executors: [], depth: depth)
        case "pnpm":
            return packageManager(name, args, runners: ["dlx"], executors: ["exec"], depth: depth)
        case "yarn":
            return packageManager(name, args, runners: ["dlx"], executors: ["exec"], depth: depth)
        case "bun":
            let parsed = WrapperOptions.parse(args)
            guard let sub = parsed.operands.first else { return .stop }
            if sub.text == "x" { return packageRunner(launcher: "bun x", parsed.operands.dropFirst(), depth: depth) }
            if sub.text == "exec", let script = parsed.operands.dropFirst().first {
                return scanString(script.text, depth: depth)
            }
            return .stop
        case "node", "nodejs":
            return node(args)
        default:
            return .stop
        }
    }

    /// Parses a script string (for `bash -c`, `eval`, `watch`…) one level deeper.
    private func scanString(_ text: String, depth: Int) -> Step {
        if let found = scan(script: text, depth: depth + 1) { return .found(found) }
        return .stop
    }

    private func env(_ args: ArraySlice<ShellWord>, depth: Int) -> Step {
        var words = args
        // A lone `-` means `-i`.
        while words.first?.text == "-" { words = words.dropFirst() }
        let parsed = WrapperOptions.parse(
            words, shortWithValue: "uCSP", longWithValue: ["--unset", "--chdir", "--split-string"])
        var operands = parsed.operands
        while operands.first?.text == "-" { operands = operands.dropFirst() }
        if let split = parsed.value("-S") ?? parsed.value("--split-string") {
            // `env -S 'A=1 codex exec'`: env splits the string into more arguments.
            let extra = ShellParser.splitWords(split, budget: budget)
            operands = (extra + Array(operands))[...]
        }
        return .run(operands.drop(while: \.isAssignment))
    }

    private func shell(_ args: ArraySlice<ShellWord>, stdin: StdinFeed, depth: Int) -> Step {
        var index = args.startIndex
        var commandString = false
        var readsStdin = false
        while index < args.endIndex {
            let text = args[index].text
            if text == "--" || text == "-" {
                index += 1
                break
            }
            guard text.utf8.count > 1, text.hasPrefix("-") || text.hasPrefix("+") else { break }
            if text.hasPrefix("--") {
                let takesValue = ["--rcfile", "--init-file", "--init-command", "--command", "--emulate"].contains(text)
                if text == "--command" { commandString = true }
                index += takesValue && text != "--command" ? 2 : 1
                continue
            }
            var valued = 0
            for ch in text.dropFirst() {
                switch ch {
                case "c": commandString = true
                case "s": readsStdin = true
                case "o", "O", "C": valued += 1
                default: break
                }
            }
            index += 1 + valued
        }
        if commandString {
            guard index < args.endIndex else { return .stop }
            return scanString(args[index].text, depth: depth)
        }
        if index < args.endIndex && !readsStdin {
            return .stop  // runs a script file
        }
        for text in stdin.scripts {
            if let found = scan(script: text, depth: depth + 1) { return .found(found) }
        }
        return .stop
    }

    private func find(_ args: ArraySlice<ShellWord>, stdin: StdinFeed, depth: Int) -> Step {
        var index = args.startIndex
        while index < args.endIndex {
            let text = args[index].text
            index += 1
            guard text == "-exec" || text == "-execdir" || text == "-ok" || text == "-okdir" else { continue }
            var stop = index
            while stop < args.endIndex && args[stop].text != ";" && args[stop].text != "+" { stop += 1 }
            if let found = check(args[index..<stop], stdin: stdin, depth: depth + 1) { return .found(found) }
            index = stop
        }
        return .stop
    }

    /// npx, pnpx, bunx, `npm exec`, `pnpm dlx`, `yarn dlx`, `bun x`.
    private func packageRunner(launcher: String, _ args: ArraySlice<ShellWord>, depth: Int) -> Step {
        let parsed = WrapperOptions.parse(
            args, shortWithValue: "pcw",
            longWithValue: [
                "--package", "--call", "--registry", "--cache", "--userconfig", "--prefix", "--workspace",
                "--node-options", "--script-shell",
            ])
        if let call = parsed.value("-c") ?? parsed.value("--call"),
            let found = scan(script: call, depth: depth + 1)
        {
            return .found(found)
        }
        guard let target = parsed.operands.first else { return .stop }
        if CodexInvocationGuard.isCodexPackage(target.text) {
            return .found("\(launcher) \(InvocationFinder.clip(target.text))")
        }
        return .stop
    }

    /// npm / pnpm / yarn: find the subcommand after the global options.
    private func packageManager(
        _ name: String, _ args: ArraySlice<ShellWord>, runners: Set<String>, executors: Set<String>, depth: Int
    ) -> Step {
        let parsed = WrapperOptions.parse(
            args, shortWithValue: "CwF",
            longWithValue: ["--prefix", "--dir", "--workspace", "--filter", "--cwd", "--userconfig"])
        guard let sub = parsed.operands.first else { return .stop }
        let rest = parsed.operands.dropFirst()
        if runners.contains(sub.text) { return packageRunner(launcher: "\(name) \(sub.text)", rest, depth: depth) }
        if executors.contains(sub.text) {
            // `pnpm exec codex …`, `yarn exec codex`: runs a locally installed binary.
            return .run(WrapperOptions.parse(rest, shortWithValue: "c").operands)
        }
        return .stop
    }

    /// `node …/@openai/codex/bin/codex.js`: the CLI's entry script run by node.
    private func node(_ args: ArraySlice<ShellWord>) -> Step {
        let parsed = WrapperOptions.parse(
            args, shortWithValue: "rC",
            longWithValue: ["--require", "--import", "--loader", "--experimental-loader", "--conditions", "--input-type"])
        for mode in ["-e", "-p", "-c", "--eval", "--print", "--check"] where parsed.has(mode) { return .stop }
        guard let script = parsed.operands.first else { return .stop }
        let base = script.basename?.lowercased() ?? ""
        if script.text.contains("@openai/codex/") || base == "codex.js" || base == "codex.mjs" || base == "codex.cjs" {
            return .found("node \(InvocationFinder.clip(script.text))")
        }
        return .stop
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

/// getopt-style option parsing for wrapper commands: stops at the first operand or `--`.
struct WrapperOptions {
    var seen: [(name: String, value: String?)] = []
    var operands: ArraySlice<ShellWord>

    func has(_ name: String) -> Bool { seen.contains { $0.name == name } }
    func value(_ name: String) -> String? { seen.first { $0.name == name && $0.value != nil }?.value ?? nil }

    /// The value of option `-<letter>` (or one of `long`) anywhere among `args`, for
    /// programs whose options may follow their operands.
    static func permutedValue(
        of letter: Character, in args: ArraySlice<ShellWord>, shortWithValue: String, long: Set<String>,
        longWithValue: Set<String>
    ) -> String? {
        var index = args.startIndex
        while index < args.endIndex {
            let text = args[index].text
            index += 1
            if text == "--" { return nil }
            guard text.hasPrefix("-"), text.utf8.count > 1 else { continue }
            if text.hasPrefix("--") {
                if let eq = text.firstIndex(of: "=") {
                    if long.contains(String(text[..<eq])) { return String(text[text.index(after: eq)...]) }
                } else if long.contains(text) {
                    return index < args.endIndex ? args[index].text : nil
                } else if longWithValue.contains(text) {
                    index += 1
                }
                continue
            }
            var cluster = Substring(text).dropFirst()
            while let ch = cluster.first {
                cluster = cluster.dropFirst()
                guard shortWithValue.contains(ch) else { continue }
                let value: String?
                if cluster.isEmpty {
                    value = index < args.endIndex ? args[index].text : nil
                    index += 1
                } else {
                    value = String(cluster)
                }
                if ch == letter { return value }
                break
            }
        }
        return nil
    }

    /// - Parameters:
    ///   - shortWithValue: short option letters that take a value (attached or next word).
    ///   - longWithValue: long options that take the next word as value (`--x=v` always works).
    ///   - numericOptions: `-10` style options (nice).
    static func parse(
        _ args: ArraySlice<ShellWord>, shortWithValue: String = "", longWithValue: Set<String> = [],
        numericOptions: Bool = false
    ) -> WrapperOptions {
        var seen: [(name: String, value: String?)] = []
        var index = args.startIndex
        while index < args.endIndex {
            let text = args[index].text
            if text == "--" {
                index += 1
                break
            }
            guard text.hasPrefix("-"), text.utf8.count > 1 else { break }
            if text.hasPrefix("--") {
                if let eq = text.firstIndex(of: "=") {
                    seen.append((String(text[..<eq]), String(text[text.index(after: eq)...])))
                    index += 1
                } else if longWithValue.contains(text) {
                    seen.append((text, index + 1 < args.endIndex ? args[index + 1].text : nil))
                    index += 2
                } else {
                    seen.append((text, nil))
                    index += 1
                }
                continue
            }
            if numericOptions && text.dropFirst().allSatisfy(\.isNumber) {
                seen.append((text, nil))
                index += 1
                continue
            }
            var cluster = Substring(text).dropFirst()
            var usedNext = false
            while let ch = cluster.first {
                cluster = cluster.dropFirst()
                if shortWithValue.contains(ch) {
                    if !cluster.isEmpty {
                        seen.append(("-\(ch)", String(cluster)))
                    } else {
                        seen.append(("-\(ch)", index + 1 < args.endIndex ? args[index + 1].text : nil))
                        usedNext = true
                    }
                    break
                }
                seen.append(("-\(ch)", nil))
            }
            index += usedNext ? 2 : 1
        }
        return WrapperOptions(seen: seen, operands: args[min(index, args.endIndex)...])
    }
}
