// A small, error-tolerant parser for POSIX sh / bash command lines. It understands
// enough of the grammar to know which words are command words: lists and pipelines,
// subshells and groups, if/while/until/for/select/case, functions, `[[ … ]]`, `(( … ))`,
// redirections and here-documents, `!` and `time`. It never executes or expands
// anything, never throws, and bounds its work and its recursion.

/// Entry points of the shell parser.
enum ShellParser {
    /// Parses `text` into its simple commands.
    static func parse(_ text: String, budget: ParseBudget? = nil) -> ShellScript {
        let bytes = Array(text.utf8)
        let budget = budget ?? ParseBudget.forInput(length: bytes.count)
        let ctx = ParseContext(budget: budget)
        let lexer = ShellLexer(bytes: bytes, start: 0, end: bytes.count, ctx: ctx)
        let parser = ShellSyntaxParser(lexer: lexer, ctx: ctx)
        parser.parseList(stop: [])
        var commands = ctx.commands
        for link in ctx.hereDocLinks where link.command < commands.count {
            commands[link.command].stdinTexts.append(link.body.text ?? "")
        }
        return ShellScript(
            commands: commands, hadError: ctx.hadError, wasTruncated: budget.isExhausted,
            exceededNesting: ctx.exceededNesting, functions: ctx.functions)
    }

    /// Splits `text` into words the way the shell would (quotes, escapes), ignoring
    /// operators: used for strings that a program splits itself, like `env -S`.
    static func splitWords(_ text: String, budget: ParseBudget) -> [ShellWord] {
        let bytes = Array(text.utf8)
        let ctx = ParseContext(budget: budget)
        let lexer = ShellLexer(bytes: bytes, start: 0, end: bytes.count, ctx: ctx)
        var words: [ShellWord] = []
        while true {
            switch lexer.nextToken() {
            case .word(let word): words.append(word)
            case .eof: return words
            default: continue
            }
        }
    }

    /// A flat scan used when the parse reported an error: the words that stand where a
    /// command word could stand (at the start, after an operator or a keyword, after
    /// assignments, and after a wrapper such as `env` or `sudo` and its options).
    /// Redirection targets and here-document bodies are skipped.
    static func commandPositionWords(in text: String, budget: ParseBudget) -> [ShellWord] {
        let bytes = Array(text.utf8)
        let ctx = ParseContext(budget: budget)
        let lexer = ShellLexer(bytes: bytes, start: 0, end: bytes.count, ctx: ctx)
        var result: [ShellWord] = []
        var atCommandStart = true
        var afterWrapper = false
        var redirectionTarget: ShellOperator?
        while true {
            let token = lexer.nextToken()
            switch token {
            case .eof:
                return result
            case .newline:
                atCommandStart = true
                afterWrapper = false
                redirectionTarget = nil
            case .ioNumber:
                continue
            case .op(let op):
                if op.isRedirection {
                    redirectionTarget = op
                } else {
                    atCommandStart = true
                    afterWrapper = false
                    redirectionTarget = nil
                }
            case .word(let word):
                if let op = redirectionTarget {
                    redirectionTarget = nil
                    if op == .hereDoc || op == .hereDocStrippingTabs {
                        _ = lexer.registerHereDoc(delimiter: word, stripsTabs: op == .hereDocStrippingTabs)
                    }
                    continue
                }
                guard atCommandStart else { continue }
                if word.isAssignment { continue }
                if afterWrapper && word.text.hasPrefix("-") { continue }
                if let keyword = ShellKeyword.of(word), keyword.leadsToCommand {
                    continue
                }
                result.append(word)
                if let name = word.basename, CodexInvocationGuard.simpleWrappers.contains(name) {
                    afterWrapper = true
                } else {
                    atCommandStart = false
                    afterWrapper = false
                }
            }
        }
    }
}

enum ShellKeyword: String {
    /// The keyword a plain word spells, if any (cheap check first: most words are not).
    static func of(_ word: ShellWord) -> ShellKeyword? {
        guard word.isPlain else { return nil }
        let utf8 = word.text.utf8
        guard utf8.count <= 8, let first = utf8.first else { return nil }
        guard utf8.count > 1 || first == 0x21 || first == 0x7B || first == 0x7D else { return nil }
        let candidates = byLength[utf8.count]
        for candidate in candidates where candidate.rawValue.utf8.first == first {
            if candidate.rawValue == word.text { return candidate }
        }
        return nil
    }

    /// Keywords grouped by their length in bytes, for `of(_:)`.
    private static let byLength: [[ShellKeyword]] = [
        [], [.bang, .openBrace, .closeBrace], [.if, .fi, .do, .openTest], [.for],
        [.then, .elif, .else, .done, .case, .esac, .time], [.while, .until], [.select, .coproc], [], [.function],
    ]

    case bang = "!"
    case openBrace = "{"
    case closeBrace = "}"
    case `if`, then, elif, `else`, fi
    case `while`, until, `do`, done
    case `for`, select, `case`, esac
    case function
    case openTest = "[["
    case time, coproc

    /// After this keyword, the next word is again a command word.
    var leadsToCommand: Bool {
        switch self {
        case .bang, .openBrace, .if, .then, .elif, .else, .while, .until, .do, .time, .coproc: return true
        default: return false
        }
    }
}

struct StopSet: OptionSet {
    let rawValue: UInt16
    static let closeParen = StopSet(rawValue: 1 << 0)
    static let closeBrace = StopSet(rawValue: 1 << 1)
    static let then = StopSet(rawValue: 1 << 2)
    static let elifOrElse = StopSet(rawValue: 1 << 3)
    static let fi = StopSet(rawValue: 1 << 4)
    static let `do` = StopSet(rawValue: 1 << 5)
    static let done = StopSet(rawValue: 1 << 6)
    static let esac = StopSet(rawValue: 1 << 7)
    static let caseItemEnd = StopSet(rawValue: 1 << 8)
}

/// Recursive-descent parser over a `ShellLexer`. Errors are recorded in the context
/// and parsing continues after the offending token.
final class ShellSyntaxParser {
    private let lexer: ShellLexer
    private let ctx: ParseContext
    private var lookahead: ShellToken?
    private var consumed = 0

    init(lexer: ShellLexer, ctx: ParseContext) {
        self.lexer = lexer
        self.ctx = ctx
    }

    // MARK: Token access

    func peek() -> ShellToken {
        if let token = lookahead { return token }
        let token = lexer.nextToken()
        lookahead = token
        return token
    }

    func advance() {
        if lookahead == nil { _ = lexer.nextToken() }
        lookahead = nil
        consumed += 1
    }

    func nextIsCloseParen() -> Bool {
        if case .op(.closeParen) = peek() { return true }
        return false
    }

    private func peekKeyword() -> ShellKeyword? {
        guard case .word(let word) = peek() else { return nil }
        return ShellKeyword.of(word)
    }

    private func peekOperator() -> ShellOperator? {
        if case .op(let op) = peek() { return op }
        return nil
    }

    private func skipNewlines() {
        while case .newline = peek() { advance() }
    }

    private func expect(_ keyword: ShellKeyword) {
        if peekKeyword() == keyword {
            advance()
        } else {
            ctx.hadError = true
        }
    }

    private func fail() { ctx.hadError = true }

    // MARK: Lists

    /// A sequence of and-or lists separated by `;`, `&` or newlines, up to a token in
    /// `stop` (left unconsumed) or the end of input.
    func parseList(stop: StopSet) {
        while !ctx.budget.isExhausted {
            let token = peek()
            switch token {
            case .eof:
                return
            case .newline:
                advance()
                continue
            case .op(let op):
                if op == .closeParen && stop.contains(.closeParen) { return }
                if op.endsCaseItem && stop.contains(.caseItemEnd) { return }
                if op == .semicolon || op == .ampersand {
                    // A leading separator is a syntax error in sh; keep going.
                    if op == .semicolon { fail() }
                    advance()
                    continue
                }
                if op != .openParen && !op.isRedirection {
                    fail()
                    advance()
                    continue
                }
            case .word(let word):
                if let keyword = ShellKeyword.of(word) {
                    if let set = Self.stopFlag(for: keyword) {
                        if !stop.intersection(set).isEmpty { return }
                        fail()
                        advance()
                        continue
                    }
                }
            case .ioNumber:
                break
            }
            let before = consumed
            parseAndOr()
            if consumed == before {
                fail()
                advance()
            }
            // Separator after the and-or list.
            if let op = peekOperator(), op == .semicolon || op == .ampersand { advance() }
        }
    }

    /// The stop flag of a closing keyword; nil for keywords that start something.
    private static func stopFlag(for keyword: ShellKeyword) -> StopSet? {
        switch keyword {
        case .closeBrace: return .closeBrace
        case .then: return .then
        case .elif, .else: return .elifOrElse
        case .fi: return .fi
        case .do: return .do
        case .done: return .done
        case .esac: return .esac
        default: return nil
        }
    }

    private func parseAndOr() {
        parsePipeline()
        while let op = peekOperator(), op == .and || op == .or {
            advance()
            skipNewlines()
            parsePipeline()
        }
    }

    private func parsePipeline() {
        while !ctx.budget.isExhausted {
            // `!` and `time [-p]` prefixes.
            while let keyword = peekKeyword(), keyword == .bang || keyword == .time {
                advance()
                if keyword == .time {
                    while case .word(let word) = peek(), word.isPlain, word.text == "-p" || word.text == "--" {
                        advance()
                    }
                }
            }
            let index = parseCommand()
            if let op = peekOperator(), op == .pipe || op == .pipeBoth {
                advance()
                skipNewlines()
                pipeSource = index
                continue
            }
            pipeSource = nil
            return
        }
        pipeSource = nil
    }

    /// The simple command whose output feeds the command being parsed.
    private var pipeSource: Int?

    // MARK: Commands

    /// Returns the index of the simple command it appended, if it was one.
    @discardableResult
    private func parseCommand() -> Int? {
        let source = pipeSource
        pipeSource = nil
        guard ctx.enter() else {
            advance()
            return nil
        }
        defer { ctx.leave() }
        switch peek() {
        case .op(.openParen):
            advance()
            if lexer.pos < lexer.end && lexer.bytes[lexer.pos] == ShellByte.openParen {
                // `(( arithmetic ))`, unless it closes like two nested subshells.
                lexer.pos += 1
                if lexer.scanArithmetic() {
                    parseRedirections()
                    return nil
                }
                lexer.pos -= 1
            }
            parseList(stop: .closeParen)
            if nextIsCloseParen() { advance() } else { fail() }
            parseRedirections()
            return nil
        case .word(let word):
            guard let keyword = ShellKeyword.of(word) else {
                return parseSimpleCommand(pipedFrom: source)
            }
            switch keyword {
            case .openBrace:
                advance()
                parseList(stop: .closeBrace)
                expect(.closeBrace)
                parseRedirections()
            case .if:
                parseIf()
            case .while, .until:
                advance()
                parseList(stop: .do)
                expect(.do)
                parseList(stop: .done)
                expect(.done)
                parseRedirections()
            case .for, .select:
                parseFor()
            case .case:
                parseCase()
            case .function:
                parseFunctionKeyword()
            case .openTest:
                parseTestCommand()
            case .coproc:
                advance()
                if case .word(let name) = peek(), name.isPlain, ShellKeyword.of(name) == nil,
                    let next = lexer.peekNonBlankByte(), next == ShellByte.openBrace || next == ShellByte.openParen
                {
                    advance()
                }
                return parseCommand()
            case .bang, .time:
                parsePipeline()
            default:
                // A closing keyword where a command should start.
                fail()
                advance()
            }
            return nil
        default:
            return parseSimpleCommand(pipedFrom: source)
        }
    }

    /// `function name [()] compound-command`.
    private func parseFunctionKeyword() {
        advance()
        var name: String?
        if case .word(let w) = peek() {
            name = w.text
            advance()
        }
        if peekOperator() == .openParen {
            advance()
            if nextIsCloseParen() { advance() } else { fail() }
        }
        skipNewlines()
        let start = ctx.commands.count
        parseCommand()
        if let name { ctx.functions.append((name, start..<ctx.commands.count)) }
    }

    /// `[[ … ]]`: its words are operands, not commands.
    private func parseTestCommand() {
        advance()
        while !ctx.budget.isExhausted {
            let token = peek()
            if case .eof = token {
                fail()
                break
            }
            if case .word(let w) = token, w.isPlain, w.text == "]]" {
                advance()
                break
            }
            advance()
        }
        parseRedirections()
    }

    private func parseIf() {
        advance()
        parseList(stop: .then)
        expect(.then)
        parseList(stop: [.elifOrElse, .fi])
        while let keyword = peekKeyword(), !ctx.budget.isExhausted {
            if keyword == .elif {
                advance()
                parseList(stop: .then)
                expect(.then)
                parseList(stop: [.elifOrElse, .fi])
            } else if keyword == .else {
                advance()
                parseList(stop: .fi)
                break
            } else {
                break
            }
        }
        expect(.fi)
        parseRedirections()
    }

    private func parseFor() {
        advance()
        if peekOperator() == .openParen {
            // for (( init; test; step ))
            advance()
            var ok = false
            if lexer.pos < lexer.end && lexer.bytes[lexer.pos] == ShellByte.openParen {
                lexer.pos += 1
                ok = lexer.scanArithmetic(forLoopHeader: true)
            }
            if !ok { fail() }
        } else if case .word = peek() {
            advance()
        }
        skipNewlines()
        if case .word(let word) = peek(), word.isPlain, word.text == "in" {
            advance()
            while case .word = peek() { advance() }
        }
        if peekOperator() == .semicolon { advance() }
        skipNewlines()
        if peekKeyword() == .openBrace {
            parseCommand()
            return
        }
        expect(.do)
        parseList(stop: .done)
        expect(.done)
        parseRedirections()
    }

    private func parseCase() {
        advance()
        if case .word = peek() { advance() } else { fail() }
        skipNewlines()
        if case .word(let word) = peek(), word.isPlain, word.text == "in" { advance() } else { fail() }
        while !ctx.budget.isExhausted {
            let before = consumed
            skipNewlines()
            if case .eof = peek() {
                fail()
                break
            }
            if peekKeyword() == .esac {
                advance()
                break
            }
            if peekOperator() == .openParen { advance() }
            // Patterns, separated by `|`, up to `)`.
            patterns: while true {
                switch peek() {
                case .word:
                    advance()
                case .op(.pipe):
                    advance()
                case .op(.closeParen):
                    advance()
                    break patterns
                default:
                    fail()
                    break patterns
                }
            }
            parseList(stop: [.caseItemEnd, .esac])
            if let op = peekOperator(), op.endsCaseItem { advance() }
            if consumed == before {
                fail()
                advance()
            }
        }
        parseRedirections()
    }

    private func parseRedirections() {
        while !ctx.budget.isExhausted {
            switch peek() {
            case .ioNumber:
                advance()
            case .op(let op) where op.isRedirection:
                advance()
                guard case .word(let target) = peek() else {
                    fail()
                    return
                }
                advance()
                if op == .hereDoc || op == .hereDocStrippingTabs {
                    _ = lexer.registerHereDoc(delimiter: target, stripsTabs: op == .hereDocStrippingTabs)
                }
            default:
                return
            }
        }
    }

    private func parseSimpleCommand(pipedFrom: Int?) -> Int? {
        var command = ShellCommand()
        var bodies: [HereDocBody] = []
        var sawAnything = false
        loop: while !ctx.budget.isExhausted {
            switch peek() {
            case .word(let word):
                advance()
                sawAnything = true
                if command.words.isEmpty {
                    if word.isAssignment {
                        command.assignments.append(word)
                        continue
                    }
                    // `name() compound-command` defines a function.
                    if command.assignments.isEmpty, peekOperator() == .openParen {
                        advance()
                        if nextIsCloseParen() { advance() } else { fail() }
                        skipNewlines()
                        let start = ctx.commands.count
                        parseCommand()
                        ctx.functions.append((word.text, start..<ctx.commands.count))
                        return nil
                    }
                }
                command.words.append(word)
            case .ioNumber:
                advance()
                sawAnything = true
            case .op(let op) where op.isRedirection:
                advance()
                sawAnything = true
                guard case .word(let target) = peek() else {
                    fail()
                    continue
                }
                advance()
                command.redirections.append(ShellRedirection(op: op, target: target))
                switch op {
                case .hereDoc, .hereDocStrippingTabs:
                    bodies.append(lexer.registerHereDoc(delimiter: target, stripsTabs: op == .hereDocStrippingTabs))
                case .hereString:
                    command.stdinTexts.append(target.text)
                default:
                    break
                }
            default:
                break loop
            }
        }
        guard sawAnything else { return nil }
        command.pipedFrom = pipedFrom
        let index = ctx.commands.count
        ctx.commands.append(command)
        for body in bodies { ctx.hereDocLinks.append((index, body)) }
        return index
    }
}
