#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// Plain POSIX file operations with precise errors. Nothing here follows the
/// current directory implicitly: callers pass absolute paths.
public enum FileSystem {
    /// Reads a whole file. Returns nil when it does not exist.
    public static func read(_ path: String) throws(SystemError) -> [UInt8]? {
        let fd = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 {
            let e = cc_errno()
            if e == ENOENT || e == ENOTDIR { return nil }
            throw SystemError("open", path: path, errno: e)
        }
        defer { close(fd) }
        return try FileDescriptorIO.readAll(fd, path: path)
    }

    /// Reads at most `limit` bytes starting at `offset`. Returns nil when missing.
    /// With `followingLinks: false` a symbolic link at `path` is refused (ELOOP): logs we
    /// show are read the way they are written, never through a planted link.
    public static func read(
        _ path: String, from offset: Int, limit: Int, followingLinks: Bool = true
    ) throws(SystemError) -> [UInt8]? {
        let flags = O_RDONLY | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW)
        let fd = retryingOnInterrupt { open(path, flags) }
        if fd < 0 {
            let e = cc_errno()
            if e == ENOENT || e == ENOTDIR { return nil }
            throw SystemError("open", path: path, errno: e)
        }
        defer { close(fd) }
        if lseek(fd, off_t(offset), SEEK_SET) < 0 { throw .current("seek", path: path) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: min(max(limit, 1), 65536))
        while result.count < limit {
            let want = min(buffer.count, limit - result.count)
            let n = buffer.withUnsafeMutableBytes { raw in
                retryingOnInterrupt { Glibc_read(fd, raw.baseAddress, want) }
            }
            if n < 0 { throw .current("read", path: path) }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }

    public static func size(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    /// What identifies one version of a file cheaply: inode, size, modification time (ns).
    public struct Identity: Sendable, Equatable {
        public var inode: UInt64
        public var size: Int64
        public var modifiedNanoseconds: Int64
    }

    public static func identity(_ path: String) -> Identity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        #if canImport(Darwin)
            let ns = Int64(st.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st.st_mtimespec.tv_nsec)
        #else
            let ns = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        #endif
        return Identity(inode: UInt64(st.st_ino), size: Int64(st.st_size), modifiedNanoseconds: ns)
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Modification time in seconds since the epoch, or nil.
    public static func modificationTime(_ path: String) -> Double? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        #if canImport(Darwin)
            return Double(st.st_mtimespec.tv_sec) + Double(st.st_mtimespec.tv_nsec) / 1e9
        #else
            return Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        #endif
    }

    /// Creates a directory and its parents (mode 0700 for new ones).
    public static func createDirectory(_ path: String, mode: mode_t = 0o700) throws(SystemError) {
        if isDirectory(path) { return }
        let parent = Path.dirname(path)
        if parent != path && !parent.isEmpty && !isDirectory(parent) {
            try createDirectory(parent, mode: mode)
        }
        if mkdir(path, mode) != 0 {
            let e = cc_errno()
            if e == EEXIST && isDirectory(path) { return }
            throw SystemError("create directory", path: path, errno: e)
        }
    }

    /// Names in a directory (without "." and ".."). Returns [] when it does not exist.
    public static func list(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else {
            let e = cc_errno()
            if e == ENOENT || e == ENOTDIR { return [] }
            throw SystemError("list", path: path, errno: e)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names
    }

    /// Removes a file; a missing file is not an error.
    public static func remove(_ path: String) throws(SystemError) {
        if unlink(path) != 0 {
            let e = cc_errno()
            if e == ENOENT { return }
            throw SystemError("remove", path: path, errno: e)
        }
    }

    /// Removes a directory tree (does not follow symbolic links).
    public static func removeTree(_ path: String) throws(SystemError) {
        var st = stat()
        if lstat(path, &st) != 0 {
            if cc_errno() == ENOENT { return }
            throw .current("inspect", path: path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && cc_errno() != ENOENT { throw .current("remove directory", path: path) }
        } else {
            try remove(path)
        }
    }

    public static func rename(_ from: String, to: String) throws(SystemError) {
        if Glibc_rename(from, to) != 0 { throw .current("rename", path: from) }
    }

    /// Appends bytes with one write(2) on an O_APPEND descriptor, creating the file.
    /// A symbolic link at `path` is never followed (O_NOFOLLOW): the append fails with
    /// ELOOP instead of writing wherever a planted link points. A new file is created
    /// with O_EXCL, so a link planted between the two opens is refused too.
    public static func append(_ bytes: [UInt8], to path: String) throws(SystemError) {
        var fd = retryingOnInterrupt { open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 && cc_errno() == ENOENT {
            fd = retryingOnInterrupt {
                open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            if fd < 0 && cc_errno() == EEXIST {
                fd = retryingOnInterrupt { open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC) }
            }
        }
        if fd < 0 { throw .current("open", path: path) }
        defer { close(fd) }
        try FileDescriptorIO.writeAll(fd, bytes, path: path)
    }

    /// Resolves symbolic links and relative parts; nil when the path does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The process's working directory; nil when it was deleted (or cannot be read):
    /// callers must never fall back to another directory.
    public static func currentDirectory() -> String? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    public static func isExecutable(_ path: String) -> Bool {
        var st = stat()
        return access(path, X_OK) == 0 && stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}

/// Read and write loops over raw descriptors.
public enum FileDescriptorIO {
    public static func readAll(_ fd: Int32, path: String? = nil) throws(SystemError) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in
                retryingOnInterrupt { Glibc_read(fd, raw.baseAddress, raw.count) }
            }
            if n < 0 { throw .current("read", path: path) }
            if n == 0 { return result }
            result.append(contentsOf: buffer[0..<n])
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String? = nil) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                retryingOnInterrupt { Glibc_write(fd, raw.baseAddress! + offset, raw.count - offset) }
            }
            if n < 0 { throw .current("write", path: path) }
            offset += n
        }
    }
}

/// String path helpers (no Foundation, no normalisation beyond what is stated).
public enum Path {
    public static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func basename(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    public static func join(_ base: String, _ parts: String...) -> String {
        var result = base
        for part in parts {
            if part.hasPrefix("/") {
                result = part
                continue
            }
            if !result.hasSuffix("/") { result += "/" }
            result += part
        }
        return result
    }

    /// Makes a path absolute against `base`, folding "." and ".." lexically.
    public static func absolute(_ path: String, relativeTo base: String) -> String {
        let joined = path.hasPrefix("/") ? path : join(base, path)
        var parts: [Substring] = []
        for part in joined.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}

// Unambiguous names for libc functions that Swift types shadow.
@inline(__always) package func Glibc_read(_ fd: Int32, _ buf: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buf, count)
}
@inline(__always) package func Glibc_write(_ fd: Int32, _ buf: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buf, count)
}
@inline(__always) package func Glibc_rename(_ a: String, _ b: String) -> Int32 {
    rename(a, b)
}
