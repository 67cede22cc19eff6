#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// Private scratch directories (mkdtemp, mode 0700) for work that must never touch the
/// user's files: a temporary git index, a patch, the output of a check command.
public enum ScratchDirectory {
    /// A new directory under `$TMPDIR` (or /tmp), its real path.
    public static func make(prefix: String) throws(SystemError) -> String {
        let base = ProcessEnvironment.value("TMPDIR").flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/" + prefix + ".XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        guard made != nil else { throw .current("mkdtemp", path: base) }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return FileSystem.realPath(path) ?? path
    }

    /// Writes a file that needs no durability (a scratch copy, derived data): a temp file
    /// beside it, then a rename, so a reader sees the old or the new bytes; no fsync, no
    /// fault points.
    public static func replaceFile(_ bytes: [UInt8], at path: String, mode: mode_t = 0o600) throws(SystemError) {
        try AtomicFile.replace(path, with: bytes, mode: mode)
    }

    /// Runs `body` with a new scratch directory, removed afterwards whatever happens.
    public static func with<T>(prefix: String, _ body: (String) throws -> T) throws -> T {
        let directory = try make(prefix: prefix)
        // Our own scratch directory; one left behind holds nothing of the user's.
        defer { try? FileSystem.removeTree(directory) }
        return try body(directory)
    }
}

/// Facts about the machine that size concurrent work.
public enum MachineFacts {
    /// Processors online (at least 1).
    public static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// FNV-1a over bytes, two 64-bit lanes with different offsets: a cache key, not a
/// security hash.
public struct ContentDigest: Sendable {
    private var first: UInt64 = 0xcbf2_9ce4_8422_2325
    private var second: UInt64 = 0x8422_2325_cbf2_9ce4

    public init() {}

    public mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            first = (first ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            second = (second ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
    }

    public mutating func add(_ text: String) { add(text.utf8) }

    /// 32 hex digits.
    public var hex: String {
        func pad(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return pad(first) + pad(second)
    }
}
