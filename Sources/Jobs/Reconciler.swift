import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore

/// Turns jobs whose worker is gone into `failed` / `worker-died`, on every read path.
/// The check runs again under the lock before anything is written, and a terminal
/// state is never overwritten.
public enum Reconciler {
    /// A queued job whose worker was never recorded is given this long to start.
    public static let startGraceMilliseconds: Int64 = 30_000
    /// A running job past its timeout by this much is considered hung.
    public static let hangGraceMilliseconds: Int64 = 120_000

    public enum Verdict: Equatable, Sendable {
        case workerDied(String)
        case hung
    }

    public static func verdict(for record: JobRecord, now: Int64 = WallClock.nowMilliseconds()) -> Verdict? {
        guard record.status.isActive else { return nil }
        if let pid = record.pid {
            if !ProcessProbe.isAlive(pid, startTime: record.pidStartTime) {
                return .workerDied("the worker process (pid \(pid)) ended without finishing the job")
            }
            if record.status == .running, let started = record.startedAt.flatMap(Timestamp.milliseconds),
                now - started > Int64(record.timeoutSeconds) * 1000 + hangGraceMilliseconds
            {
                return .hung
            }
            return nil
        }
        if let created = Timestamp.milliseconds(record.createdAt), now - created > startGraceMilliseconds {
            return .workerDied("the worker process never started")
        }
        return nil
    }

    /// Reconciles one record; returns it as it now stands.
    public static func reconcile(_ record: JobRecord, in store: WorkspaceStore) -> JobRecord {
        guard let first = verdict(for: record) else { return record }
        if first == .hung, let pid = record.pid, ProcessProbe.isAlive(pid, startTime: record.pidStartTime) {
            ProcessTree.terminate(workerPID: pid, appServerPID: record.appServerPid, grace: 1.0)
        }
        let updated = try? store.update(record.id) { current in
            guard current.status.isActive, current.pid == record.pid, let verdict = verdict(for: current) else {
                return
            }
            let now = Timestamp.now()
            current.status = .failed
            current.phase = "failed"
            current.completedAt = now
            switch verdict {
            case .workerDied(let why):
                current.reason = JobReason.workerDied
                current.errorMessage =
                    "Codex worker died: \(why). Start the task again, or continue its thread with --resume-last."
            case .hung:
                current.reason = JobReason.timedOut
                current.errorMessage = "The job ran past its \(current.timeoutSeconds) s timeout and was stopped."
            }
            if var worktree = current.worktree, worktree.state == .active {
                worktree.state = .ready
                worktree.updatedAt = now
                current.worktree = worktree
            }
        }
        if let updated {
            store.appendLog(record.id, "Job reconciled: \(updated.errorMessage ?? updated.status.rawValue)")
            return updated
        }
        return store.load(record.id) ?? record
    }

    public static func reconcileAll(_ records: [JobRecord], in store: WorkspaceStore) -> [JobRecord] {
        records.map { verdict(for: $0) == nil ? $0 : reconcile($0, in: store) }
    }
}
