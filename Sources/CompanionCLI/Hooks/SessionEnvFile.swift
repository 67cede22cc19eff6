import ShellGuard
import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// Writes the companion's variables into Claude Code's `CLAUDE_ENV_FILE`.
///
/// SessionStart fires again on resume, clear and compact, so the write must be
/// idempotent: one line per variable, updated in place, every other line kept.
public enum SessionEnvFile {
    public struct InvalidName: Error, CustomStringConvertible, Sendable {
        public var name: String
        public var description: String { "not a valid environment variable name: \(name)" }
    }

    /// Makes `path` contain exactly one `export NAME='value'` line per given variable,
    /// updated to the given value, keeping every other line (other tools' lines,
    /// comments, blank lines) intact and in order; creates the file if missing.
    /// Atomic replace (use AtomicFile.write from CompanionSystem). Values are single-quoted safely.
    public static func update(path: String, variables: [(name: String, value: String)]) throws {
        for variable in variables where !isValidName(variable.name) {
            throw InvalidName(name: variable.name)
        }
        // Replace the file a symbolic link points to, not the link.
        let target = FileSystem.realPath(path) ?? path
        let existing = try FileSystem.read(target)
        let updated = render(existing: existing ?? [], variables: variables)
        if let existing, existing == updated { return }
        var mode: UInt32 = 0o600
        if existing != nil, let current = FileSystem.permissions(target) { mode = current }
        try AtomicFile.write(updated, to: target, mode: mode)
    }

    /// The new file content.
    package static func render(existing: [UInt8], variables: [(name: String, value: String)]) -> [UInt8] {
        // Last value wins when a name is given twice; order of first mention is kept.
        var order: [String] = []
        var values: [String: String] = [:]
        for variable in variables {
            if values.updateValue(variable.value, forKey: variable.name) == nil { order.append(variable.name) }
        }
        var lines = existing.split(separator: ShellByte.newline, omittingEmptySubsequences: false)
        if existing.last == ShellByte.newline { lines.removeLast() }
        if existing.isEmpty { lines = [] }

        var output: [ArraySlice<UInt8>] = []
        var written: Set<String> = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            guard let name = assignedName(in: line), let value = values[name] else {
                output.append(line)
                index += 1
                continue
            }
            // A value quoted across several lines continues on the next ones.
            let statementEnd = statementLastLine(lines, from: index)
            if written.insert(name).inserted {
                output.append(ArraySlice(exportLine(name: name, value: value).utf8))
            }
            index = statementEnd + 1
        }
        for name in order where !written.contains(name) {
            output.append(ArraySlice(exportLine(name: name, value: values[name] ?? "").utf8))
        }
        var bytes: [UInt8] = []
        for line in output {
            bytes.append(contentsOf: line)
            bytes.append(ShellByte.newline)
        }
        return bytes
    }

    package static func exportLine(name: String, value: String) -> String {
        "export \(name)=\(quote(value))"
    }

    /// Single quotes, or `$'…'` when the value holds control characters (so the
    /// statement stays on one line).
    package static func quote(_ value: String) -> String {
        let needsEscapes = value.utf8.contains { $0 < 0x20 || $0 == 0x7F }
        var result = needsEscapes ? "$'" : "'"
        for scalar in value.unicodeScalars {
            switch scalar {
            case "'":
                result += needsEscapes ? "\\'" : "'\\''"
            case "\\" where needsEscapes:
                result += "\\\\"
            case "\n" where needsEscapes:
                result += "\\n"
            case "\t" where needsEscapes:
                result += "\\t"
            case "\r" where needsEscapes:
                result += "\\r"
            default:
                if needsEscapes && (scalar.value < 0x20 || scalar.value == 0x7F) {
                    let octal = String(scalar.value, radix: 8)
                    result += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "'"
    }

    package static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, ShellByte.isNameStart(first) else { return false }
        return name.utf8.allSatisfy(ShellByte.isNameByte)
    }

    /// The variable a line assigns: `NAME=…`, `export NAME=…`, `declare -x NAME=…`
    /// (also `typeset -x`, `declare -gx`). nil for anything else.
    package static func assignedName(in line: ArraySlice<UInt8>) -> String? {
        var rest = line.drop { $0 == ShellByte.space || $0 == ShellByte.tab }
        func dropWord(_ word: String) -> Bool {
            let bytes = Array(word.utf8)
            guard rest.starts(with: bytes) else { return false }
            let after = rest.dropFirst(bytes.count)
            guard let next = after.first, next == ShellByte.space || next == ShellByte.tab else { return false }
            rest = after.drop { $0 == ShellByte.space || $0 == ShellByte.tab }
            return true
        }
        if dropWord("export") {
            // fine
        } else if dropWord("declare") || dropWord("typeset") {
            var exported = false
            while rest.first == ShellByte.minus {
                let option = rest.prefix { $0 != ShellByte.space && $0 != ShellByte.tab }
                if option.contains(0x78) { exported = true }  // x
                rest = rest.dropFirst(option.count).drop { $0 == ShellByte.space || $0 == ShellByte.tab }
            }
            guard exported else { return nil }
        }
        let name = rest.prefix(while: ShellByte.isNameByte)
        guard let first = name.first, ShellByte.isNameStart(first) else { return nil }
        guard rest.dropFirst(name.count).first == ShellByte.equals else { return nil }
        return String(decoding: name, as: UTF8.self)
    }

    /// The index of the last line of the assignment starting at `start`: later lines
    /// belong to it while a quote is open or the line ends in a backslash.
    package static func statementLastLine(_ lines: [ArraySlice<UInt8>], from start: Int) -> Int {
        enum State { case plain, single, double, ansi }
        var state = State.plain
        var index = start
        while index < lines.count {
            let line = lines[index]
            var i = line.startIndex
            var continued = false
            if index == start, let eq = line.firstIndex(of: ShellByte.equals) { i = eq + 1 }
            while i < line.endIndex {
                let byte = line[i]
                switch state {
                case .plain:
                    if byte == ShellByte.singleQuote {
                        state = .single
                    } else if byte == ShellByte.doubleQuote {
                        state = .double
                    } else if byte == ShellByte.dollar, i + 1 < line.endIndex, line[i + 1] == ShellByte.singleQuote {
                        state = .ansi
                        i += 1
                    } else if byte == ShellByte.backslash {
                        if i + 1 == line.endIndex { continued = true }
                        i += 1
                    } else if byte == ShellByte.hash || byte == ShellByte.semicolon {
                        i = line.endIndex
                        continue
                    }
                case .single:
                    if byte == ShellByte.singleQuote { state = .plain }
                case .double, .ansi:
                    if byte == ShellByte.backslash {
                        i += 1
                    } else if byte == (state == .double ? ShellByte.doubleQuote : ShellByte.singleQuote) {
                        state = .plain
                    }
                }
                i += 1
            }
            if state == .plain && !continued { return index }
            index += 1
        }
        // Never closed: treat only the first line as ours, so that a broken value
        // cannot swallow other tools' lines.
        return start
    }
}
