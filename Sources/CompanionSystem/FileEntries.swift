#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// File operations on directory entries as they are (lstat kind and mode, symbolic
/// links, chmod, rmdir): what a keep needs to save and restore paths exactly.
public enum FileEntries {
    public enum Kind: String, Codable, Sendable { case file, symlink, directory, other }

    public struct Facts: Equatable {
        public var kind: Kind
        public var mode: UInt32
    }

    /// lstat: what is at `path` (a symbolic link is not followed), or nil.
    public static func inspect(_ path: String) -> Facts? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        let kind: Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFLNK: kind = .symlink
        case S_IFDIR: kind = .directory
        default: kind = .other
        }
        return Facts(kind: kind, mode: UInt32(st.st_mode & 0o7777))
    }

    public static func readLink(_ path: String) throws -> [UInt8] {
        var size = 256
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let count = readlink(path, &buffer, size)
            if count < 0 { throw SystemError.current("readlink", path: path) }
            if count < size { return buffer.prefix(count).map { UInt8(bitPattern: $0) } }
            size *= 4
        }
    }

    public static func makeSymlink(_ target: [UInt8], at path: String) throws {
        try FileSystem.remove(path)
        let cTarget = target.map { CChar(bitPattern: $0) } + [0]
        if symlink(cTarget, path) != 0 { throw SystemError.current("symlink", path: path) }
    }

    public static func setMode(_ path: String, _ mode: UInt32) throws {
        if chmod(path, mode_t(mode & 0o7777)) != 0 { throw SystemError.current("chmod", path: path) }
    }

    /// rmdir: removes a directory only when it is empty; anything else is left alone.
    public static func removeEmptyDirectory(_ path: String) {
        _ = rmdir(path)
    }
}
