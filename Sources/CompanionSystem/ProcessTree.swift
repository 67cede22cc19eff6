#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims

/// The processes of one job: the worker (a session leader), its descendants, and
/// the members of its process group and of the app-server's group. Each pid is kept
/// with its start time so a pid reused by an unrelated process is never signalled.
public struct ProcessTree: Sendable {
    public struct Member: Hashable, Sendable {
        public var pid: pid_t
        public var startTime: Int64
    }

    public var members: Set<Member>

    public init(members: Set<Member>) {
        self.members = members
    }

    public static func snapshot(workerPID: Int32?, workerStartTime: Int64?, appServerPID: Int32?) -> ProcessTree {
        var pids: Set<pid_t> = []
        if let worker = workerPID, ProcessProbe.isAlive(worker, startTime: workerStartTime) {
            pids.insert(worker)
            pids.formUnion(ProcessProbe.descendants(of: worker))
            pids.formUnion(ProcessProbe.members(ofGroup: worker))
        }
        if let server = appServerPID, server > 1 {
            pids.formUnion(ProcessProbe.members(ofGroup: server))
            if ProcessProbe.startTime(of: server) != nil {
                pids.insert(server)
                pids.formUnion(ProcessProbe.descendants(of: server))
            }
        }
        pids.remove(getpid())
        var members: Set<Member> = []
        for pid in pids {
            if let start = ProcessProbe.startTime(of: pid) { members.insert(Member(pid: pid, startTime: start)) }
        }
        return ProcessTree(members: members)
    }

    /// Members still alive (same pid, same start time).
    public var alive: [Member] {
        members.filter { ProcessProbe.startTime(of: $0.pid) == $0.startTime }
    }

    public func signal(_ signal: Int32) {
        for member in alive { Signals.send(member.pid, signal) }
    }

    /// Waits until every member has exited or `seconds` pass. Returns the survivors.
    @discardableResult
    public func waitForExit(seconds: Double) -> [Member] {
        let deadline = MonotonicClock.now() + seconds
        var left = alive
        while !left.isEmpty && MonotonicClock.now() < deadline {
            sleepSeconds(0.02)
            left = alive
        }
        return left
    }

    /// SIGKILLs every process of a job (worker group, app-server group, descendants),
    /// then checks again for stragglers that were forked meanwhile. Returns survivors.
    @discardableResult
    public static func terminate(workerPID: Int32, workerStartTime: Int64? = nil, appServerPID: Int32?, grace: Double)
        -> [Member]
    {
        var tree = snapshot(workerPID: workerPID, workerStartTime: workerStartTime, appServerPID: appServerPID)
        for _ in 0..<3 {
            tree.signal(SIGKILL)
            let survivors = tree.waitForExit(seconds: grace)
            let again = snapshot(workerPID: nil, workerStartTime: nil, appServerPID: appServerPID)
            let groupLeft = ProcessProbe.members(ofGroup: workerPID).compactMap { pid -> Member? in
                ProcessProbe.startTime(of: pid).map { Member(pid: pid, startTime: $0) }
            }
            let remaining = Set(survivors).union(again.alive).union(groupLeft)
            if remaining.isEmpty { return [] }
            tree = ProcessTree(members: remaining)
        }
        return tree.alive
    }
}
