#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// A process id, as the kernel hands it out.
public typealias ProcessID = Int32

/// Signal numbers the companion sends or routes, named.
public enum Signal {
    public static let terminate: Int32 = SIGTERM
    public static let kill: Int32 = SIGKILL
    public static let interrupt: Int32 = SIGINT
    public static let hangup: Int32 = SIGHUP
    public static let child: Int32 = SIGCHLD
}

/// The outcome of one read(2) or write(2) on a non-blocking descriptor.
public enum TransferResult: Equatable, Sendable {
    /// Bytes moved (always > 0).
    case transferred(Int)
    /// Nothing now; poll again (EAGAIN, EWOULDBLOCK or EINTR).
    case wouldBlock
    /// End of file on a read.
    case endOfFile
    /// Any other error (EPIPE on a write to a closed pipe, for instance).
    case failed(errno: Int32)
}

/// Raw descriptor operations for code that runs its own poll loop.
public enum Descriptor {
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> TransferResult {
        classify(Glibc_read(fd, buffer.baseAddress, buffer.count), isRead: true)
    }

    public static func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) -> TransferResult {
        classify(Glibc_write(fd, buffer.baseAddress, buffer.count), isRead: false)
    }

    public static func close(_ fd: Int32) {
        _ = closeDescriptor(fd)
    }

    public static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    private static func classify(_ count: Int, isRead: Bool) -> TransferResult {
        if count > 0 { return .transferred(count) }
        if count == 0 { return isRead ? .endOfFile : .wouldBlock }
        let error = cc_errno()
        if error == EINTR || error == EAGAIN || error == EWOULDBLOCK { return .wouldBlock }
        return .failed(errno: error)
    }
}

/// What poll(2) reported for one descriptor.
public struct PollEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let readable = PollEvents(rawValue: Int16(POLLIN))
    public static let writable = PollEvents(rawValue: Int16(POLLOUT))
    public static let hangUp = PollEvents(rawValue: Int16(POLLHUP))
    public static let error = PollEvents(rawValue: Int16(POLLERR))
    /// The descriptor is not open.
    public static let invalid = PollEvents(rawValue: Int16(POLLNVAL))
}

/// poll(2) over a few descriptors.
public enum Poller {
    public struct Interest: Sendable {
        public var fd: Int32
        public var events: PollEvents
        public init(fd: Int32, events: PollEvents) {
            self.fd = fd
            self.events = events
        }
    }

    /// The descriptors that became ready, with what happened. Empty on timeout or on an
    /// interrupted wait; nil when poll itself failed for another reason.
    public static func wait(_ interests: [Interest], timeoutMilliseconds: Int32) -> [(fd: Int32, events: PollEvents)]? {
        var fds = interests.map { pollfd(fd: $0.fd, events: $0.events.rawValue, revents: 0) }
        let ready = fds.withUnsafeMutableBufferPointer { buffer in
            Glibc_poll(buffer.baseAddress!, nfds_t(buffer.count), timeoutMilliseconds)
        }
        if ready < 0 { return cc_errno() == EINTR ? [] : nil }
        return fds.filter { $0.revents != 0 }.map { ($0.fd, PollEvents(rawValue: $0.revents)) }
    }
}

extension ProcessProbe {
    /// True when the child `pid` has exited, without reaping it (waitid with WNOWAIT), so
    /// its pid and process group id stay reserved. Also true when it is already reaped.
    public static func hasExitedWithoutReaping(_ pid: ProcessID) -> Bool {
        var info = siginfo_t()
        let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if rc < 0 { return cc_errno() == ECHILD }
        return info.si_signo == SIGCHLD
    }
}

@inline(__always) private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }

/// Facts about and actions on the current process.
public enum CurrentProcess {
    public static var id: ProcessID { getpid() }

    /// Adopts orphaned descendants (Linux PR_SET_CHILD_SUBREAPER), so that a worker can
    /// reap and account for what its app-server left behind. False where unsupported.
    @discardableResult
    public static func becomeSubreaper() -> Bool { cc_become_subreaper() == 0 }

    /// Reaps every child that has already exited, without waiting.
    public static func reapExitedChildren() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }

    /// True when file descriptor `fd` is a terminal.
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

    /// Reads one pending byte from a non-blocking descriptor (a signal self-pipe); nil
    /// when there is none.
    public static func readByte(_ fd: Int32) -> UInt8? {
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 1 ? byte : nil
    }
}

extension FileSystem {
    /// Opens `path` for appending (creating it, never through a symbolic link) and returns
    /// the descriptor, for handing to a child as its stderr. The caller closes it.
    public static func openForAppending(_ path: String) throws(SystemError) -> Int32 {
        var fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && cc_errno() == ENOENT {
            fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 && cc_errno() == EEXIST { fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC) }
        }
        if fd < 0 { throw .current("open", path: path) }
        return fd
    }

    /// The permission bits of `path` (following links), or nil when it cannot be read.
    public static func permissions(_ path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode & 0o7777)
    }
}

extension CurrentProcess {
    /// Ends the process with `code`.
    public static func exit(_ code: Int32) -> Never { Glibc_exit(code) }
}

@inline(__always) private func Glibc_exit(_ code: Int32) -> Never { exit(code) }

extension FileSystem {
    /// Creates `path` (never through a symbolic link) with `bytes` of disk space allocated
    /// for it now, so that a later `overwrite` of up to that size needs no new space: a
    /// disk that fills up in between cannot lose what is written there. Existing files are
    /// left as they are.
    public static func reserve(_ path: String, bytes: Int) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 {
            if cc_errno() == EEXIST { return }
            throw .current("create", path: path)
        }
        defer { _ = close(fd) }
        // Written zeros, not posix_fallocate: every file system allocates them, and the
        // file's size says how much is reserved.
        let zeros = [UInt8](repeating: 0, count: bytes)
        do { try FileDescriptorIO.writeAll(fd, zeros, path: path) } catch {
            _ = unlink(path)
            throw error
        }
        if fsync(fd) != 0 { throw .current("fsync", path: path) }
    }

    /// Replaces the content of an existing file in place: write from offset 0, truncate to
    /// the new length, fsync. Within the file's current size no new disk space is needed.
    public static func overwrite(_ path: String, with bytes: [UInt8]) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw .current("open", path: path) }
        defer { _ = close(fd) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                pwrite(fd, raw.baseAddress! + offset, raw.count - offset, off_t(offset))
            }
            if count < 0 {
                if cc_errno() == EINTR { continue }
                throw .current("write", path: path)
            }
            offset += count
        }
        if ftruncate(fd, off_t(bytes.count)) != 0 { throw .current("truncate", path: path) }
        if fsync(fd) != 0 { throw .current("fsync", path: path) }
    }
}
