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

    /// Creates `path` (which must not exist; a symbolic link there is not followed) with
    /// exactly `bytes` and `mode` (not masked by the umask), and fsyncs it.
    public static func writeNew(_ bytes: [UInt8], at path: String, mode: UInt32) throws {
        let fd = retryingOnInterrupt { open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        if fd < 0 { throw SystemError.current("create", path: path) }
        do {
            try FileDescriptorIO.writeAll(fd, bytes, path: path)
            if fchmod(fd, mode_t(mode & 0o7777)) != 0 { throw SystemError.current("chmod", path: path) }
            if fsync(fd) != 0 { throw SystemError.current("fsync", path: path) }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        close(fd)
    }

    /// Creates a symbolic link at `path`, which must not exist.
    public static func createSymlink(_ target: [UInt8], at path: String) throws {
        let cTarget = target.map { CChar(bitPattern: $0) } + [0]
        if symlink(cTarget, path) != 0 { throw SystemError.current("symlink", path: path) }
    }

    /// Gives the entry at `source` the name `destination` without ever replacing what is at
    /// `destination` (a hard link of the entry itself, then the source name is dropped).
    /// Returns false, changing nothing, when `destination` exists. On a file system without
    /// hard links it renames, after checking that `destination` is absent.
    public static func moveWithoutReplacing(_ source: String, to destination: String) throws -> Bool {
        if linkat(AT_FDCWD, source, AT_FDCWD, destination, 0) == 0 {
            if unlink(source) != 0 { throw SystemError.current("remove", path: source) }
            return true
        }
        let e = cc_errno()
        if e == EEXIST { return false }
        guard e == EPERM || e == EOPNOTSUPP || e == EXDEV || e == EMLINK else {
            throw SystemError("link", path: destination, errno: e)
        }
        if FileSystem.exists(destination) { return false }
        try FileSystem.rename(source, to: destination)
        return true
    }

    /// fsync of a directory, so the names created or removed in it are durable.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// rmdir with its answer: true when the directory was empty and is gone.
    @discardableResult
    public static func removeDirectoryIfEmpty(_ path: String) -> Bool {
        rmdir(path) == 0
    }
}
