import CompanionSystem
import GitWorktrees
import JobStore

/// The lifecycle of a cloud job (backend `cloud`), owned like every other job's by
/// `JobLifecycle`: `queued` (record stored) → `running` (the service accepted the task) →
/// `completed` (ready or applied: the work waits for a decision) | `failed` (submission
/// refused, or the task ended in error) | `cancelled` (the user stopped tracking it).
/// A cloud job gets its worktree record only when the task is ready: until then there is
/// nothing on this machine to decide about, and a task that fails or is cancelled never has one.
extension JobLifecycle {
    /// `codex cloud exec` answered: `queued` → `running`.
    @discardableResult
    public func cloudSubmitted(_ id: String, taskId: String, url: String) throws -> JobRecord? {
        try store.update(id) { record in
            guard record.status == .queued else { return }
            record.status = .running
            record.phase = .running
            record.startedAt = Timestamp.now()
            record.cloud?.taskId = taskId
            record.cloud?.url = url
        }
    }

    /// `codex cloud exec` refused (or failed): the job ends `failed` / `submit-failed`.
    @discardableResult
    public func cloudSubmitFailed(_ id: String, message: String) -> JobRecord? {
        // The caller reports the submission error itself; a record that cannot be ended now is
        // ended by the reconciler (no task exists, so nothing runs).
        try? store.update(id) { record in
            guard record.status.isActive else { return }
            end(&record, .failed(.submitFailed, message))
        }
    }

    /// Folds one poll into the record. A terminal job is never moved again (a cancelled job
    /// stays cancelled whatever the service says later).
    @discardableResult
    public func cloudObserved(_ id: String, _ snapshot: CloudSnapshot) throws -> JobRecord? {
        try store.update(id) { record in
            guard record.status.isActive, var cloud = record.cloud else { return }
            cloud.remoteStatus = snapshot.status
            cloud.remoteTitle = snapshot.title
            cloud.filesChanged = snapshot.filesChanged
            cloud.linesAdded = snapshot.linesAdded
            cloud.linesRemoved = snapshot.linesRemoved
            cloud.attemptTotal = snapshot.attemptTotal
            cloud.lastPolledAt = Timestamp.now()
            cloud.lastPollError = nil
            record.cloud = cloud
            if snapshot.isPending {
                if record.status == .queued { record.startedAt = Timestamp.now() }
                record.status = .running
                if record.phase.canMove(to: .running) && !record.phase.isWorking { record.phase = .running }
            } else if snapshot.isError {
                end(
                    &record,
                    .failed(
                        .cloudTaskFailed,
                        "the cloud task \(cloud.taskId ?? "") ended in error; the Codex CLI does not say why: open \(cloud.url ?? "it on chatgpt.com/codex") to read it, then submit again"
                    ))
            } else {
                end(&record, .completed)
                record.result = JobResult(
                    finalMessage: Self.cloudMessage(snapshot), touchedFiles: [], reasoningSummary: [], commands: [])
                record.worktree = JobWorktree(
                    info: WorktreeInfo(
                        repoRoot: cloud.repoRoot,
                        path: cloud.repoRoot + "/" + WorktreeOperations.directoryName + "/" + id,
                        branch: WorktreeOperations.branchPrefix + id, baseRef: cloud.baseRef,
                        baseCommit: cloud.baseCommit),
                    state: .ready, diffStat: snapshot.statLine, updatedAt: Timestamp.now())
            }
        }
    }

    static func cloudMessage(_ snapshot: CloudSnapshot) -> String {
        var text = "Codex Cloud task ready: \(snapshot.title)\n\n\(snapshot.statLine)"
        if snapshot.attemptTotal > 1 { text += ", \(snapshot.attemptTotal) attempts" }
        if snapshot.status == "applied" {
            text += "\n\nThe service marks it applied (done elsewhere, e.g. on chatgpt.com)."
        }
        return text
    }

    /// A poll that failed: the job keeps its state; the next read polls again.
    public func cloudPollFailed(_ id: String, message: String) -> JobRecord? {
        // The caller already warned about the poll; keeping its text on the record is extra.
        try? store.update(id) { record in record.cloud?.lastPollError = message }
    }

    /// `cancel` of a cloud job: `cancelRequestedAt`, then `cancelled`. Nothing runs here, so
    /// there is no race with a worker; a job that already ended keeps its end (`lostRace`).
    public func cloudCancel(_ id: String, message: String) throws -> (record: JobRecord?, lostRace: Bool) {
        _ = try requestCancel(id)
        var lostRace = false
        let record = try store.update(id) { record in
            if record.status.isTerminal {
                lostRace = record.status != .cancelled
                return
            }
            end(&record, .cancelled(message))
        }
        return (record, lostRace)
    }

    /// Facts the companion learned about the cloud task (attempt stats, the attempt fetched):
    /// no lifecycle field changes here.
    @discardableResult
    public func updateCloud(_ id: String, _ change: (inout JobCloud) -> Void) throws -> JobRecord? {
        try store.update(id) { record in
            guard record.cloud != nil else { return }
            change(&record.cloud!)
        }
    }
}
