// Static evaluation of what a command line would compute before it runs anything:
// variables assigned earlier in the same line, positional parameters of functions
// defined in it, brace expansion, field splitting, and the output of a few pure
// commands (`echo`, `printf`, `cat <<EOF`, `base64 -d`, `rev`, `tr`…) used in command
// substitutions and pipes. Anything else is "unknown": the guard then falls back to
// asking whether the text mentions codex (`CodexMention`).

/// A variable's value as far as the line itself tells.
enum ShellValue {
    case scalar(String)
    case array([String])
    /// Set to something computed at run time; `spelling` is the source text.
    case unknown(spelling: String)
    /// A name reference (`declare -n r=v`): the variable it stands for.
    case reference(String)
}

/// A function defined in the line.
struct FunctionDefinition {
    var commands: [ShellCommand]
    var body: Range<Int>
}

/// A file written earlier in the line (`cat > run.sh <<EOF`, `echo … > x`).
struct WrittenFile {
    /// nil when the contents are computed at run time.
    var content: String?
    /// The source text of the command that wrote it.
    var spelling: String
}

/// What earlier commands of the line established.
struct ShellEnvironment {
    var variables: [String: ShellValue] = [:]
    /// nil: unknown (the line's own arguments).
    var positional: [String]?
    var aliases: [String: String] = [:]
    var functions: [String: FunctionDefinition] = [:]
    /// Functions marked with `export -f`: a child shell (`bash -c`) knows them too.
    var exportedFunctions: Set<String> = []
    /// Variables holding a run-time path whose static basename is the companion's
    /// launcher (`_cc="${CLAUDE_PLUGIN_ROOT}/bin/codex-companion"`).
    /// Maps the name to the `.unknown` spelling it was given; any later assignment voids it.
    var companionPaths: [String: String] = [:]
    var files: [String: WrittenFile] = [:]

    func file(_ path: String) -> WrittenFile? {
        if let file = files[path] { return file }
        var trimmed = Substring(path)
        while trimmed.hasPrefix("./") { trimmed = trimmed.dropFirst(2) }
        return files[String(trimmed)]
    }

    mutating func setFile(_ path: String, _ file: WrittenFile) {
        var trimmed = Substring(path)
        while trimmed.hasPrefix("./") { trimmed = trimmed.dropFirst(2) }
        files[String(trimmed)] = file
    }
}

/// Evaluates words and pure commands of one parsed script under an environment.
struct ShellEvaluator {
    let commands: [ShellCommand]
    let env: ShellEnvironment
    let budget: ParseBudget
    /// Recursion guard for nested evaluation (substitutions in substitutions, pipes).
    var depth = 0

    static let maxDepth = 24
    static let maxFields = 256

    // MARK: Words

    /// The fields `word` expands to, or nil when some part is only known at run time.
    func fields(_ word: ShellWord) -> [ShellWord]? {
        if word.parts.isEmpty { return [word] }
        if depth > Self.maxDepth || budget.isExhausted { return nil }
        // Each field is a list of chunks: (text, active) where active bytes may take
        // part in brace expansion.
        var result: [[(String, Bool)]] = []
        var current: [(String, Bool)] = []
        var currentStarted = false
        func pushSplit(_ value: String, quoted: Bool) {
            if quoted {
                current.append((value, false))
                currentStarted = true
                return
            }
            let separators = ifsBytes
            let pieces = value.utf8.split(whereSeparator: { separators.contains($0) }).map { String(Substring($0)) }
            let leadingBlank = value.utf8.first.map { separators.contains($0) } ?? false
            let trailingBlank = value.utf8.last.map { separators.contains($0) } ?? false
            if pieces.isEmpty {
                if leadingBlank && currentStarted {
                    result.append(current)
                    current = []
                    currentStarted = false
                }
                return
            }
            for (i, piece) in pieces.enumerated() {
                if i > 0 || leadingBlank {
                    if currentStarted { result.append(current) }
                    current = []
                }
                current.append((piece, false))
                currentStarted = true
            }
            if trailingBlank {
                result.append(current)
                current = []
                currentStarted = false
            }
        }
        for part in word.parts {
            switch part {
            case .literal(let text, let quoted):
                current.append((text, !quoted))
                currentStarted = true
            case .parameter(let raw, let quoted):
                guard let values = parameter(raw) else { return nil }
                if values.count == 1 {
                    pushSplit(values[0], quoted: quoted)
                } else if quoted && raw.contains("@") {
                    // "$@" / "${a[@]}": one field per element.
                    for (i, value) in values.enumerated() {
                        if i > 0 {
                            result.append(current)
                            current = []
                        }
                        current.append((value, false))
                        currentStarted = true
                    }
                    if values.isEmpty && !currentStarted { continue }
                } else {
                    pushSplit(values.joined(separator: quoted ? ifsJoiner : " "), quoted: quoted)
                }
            case .command(let range, let quoted):
                guard var output = substitutionOutput(range) else { return nil }
                while output.hasSuffix("\n") { output.removeLast() }
                pushSplit(output, quoted: quoted)
            case .process, .opaque:
                return nil
            }
        }
        if currentStarted { result.append(current) }
        return Self.braceExpandFields(result, isQuoted: word.isQuoted)
    }

    /// The words of the fields after brace expansion; nil past `maxFields`.
    static func braceExpandFields(_ fields: [[(String, Bool)]], isQuoted: Bool) -> [ShellWord]? {
        var words: [ShellWord] = []
        for field in fields {
            for text in braceExpand(field) {
                words.append(ShellWord(text: text, isQuoted: isQuoted))
                if words.count > maxFields { return nil }
            }
        }
        return words
    }

    /// All words resolved, or nil at the first unknown one.
    func resolveAll(_ words: ArraySlice<ShellWord>) -> [ShellWord]? {
        var out: [ShellWord] = []
        for word in words {
            guard let f = fields(word) else { return nil }
            out.append(contentsOf: f)
            if out.count > Self.maxFields * 4 { return nil }
        }
        return out
    }

    /// Words resolved where possible; unknown words are kept as they are.
    func resolveKeeping(_ words: ArraySlice<ShellWord>) -> [ShellWord] {
        var out: [ShellWord] = []
        for word in words {
            if word.parts.isEmpty || !word.hasExpansion && !word.text.contains("{") {
                out.append(word)
            } else if let f = fields(word) {
                out.append(contentsOf: f)
            } else {
                out.append(word)
            }
        }
        return out
    }

    /// The value of one word as a single string (fields joined by spaces).
    func string(_ word: ShellWord) -> String? {
        fields(word)?.map(\.text).joined(separator: " ")
    }

    /// The bytes of `IFS` as the line set it (space, tab and newline by default).
    var ifsBytes: [UInt8] {
        if case .scalar(let ifs)? = env.variables["IFS"] { return Array(ifs.utf8) }
        return [ShellByte.space, ShellByte.tab, ShellByte.newline]
    }

    /// What joins `"$*"` and `"${a[*]}"`: the first character of IFS.
    var ifsJoiner: String {
        if case .scalar(let ifs)? = env.variables["IFS"] { return ifs.first.map(String.init) ?? "" }
        return " "
    }

    static func isIFS(_ b: UInt8) -> Bool { b == ShellByte.space || b == ShellByte.tab || b == ShellByte.newline }

    static func splitFields(_ value: String) -> [String] {
        value.utf8.split(whereSeparator: isIFS).map { String(Substring($0)) }
    }

    // MARK: Parameters

    /// The values of `$name`, `${…}`: one string, or several for `$@`/arrays; nil if unknown.
    func parameter(_ raw: String) -> [String]? {
        var inner = Substring(raw.dropFirst())  // the `$`
        if inner.hasPrefix("{") {
            guard inner.hasSuffix("}") else { return nil }
            inner = inner.dropFirst().dropLast()
        }
        if inner.hasPrefix("#") && inner.count > 1 { return nil }  // length
        var indirect = false
        if inner.hasPrefix("!") && inner.count > 1 {
            indirect = true
            inner = inner.dropFirst()
        }
        // The name.
        var nameEnd = inner.startIndex
        if let first = inner.first,
            first == "@" || first == "*" || first == "#" || first == "?" || first == "$"
                || first == "!" || first == "-"
        {
            nameEnd = inner.index(after: nameEnd)
        } else if let first = inner.first, first.isNumber {
            while nameEnd < inner.endIndex, inner[nameEnd].isNumber { nameEnd = inner.index(after: nameEnd) }
        } else {
            while nameEnd < inner.endIndex, let a = inner[nameEnd].asciiValue, ShellByte.isNameByte(a) {
                nameEnd = inner.index(after: nameEnd)
            }
        }
        var name = String(inner[..<nameEnd])
        var rest = inner[nameEnd...]
        guard !name.isEmpty else { return nil }
        if indirect {
            guard let target = lookup(name, subscript: nil), target.count == 1 else { return nil }
            name = target[0]
        }
        var subscriptText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            subscriptText = rest[rest.index(after: rest.startIndex)..<close]
            rest = rest[rest.index(after: close)...]
        }
        let value = lookup(name, subscript: subscriptText)
        if rest.isEmpty { return value }
        return applyOperator(rest, to: value)
    }

    private func lookup(_ name: String, subscript sub: Substring?, hops: Int = 0) -> [String]? {
        if name == "@" || name == "*" { return env.positional }
        if name == "#" { return env.positional.map { [String($0.count)] } }
        if let first = name.first, first.isNumber {
            guard let n = Int(name) else { return nil }
            if n == 0 { return nil }
            guard let positional = env.positional else { return nil }
            return [n <= positional.count ? positional[n - 1] : ""]
        }
        guard let value = env.variables[name] else { return nil }
        switch value {
        case .scalar(let s):
            if let sub, sub != "0" && sub != "@" && sub != "*" { return [""] }
            return [s]
        case .array(let elements):
            guard let sub else { return [elements.first ?? ""] }
            if sub == "@" || sub == "*" { return elements }
            guard let n = Int(sub) else { return nil }
            let index = n < 0 ? elements.count + n : n
            return [index >= 0 && index < elements.count ? elements[index] : ""]
        case .unknown:
            return nil
        case .reference(let target):
            return hops < 8 ? lookup(target, subscript: sub, hops: hops + 1) : nil
        }
    }

    private func applyOperator(_ op: Substring, to value: [String]?) -> [String]? {
        let joined = value?.joined(separator: " ")
        for prefix in [":-", ":=", "-", "="] where op.hasPrefix(prefix) {
            let word = String(op.dropFirst(prefix.count))
            if let joined {
                if prefix.hasPrefix(":") ? !joined.isEmpty : true { return value }
            } else {
                return nil
            }
            return snippet(word).map { [$0] }
        }
        for prefix in [":+", "+"] where op.hasPrefix(prefix) {
            guard let joined else { return nil }
            if prefix == ":+" && joined.isEmpty { return [""] }
            return snippet(String(op.dropFirst(prefix.count))).map { [$0] }
        }
        guard let value else { return nil }
        if op == "^^" { return value.map { $0.uppercased() } }
        if op == ",," { return value.map { $0.lowercased() } }
        if op == "^" { return value.map { $0.prefix(1).uppercased() + $0.dropFirst() } }
        if op == "," { return value.map { $0.prefix(1).lowercased() + $0.dropFirst() } }
        if op.hasPrefix(":") {
            // ${x:offset[:length]}
            let pieces = op.dropFirst().split(separator: ":", omittingEmptySubsequences: false)
            guard let offsetText = pieces.first,
                let offset = Int(offsetText.trimmingBlanks())
            else { return nil }
            let length = pieces.count > 1 ? Int(pieces[1].trimmingBlanks()) : nil
            if pieces.count > 1 && length == nil { return nil }
            return value.map { s in
                let chars = Array(s)
                var start = offset < 0 ? chars.count + offset : offset
                start = max(0, min(start, chars.count))
                var stop = chars.count
                if let length { stop = length < 0 ? chars.count + length : start + length }
                stop = max(start, min(stop, chars.count))
                return String(chars[start..<stop])
            }
        }
        if op.hasPrefix("/") {
            var body = op.dropFirst()
            var all = false
            if body.hasPrefix("/") {
                all = true
                body = body.dropFirst()
            }
            let pieces = body.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let pattern = pieces.first.flatMap({ snippet(String($0)) }), !pattern.isEmpty,
                !pattern.contains(where: { "*?[".contains($0) })
            else { return nil }
            guard let replacement = pieces.count > 1 ? snippet(String(pieces[1])) : "" else { return nil }
            return value.map { $0.replacingLiteral(pattern, with: replacement, all: all) }
        }
        for prefix in ["##", "#", "%%", "%"] where op.hasPrefix(prefix) {
            guard let pattern = snippet(String(op.dropFirst(prefix.count))),
                !pattern.contains(where: { "*?[".contains($0) })
            else { return nil }
            return value.map { s in
                if prefix.hasPrefix("#") { return s.hasPrefix(pattern) ? String(s.dropFirst(pattern.count)) : s }
                return s.hasSuffix(pattern) ? String(s.dropLast(pattern.count)) : s
            }
        }
        return nil
    }

    /// Evaluates the word inside `${x:-word}` and the like.
    private func snippet(_ text: String) -> String? {
        if text.isEmpty { return "" }
        if !text.contains(where: { "$`'\"\\{".contains($0) }) { return text }
        guard depth < Self.maxDepth else { return nil }
        let script = ShellParser.parse(": " + text, budget: budget)
        guard let command = script.commands.last, command.words.count >= 2 else { return nil }
        let sub = ShellEvaluator(commands: script.commands, env: env, budget: budget, depth: depth + 1)
        return sub.resolveAll(command.words.dropFirst())?.map(\.text).joined(separator: " ")
    }

    // MARK: Brace expansion

    /// Expands `{a,b}` in the active bytes of a field.
    static func braceExpand(_ chunks: [(String, Bool)]) -> [String] {
        var bytes: [UInt8] = []
        var active: [Bool] = []
        var hasBrace = false
        for (text, isActive) in chunks {
            for b in text.utf8 {
                bytes.append(b)
                active.append(isActive)
                if isActive && b == ShellByte.openBrace { hasBrace = true }
            }
        }
        if !hasBrace { return [String(decoding: bytes, as: UTF8.self)] }
        var out: [[UInt8]] = []
        expand(bytes[...], active[...], into: &out, limit: maxFields)
        return out.map { String(decoding: $0, as: UTF8.self) }
    }

    private static func expand(
        _ bytes: ArraySlice<UInt8>, _ active: ArraySlice<Bool>, into out: inout [[UInt8]], limit: Int
    ) {
        // Find the first active `{` with a matching `}` and a top-level comma.
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if active[i] && bytes[i] == ShellByte.openBrace {
                var depth = 0
                var commas: [Int] = []
                var j = i
                var close: Int?
                while j < bytes.endIndex {
                    if active[j] {
                        if bytes[j] == ShellByte.openBrace {
                            depth += 1
                        } else if bytes[j] == ShellByte.closeBrace {
                            depth -= 1
                            if depth == 0 {
                                close = j
                                break
                            }
                        } else if bytes[j] == 0x2C && depth == 1 {
                            commas.append(j)
                        }
                    }
                    j += 1
                }
                if let close, !commas.isEmpty {
                    let prefix = bytes[bytes.startIndex..<i]
                    let prefixActive = active[active.startIndex..<i]
                    let suffix = bytes[(close + 1)...]
                    let suffixActive = active[(close + 1)...]
                    var bounds = [i]
                    bounds.append(contentsOf: commas)
                    bounds.append(close)
                    for k in 0..<(bounds.count - 1) {
                        if out.count >= limit { return }
                        let alt = bytes[(bounds[k] + 1)..<bounds[k + 1]]
                        let altActive = active[(bounds[k] + 1)..<bounds[k + 1]]
                        expand(
                            (Array(prefix) + Array(alt) + Array(suffix))[...],
                            (Array(prefixActive) + Array(altActive) + Array(suffixActive))[...], into: &out,
                            limit: limit)
                    }
                    return
                }
                if close == nil { break }
            }
            i += 1
        }
        if out.count < limit { out.append(Array(bytes)) }
    }

    // MARK: Command output

    /// The output of `$(…)` holding the commands `range`.
    func substitutionOutput(_ range: Range<Int>) -> String? {
        guard let last = range.last, last < commands.count else { return range.isEmpty ? "" : nil }
        // The commands at the top level of the substitution, in order: not inside a
        // substitution of another, not piped into another.
        var inner = Set<Int>()
        for index in range {
            let command = commands[index]
            if let source = command.pipedFrom { inner.insert(source) }
            for word in command.assignments + command.words + command.redirections.map(\.target) {
                for part in word.parts {
                    switch part {
                    case .command(let r, _), .process(let r): inner.formUnion(r)
                    default: continue
                    }
                }
            }
        }
        var out = ""
        for index in range where !inner.contains(index) {
            if commands[index].words.isEmpty { continue }
            guard let piece = output(of: index) else { return output(of: last) }
            out += piece
        }
        return out
    }

    /// The standard output of command `index`, when it is a pure command over known input.
    func output(of index: Int) -> String? {
        guard depth < Self.maxDepth, !budget.isExhausted, index < commands.count else { return nil }
        let command = commands[index]
        let deeper = ShellEvaluator(commands: commands, env: env, budget: budget, depth: depth + 1)
        guard let words = deeper.resolveAll(command.words[...]), let name = words.first?.basename else { return nil }
        let args = words.dropFirst()
        let result = deeper.pureOutput(name: name, args: args, stdin: { deeper.input(of: index) })
        if let result { budget.spend(result.utf8.count) }
        return result
    }

    /// The standard input of command `index`: a here-document or here-string, the
    /// output of the command piped into it, or a file written earlier in the line.
    func input(of index: Int) -> String? {
        let command = commands[index]
        if let text = command.stdinTexts.last {
            let redirection = command.redirections.last {
                $0.op == .hereString || $0.op == .hereDoc || $0.op == .hereDocStrippingTabs
            }
            guard let redirection, redirection.op == .hereString else { return text }
            return (redirection.target.hasExpansion ? string(redirection.target) : text).map { $0 + "\n" }
        }
        for redirection in command.redirections where redirection.op == .readFrom {
            for part in redirection.target.parts {
                if case .process(let range) = part { return substitutionOutput(range) }
            }
            if let path = string(redirection.target), let file = env.file(path) { return file.content }
            return nil
        }
        if let source = command.pipedFrom { return output(of: source) }
        return nil
    }

    private func pureOutput(name: String, args: ArraySlice<ShellWord>, stdin: () -> String?) -> String? {
        switch name {
        case "echo":
            return Self.echo(args)
        case "printf":
            var rest = args
            if rest.first?.text == "--" { rest = rest.dropFirst() }
            if rest.first?.text == "-v" { return "" }
            guard let format = rest.first?.text else { return nil }
            return Self.printf(format, Array(rest.dropFirst().map(\.text)))
        case "cat", "tac", "tee", "head", "tail", "sort", "uniq":
            return catOutput(name: name, args: args, stdin: stdin)
        case "base64", "base32":
            guard name == "base64" else { return nil }
            let decode = args.contains { ["-d", "--decode", "-D", "-di", "-id"].contains($0.text) }
            let files = args.filter { !$0.text.hasPrefix("-") }
            let input: String?
            if let file = files.first { input = env.file(file.text)?.content } else { input = stdin() }
            guard let input else { return nil }
            return decode ? Self.base64Decode(input) : nil
        case "openssl":
            guard args.contains(where: { $0.text == "base64" || $0.text == "-base64" || $0.text == "-a" }),
                args.contains(where: { $0.text == "-d" }), let input = stdin()
            else { return nil }
            return Self.base64Decode(input)
        case "xxd":
            guard args.contains(where: { $0.text.hasPrefix("-r") }), let input = stdin() else { return nil }
            return Self.hexDecode(input)
        case "rev":
            guard args.isEmpty, let input = stdin() else { return nil }
            return input.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.reversed()) }
                .joined(separator: "\n")
        case "tr":
            guard let input = stdin() else { return nil }
            return Self.tr(Array(args.map(\.text)), input)
        case "basename":
            let operands = args.filter { !$0.text.hasPrefix("-") }
            guard let path = operands.first else { return nil }
            var base = ShellWord(text: path.text).basename ?? path.text
            if operands.count > 1, base.hasSuffix(operands[operands.startIndex + 1].text) {
                base = String(base.dropLast(operands[operands.startIndex + 1].text.count))
            }
            return base + "\n"
        case "dirname":
            guard let path = args.last?.text else { return nil }
            guard let slash = path.lastIndex(of: "/") else { return ".\n" }
            return String(path[..<slash]) + "\n"
        case "realpath", "readlink":
            guard let path = args.last?.text, !path.hasPrefix("-") else { return nil }
            return path + "\n"
        case "which", "whence", "where":
            guard let target = args.last?.text, !target.hasPrefix("-") else { return nil }
            return "/usr/local/bin/" + target + "\n"
        case "command", "type":
            let flags = args.filter { $0.text.hasPrefix("-") }.map(\.text)
            guard let target = args.last?.text, !target.hasPrefix("-"),
                flags.contains(name == "command" ? "-v" : "-P") || flags.contains("-p")
            else { return nil }
            return "/usr/local/bin/" + target + "\n"
        case "true", ":":
            return ""
        case "sed":
            return sed(args, stdin: stdin)
        case "xargs":
            // `xargs` without a command runs echo.
            guard args.isEmpty, let input = stdin() else { return nil }
            return Self.splitFields(input).joined(separator: " ") + "\n"
        default:
            return nil
        }
    }

    /// What `echo [-neE] words…` prints.
    static func echo(_ args: ArraySlice<ShellWord>) -> String {
        var rest = args
        var newline = true
        var escapes = false
        while let first = rest.first?.text, first.hasPrefix("-"), first.count > 1,
            first.dropFirst().allSatisfy({ "neE".contains($0) })
        {
            if first.contains("n") { newline = false }
            if first.contains("e") { escapes = true }
            if first.contains("E") { escapes = false }
            rest = rest.dropFirst()
        }
        var text = rest.map(\.text).joined(separator: " ")
        if escapes { text = Self.decodeEscapes(text) }
        return newline ? text + "\n" : text
    }

    /// `cat FILE…` of files written in the line, or commands that pass their input through.
    private func catOutput(name: String, args: ArraySlice<ShellWord>, stdin: () -> String?) -> String? {
        let files = args.filter { !$0.text.hasPrefix("-") }
        if name == "tee" || files.isEmpty || files.allSatisfy({ $0.text == "-" }) {
            if name == "cat" || name == "tee" || args.isEmpty { return stdin() }
            return nil
        }
        guard name == "cat" else { return nil }
        var out = ""
        for file in files {
            guard let content = env.file(file.text)?.content else { return nil }
            out += content
        }
        return out
    }

    /// `sed s/a/b/[g]` with literal text only.
    private func sed(_ args: ArraySlice<ShellWord>, stdin: () -> String?) -> String? {
        var scripts: [String] = []
        var rest = args
        while let first = rest.first {
            if first.text == "-e" {
                rest = rest.dropFirst()
                if let s = rest.first { scripts.append(s.text) }
                rest = rest.dropFirst()
            } else if first.text.hasPrefix("-") {
                return nil
            } else {
                if scripts.isEmpty { scripts.append(first.text) } else { return nil }
                rest = rest.dropFirst()
            }
        }
        guard var text = stdin() else { return nil }
        for script in scripts {
            for command in script.split(separator: ";") {
                guard command.hasPrefix("s"), command.count >= 4 else { return nil }
                let delimiter = command[command.index(after: command.startIndex)]
                let pieces = command.dropFirst(2).split(separator: delimiter, omittingEmptySubsequences: false)
                guard pieces.count >= 2 else { return nil }
                let pattern = String(pieces[0])
                let replacement = String(pieces[1])
                guard !pattern.isEmpty, !pattern.contains(where: { "\\.*[]^$+?(){}|".contains($0) }),
                    !replacement.contains(where: { "\\&".contains($0) })
                else { return nil }
                let flags = pieces.count > 2 ? pieces[2] : ""
                text = text.split(separator: "\n", omittingEmptySubsequences: false).map {
                    String($0).replacingLiteral(pattern, with: replacement, all: flags.contains("g"))
                }.joined(separator: "\n")
            }
        }
        return text
    }

    // MARK: Text helpers

    /// Backslash escapes of `echo -e`, `printf` and `$'…'`.
    static func decodeEscapes(_ text: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == ShellByte.backslash {
                out.append(contentsOf: ShellByte.decodeEscape(bytes, at: &i, end: bytes.count, dialect: .echo))
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A small printf: `%s %b %c %d %%`, flags and widths ignored, the format reused
    /// while arguments remain.
    static func printf(_ format: String, _ args: [String]) -> String {
        let fmt = Array(decodeEscapes(format).utf8)
        var out: [UInt8] = []
        var argIndex = 0
        var rounds = 0
        repeat {
            rounds += 1
            var consumed = false
            var i = 0
            while i < fmt.count {
                let b = fmt[i]
                guard b == 0x25, i + 1 < fmt.count else {
                    out.append(b)
                    i += 1
                    continue
                }
                i += 1
                while i < fmt.count, "-+ #0123456789.".utf8.contains(fmt[i]) { i += 1 }
                guard i < fmt.count else { break }
                let conversion = fmt[i]
                i += 1
                if conversion == 0x25 {
                    out.append(0x25)
                    continue
                }
                let arg = argIndex < args.count ? args[argIndex] : ""
                if argIndex < args.count { consumed = true }
                argIndex += 1
                switch conversion {
                case 0x62: out.append(contentsOf: Array(decodeEscapes(arg).utf8))  // %b
                case 0x63: out.append(contentsOf: Array(arg.utf8.prefix(1)))  // %c
                default: out.append(contentsOf: Array(arg.utf8))
                }
            }
            if !consumed { break }
        } while argIndex < args.count && rounds < 1000
        return String(decoding: out, as: UTF8.self)
    }

    static func base64Decode(_ text: String) -> String? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for b in text.utf8 {
            let value: UInt32
            switch b {
            case 0x41...0x5A: value = UInt32(b - 0x41)
            case 0x61...0x7A: value = UInt32(b - 0x61 + 26)
            case 0x30...0x39: value = UInt32(b - 0x30 + 52)
            case 0x2B, 0x2D: value = 62
            case 0x2F, 0x5F: value = 63
            case 0x3D, 0x20, 0x0A, 0x0D, 0x09: continue
            default: return nil
            }
            buffer = (buffer << 6) | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return String(decoding: out.filter { $0 != 0 }, as: UTF8.self)
    }

    static func hexDecode(_ text: String) -> String? {
        var out: [UInt8] = []
        var high: UInt32?
        for b in text.utf8 {
            guard let v = ShellByte.hexValue(b) else {
                if ShellEvaluator.isIFS(b) { continue }
                return nil
            }
            if let h = high {
                out.append(UInt8(h * 16 + v))
                high = nil
            } else {
                high = v
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `tr SET1 SET2`, `tr -d SET`, with `a-z` ranges.
    static func tr(_ args: [String], _ input: String) -> String? {
        var rest = args[...]
        var delete = false
        while let first = rest.first, first.hasPrefix("-"), first.count > 1 {
            if first == "-d" { delete = true } else { return nil }
            rest = rest.dropFirst()
        }
        func set(_ text: String) -> [UInt8]? {
            let b = Array(decodeEscapes(text).utf8)
            var out: [UInt8] = []
            var i = 0
            while i < b.count {
                if b[i] == 0x5B { return nil }  // classes: not handled
                if i + 2 < b.count, b[i + 1] == ShellByte.minus, b[i] <= b[i + 2] {
                    out.append(contentsOf: b[i]...b[i + 2])
                    i += 3
                } else {
                    out.append(b[i])
                    i += 1
                }
            }
            return out
        }
        guard let first = rest.first, let from = set(first) else { return nil }
        if delete {
            return String(decoding: input.utf8.filter { !from.contains($0) }, as: UTF8.self)
        }
        guard rest.count == 2, var to = set(rest[rest.startIndex + 1]), !to.isEmpty else { return nil }
        while to.count < from.count { to.append(to.last!) }
        var map = [UInt8](0...255)
        for (i, b) in from.enumerated() { map[Int(b)] = to[i] }
        return String(decoding: input.utf8.map { map[Int($0)] }, as: UTF8.self)
    }
}

extension StringProtocol {
    func trimmingBlanks() -> Substring {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

extension String {
    func replacingLiteral(_ pattern: String, with replacement: String, all: Bool) -> String {
        guard !pattern.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(ofLiteral: pattern) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
            if !all { break }
        }
        return out + rest
    }
}

extension Substring {
    func firstRange(ofLiteral pattern: String) -> Range<Index>? {
        let p = Array(pattern.utf8)
        guard let first = p.first else { return nil }
        var i = utf8.startIndex
        while i != utf8.endIndex {
            if utf8[i] == first {
                var j = i
                var k = 0
                while k < p.count, j != utf8.endIndex, utf8[j] == p[k] {
                    j = utf8.index(after: j)
                    k += 1
                }
                if k == p.count { return i..<j }
            }
            i = utf8.index(after: i)
        }
        return nil
    }
}
