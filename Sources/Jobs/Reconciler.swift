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
        // A cloud job has no worker process: its state comes from polling the service.
        guard record.status.isActive, record.cloud == nil else { return nil }
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
        JobLifecycle(store: store).reconcile(record)
    }

    public static func reconcileAll(_ records: [JobRecord], in store: WorkspaceStore) -> [JobRecord] {
        records.map { verdict(for: $0) == nil ? $0 : reconcile($0, in: store) }
    }
}

extension JobLifecycle {
    /// A job whose worker is gone becomes `failed` / `worker-died` (or `timed-out` when it
    /// hung), re-checked under the lock; a job whose worker saved its answer but could not
    /// write the final record is finished from that answer instead.
    public func reconcile(_ record: JobRecord) -> JobRecord {
        guard let first = Reconciler.verdict(for: record) else { return record }
        if first == .hung, let pid = record.pid, ProcessProbe.isAlive(pid, startTime: record.pidStartTime) {
            ProcessTree.terminate(workerPID: pid, appServerPID: record.appServerPid, grace: 1.0)
        }
        let answer = JobAnswerFile.read(for: record.id, in: store)
        var note: String?
        func settle(_ current: inout JobRecord) {
            guard current.status.isActive, current.pid == record.pid, let verdict = Reconciler.verdict(for: current)
            else { return }
            if let answer {
                answer.apply(to: &current, worktree: nil, end: end)
                note = "Job finished from its saved answer (the final record write had failed)."
            } else {
                end(&current, Self.ending(for: verdict, timeoutSeconds: current.timeoutSeconds))
                note = "Job reconciled: \(current.errorMessage ?? current.status.rawValue)"
            }
            if current.worktree?.state == .active { moveWorktreeState(&current, to: .ready) }
        }
        let updated: JobRecord?
        do {
            updated = try store.update(record.id, settle)
        } catch {
            // Nothing can be written (a full disk): show the job as it ended all the same
            // (from its saved answer when there is one); a later read with room saves it.
            var shown = store.load(record.id) ?? record
            settle(&shown)
            return shown
        }
        if let updated, let note {
            store.appendLog(record.id, note)
            return updated
        }
        return store.load(record.id) ?? record
    }

    static func ending(for verdict: Reconciler.Verdict, timeoutSeconds: Int) -> Ending {
        switch verdict {
        case .workerDied(let why):
            return .failed(
                .workerDied,
                "Codex worker died: \(why). Start the task again, or continue its thread with --resume-last.")
        case .hung:
            return .failed(.timedOut, "The job ran past its \(timeoutSeconds) s timeout and was stopped.")
        }
    }
}
