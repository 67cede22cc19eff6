import CompanionSystem
import GitWorktrees
import JobStore

/// The one owner of a job's life and of its worktree's state. Every change of `status`,
/// `phase`, `reason`, `completedAt` or `worktree.state` is made here, under the
/// workspace's store lock, after re-reading the record; an illegal transition (a
/// terminal job moving again, a decided worktree changing) is refused. Commands and the
/// worker ask for transitions; everything else only reads.
///
/// What is persisted before each side effect (see docs/ARCHITECTURE.md, "Lifecycles"):
/// the `queued` record before the worker is spawned, the worker's pid before the turn,
/// the final answer (`jobs/<id>.answer`, reserved while the disk had room) before the
/// record says the job ended, and `cancelRequestedAt` before any signal is sent.
public struct JobLifecycle: Sendable {
    public let store: WorkspaceStore

    public init(store: WorkspaceStore) {
        self.store = store
    }

    // MARK: - Creation and start

    /// Stores a new job. It must be `queued`. A job that resumes a thread claims it here,
    /// under the lock: when another active job already runs on that thread, nothing is
    /// created and `JobError.threadBusy` names it (two `--resume-last` at once: one wins).
    public func create(_ record: JobRecord) throws {
        precondition(record.status == .queued && record.phase == .queued, "a job starts queued")
        try store.withLock { locked in
            // The active job on that thread, not merely the first job that ever used it
            // (the finished one being resumed always matches).
            if let thread = record.resumeThreadId,
                let busy = store.list().first(where: {
                    $0.status.isActive && ($0.threadId == thread || $0.resumeThreadId == thread)
                })
            {
                throw JobError.threadBusy(jobId: busy.id, threadId: thread)
            }
            try locked.create(record)
        }
    }

    /// The launcher records the worker it spawned, so that a dead worker is noticed.
    public func recordWorker(_ id: String, pid: ProcessID) throws {
        try store.update(id) { record in
            guard record.status.isActive, record.pid == nil else { return }
            record.pid = pid
            record.pidStartTime = ProcessProbe.startTime(of: pid)
        }
    }

    /// What the worker does when it starts.
    public enum StartDecision: Sendable {
        /// Run the turn; the record as now stored (`running`, `starting`).
        case run(JobRecord)
        /// Someone else ended it already (reconciled, cancelled and settled).
        case alreadyEnded
        /// A cancel arrived before the turn started; the job is now `cancelled`.
        case cancelledBeforeStart
    }

    /// `queued` → `running`/`starting`, claimed by the worker `pid`.
    public func start(_ id: String, pid: ProcessID) throws -> StartDecision {
        var decision = StartDecision.alreadyEnded
        let stored = try store.update(id) { record in
            guard record.status == .queued else { return }
            if record.cancelRequestedAt != nil {
                end(&record, .cancelled("Cancelled before it started."))
                decision = .cancelledBeforeStart
                return
            }
            record.status = .running
            record.phase = .starting
            record.startedAt = Timestamp.now()
            record.pid = pid
            record.pidStartTime = ProcessProbe.startTime(of: pid)
        }
        if let stored, stored.status == .running, stored.pid == pid { return .run(stored) }
        return decision
    }

    /// Moves a running job's phase forward (never back to `starting`, never once ended).
    public func advance(_ id: String, to phase: JobPhase) {
        guard !phase.isTerminal else { return }
        update(id, "phase \(phase.rawValue)") { record in
            if record.status.isActive, record.phase != phase, record.phase.canMove(to: phase) { record.phase = phase }
        }
    }

    public func recordAppServer(_ id: String, pid: ProcessID) {
        update(id, "the app-server pid") { $0.appServerPid = pid }
    }

    public func recordThread(_ id: String, threadId: String) {
        update(id, "the thread id") { $0.threadId = threadId }
    }

    public func recordTurn(_ id: String, turnId: String) {
        update(id, "the turn id") { record in
            record.turnId = turnId
            if record.status.isActive, record.phase.canMove(to: .running), !record.phase.isWorking {
                record.phase = .running
            }
        }
    }

    // MARK: - The end

    /// How a job ends.
    public enum Ending: Sendable, Equatable {
        case completed
        case failed(JobEndReason, String)
        case cancelled(String)
    }

    /// Records the end of a job: the answer first (into the file reserved for it), then
    /// the record. A terminal state someone else wrote is never overwritten, but the
    /// result, thread and worktree are filled in. Returns the record as stored, or nil
    /// when the record could not be written (the answer file still holds the result).
    @discardableResult
    public func finish(
        _ id: String, _ ending: Ending, result: JobResult?, threadId: String? = nil, turnId: String? = nil,
        worktree: JobWorktree? = nil, review: JobReview? = nil
    ) -> JobRecord? {
        let answer = JobAnswer(ending: ending, result: result, threadId: threadId, turnId: turnId)
        do {
            try JobAnswerFile.write(answer, for: id, in: store)
        } catch {
            store.appendLog(id, "Could not save the job's answer before recording its end: \(error)")
        }
        FaultPoint.afterAnswer.hit()
        do {
            return try store.update(id) { record in
                answer.apply(to: &record, worktree: worktree, end: end)
                // A review job's findings (derived from the result, so not in the answer file).
                if let review { record.review = review }
            }
        } catch {
            store.appendLog(id, "Could not record the job's end: \(error)")
            return nil
        }
    }

    /// Asks a running job to stop: `cancelRequestedAt` is written before any signal.
    public func requestCancel(_ id: String) throws -> JobRecord? {
        try store.update(id) { record in
            if record.status.isActive && record.cancelRequestedAt == nil { record.cancelRequestedAt = Timestamp.now() }
        }
    }

    /// Ends a job after its processes were stopped by `cancel`. When the job ended on its
    /// own in the meantime, that end stands and is returned (`lostRace` true).
    public func settleCancel(_ id: String) throws -> (record: JobRecord?, lostRace: Bool) {
        var lostRace = false
        let record = try store.update(id) { record in
            if record.status.isTerminal {
                lostRace = record.status != .cancelled
                return
            }
            end(&record, .cancelled("Cancelled by the user."))
            if record.worktree?.state == .active { moveWorktreeState(&record, to: .ready) }
        }
        return (record, lostRace)
    }

    /// The terminal fields, set in one place.
    func end(_ record: inout JobRecord, _ ending: Ending) {
        let now = Timestamp.now()
        switch ending {
        case .completed:
            record.status = .completed
            record.phase = .done
            record.reason = .completed
            record.errorMessage = nil
        case .failed(let reason, let message):
            record.status = .failed
            record.phase = .failed
            record.reason = reason
            record.errorMessage = message
        case .cancelled(let message):
            record.status = .cancelled
            record.phase = .cancelled
            record.reason = .cancelled
            record.errorMessage = message
        }
        record.completedAt = now
    }

    // MARK: - Worktree state

    /// Moves the job's worktree to `state` (checked against `WorktreeState.canMove`) and
    /// applies `change` to it, under the lock. Throws `JobError.illegalWorktreeTransition`
    /// when the stored state does not allow it (someone else decided first).
    @discardableResult
    public func moveWorktree(
        _ id: String, to state: WorktreeState, _ change: (inout JobWorktree) -> Void = { _ in }
    ) throws -> JobRecord? {
        try store.update(id) { record in
            guard let current = record.worktree?.state else { throw JobError.noWorktree(id) }
            guard current == state || current.canMove(to: state) else {
                throw JobError.illegalWorktreeTransition(id: id, from: current, to: state)
            }
            moveWorktreeState(&record, to: state)
            change(&record.worktree!)
        }
    }

    /// Updates the worktree's facts (capture results, outcome text) without a state change.
    @discardableResult
    public func updateWorktree(_ id: String, _ change: (inout JobWorktree) -> Void) throws -> JobRecord? {
        try store.update(id) { record in
            guard record.worktree != nil else { return }
            change(&record.worktree!)
            record.worktree!.updatedAt = Timestamp.now()
        }
    }

    func moveWorktreeState(_ record: inout JobRecord, to state: WorktreeState) {
        record.worktree?.state = state
        record.worktree?.updatedAt = Timestamp.now()
    }

    /// A record update whose failure only loses a progress detail: it is logged.
    func update(_ id: String, _ what: String, _ body: (inout JobRecord) -> Void) {
        do {
            try store.update(id, body)
        } catch {
            store.appendLog(id, "Could not record \(what): \(error)")
        }
    }
}
