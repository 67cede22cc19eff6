// A rough tokenizer for the one-liners given to interpreters (`python3 -c`, `node -e`,
// `perl -e`, `awk '…'`…). It only has to find string literals, identifiers and
// punctuation well enough to read the arguments of process calls; when it cannot
// (an unterminated string, an odd quoting form) it gives up and the guard falls back
// to asking whether the code mentions codex.

/// The language of interpreter code, for its quoting and its process calls.
enum ScriptLanguage: Sendable {
    case python, javascript, perl, ruby, php, lua, awk

    static func of(_ interpreter: String) -> ScriptLanguage? {
        switch interpreter {
        case "python", "python2", "python3", "pypy", "pypy3": return .python
        case "node", "nodejs", "bun", "deno": return .javascript
        case "perl": return .perl
        case "ruby": return .ruby
        case "php": return .php
        case "lua": return .lua
        case "awk", "gawk", "mawk", "nawk": return .awk
        default: return nil
        }
    }

    /// Backquotes run a shell command (perl, ruby, php); in JavaScript they are strings.
    var backquoteRunsShell: Bool { self == .perl || self == .ruby || self == .php }
    var hashStartsComment: Bool { self == .python || self == .ruby || self == .perl || self == .awk }
}

/// One token of interpreter code.
enum CodeToken: Equatable {
    case identifier(String)
    /// A string literal; `interpolated` when part of it is computed (f-strings, `${…}`, `#{…}`, `"$x"`).
    case string(String, interpolated: Bool)
    /// A list literal of words (`qw(a b)`, `%w[a b]`).
    case words([String])
    /// A shell command in backquotes, `qx{…}` or `%x(…)`.
    case shell(String, interpolated: Bool)
    case punct(UInt8)
}

/// Splits interpreter code into tokens; nil when the code is not read confidently.
struct CodeTokenizer {
    let bytes: [UInt8]
    let language: ScriptLanguage
    var pos = 0
    var tokens: [CodeToken] = []

    init(_ text: String, language: ScriptLanguage) {
        bytes = Array(text.utf8)
        self.language = language
    }

    static func tokens(_ text: String, language: ScriptLanguage) -> [CodeToken]? {
        var tokenizer = CodeTokenizer(text, language: language)
        return tokenizer.run() ? tokenizer.tokens : nil
    }

    private mutating func run() -> Bool {
        while pos < bytes.count {
            if tokens.count > 20_000 { return false }
            let b = bytes[pos]
            if b == ShellByte.space || b == ShellByte.tab || b == ShellByte.newline || b == ShellByte.carriageReturn {
                pos += 1
            } else if isCommentStart(b) {
                while pos < bytes.count && bytes[pos] != ShellByte.newline { pos += 1 }
            } else if b == ShellByte.singleQuote || b == ShellByte.doubleQuote {
                guard readQuoted(prefix: "") else { return false }
            } else if b == ShellByte.backquote {
                guard readBackquoted() else { return false }
            } else if ShellByte.isNameStart(b) || b == ShellByte.dollar && language == .javascript {
                guard readIdentifier() else { return false }
            } else if b == 0x25 && (language == .ruby) && pos + 2 < bytes.count && "xwqQi".utf8.contains(bytes[pos + 1])
                && !ShellByte.isNameByte(bytes[pos + 2]) && bytes[pos + 2] != ShellByte.space
            {
                let kind = bytes[pos + 1]
                pos += 2
                guard let body = readDelimited() else { return false }
                appendQuoteLike(kind: kind, body: body)
            } else {
                tokens.append(.punct(b))
                pos += 1
            }
        }
        return true
    }

    private func isCommentStart(_ b: UInt8) -> Bool {
        if b == ShellByte.hash && language.hashStartsComment {
            // `$#array` in perl is not a comment.
            return pos == 0 || bytes[pos - 1] != ShellByte.dollar
        }
        if b == ShellByte.slash && (language == .javascript || language == .php) && pos + 1 < bytes.count {
            return bytes[pos + 1] == ShellByte.slash && (pos == 0 || bytes[pos - 1] != 0x3A)
        }
        return false
    }

    private mutating func readIdentifier() -> Bool {
        let start = pos
        pos += 1
        while pos < bytes.count && (ShellByte.isNameByte(bytes[pos]) || bytes[pos] == ShellByte.dollar) { pos += 1 }
        let name = String(decoding: bytes[start..<pos], as: UTF8.self)
        guard pos < bytes.count else {
            tokens.append(.identifier(name))
            return true
        }
        let next = bytes[pos]
        if language == .python, next == ShellByte.singleQuote || next == ShellByte.doubleQuote,
            ["r", "b", "u", "f", "rb", "br", "fr", "rf"].contains(name.lowercased())
        {
            return readQuoted(prefix: name.lowercased())
        }
        if language == .perl, ["q", "qq", "qw", "qx"].contains(name), next != ShellByte.space,
            next != ShellByte.equals, next != 0x2C, next != ShellByte.semicolon, next != ShellByte.closeParen
        {
            guard let body = readDelimited() else { return false }
            let kinds: [String: UInt8] = ["q": 0x71, "qq": 0x51, "qw": 0x77, "qx": 0x78]
            appendQuoteLike(kind: kinds[name] ?? 0x71, body: body)
            return true
        }
        tokens.append(.identifier(name))
        return true
    }

    /// `kind`: q (literal), Q (interpolating), w (words), x (shell), i (symbols).
    private mutating func appendQuoteLike(kind: UInt8, body: String) {
        let interpolated = kind != 0x71 && kind != 0x77 && kind != 0x69 && Self.interpolates(body, language: language)
        switch kind {
        case 0x77, 0x69: tokens.append(.words(ShellEvaluator.splitFields(body)))
        case 0x78: tokens.append(.shell(body, interpolated: interpolated))
        default: tokens.append(.string(body, interpolated: interpolated))
        }
    }

    /// The text between a delimiter at `pos` and its closing partner (nesting brackets).
    private mutating func readDelimited() -> String? {
        guard pos < bytes.count else { return nil }
        let open = bytes[pos]
        let close: UInt8
        switch open {
        case ShellByte.openParen: close = ShellByte.closeParen
        case ShellByte.openBrace: close = ShellByte.closeBrace
        case ShellByte.openBracket: close = ShellByte.closeBracket
        case ShellByte.less: close = ShellByte.greater
        default: close = open
        }
        pos += 1
        var depth = 0
        var out: [UInt8] = []
        while pos < bytes.count {
            let c = bytes[pos]
            pos += 1
            if c == ShellByte.backslash && pos < bytes.count {
                out.append(contentsOf: [c, bytes[pos]])
                pos += 1
                continue
            }
            if c == close && depth == 0 { return String(decoding: out, as: UTF8.self) }
            if open != close && c == open { depth += 1 }
            if open != close && c == close { depth -= 1 }
            out.append(c)
        }
        return nil
    }

    private mutating func readQuoted(prefix: String) -> Bool {
        let quote = bytes[pos]
        let triple = language == .python && pos + 2 < bytes.count && bytes[pos + 1] == quote && bytes[pos + 2] == quote
        pos += triple ? 3 : 1
        let raw = prefix.contains("r")
        var out: [UInt8] = []
        while pos < bytes.count {
            let c = bytes[pos]
            if c == quote && (!triple || pos + 2 < bytes.count && bytes[pos + 1] == quote && bytes[pos + 2] == quote) {
                pos += triple ? 3 : 1
                let text = String(decoding: out, as: UTF8.self)
                let decoded =
                    raw || quote == ShellByte.singleQuote && language != .python && language != .javascript
                    ? text : ShellEvaluator.decodeEscapes(text)
                let interpolated: Bool
                if language == .python {
                    interpolated = prefix.contains("f") && text.contains("{")
                } else {
                    interpolated = quote == ShellByte.doubleQuote && Self.interpolates(text, language: language)
                }
                tokens.append(.string(decoded, interpolated: interpolated))
                return true
            }
            if c == ShellByte.newline && !triple && language != .perl && language != .ruby { return false }
            if c == ShellByte.backslash && pos + 1 < bytes.count {
                out.append(contentsOf: [c, bytes[pos + 1]])
                pos += 2
                continue
            }
            out.append(c)
            pos += 1
        }
        return false
    }

    private mutating func readBackquoted() -> Bool {
        pos += 1
        var out: [UInt8] = []
        while pos < bytes.count {
            let c = bytes[pos]
            pos += 1
            if c == ShellByte.backquote {
                let text = String(decoding: out, as: UTF8.self)
                if language.backquoteRunsShell {
                    tokens.append(.shell(text, interpolated: Self.interpolates(text, language: language)))
                } else {
                    // A JavaScript template literal (a string), or a shell-like backquote elsewhere.
                    let interpolated = language == .javascript ? text.contains("${") : true
                    tokens.append(.string(text, interpolated: interpolated))
                }
                return true
            }
            if c == ShellByte.backslash && pos < bytes.count {
                out.append(contentsOf: [c, bytes[pos]])
                pos += 1
                continue
            }
            out.append(c)
        }
        return false
    }

    /// Whether a double-quoted string of `language` computes part of its value.
    static func interpolates(_ text: String, language: ScriptLanguage) -> Bool {
        let b = Array(text.utf8)
        var i = 0
        while i + 1 < b.count {
            let c = b[i]
            let n = b[i + 1]
            if c == ShellByte.backslash {
                i += 2
                continue
            }
            switch language {
            case .ruby:
                if c == ShellByte.hash && (n == ShellByte.openBrace || n == ShellByte.at || n == ShellByte.dollar) {
                    return true
                }
            case .perl, .php:
                if (c == ShellByte.dollar || c == ShellByte.at && language == .perl)
                    && (ShellByte.isNameStart(n) || n == ShellByte.openBrace)
                {
                    return true
                }
            case .javascript:
                if c == ShellByte.dollar && n == ShellByte.openBrace { return true }
            default:
                break
            }
            i += 1
        }
        return false
    }
}
