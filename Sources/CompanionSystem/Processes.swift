#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// Facts about other processes: liveness with identity, children, and signals.
public enum ProcessProbe {
    /// The start time that, with the pid, identifies a process; nil when it is gone.
    public static func startTime(of pid: pid_t) -> Int64? {
        let value = cc_process_start_time(pid)
        return value < 0 ? nil : value
    }

    /// True when `pid` is alive and, if `startTime` is given, is the same process
    /// that was recorded (not an unrelated process that reused the pid).
    public static func isAlive(_ pid: pid_t, startTime: Int64?) -> Bool {
        guard pid > 0, let current = ProcessProbe.startTime(of: pid) else { return false }
        if let recorded = startTime { return current == recorded }
        return true
    }

    /// Every live descendant of `pid` (children first, then theirs).
    public static func descendants(of pid: pid_t) -> [pid_t] {
        var result: [pid_t] = []
        var queue: [pid_t] = [pid]
        var seen: Set<pid_t> = [pid]
        while let next = queue.popLast() {
            var buffer = [pid_t](repeating: 0, count: 256)
            let count = Int(cc_list_children(next, &buffer, Int32(buffer.count)))
            guard count > 0 else { continue }
            for child in buffer.prefix(min(count, buffer.count)) where !seen.contains(child) {
                seen.insert(child)
                result.append(child)
                queue.append(child)
            }
        }
        return result
    }

    /// The process group of a live process, or nil.
    public static func processGroup(of pid: pid_t) -> pid_t? {
        let group = getpgid(pid)
        return group < 0 ? nil : group
    }

    /// Live processes whose process group is `group` (Linux: /proc scan; elsewhere
    /// only answers for the leader).
    public static func members(ofGroup group: pid_t) -> [pid_t] {
        #if os(Linux)
            // No /proc to read: no member can be seen (callers also signal the group itself).
            guard let names = try? FileSystem.list("/proc") else { return [] }
            var result: [pid_t] = []
            for name in names {
                guard let pid = pid_t(name), pid > 0 else { continue }
                if getpgid(pid) == group, startTime(of: pid) != nil { result.append(pid) }
            }
            return result
        #else
            return startTime(of: group) != nil && getpgid(group) == group ? [group] : []
        #endif
    }
}

extension ProcessProbe {
    /// Live processes (other than this one) whose working directory is `directory` or inside
    /// it, or whose arguments name it (as `git -C <directory>` does). Linux reads /proc;
    /// elsewhere the answer is "unknown", given as nil.
    public static func processes(using directory: String) -> [pid_t]? {
        #if os(Linux)
            // Unknown, as documented: nil.
            guard let names = try? FileSystem.list("/proc") else { return nil }
            let me = getpid()
            var result: [pid_t] = []
            for name in names {
                guard let pid = pid_t(name), pid > 0, pid != me else { continue }
                let base = "/proc/" + name
                // Another user's process, or one that just ended: its cwd cannot be read, its cmdline may.
                if let cwd = try? FileEntries.readLink(base + "/cwd") {
                    let text = String(decoding: cwd, as: UTF8.self)
                    if text == directory || text.hasPrefix(directory + "/") {
                        result.append(pid)
                        continue
                    }
                }
                guard let arguments = try? FileSystem.read(base + "/cmdline") else { continue }
                let words = arguments.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                if words.contains(where: { $0 == directory || $0.hasPrefix(directory + "/") }) { result.append(pid) }
            }
            return result
        #else
            return nil
        #endif
    }
}

public enum Signals {
    /// Sends a signal to a whole process group. Returns false when no such group exists.
    @discardableResult
    public static func sendToGroup(_ group: pid_t, _ signal: Int32) -> Bool {
        guard group > 1 else { return false }
        return killpg(group, signal) == 0
    }

    /// Sends a signal to one process. Returns false when it does not exist.
    @discardableResult
    public static func send(_ pid: pid_t, _ signal: Int32) -> Bool {
        guard pid > 1 else { return false }
        return kill(pid, signal) == 0
    }

    /// Routes the given signals to a pipe that can be polled. Returns its read end.
    public static func pipe(for signals: [Int32]) -> Int32 {
        signals.withUnsafeBufferPointer { cc_signal_pipe_install($0.baseAddress, Int32($0.count)) }
    }

    /// Ignores SIGPIPE so that writes to a dead peer fail with EPIPE instead of killing us.
    public static func ignoreBrokenPipe() { cc_ignore_sigpipe() }
}
