import CompanionSystem
import CompanionJSON
/// Keeps the end of the app-server's stderr for error messages: complete lines, ANSI
/// colour codes removed, the PATH-alias warning dropped, at most `limit` bytes.
package struct StderrTail {
    package static let ignoredPrefix = "WARNING: proceeding, even though we could not update PATH:"

    package let limit: Int
    private var lines: [String] = []
    private var size = 0
    private var partial: [UInt8] = []

    package init(limit: Int = 8 * 1024) {
        self.limit = limit
    }

    package mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            if byte == 0x0A {
                flushPartial()
            } else if partial.count < limit {
                partial.append(byte)
            }
        }
    }

    package mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Counts the unterminated last line too.
    package mutating func finish() {
        flushPartial()
    }

    /// The kept lines, oldest first.
    package var text: String {
        var all = lines
        if !partial.isEmpty {
            let last = Self.clean(partial)
            if !last.isEmpty && !last.hasPrefix(Self.ignoredPrefix) { all.append(last) }
        }
        return all.joined(separator: "\n")
    }

    private mutating func flushPartial() {
        let line = Self.clean(partial)
        partial.removeAll(keepingCapacity: true)
        guard !line.isEmpty, !line.hasPrefix(Self.ignoredPrefix) else { return }
        lines.append(line)
        size += line.utf8.count + 1
        while size > limit, lines.count > 1 {
            size -= lines.removeFirst().utf8.count + 1
        }
    }

    /// Strips ANSI escape sequences (CSI `ESC [ … final`) and surrounding whitespace.
    package static func clean(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x1B {
                index += 1
                if index < bytes.count && bytes[index] == 0x5B {
                    index += 1
                    while index < bytes.count && !(0x40...0x7E).contains(bytes[index]) { index += 1 }
                }
                index += 1
                continue
            }
            if byte != 0x0D { output.append(byte) }
            index += 1
        }
        let text = String(decoding: output, as: UTF8.self)
        return ProgressText.trim(text)
    }
}
