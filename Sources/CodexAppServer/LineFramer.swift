import CompanionSystem
import CompanionJSON
/// Splits a byte stream into newline-terminated lines. Pure: feed it chunks as they
/// are read, in any sizes. Blank lines (only spaces, tabs or a carriage return) are
/// skipped, a trailing "\r" is dropped, and a line longer than `maximumLineLength` is
/// discarded whole and reported as `.oversized` instead of being buffered without bound.
package struct LineFramer {
    package enum Output: Equatable {
        case line([UInt8])
        /// A line was dropped because it exceeded the limit; the value is its length so far.
        case oversized(Int)
    }

    /// 64 MiB: far above anything Codex sends, low enough to stop a runaway peer.
    package static let defaultMaximumLineLength = 64 << 20

    package let maximumLineLength: Int
    private var buffer: [UInt8] = []
    private var discarding = false
    private var discardedCount = 0

    package init(maximumLineLength: Int = LineFramer.defaultMaximumLineLength) {
        self.maximumLineLength = maximumLineLength
    }

    /// True when a partial line is waiting for its newline.
    package var hasPartialLine: Bool { !buffer.isEmpty || discarding }

    package mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [Output] {
        var outputs: [Output] = []
        var start = chunk.startIndex
        while start < chunk.endIndex {
            let rest = chunk[start...]
            guard let newline = rest.firstIndex(of: 0x0A) else {
                append(rest)
                break
            }
            append(chunk[start..<newline])
            if let output = takeLine() { outputs.append(output) }
            start = newline + 1
        }
        return outputs
    }

    package mutating func feed(_ bytes: [UInt8]) -> [Output] {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// At end of input: an unterminated last line still counts.
    package mutating func finish() -> [Output] {
        guard hasPartialLine else { return [] }
        return takeLine().map { [$0] } ?? []
    }

    private mutating func append(_ bytes: Slice<UnsafeRawBufferPointer>) {
        if discarding {
            discardedCount += bytes.count
        } else if buffer.count + bytes.count > maximumLineLength {
            discarding = true
            discardedCount = buffer.count + bytes.count
            buffer = []
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    private mutating func takeLine() -> Output? {
        if discarding {
            let count = discardedCount
            discarding = false
            discardedCount = 0
            return .oversized(count)
        }
        defer {
            // Keep a modest buffer around; give back what a huge line needed.
            if buffer.capacity > 1 << 20 { buffer = [] } else { buffer.removeAll(keepingCapacity: true) }
        }
        var end = buffer.count
        if end > 0 && buffer[end - 1] == 0x0D { end -= 1 }
        let isBlank = buffer[0..<end].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        if isBlank { return nil }
        return .line(Array(buffer[0..<end]))
    }
}
