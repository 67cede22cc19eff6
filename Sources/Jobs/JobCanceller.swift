import CompanionSystem
import JobStore

/// Cancelling a running job: the request is recorded first, then the worker is asked to
/// interrupt its turn (SIGTERM, which it turns into `turn/interrupt`), and after a grace
/// period every process of the job (worker session, app-server group, descendants) is
/// killed and checked. The end is then settled by the lifecycle; a job that ended on its
/// own meanwhile keeps its true end.
public struct JobCanceller {
    public let lifecycle: JobLifecycle
    public var graceSeconds: Double

    public init(lifecycle: JobLifecycle, graceSeconds: Double = 5.0) {
        self.lifecycle = lifecycle
        self.graceSeconds = graceSeconds
    }

    public struct Outcome: Sendable {
        public var record: JobRecord
        public var previous: JobStatus
        public var interruptAttempted: Bool
        /// Processes of the job still alive after SIGKILL.
        public var left: [ProcessTree.Member]
        /// The job ended on its own before the cancel took effect; `record` shows how.
        public var lostRace: Bool
    }

    /// Cancels the job `record` (which must be active when asked).
    public func cancel(_ record: JobRecord) throws -> Outcome {
        let store = lifecycle.store
        guard let marked = try lifecycle.requestCancel(record.id) else {
            throw StoreError.vanished(id: record.id)
        }
        var left: [ProcessTree.Member] = []
        var interruptAttempted = false
        if let pid = marked.pid, ProcessProbe.isAlive(pid, startTime: marked.pidStartTime) {
            interruptAttempted = marked.turnId != nil
            left = stop(marked, workerPID: pid)
        }
        let (settled, lostRace) = try lifecycle.settleCancel(record.id)
        var current = settled ?? marked
        if var worktree = current.worktree, worktree.capturedCommit == nil, worktree.state == .ready,
            FileSystem.isDirectory(worktree.info.path)
        {
            // The worker was killed before it could capture: make the branch the durable copy now.
            worktree = WorktreeCapturing.capture(worktree, jobId: record.id, lifecycle: lifecycle)
            let captured = worktree
            current = (try lifecycle.updateWorktree(record.id) { $0 = captured }) ?? current
        }
        store.appendLog(
            record.id,
            lostRace
                ? "Cancel requested, but the job had already ended (\(current.status.rawValue))."
                : "Cancel requested by the user"
                    + (left.isEmpty ? "; no process of the job is left." : "; \(left.count) process(es) survived."))
        return Outcome(
            record: current, previous: record.status, interruptAttempted: interruptAttempted, left: left,
            lostRace: lostRace)
    }

    /// SIGTERM to the worker, a grace period, then the whole tree is killed. Returns what
    /// is still alive.
    func stop(_ marked: JobRecord, workerPID pid: ProcessID) -> [ProcessTree.Member] {
        let tree = ProcessTree.snapshot(
            workerPID: pid, workerStartTime: marked.pidStartTime, appServerPID: marked.appServerPid)
        Signals.send(pid, Signal.terminate)
        let deadline = MonotonicClock.now() + graceSeconds
        while ProcessProbe.isAlive(pid, startTime: marked.pidStartTime) && MonotonicClock.now() < deadline {
            sleepSeconds(0.02)
        }
        let afterGrace = lifecycle.store.load(marked.id)
        var left = ProcessTree.terminate(
            workerPID: pid, workerStartTime: marked.pidStartTime,
            appServerPID: afterGrace?.appServerPid ?? marked.appServerPid, grace: 1.0)
        left += tree.waitForExit(seconds: 1.0).filter { !left.contains($0) }
        if !left.isEmpty {
            ProcessTree(members: Set(left)).signal(Signal.kill)
            left = ProcessTree(members: Set(left)).waitForExit(seconds: 1.0)
        }
        return left
    }
}
