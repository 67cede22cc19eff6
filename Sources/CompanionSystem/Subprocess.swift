#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// How a child is placed among process groups and sessions.
public enum ProcessGrouping: Sendable, Equatable {
    /// Stays in the caller's process group (only for short-lived helpers like git).
    case inherit
    /// Leads a new process group, so the whole group can be signalled at once.
    case newGroup
    /// Leads a new session (and group): it survives its caller's group being killed.
    case newSession
}

/// Where one of a child's standard streams goes.
public enum StandardStream: Sendable, Equatable {
    case null
    case pipe
    case inherit
    case descriptor(Int32)
}

/// Everything needed to start a child: argv, environment, directory, grouping.
/// It is a plain value, so it can be built and checked without spawning.
public struct SpawnRequest: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]
    /// nil inherits this process's environment.
    public var environment: [String: String]?
    public var directory: String?
    public var grouping: ProcessGrouping
    public var stdin: StandardStream
    public var stdout: StandardStream
    public var stderr: StandardStream

    public init(
        executable: String, arguments: [String], environment: [String: String]? = nil,
        directory: String? = nil, grouping: ProcessGrouping = .newGroup,
        stdin: StandardStream = .null, stdout: StandardStream = .pipe, stderr: StandardStream = .pipe
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
        self.grouping = grouping
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// A started child and the parent's ends of its pipes (close-on-exec, owned by the caller).
public struct SpawnedProcess: Sendable {
    public let pid: pid_t
    public let stdin: Int32?
    public let stdout: Int32?
    public let stderr: Int32?
}

/// How a child ended.
public enum TerminationStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exit \(code)"
        case .signalled(let signal): return "signal \(signal)"
        }
    }
}

/// The outcome of `Subprocess.run`: status and the captured output.
public struct ProcessOutput: Sendable {
    public var status: TerminationStatus
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// `run` killed the child because its timeout passed.
    public var timedOut: Bool

    public init(status: TerminationStatus, stdout: [UInt8], stderr: [UInt8], timedOut: Bool = false) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
    }

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

public enum Subprocess {
    /// Finds an executable: a name with a slash is used as given, otherwise PATH is searched.
    public static func resolve(_ name: String, path: String? = nil) -> String? {
        if name.contains("/") { return FileSystem.isExecutable(name) ? name : nil }
        let search = path ?? (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin")
        for dir in search.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = String(dir) + "/" + name
            if FileSystem.isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// Starts a child with posix_spawn. Never goes through a shell.
    /// - Throws: `SystemError` with operation "spawn <executable>" (ENOENT when missing).
    public static func spawn(_ request: SpawnRequest) throws(SystemError) -> SpawnedProcess {
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        func cleanup() {
            for fd in parentEnds + childEnds { close(fd) }
        }
        func makePipe() throws(SystemError) -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            if pipe(&fds) != 0 { throw .current("pipe") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        func childDescriptor(_ stream: StandardStream, standard: Int32, isInput: Bool) throws(SystemError) -> (
            child: Int32, parent: Int32?
        ) {
            switch stream {
            case .null: return (-1, nil)
            case .inherit: return (standard, nil)
            case .descriptor(let fd): return (fd, nil)
            case .pipe:
                let p = try makePipe()
                if isInput {
                    parentEnds.append(p.write)
                    childEnds.append(p.read)
                    return (p.read, p.write)
                } else {
                    parentEnds.append(p.read)
                    childEnds.append(p.write)
                    return (p.write, p.read)
                }
            }
        }

        let input: (child: Int32, parent: Int32?)
        let output: (child: Int32, parent: Int32?)
        let errors: (child: Int32, parent: Int32?)
        do {
            input = try childDescriptor(request.stdin, standard: 0, isInput: true)
            output = try childDescriptor(request.stdout, standard: 1, isInput: false)
            errors = try childDescriptor(request.stderr, standard: 2, isInput: false)
        } catch {
            cleanup()
            throw error
        }

        let argv = [request.executable] + request.arguments
        let environment = request.environment ?? ProcessEnvironment.current()
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var flags: Int32 = 0
        switch request.grouping {
        case .inherit: break
        case .newGroup: flags = CC_SPAWN_SETPGROUP
        case .newSession: flags = CC_SPAWN_SETSID
        }

        var pid: pid_t = 0
        let rc = withCStrings(argv) { cArgv in
            withCStrings(envp) { cEnv in
                if let directory = request.directory {
                    return directory.withCString { cwd in
                        cc_spawn(
                            request.executable, cArgv, cEnv, cwd, input.child, output.child, errors.child, flags, &pid)
                    }
                }
                return cc_spawn(
                    request.executable, cArgv, cEnv, nil, input.child, output.child, errors.child, flags, &pid)
            }
        }
        for fd in childEnds { close(fd) }
        if rc != 0 {
            for fd in parentEnds { close(fd) }
            throw SystemError("spawn", path: request.executable, errno: rc)
        }
        return SpawnedProcess(pid: pid, stdin: input.parent, stdout: output.parent, stderr: errors.parent)
    }

    /// Waits for a child to end (blocking, retrying on EINTR).
    public static func wait(_ pid: pid_t) -> TerminationStatus {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if cc_errno() != EINTR { return .exited(-1) }
        }
        return decode(status)
    }

    /// Reaps a child if it has ended; nil while it still runs.
    public static func poll(_ pid: pid_t) -> TerminationStatus? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid { return decode(status) }
        if rc < 0 && cc_errno() == ECHILD { return .exited(-1) }
        return nil
    }

    package static func decode(_ status: Int32) -> TerminationStatus {
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(signal)
    }

    /// Runs a child to completion, feeding `input` to its stdin and draining stdout and
    /// stderr while it runs (never waits before draining, so full pipes cannot deadlock).
    /// A non-zero exit is a result, not an error.
    /// - Parameter timeout: seconds after which the child's group is killed (nil: none).
    public static func run(
        _ request: SpawnRequest, input: [UInt8]? = nil, timeout: Double? = nil
    ) throws(SystemError) -> ProcessOutput {
        var request = request
        request.stdin = input == nil ? .null : .pipe
        request.stdout = .pipe
        request.stderr = .pipe
        let child = try spawn(request)
        var out: [UInt8] = []
        var err: [UInt8] = []
        var pending = input ?? []
        var written = 0
        var stdinFD = child.stdin
        if pending.isEmpty, let fd = stdinFD {
            close(fd)
            stdinFD = nil
        }
        if let fd = stdinFD { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var open: [Int32] = [child.stdout!, child.stderr!]
        let deadline = timeout.map { MonotonicClock.now() + $0 }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        while !open.isEmpty || stdinFD != nil {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if let fd = stdinFD { fds.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            var wait: Int32 = -1
            if let deadline {
                let left = deadline - MonotonicClock.now()
                if left <= 0 {
                    timedOut = true
                    break
                }
                wait = Int32(min(left * 1000, 1000)) + 1
            }
            let n = Glibc_poll(&fds, nfds_t(fds.count), wait)
            if n < 0 {
                if cc_errno() == EINTR { continue }
                break
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdinFD {
                    let count = pending.withUnsafeBytes { raw in
                        Glibc_write(entry.fd, raw.baseAddress! + written, raw.count - written)
                    }
                    if count > 0 { written += count }
                    if count < 0 && cc_errno() != EAGAIN && cc_errno() != EINTR { written = pending.count }
                    if written >= pending.count {
                        close(entry.fd)
                        stdinFD = nil
                        pending = []
                    }
                    continue
                }
                let count = buffer.withUnsafeMutableBytes { raw in Glibc_read(entry.fd, raw.baseAddress, raw.count) }
                if count > 0 {
                    if entry.fd == child.stdout {
                        out.append(contentsOf: buffer[0..<count])
                    } else {
                        err.append(contentsOf: buffer[0..<count])
                    }
                } else if count == 0 || (cc_errno() != EINTR && cc_errno() != EAGAIN) {
                    close(entry.fd)
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        // A child that closed its output but runs on still has the rest of its time.
        var ended: TerminationStatus?
        if !timedOut, let deadline {
            ended = poll(child.pid)
            while ended == nil && MonotonicClock.now() < deadline {
                sleepSeconds(0.01)
                ended = poll(child.pid)
            }
            timedOut = ended == nil
        }
        if timedOut {
            if request.grouping != .inherit {
                _ = Signals.sendToGroup(child.pid, SIGKILL)
            } else {
                kill(child.pid, SIGKILL)
            }
            for fd in open { close(fd) }
            if let fd = stdinFD { close(fd) }
        }
        let status = ended ?? wait(child.pid)
        return ProcessOutput(status: status, stdout: out, stderr: err, timedOut: timedOut)
    }
}

@inline(__always) package func Glibc_poll(_ fds: UnsafeMutablePointer<pollfd>, _ n: nfds_t, _ timeout: Int32) -> Int32 {
    poll(fds, n, timeout)
}

/// Calls `body` with a NULL-terminated C array of strings.
package func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// This process's environment as a dictionary.
public enum ProcessEnvironment {
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        #if canImport(Darwin)
            guard let env = _NSGetEnviron()?.pointee else { return result }
        #else
            guard let env = environ as UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? else { return result }
        #endif
        var index = 0
        while let entry = env[index] {
            let pair = String(cString: entry)
            if let eq = pair.firstIndex(of: "=") {
                result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            index += 1
        }
        return result
    }

    public static func value(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }
}

/// A monotonic clock in seconds (CLOCK_MONOTONIC), for deadlines and durations.
public enum MonotonicClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Wall-clock time in milliseconds since the epoch.
public enum WallClock {
    public static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// Sleeps the calling thread.
public func sleepSeconds(_ seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && cc_errno() == EINTR { request = remaining }
}
