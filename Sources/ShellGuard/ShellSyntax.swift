// The data model produced by `ShellParser`: simple commands with their words after
// quote removal. Compound commands (`if`, loops, groups, functions…) are flattened:
// every simple command found anywhere in the text, including inside command and
// process substitutions, appears once in `ShellScript.commands`.

/// One word of a command line after quote removal.
struct ShellWord: Equatable, Sendable {
    /// The value with quotes and escapes removed. Expansions that cannot be evaluated
    /// without running the shell (`$HOME`, `${x:-y}`, `$(…)`, backticks) keep their
    /// source spelling.
    var text: String
    /// Some part of the word was quoted or escaped.
    var isQuoted: Bool
    /// The word contains a parameter expansion, an arithmetic expansion, or a command
    /// or process substitution.
    var hasExpansion: Bool
    /// How many leading UTF-8 bytes of `text` were written plainly (no quoting, no
    /// escape, no expansion). Used to recognise `NAME=value` assignments.
    var plainPrefixLength: Int
    /// The part after the last `/` contains no expansion, so the basename is known
    /// without running anything (`"$HOME"/bin/codex` has one, `$TOOL` has not).
    var hasStaticBasename: Bool
    /// When the whole word is one command substitution holding exactly one simple
    /// command (`$(which codex)`), the words of that command.
    var soleSubstitution: [ShellWord]?
    /// The pieces the word is made of, in order, for static evaluation (`ShellEvaluator`).
    /// Empty for words built by hand; then `text` is the only information.
    var parts: [WordPart]
    /// For `name=(a b c)`: the elements.
    var arrayElements: [ShellWord]?

    init(
        text: String, isQuoted: Bool = false, hasExpansion: Bool = false, plainPrefixLength: Int? = nil,
        hasStaticBasename: Bool = true, soleSubstitution: [ShellWord]? = nil, parts: [WordPart] = [],
        arrayElements: [ShellWord]? = nil
    ) {
        self.text = text
        self.isQuoted = isQuoted
        self.hasExpansion = hasExpansion
        self.plainPrefixLength = plainPrefixLength ?? text.utf8.count
        self.hasStaticBasename = hasStaticBasename
        self.soleSubstitution = soleSubstitution
        self.parts = parts
        self.arrayElements = arrayElements
    }

    /// Neither quoted nor expanded: eligible to be a reserved word.
    var isPlain: Bool { !isQuoted && !hasExpansion }

    /// The last path component, when it is known statically. Trailing slashes are ignored.
    var basename: String? {
        guard hasStaticBasename else { return nil }
        var utf8 = Substring(text).utf8[...]
        while utf8.count > 1, utf8.last == ShellByte.slash { utf8 = utf8.dropLast() }
        if let slash = utf8.lastIndex(of: ShellByte.slash) {
            return String(Substring(utf8[utf8.index(after: slash)...]))
        }
        return String(Substring(utf8))
    }

    /// `NAME=value`, `NAME+=value` or `NAME[index]=value`, with the part up to `=` unquoted.
    var isAssignment: Bool {
        let bytes = text.utf8
        var index = bytes.startIndex
        var offset = 0
        guard index != bytes.endIndex, ShellByte.isNameStart(bytes[index]) else { return false }
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == ShellByte.equals { return offset < plainPrefixLength }
            if byte == ShellByte.plus {
                let next = bytes.index(after: index)
                return next != bytes.endIndex && bytes[next] == ShellByte.equals && offset + 1 < plainPrefixLength
            }
            if byte == ShellByte.openBracket {
                // Subscript: anything up to the closing bracket.
                while index != bytes.endIndex && bytes[index] != ShellByte.closeBracket {
                    index = bytes.index(after: index)
                    offset += 1
                }
                if index == bytes.endIndex { return false }
                index = bytes.index(after: index)
                offset += 1
                guard index != bytes.endIndex else { return false }
                let after = bytes[index]
                if after == ShellByte.equals { return offset < plainPrefixLength }
                if after == ShellByte.plus {
                    let next = bytes.index(after: index)
                    return next != bytes.endIndex && bytes[next] == ShellByte.equals && offset + 1 < plainPrefixLength
                }
                return false
            }
            if !ShellByte.isNameByte(byte) { return false }
            index = bytes.index(after: index)
            offset += 1
        }
        return false
    }

    /// The name part of an assignment word (`FOO` for `FOO=1`), nil for other words.
    var assignmentName: String? {
        guard isAssignment else { return nil }
        let name = text.utf8.prefix { ShellByte.isNameByte($0) }
        return String(Substring(name))
    }
}

/// One piece of a word.
enum WordPart: Equatable, Sendable {
    /// Text after quote removal; `quoted` when it came from quotes or an escape
    /// (then it is not subject to brace expansion, globbing or field splitting).
    case literal(String, quoted: Bool)
    /// `$name`, `${…}`, `$1`, `$@`…: the source spelling, and whether it stood inside double quotes.
    case parameter(String, quoted: Bool)
    /// `$(…)` or a backquote: the simple commands it holds, as indices into the
    /// command list of the enclosing parse.
    case command(Range<Int>, quoted: Bool)
    /// `<(…)` / `>(…)`: a file name whose contents are the output of these commands.
    case process(Range<Int>)
    /// `$((…))` and anything else that cannot be evaluated: its source spelling.
    case opaque(String)
}

/// A redirection of a simple command.
struct ShellRedirection: Sendable {
    var op: ShellOperator
    var target: ShellWord
}

/// A simple command: optional assignments, then words. Redirection targets are not words.
struct ShellCommand: Sendable {
    var assignments: [ShellWord] = []
    var words: [ShellWord] = []
    var redirections: [ShellRedirection] = []
    /// Text that here-documents and here-strings feed to the command's standard input.
    var stdinTexts: [String] = []
    /// Index in `ShellScript.commands` of the simple command piped into this one.
    var pipedFrom: Int?
}

/// The result of parsing a command line.
struct ShellScript: Sendable {
    var commands: [ShellCommand]
    /// The text was not well formed (unbalanced quotes, stray keywords…). The commands
    /// are what an error-tolerant reading recovered.
    var hadError: Bool
    /// Parsing stopped early because the shared work budget ran out.
    var wasTruncated: Bool
    /// Some construct was nested deeper than the parser follows; its inside was not read.
    var exceededNesting: Bool = false
    /// Functions defined in the text: name and the indices of their body's commands.
    var functions: [(name: String, body: Range<Int>)] = []
}

/// Bounds the total work of one guard decision, across all nested parses. Units are
/// roughly bytes scanned (every rescan of the same bytes is charged again) plus one
/// per token.
final class ParseBudget {
    private(set) var remaining: Int
    init(units: Int) { remaining = units }

    /// Enough for any sensible command line of `length` bytes, including nested
    /// scripts; garbage designed to make the parser rescan stops early instead.
    static func forInput(length: Int) -> ParseBudget {
        ParseBudget(units: 8 * length + 250_000)
    }

    var isExhausted: Bool { remaining <= 0 }
    func spend(_ amount: Int = 1) { remaining -= amount }
}

/// Byte constants and classes used by the lexer.
public enum ShellByte {
    public static let tab: UInt8 = 0x09
    public static let newline: UInt8 = 0x0A
    public static let carriageReturn: UInt8 = 0x0D
    public static let space: UInt8 = 0x20
    public static let bang: UInt8 = 0x21
    public static let doubleQuote: UInt8 = 0x22
    public static let hash: UInt8 = 0x23
    public static let dollar: UInt8 = 0x24
    public static let ampersand: UInt8 = 0x26
    public static let singleQuote: UInt8 = 0x27
    public static let openParen: UInt8 = 0x28
    public static let closeParen: UInt8 = 0x29
    public static let star: UInt8 = 0x2A
    public static let plus: UInt8 = 0x2B
    public static let minus: UInt8 = 0x2D
    public static let slash: UInt8 = 0x2F
    public static let zero: UInt8 = 0x30
    public static let seven: UInt8 = 0x37
    public static let nine: UInt8 = 0x39
    public static let semicolon: UInt8 = 0x3B
    public static let less: UInt8 = 0x3C
    public static let equals: UInt8 = 0x3D
    public static let greater: UInt8 = 0x3E
    public static let question: UInt8 = 0x3F
    public static let at: UInt8 = 0x40
    public static let openBracket: UInt8 = 0x5B
    public static let backslash: UInt8 = 0x5C
    public static let closeBracket: UInt8 = 0x5D
    public static let underscore: UInt8 = 0x5F
    public static let backquote: UInt8 = 0x60
    public static let openBrace: UInt8 = 0x7B
    public static let pipe: UInt8 = 0x7C
    public static let closeBrace: UInt8 = 0x7D

    @inline(__always) public static func isDigit(_ b: UInt8) -> Bool { b >= zero && b <= nine }
    @inline(__always) public static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    @inline(__always) public static func isNameStart(_ b: UInt8) -> Bool { isLetter(b) || b == underscore }
    @inline(__always) public static func isNameByte(_ b: UInt8) -> Bool { isLetter(b) || isDigit(b) || b == underscore }

    /// Characters that end an unquoted word.
    @inline(__always) public static func isMeta(_ b: UInt8) -> Bool {
        switch b {
        case space, tab, newline, carriageReturn, semicolon, ampersand, pipe, less, greater, openParen, closeParen:
            return true
        default:
            return false
        }
    }

    public static func hexValue(_ b: UInt8) -> UInt32? {
        if isDigit(b) { return UInt32(b - zero) }
        let lower = b | 0x20
        if lower >= 0x61 && lower <= 0x66 { return UInt32(lower - 0x61 + 10) }
        return nil
    }

    /// How backslash escapes read where the guard decodes them.
    enum EscapeDialect {
        /// `$'…'`: bash's ANSI-C quoting (`\a \b \e \f \v \cX \' \" \?` too; `\NNN` octal).
        case ansiC
        /// `echo -e` and `printf`: `\n \t \r \\ \xHH \uHHHH \0NNN` only.
        case echo
    }

    /// At a backslash: the bytes the escape starting there stands for in `dialect`, with
    /// `index` moved past it (and past its digits). A backslash at `end - 1` stands for itself.
    static func decodeEscape(_ bytes: [UInt8], at index: inout Int, end: Int, dialect: EscapeDialect) -> [UInt8] {
        guard index + 1 < end else {
            index += 1
            return [backslash]
        }
        let n = bytes[index + 1]
        index += 2
        switch n {
        case 0x6E: return [newline]
        case 0x74: return [tab]
        case 0x72: return [carriageReturn]
        case backslash: return [backslash]
        case 0x78:  // x: up to two hex digits
            let (value, digits) = hexNumber(bytes, at: &index, end: end, limit: 2)
            return digits == 0 ? [backslash, n] : [UInt8(value)]
        case 0x75, 0x55:  // u U: up to 4 or 8 hex digits, a Unicode scalar
            let (value, digits) = hexNumber(bytes, at: &index, end: end, limit: n == 0x75 ? 4 : 8)
            if digits > 0, let scalar = Unicode.Scalar(value) { return Array(String(Character(scalar)).utf8) }
            return dialect == .ansiC ? [backslash, n] : []
        case zero...seven:
            // echo's `\0` is followed by up to three digits; otherwise the digit is the first of three.
            let read = dialect == .echo && n == zero ? 0 : 1
            let value = octalNumber(bytes, at: &index, end: end, value: UInt32(n - zero), digits: read)
            return [UInt8(truncatingIfNeeded: value)]
        default:
            guard dialect == .ansiC else { return [backslash, n] }
            return ansiCEscape(n, bytes, at: &index, end: end)
        }
    }

    /// The escapes only `$'…'` has; `index` is just past `n`.
    private static func ansiCEscape(_ n: UInt8, _ bytes: [UInt8], at index: inout Int, end: Int) -> [UInt8] {
        switch n {
        case 0x61: return [0x07]  // a
        case 0x62: return [0x08]  // b
        case 0x65, 0x45: return [0x1B]  // e E
        case 0x66: return [0x0C]  // f
        case 0x76: return [0x0B]  // v
        case 0x63:  // c: control character
            guard index < end else { return [] }
            index += 1
            return [bytes[index - 1] & 0x1F]
        case singleQuote, doubleQuote, question: return [n]
        default: return [backslash, n]
        }
    }

    /// The hex digits of an escape (`\xHH`, `\uHHHH`): at most `limit` of them from `index`
    /// on, before `end`, with `index` moved past them. Their value wraps past 32 bits.
    static func hexNumber(_ bytes: [UInt8], at index: inout Int, end: Int, limit: Int) -> (value: UInt32, digits: Int) {
        var value: UInt32 = 0
        var digits = 0
        while digits < limit, index < end, let h = hexValue(bytes[index]) {
            value = value &* 16 &+ h
            index += 1
            digits += 1
        }
        return (value, digits)
    }

    /// The octal digits of an escape (`\NNN`) from `index` on, before `end`, added to `value`
    /// (the `digits` already read) until there are three, with `index` moved past them.
    static func octalNumber(_ bytes: [UInt8], at index: inout Int, end: Int, value: UInt32, digits: Int) -> UInt32 {
        var value = value
        var digits = digits
        while digits < 3, index < end, bytes[index] >= zero, bytes[index] <= seven {
            value = value * 8 + UInt32(bytes[index] - zero)
            index += 1
            digits += 1
        }
        return value
    }
}
