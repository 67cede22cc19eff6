/// Whether a text that the guard cannot see through (a script piped into a shell, a
/// computed string given to eval, code for an interpreter…) mentions codex in any
/// spelling. Linear in the length of the text.
///
/// The text is lowercased, escapes (`\x63`, `\143`, `\u0063`) are decoded, and the
/// noise a model uses to split a word (quotes, backslashes, braces and commas of brace
/// expansion, `$( … )`, concatenation operators `+` and `.`) is dropped; a second
/// reading also drops whole `$name` / `${…}` expansions, which may be empty. Either
/// reading containing `codex` (or it reversed, or in rot13) counts, and so does the
/// base64 of `codex` (plain or UTF-16, at any alignment) or its hex.
enum CodexMention {
    static func mentions(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        if containsBase64(bytes) { return true }
        return scan(bytes, dropExpansions: false) || scan(bytes, dropExpansions: true)
    }

    private static let needles: [[UInt8]] = ["codex", "xedoc", "pbqrk", "636f646578"].map { Array($0.utf8) }
    private static let base64Needles: [[UInt8]] = [
        "Y29kZX", "jb2Rle", "NvZGV4", "Q29kZX", "Db2Rle", "Q09ERV", "DT0RFW", "NPREVY",
        "YwBvAGQAZQB4A", "jAG8AZABlAHgA", "MAbwBkAGUAeA",
    ].map { Array($0.utf8) }

    private static func containsBase64(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 6 else { return false }
        for needle in base64Needles where contains(bytes[...], needle) { return true }
        return false
    }

    private static func contains(_ hay: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, hay.count >= needle.count else { return false }
        var i = hay.startIndex
        let last = hay.endIndex - needle.count
        while i <= last {
            if hay[i] == first {
                var k = 1
                while k < needle.count && hay[i + k] == needle[k] { k += 1 }
                if k == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    /// After a backslash at `i - 1`: the byte an escape (`\xHH`, `\NNN`, `\uHHHH`) stands
    /// for, with `i` moved past it; nil when the backslash is only noise.
    private static func decodeEscape(_ bytes: [UInt8], at i: inout Int) -> UInt8? {
        // Decode \xHH, \NNN, \uHHHH; otherwise the backslash is noise.
        let n = bytes[i]
        if n == 0x78 || n == 0x58, i + 1 < bytes.count, ShellByte.hexValue(bytes[i + 1]) != nil {
            i += 1
            return UInt8(ShellByte.hexNumber(bytes, at: &i, end: bytes.count, limit: 2).value)
        } else if n == 0x75 || n == 0x55, i + 1 < bytes.count, ShellByte.hexValue(bytes[i + 1]) != nil {
            i += 1
            let value = ShellByte.hexNumber(bytes, at: &i, end: bytes.count, limit: 8).value
            guard value < 0x80 else { return nil }
            return UInt8(value)
        } else if n >= ShellByte.zero && n <= ShellByte.seven {
            if n == ShellByte.zero && i + 1 < bytes.count && bytes[i + 1] >= ShellByte.zero
                && bytes[i + 1] <= ShellByte.seven
            {
                i += 1  // \0NNN
            }
            let value = ShellByte.octalNumber(bytes, at: &i, end: bytes.count, value: 0, digits: 0)
            return UInt8(truncatingIfNeeded: value)
        } else {
            return nil
        }
    }

    /// After a `$` at `i - 1`: skips a `${…}` or `$name` expansion; false when there is none.
    private static func skipExpansion(_ bytes: [UInt8], at i: inout Int) -> Bool {
        let n = bytes[i]
        if n == ShellByte.openBrace {
            // Drop to the matching brace.
            var depth = 0
            while i < bytes.count {
                if bytes[i] == ShellByte.openBrace { depth += 1 }
                if bytes[i] == ShellByte.closeBrace {
                    depth -= 1
                    if depth == 0 {
                        i += 1
                        break
                    }
                }
                i += 1
            }
            return true
        }
        if ShellByte.isNameStart(n) || ShellByte.isDigit(n) || n == ShellByte.at || n == ShellByte.star {
            i += 1
            while i < bytes.count && ShellByte.isNameByte(bytes[i]) { i += 1 }
            return true
        }
        return false
    }

    private static func scan(_ bytes: [UInt8], dropExpansions: Bool) -> Bool {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        var skipBlanks = false
        while i < bytes.count {
            var b = bytes[i]
            i += 1
            if dropExpansions && b == ShellByte.dollar && i < bytes.count && skipExpansion(bytes, at: &i) { continue }
            if b == ShellByte.backslash && i < bytes.count {
                guard let decoded = decodeEscape(bytes, at: &i) else { continue }
                b = decoded
            }
            switch b {
            case ShellByte.singleQuote, ShellByte.doubleQuote, ShellByte.backslash, ShellByte.openBrace,
                ShellByte.closeBrace, ShellByte.openParen, ShellByte.closeParen, ShellByte.dollar,
                ShellByte.backquote, 0x2C, ShellByte.openBracket, ShellByte.closeBracket, ShellByte.star,
                ShellByte.question:
                continue
            case ShellByte.plus, 0x2E:
                // Concatenation: `'co' + 'dex'`, `"co" . "dex"`.
                while let last = out.last, last == ShellByte.space || last == ShellByte.tab { out.removeLast() }
                skipBlanks = true
                continue
            case ShellByte.space, ShellByte.tab:
                if skipBlanks { continue }
            default:
                break
            }
            skipBlanks = false
            if b >= 0x41 && b <= 0x5A { b |= 0x20 }
            out.append(b)
        }
        for needle in needles where contains(out[...], needle) { return true }
        return false
    }
}
