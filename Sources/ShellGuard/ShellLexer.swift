// Tokenizer for the shell parser. It works on UTF-8 bytes, performs quote removal,
// and parses command substitutions, process substitutions and backticks on the spot
// by running a nested parser over the same bytes, so their commands land in the
// shared `ParseContext` like any other.

enum ShellOperator: Equatable, Sendable {
    case semicolon, ampersand, and, or, pipe, pipeBoth
    case caseBreak, caseFallThrough, caseContinue
    case openParen, closeParen
    // Redirections.
    case readFrom, writeTo, appendTo, hereDoc, hereDocStrippingTabs, hereString
    case duplicateInput, duplicateOutput, readWrite, clobber, writeBoth, appendBoth

    var isRedirection: Bool {
        switch self {
        case .readFrom, .writeTo, .appendTo, .hereDoc, .hereDocStrippingTabs, .hereString,
            .duplicateInput, .duplicateOutput, .readWrite, .clobber, .writeBoth, .appendBoth:
            return true
        default:
            return false
        }
    }

    var endsCaseItem: Bool { self == .caseBreak || self == .caseFallThrough || self == .caseContinue }
}

enum ShellToken {
    case word(ShellWord)
    case op(ShellOperator)
    case newline
    /// The `2` of `2>&1`, or `{fd}` before a redirection.
    case ioNumber
    case eof
}

/// The body of a here-document, filled in when the lexer reaches it (after the next newline).
final class HereDocBody {
    var text: String?
}

struct PendingHereDoc {
    var delimiter: [UInt8]
    var stripsTabs: Bool
    var isQuoted: Bool
    var body: HereDocBody
}

/// State shared by all nested lexers and parsers of one `ShellParser.parse` call.
final class ParseContext {
    var commands: [ShellCommand] = []
    var hereDocLinks: [(command: Int, body: HereDocBody)] = []
    var hadError = false
    /// A construct was nested past `maxNesting`; its inside was not read.
    var exceededNesting = false
    var functions: [(name: String, body: Range<Int>)] = []
    let budget: ParseBudget
    private(set) var nesting = 0
    /// Deeper constructs are treated as errors instead of recursing; this bounds stack use.
    static let maxNesting = 32

    init(budget: ParseBudget) { self.budget = budget }

    func enter() -> Bool {
        if nesting >= ParseContext.maxNesting || budget.isExhausted {
            hadError = true
            exceededNesting = true
            return false
        }
        nesting += 1
        return true
    }

    func leave() { nesting -= 1 }
}

/// Accumulates one word's bytes and what is known about them.
struct WordBuilder {
    var bytes: [UInt8] = []
    var isQuoted = false
    var hasExpansion = false
    var plainPrefixLength: Int?
    var expansionEnd = 0
    var lastSlash = -1
    var lastByteWasPlain = false
    var hasOtherContent = false
    var substitutionCount = 0
    var lastSubstitution: [ShellWord]?
    /// Bytes appended with `append` are inside quotes.
    var inQuotes = false
    var parts: [WordPart] = []
    private var literal: [UInt8] = []
    private var literalQuoted = false
    var arrayElements: [ShellWord]?

    @inline(__always) mutating func append(_ byte: UInt8) {
        appendLiteral(byte, quoted: inQuotes)
    }

    @inline(__always) private mutating func appendLiteral(_ byte: UInt8, quoted: Bool) {
        if byte == ShellByte.slash { lastSlash = bytes.count }
        bytes.append(byte)
        hasOtherContent = true
        if quoted != literalQuoted && !literal.isEmpty { flushLiteral() }
        literalQuoted = quoted
        literal.append(byte)
    }

    private mutating func flushLiteral() {
        guard !literal.isEmpty else { return }
        parts.append(.literal(String(decoding: literal, as: UTF8.self), quoted: literalQuoted))
        literal.removeAll(keepingCapacity: true)
    }

    mutating func appendPlain(_ byte: UInt8) {
        appendLiteral(byte, quoted: false)
        lastByteWasPlain = true
    }

    mutating func appendQuoted(_ byte: UInt8) {
        markQuoted()
        appendLiteral(byte, quoted: true)
        lastByteWasPlain = false
    }

    mutating func appendPart(_ part: WordPart) {
        flushLiteral()
        parts.append(part)
    }

    mutating func markQuoted() {
        if plainPrefixLength == nil { plainPrefixLength = bytes.count }
        isQuoted = true
    }

    /// Appends the source spelling of an expansion.
    mutating func appendExpansion(_ raw: ArraySlice<UInt8>, substitution: [ShellWord]?? = nil) {
        if plainPrefixLength == nil { plainPrefixLength = bytes.count }
        hasExpansion = true
        bytes.append(contentsOf: raw)
        expansionEnd = bytes.count
        lastByteWasPlain = false
        if let substitution {
            substitutionCount += 1
            lastSubstitution = substitution
        } else {
            hasOtherContent = true
        }
    }

    var isEmpty: Bool { bytes.isEmpty && !isQuoted && !hasExpansion }

    mutating func build() -> ShellWord {
        flushLiteral()
        if parts.isEmpty && isQuoted { parts.append(.literal("", quoted: true)) }
        let text = String(decoding: bytes, as: UTF8.self)
        let sole: [ShellWord]? = (substitutionCount == 1 && !hasOtherContent) ? lastSubstitution : nil
        return ShellWord(
            text: text,
            isQuoted: isQuoted,
            hasExpansion: hasExpansion,
            plainPrefixLength: plainPrefixLength ?? bytes.count,
            hasStaticBasename: !hasExpansion || lastSlash >= expansionEnd,
            soleSubstitution: sole,
            parts: parts,
            arrayElements: arrayElements
        )
    }

    /// The bytes so far are a plain `NAME=` or `NAME+=` (start of an array assignment).
    var isArrayAssignmentPrefix: Bool {
        guard !isQuoted, !hasExpansion, let last = bytes.last, last == ShellByte.equals,
            let first = bytes.first, ShellByte.isNameStart(first)
        else { return false }
        var body = bytes.dropLast()
        if body.last == ShellByte.plus { body = body.dropLast() }
        return body.allSatisfy(ShellByte.isNameByte)
    }
}

final class ShellLexer {
    let bytes: [UInt8]
    var pos: Int
    let end: Int
    let ctx: ParseContext
    private var pending: [PendingHereDoc] = []

    init(bytes: [UInt8], start: Int, end: Int, ctx: ParseContext) {
        self.bytes = bytes
        self.pos = start
        self.end = end
        self.ctx = ctx
    }

    // MARK: Tokens

    func nextToken() -> ShellToken {
        skipBlanksAndComments()
        if pos >= end || ctx.budget.isExhausted {
            pos = end
            return .eof
        }
        let start = pos
        let token = lexToken()
        ctx.budget.spend(pos - start + 1)
        return token
    }

    private func lexToken() -> ShellToken {
        let c = bytes[pos]
        switch c {
        case ShellByte.newline:
            pos += 1
            readPendingHereDocs()
            return .newline
        case ShellByte.less, ShellByte.greater:
            return at(1, ShellByte.openParen) ? processSubstitutionWord() : lexOperator()
        case ShellByte.semicolon, ShellByte.ampersand, ShellByte.pipe, ShellByte.openParen, ShellByte.closeParen:
            return lexOperator()
        default:
            var word = WordBuilder()
            readWord(into: &word)
            if word.isEmpty {
                // Cannot happen for a non-meta byte, but never loop without progress.
                pos += 1
                return lexTokenAfterBlanks()
            }
            if pos < end, bytes[pos] == ShellByte.less || bytes[pos] == ShellByte.greater,
                !word.isQuoted, !word.hasExpansion, isRedirectionNumber(word.bytes)
            {
                return .ioNumber
            }
            return .word(word.build())
        }
    }

    /// Every operator as it is spelled, longest first: the first one that matches at a byte
    /// is the one the shell reads there.
    private static let operators: [(spelling: [UInt8], op: ShellOperator)] = [
        (";;&", .caseContinue), ("&>>", .appendBoth), ("<<<", .hereString), ("<<-", .hereDocStrippingTabs),
        (";;", .caseBreak), (";&", .caseFallThrough), ("&&", .and), ("&>", .writeBoth), ("||", .or),
        ("|&", .pipeBoth), ("<<", .hereDoc), ("<&", .duplicateInput), ("<>", .readWrite), (">>", .appendTo),
        (">&", .duplicateOutput), (">|", .clobber), (";", .semicolon), ("&", .ampersand), ("|", .pipe),
        ("(", .openParen), (")", .closeParen), ("<", .readFrom), (">", .writeTo),
    ].map { (Array($0.utf8), $1) }

    /// At one of `;&|()<>`: the longest operator written here.
    private func lexOperator() -> ShellToken {
        for (spelling, op) in Self.operators where spelling.indices.allSatisfy({ at($0, spelling[$0]) }) {
            pos += spelling.count
            return .op(op)
        }
        // Cannot happen (each of these bytes is an operator on its own), but never loop without progress.
        pos += 1
        return lexTokenAfterBlanks()
    }

    private func lexTokenAfterBlanks() -> ShellToken {
        skipBlanksAndComments()
        if pos >= end { return .eof }
        return lexToken()
    }

    @inline(__always) private func at(_ offset: Int, _ byte: UInt8) -> Bool {
        pos + offset < end && bytes[pos + offset] == byte
    }

    private func isRedirectionNumber(_ word: [UInt8]) -> Bool {
        if word.allSatisfy(ShellByte.isDigit) { return true }
        // Bash's `{name}>file` form.
        guard word.count > 2, word.first == ShellByte.openBrace, word.last == ShellByte.closeBrace else { return false }
        return word.dropFirst().dropLast().allSatisfy(ShellByte.isNameByte)
    }

    /// The next byte that is not a blank, without consuming anything.
    func peekNonBlankByte() -> UInt8? {
        var i = pos
        while i < end, bytes[i] == ShellByte.space || bytes[i] == ShellByte.tab { i += 1 }
        return i < end ? bytes[i] : nil
    }

    func skipBlanksAndComments() {
        while pos < end {
            let c = bytes[pos]
            if c == ShellByte.space || c == ShellByte.tab || c == ShellByte.carriageReturn {
                pos += 1
            } else if c == ShellByte.backslash && at(1, ShellByte.newline) {
                pos += 2
            } else if c == ShellByte.hash {
                while pos < end && bytes[pos] != ShellByte.newline { pos += 1 }
            } else {
                return
            }
        }
    }

    // MARK: Here-documents

    func registerHereDoc(delimiter: ShellWord, stripsTabs: Bool) -> HereDocBody {
        let body = HereDocBody()
        pending.append(
            PendingHereDoc(
                delimiter: Array(delimiter.text.utf8), stripsTabs: stripsTabs,
                isQuoted: delimiter.isQuoted, body: body))
        return body
    }

    /// Called right after a newline token: consumes the bodies of the here-documents
    /// announced on the line just ended.
    private func readPendingHereDocs() {
        guard !pending.isEmpty else { return }
        let docs = pending
        pending.removeAll()
        for doc in docs {
            let bodyStart = pos
            var bodyEnd = end
            var lineStart = pos
            while lineStart < end {
                var lineEnd = lineStart
                while lineEnd < end && bytes[lineEnd] != ShellByte.newline { lineEnd += 1 }
                var contentStart = lineStart
                if doc.stripsTabs {
                    while contentStart < lineEnd && bytes[contentStart] == ShellByte.tab { contentStart += 1 }
                }
                var contentEnd = lineEnd
                if contentEnd > contentStart && bytes[contentEnd - 1] == ShellByte.carriageReturn { contentEnd -= 1 }
                if bytes[contentStart..<contentEnd].elementsEqual(doc.delimiter) {
                    bodyEnd = lineStart
                    lineStart = min(lineEnd + 1, end)
                    break
                }
                lineStart = lineEnd + 1
            }
            if bodyEnd == end { lineStart = end }
            pos = lineStart
            if !doc.isQuoted && !ctx.budget.isExhausted {
                ctx.budget.spend(bodyEnd - bodyStart)
                // An unquoted delimiter means the body is expanded: `$(…)` in it runs.
                let sub = ShellLexer(bytes: bytes, start: bodyStart, end: bodyEnd, ctx: ctx)
                var scratch = WordBuilder()
                sub.readDoubleQuoted(into: &scratch, terminator: nil)
            }
            doc.body.text = String(decoding: bytes[bodyStart..<bodyEnd], as: UTF8.self)
        }
    }

    // MARK: Words

    /// Reads an unquoted word up to the next metacharacter.
    func readWord(into word: inout WordBuilder) {
        while pos < end {
            let c = bytes[pos]
            switch c {
            case ShellByte.openParen:
                if word.lastByteWasPlain, let last = word.bytes.last,
                    last == ShellByte.at || last == ShellByte.bang || last == ShellByte.plus
                        || last == ShellByte.star || last == ShellByte.question
                {
                    readExtendedGlob(into: &word)
                    continue
                }
                if word.isArrayAssignmentPrefix && ctx.enter() {
                    readArrayElements(into: &word)
                    ctx.leave()
                    continue
                }
                return
            case ShellByte.backslash:
                if pos + 1 < end {
                    if bytes[pos + 1] == ShellByte.newline {
                        pos += 2
                        continue
                    }
                    word.appendQuoted(bytes[pos + 1])
                    pos += 2
                } else {
                    word.appendPlain(c)
                    pos += 1
                }
            default:
                if readQuotedOrExpansion(c, into: &word) { break }
                if ShellByte.isMeta(c) { return }
                word.appendPlain(c)
                pos += 1
            }
        }
    }

    private func readSingleQuoted(into word: inout WordBuilder) {
        word.markQuoted()
        let saved = word.inQuotes
        word.inQuotes = true
        defer { word.inQuotes = saved }
        let start = pos
        while pos < end && bytes[pos] != ShellByte.singleQuote { pos += 1 }
        for b in bytes[start..<pos] { word.append(b) }
        word.lastByteWasPlain = false
        if pos < end {
            pos += 1
        } else {
            ctx.hadError = true
        }
    }

    /// Reads the inside of `"…"` (or, with `terminator == nil`, an expanded here-document
    /// body up to `end`, where double quotes are ordinary characters).
    func readDoubleQuoted(into word: inout WordBuilder, terminator: UInt8?) {
        if terminator != nil { word.markQuoted() }
        let saved = word.inQuotes
        word.inQuotes = true
        defer { word.inQuotes = saved }
        while pos < end {
            let c = bytes[pos]
            if let terminator, c == terminator {
                pos += 1
                word.lastByteWasPlain = false
                return
            }
            switch c {
            case ShellByte.backslash:
                if pos + 1 < end {
                    let n = bytes[pos + 1]
                    if n == ShellByte.newline {
                        pos += 2
                    } else if n == ShellByte.dollar || n == ShellByte.backquote || n == ShellByte.backslash
                        || (n == ShellByte.doubleQuote && terminator != nil)
                    {
                        word.append(n)
                        pos += 2
                    } else {
                        word.append(c)
                        pos += 1
                    }
                } else {
                    word.append(c)
                    pos += 1
                }
            case ShellByte.dollar:
                readDollar(into: &word, inDoubleQuotes: true)
            case ShellByte.backquote:
                readBackquote(into: &word)
            default:
                word.append(c)
                pos += 1
            }
        }
        word.lastByteWasPlain = false
        if terminator != nil { ctx.hadError = true }
    }

    /// `$'…'`: bash's ANSI-C quoting, decoded.
    private func readAnsiCQuoted(into word: inout WordBuilder) {
        word.markQuoted()
        let saved = word.inQuotes
        word.inQuotes = true
        defer { word.inQuotes = saved }
        while pos < end {
            let c = bytes[pos]
            if c == ShellByte.singleQuote {
                pos += 1
                word.lastByteWasPlain = false
                return
            }
            if c == ShellByte.backslash {
                for b in ShellByte.decodeEscape(bytes, at: &pos, end: end, dialect: .ansiC) { word.append(b) }
            } else {
                word.append(c)
                pos += 1
            }
        }
        ctx.hadError = true
    }

    /// Everything that starts with `$`.
    func readDollar(into word: inout WordBuilder, inDoubleQuotes: Bool) {
        let start = pos
        /// A `$` that starts nothing: plain text.
        func plainDollar() {
            word.appendPlain(ShellByte.dollar)
            pos += 1
        }
        /// What was read from `start` on, as a parameter expansion.
        func parameter() {
            word.appendExpansion(bytes[start..<pos])
            word.appendPart(.parameter(String(decoding: bytes[start..<pos], as: UTF8.self), quoted: inDoubleQuotes))
        }
        guard pos + 1 < end else { return plainDollar() }
        let n = bytes[pos + 1]
        switch n {
        case ShellByte.singleQuote where !inDoubleQuotes:
            pos += 2
            readAnsiCQuoted(into: &word)
        case ShellByte.doubleQuote where !inDoubleQuotes:
            // `$"…"`: a translatable string, otherwise like double quotes.
            pos += 2
            readDoubleQuoted(into: &word, terminator: ShellByte.doubleQuote)
        case ShellByte.openParen:
            guard ctx.enter() else { return plainDollar() }
            defer { ctx.leave() }
            if at(2, ShellByte.openParen) {
                pos += 3
                if scanArithmetic() {
                    word.appendExpansion(bytes[start..<pos])
                    word.appendPart(.opaque(String(decoding: bytes[start..<pos], as: UTF8.self)))
                    return
                }
                pos = start
            }
            pos += 2
            let first = ctx.commands.count
            let substitution = parseSubstitutionBody()
            word.appendExpansion(bytes[start..<pos], substitution: .some(substitution))
            word.appendPart(.command(first..<ctx.commands.count, quoted: inDoubleQuotes))
        case ShellByte.openBrace:
            guard ctx.enter() else { return plainDollar() }
            defer { ctx.leave() }
            pos += 2
            skipParameterExpansion(inDoubleQuotes: inDoubleQuotes)
            parameter()
        default:
            if ShellByte.isNameStart(n) {
                pos += 2
                while pos < end && ShellByte.isNameByte(bytes[pos]) { pos += 1 }
                parameter()
            } else if ShellByte.isDigit(n) || n == ShellByte.at || n == ShellByte.star || n == ShellByte.hash
                || n == ShellByte.question || n == ShellByte.dollar || n == ShellByte.bang || n == ShellByte.minus
            {
                pos += 2
                parameter()
            } else {
                plainDollar()
            }
        }
    }

    /// Parses the commands of `$(…)` starting at `pos` (just after the parenthesis) and
    /// leaves `pos` after the closing parenthesis. Returns the words of the substitution
    /// when it holds exactly one simple command.
    private func parseSubstitutionBody() -> [ShellWord]? {
        let before = ctx.commands.count
        let sub = ShellLexer(bytes: bytes, start: pos, end: end, ctx: ctx)
        let parser = ShellSyntaxParser(lexer: sub, ctx: ctx)
        parser.parseList(stop: .closeParen)
        if parser.nextIsCloseParen() {
            parser.advance()
        } else {
            ctx.hadError = true
        }
        pos = sub.pos
        return ctx.commands.count == before + 1 ? ctx.commands[before].words : nil
    }

    /// `<(…)` or `>(…)` at the start of a token.
    private func processSubstitutionWord() -> ShellToken {
        let start = pos
        var word = WordBuilder()
        guard ctx.enter() else {
            word.appendPlain(bytes[pos])
            pos += 1
            return .word(word.build())
        }
        pos += 2
        let first = ctx.commands.count
        _ = parseSubstitutionBody()
        ctx.leave()
        word.appendExpansion(bytes[start..<pos])
        word.appendPart(.process(first..<ctx.commands.count))
        // Anything glued after it belongs to the same word.
        readWord(into: &word)
        return .word(word.build())
    }

    /// `` `…` ``: the inside is unescaped and parsed as its own script.
    /// Reads a quoted string or an expansion (`'…'`, `"…"`, `$…`, a backquote) that
    /// starts at `pos` into `word`. False, with nothing read, when `c` starts neither.
    func readQuotedOrExpansion(_ c: UInt8, into word: inout WordBuilder, inDoubleQuotes: Bool = false) -> Bool {
        switch c {
        case ShellByte.singleQuote where !inDoubleQuotes:
            pos += 1
            readSingleQuoted(into: &word)
        case ShellByte.doubleQuote:
            pos += 1
            readDoubleQuoted(into: &word, terminator: ShellByte.doubleQuote)
        case ShellByte.dollar:
            readDollar(into: &word, inDoubleQuotes: inDoubleQuotes)
        case ShellByte.backquote:
            readBackquote(into: &word)
        default:
            return false
        }
        return true
    }

    func readBackquote(into word: inout WordBuilder) {
        let start = pos
        pos += 1
        var inner: [UInt8] = []
        var closed = false
        while pos < end {
            let c = bytes[pos]
            if c == ShellByte.backquote {
                pos += 1
                closed = true
                break
            }
            if c == ShellByte.backslash && pos + 1 < end {
                let n = bytes[pos + 1]
                if n != ShellByte.backquote && n != ShellByte.backslash && n != ShellByte.dollar {
                    inner.append(c)
                }
                inner.append(n)
                pos += 2
                continue
            }
            inner.append(c)
            pos += 1
        }
        if !closed { ctx.hadError = true }
        var substitution: [ShellWord]?
        let first = ctx.commands.count
        let quoted = word.inQuotes
        if ctx.enter() {
            let before = ctx.commands.count
            let sub = ShellLexer(bytes: inner, start: 0, end: inner.count, ctx: ctx)
            ShellSyntaxParser(lexer: sub, ctx: ctx).parseList(stop: [])
            if ctx.commands.count == before + 1 { substitution = ctx.commands[before].words }
            ctx.leave()
        }
        word.appendExpansion(bytes[start..<pos], substitution: .some(substitution))
        word.appendPart(.command(first..<ctx.commands.count, quoted: quoted))
    }

    /// Inside `${…}`, from just after the brace to just after the matching brace. Nested
    /// substitutions (`${x:-$(cmd)}`) are parsed.
    private func skipParameterExpansion(inDoubleQuotes: Bool) {
        var scratch = WordBuilder()
        while pos < end {
            let c = bytes[pos]
            switch c {
            case ShellByte.closeBrace:
                pos += 1
                return
            case ShellByte.backslash:
                pos = min(pos + 2, end)
            default:
                if !readQuotedOrExpansion(c, into: &scratch, inDoubleQuotes: inDoubleQuotes) { pos += 1 }
            }
        }
        ctx.hadError = true
    }

    /// After `((` or `$((`: scans to the matching `))`. Returns false (with `pos`
    /// restored) when the parentheses close one at a time, which means the text was a
    /// subshell inside a substitution, e.g. `$( (cd x; make) )` written as `$((cd x; make))`.
    /// After `for ((` (`forLoopHeader`): semicolons are part of the header, quotes and
    /// backslashes are plain bytes, one `)` ends it too, and `pos` is not restored.
    func scanArithmetic(forLoopHeader: Bool = false) -> Bool {
        let save = pos
        var depth = 0
        var scratch = WordBuilder()
        /// Not arithmetic after all.
        func giveUp() -> Bool {
            if !forLoopHeader {
                ctx.budget.spend(pos - save)
                pos = save
            }
            return false
        }
        while pos < end && !ctx.budget.isExhausted {
            let c = bytes[pos]
            switch c {
            case ShellByte.openParen:
                depth += 1
                pos += 1
            case ShellByte.closeParen where depth > 0:
                depth -= 1
                pos += 1
            case ShellByte.closeParen:
                if at(1, ShellByte.closeParen) {
                    pos += 2
                    return true
                }
                guard forLoopHeader else { return giveUp() }
                pos += 1
                return true
            case ShellByte.dollar, ShellByte.backquote:
                _ = readQuotedOrExpansion(c, into: &scratch)
            case _ where forLoopHeader:
                pos += 1
            case ShellByte.backslash:
                pos = min(pos + 2, end)
            case ShellByte.semicolon:
                // A command separator cannot appear in arithmetic: this is a subshell.
                return giveUp()
            default:
                if !readQuotedOrExpansion(c, into: &scratch) { pos += 1 }
            }
        }
        return giveUp()
    }

    /// `@(a|b)`, `!(x)`, `+(…)`, `*(…)`, `?(…)` glued to a word: part of the word.
    private func readExtendedGlob(into word: inout WordBuilder) {
        var depth = 0
        while pos < end {
            let c = bytes[pos]
            if c == ShellByte.backslash && pos + 1 < end {
                word.append(bytes[pos + 1])
                pos += 2
                continue
            }
            if c == ShellByte.newline { break }
            word.append(c)
            pos += 1
            if c == ShellByte.openParen {
                depth += 1
            } else if c == ShellByte.closeParen {
                depth -= 1
                if depth == 0 { break }
            }
        }
        word.lastByteWasPlain = true
    }

    /// `name=(a b c)`: the elements are words; their substitutions are parsed.
    private func readArrayElements(into word: inout WordBuilder) {
        word.append(ShellByte.openParen)
        if word.arrayElements == nil { word.arrayElements = [] }
        pos += 1
        while pos < end && !ctx.budget.isExhausted {
            skipBlanksAndComments()
            guard pos < end else { break }
            let c = bytes[pos]
            if c == ShellByte.newline {
                pos += 1
                continue
            }
            if c == ShellByte.closeParen {
                word.append(c)
                pos += 1
                word.lastByteWasPlain = false
                return
            }
            var element = WordBuilder()
            let before = pos
            readWord(into: &element)
            if pos == before {
                word.append(c)
                pos += 1
                continue
            }
            for b in element.bytes { word.append(b) }
            word.append(ShellByte.space)
            if word.arrayElements == nil { word.arrayElements = [] }
            word.arrayElements?.append(element.build())
            if element.hasExpansion {
                word.hasExpansion = true
                word.expansionEnd = word.bytes.count
            }
            if element.isQuoted { word.isQuoted = true }
        }
        ctx.hadError = true
    }
}
