#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// Test-only fault points in the durable-write path. When the environment variable
/// `CODEX_COMPANION_FAULT` names a point, the process kills itself with SIGKILL when
/// it reaches it, so tests can prove that a crash at any step loses nothing.
public enum FaultPoint: String, Sendable, CaseIterable {
    case afterTempWrite = "after-temp-write"
    case afterFsync = "after-fsync"
    case afterRename = "after-rename"
    case whileLocked = "while-locked"
    /// The worker saved the job's answer and has not yet written the final record.
    case afterAnswer = "after-answer"
    /// A keep's intent is durable; nothing in the user's tree changed yet.
    case keepAfterIntent = "keep.after-intent"
    /// A keep wrote about half of its paths.
    case keepMidApply = "keep.mid-apply"
    /// A keep wrote every path and staged; its commit point is not recorded yet.
    case keepBeforeCommitPoint = "keep.before-commit-point"
    /// A keep's commit point is durable; the worktree and branch are not removed yet.
    case keepAfterCommitPoint = "keep.after-commit-point"
    /// A creation intent is durable; `git worktree add` has not run.
    case createAfterIntent = "create.after-intent"
    /// `git worktree add` finished; the creation is not recorded as done.
    case createAfterAdd = "create.after-add"

    private static let armed: String? = {
        guard let value = getenv("CODEX_COMPANION_FAULT") else { return nil }
        return String(cString: value)
    }()

    /// Dies here with SIGKILL when this point is armed.
    @inline(__always)
    public func hit() {
        guard let armed = FaultPoint.armed, armed == rawValue else { return }
        kill(getpid(), SIGKILL)
    }

    /// Dies here with SIGKILL when `name` is armed: for numbered points such as
    /// `keep.path-written-2` (after the keep wrote its second path).
    public static func hit(named name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}

/// Crash-safe whole-file writes: a temp file in the same directory, fsync, rename,
/// then fsync of the directory. A reader sees either the old or the new content.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(SystemError) {
        try replace(path, with: bytes, mode: mode) { fd, temp throws(SystemError) in
            FaultPoint.afterTempWrite.hit()
            if fsync(fd) != 0 { throw SystemError.current("fsync", path: temp) }
            FaultPoint.afterFsync.hit()
        }
        FaultPoint.afterRename.hit()
        let dfd = open(Path.dirname(path), O_RDONLY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Writes `bytes` to a new temp file beside `path` (created exclusively with `mode`),
    /// runs `beforeClose` on its descriptor and path, then renames it over `path`. When a
    /// step fails the temp file is removed and `path` is untouched.
    static func replace(
        _ path: String, with bytes: [UInt8], mode: mode_t,
        beforeClose: (Int32, String) throws(SystemError) -> Void = { _, _ in }
    ) throws(SystemError) {
        let temp =
            Path.dirname(path) + "/." + Path.basename(path) + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = retryingOnInterrupt { open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
        if fd < 0 { throw .current("create", path: temp) }
        do throws(SystemError) {
            try FileDescriptorIO.writeAll(fd, bytes, path: temp)
            try beforeClose(fd, temp)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        if rename(temp, path) != 0 {
            let e = cc_errno()
            unlink(temp)
            throw SystemError("rename", path: path, errno: e)
        }
    }

    /// Removes temp files left by writers that were killed before their rename.
    /// Only files older than `olderThan` seconds are touched, so live writers keep theirs.
    public static func sweepTemporaries(in directory: String, olderThan seconds: Double = 60) {
        // A sweep is housekeeping: what cannot be listed or removed now is swept next time.
        guard let names = try? FileSystem.list(directory) else { return }
        let now = Double(time(nil))
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            let path = directory + "/" + name
            if let mtime = FileSystem.modificationTime(path), now - mtime > seconds {
                try? FileSystem.remove(path)
            }
        }
    }
}

/// An exclusive advisory lock (flock) on a lock file. The kernel releases it when
/// the holder exits or dies, so there are never stale locks to clean up.
public final class FileLock {
    public let path: String
    private let fd: Int32

    /// Blocks until the lock is held. Creates the lock file if needed.
    public convenience init(exclusive path: String) throws(SystemError) {
        let fd = retryingOnInterrupt { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        if fd < 0 { throw .current("open lock", path: path) }
        if retryingOnInterrupt({ flock(fd, LOCK_EX) }) != 0 {
            let e = cc_errno()
            close(fd)
            throw SystemError("lock", path: path, errno: e)
        }
        self.init(path: path, fd: fd)
        FaultPoint.whileLocked.hit()
    }

    /// Takes the lock without waiting; nil when another process holds it.
    public static func attempt(_ path: String) throws(SystemError) -> FileLock? {
        let fd = retryingOnInterrupt { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        if fd < 0 { throw .current("open lock", path: path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = cc_errno()
            close(fd)
            if e == EWOULDBLOCK { return nil }
            throw SystemError("lock", path: path, errno: e)
        }
        return FileLock(path: path, fd: fd)
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Runs `body` while holding the exclusive lock at `path`.
public func withExclusiveLock<T, E: Error>(_ path: String, _ body: () throws(E) -> T) throws -> T {
    let lock = try FileLock(exclusive: path)
    return try withExtendedLifetime(lock) { () throws(E) -> T in try body() }
}
