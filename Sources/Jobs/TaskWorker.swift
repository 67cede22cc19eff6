import CodexAppServer
import CompanionSystem
import GitWorktrees
import JobStore

/// The detached process that runs one job's turn (`task-worker --job-id <id>`). It is a
/// session leader (started with setsid), adopts orphaned descendants, and turns
/// SIGTERM/SIGINT/SIGHUP into a turn interrupt through a self-pipe. Every change of the
/// job goes through `JobLifecycle`.
public struct TaskWorker {
    public let lifecycle: JobLifecycle
    public let jobId: String
    public let environment: [String: String]
    public let clientVersion: String

    public init(store: WorkspaceStore, jobId: String, environment: [String: String], clientVersion: String) {
        self.lifecycle = JobLifecycle(store: store)
        self.jobId = jobId
        self.environment = environment
        self.clientVersion = clientVersion
    }

    var store: WorkspaceStore { lifecycle.store }

    /// Runs the job to its end. Throws only when the job does not exist.
    public func run() throws {
        let stopFD = Signals.pipe(for: [Signal.terminate, Signal.interrupt, Signal.hangup])
        CurrentProcess.becomeSubreaper()
        guard store.load(jobId) != nil else { throw StoreError.notFound(reference: jobId, stateRoot: store.stateRoot) }
        // The answer's space is taken while the disk still has room (see JobAnswerFile).
        do { try JobAnswerFile.reserve(for: jobId, in: store) } catch {
            store.appendLog(jobId, "Could not reserve space for the job's answer: \(error)")
        }
        // An attempt of `task --runs` waits queued for one of the workspace's attempt slots.
        let slot = store.load(jobId)?.groupId.flatMap { _ in
            AttemptSlots.wait(for: jobId, lifecycle: lifecycle, environment: environment)
        }
        defer { withExtendedLifetime(slot) {} }
        let me = CurrentProcess.id
        guard case .run(let record) = try lifecycle.start(jobId, pid: me) else { return }
        store.appendLog(jobId, "Worker started (pid \(me)).")
        guard let codex = CodexLocator.find(environment: environment) else {
            let message = JobError.codexNotFound(explicit: nil).description
            lifecycle.finish(jobId, .failed(.spawnFailed, message), result: nil)
            return
        }
        // Shell commands change files too, and Codex reports only its patches: compare the
        // working tree before and after (a worktree job has its captured changed paths).
        let before = record.write && record.worktree == nil ? WorkspaceChanges.snapshot(of: record.cwd) : nil
        let outcome = TurnRunner.run(
            turnRequest(record, codex: codex), observer: WorkerObserver(lifecycle: lifecycle, jobId: jobId),
            stopFD: stopFD)
        var observed: [String] = []
        if let before, let after = WorkspaceChanges.snapshot(of: record.cwd) { observed = after.changed(since: before) }
        // As a subreaper the worker adopts descendants the app-server left behind; reap
        // those that ended (nothing else of ours is running at this point).
        CurrentProcess.reapExitedChildren()
        finish(with: outcome, observedChanges: observed)
    }

    /// Codex's own list first, then the other changed paths, each once.
    static func merged(_ reported: [String], _ observed: [String]) -> [String] {
        var seen = Set(reported)
        return reported + observed.filter { seen.insert($0).inserted }
    }

    func turnRequest(_ record: JobRecord, codex: String) -> TurnRequest {
        var request = TurnRequest(
            codexExecutable: codex, codexArguments: ["app-server"], environment: environment,
            cwd: record.cwd, prompt: handedOver(prompt()), write: record.write, model: record.model,
            effort: record.effort, resumeThreadId: record.resumeThreadId,
            timeoutSeconds: Double(record.timeoutSeconds), clientVersion: clientVersion,
            operation: ReviewWork.operation(for: record))
        request.startupLockPath = Self.startupLockPath(stateRoot: store.stateRoot, environment: environment)
        return request
    }

    /// A prompt over Codex's input limit is handed over as the file that already holds it:
    /// Codex can read any file in either sandbox, and the turn's input stays small.
    func handedOver(_ prompt: String) -> String {
        let size = prompt.utf8.count
        guard size > TurnRequest.maximumInputCharacters else { return prompt }
        store.appendLog(
            jobId,
            "The prompt (\(size) bytes) is over Codex's input limit of \(TurnRequest.maximumInputCharacters); "
                + "Codex reads it from \(store.promptPath(jobId)).")
        return "Your task is too long to send inline (\(size) bytes), so it is in the file "
            + "\(store.promptPath(jobId)). Read that whole file first (for example with sed -n in chunks): "
            + "its content is your task, exactly as the user wrote it. Then do the task."
    }

    /// One start-up lock per CODEX_HOME (see `TurnRequest.startupLockPath`).
    static func startupLockPath(stateRoot: String, environment: [String: String]) -> String {
        let home = environment["CODEX_HOME"] ?? ((environment["HOME"] ?? "") + "/.codex")
        return stateRoot + "/codex-startup-" + StableHash.hex(home) + ".lock"
    }

    /// The prompt file's text; empty when it cannot be read (the turn then says so).
    func prompt() -> String {
        do {
            guard let bytes = try FileSystem.read(store.promptPath(jobId)) else { return "" }
            return String(decoding: bytes, as: UTF8.self)
        } catch {
            store.appendLog(jobId, "Could not read the prompt: \(error)")
            return ""
        }
    }

    func finish(with outcome: TurnOutcome, observedChanges: [String] = []) {
        var worktree = store.load(jobId)?.worktree
        if let current = worktree, current.state == .active {
            worktree = WorktreeCapturing.capture(current, jobId: jobId, lifecycle: lifecycle)
        }
        var touched = Self.merged(outcome.touchedFiles, observedChanges)
        if let changed = worktree?.changedPaths, let path = worktree?.info.path {
            touched = Self.merged(touched, changed.map { path + "/" + $0 })
        }
        let current = store.load(jobId)
        let cancelRequested = current?.cancelRequestedAt != nil
        var ending = Self.ending(for: outcome, cancelRequested: cancelRequested)
        var review: JobReview?
        if let current { (review, ending) = ReviewWork.settle(current, outcome: outcome, ending: ending) }
        let result = JobResult(
            finalMessage: outcome.finalMessage, touchedFiles: touched,
            reasoningSummary: outcome.reasoningSummary, commands: outcome.commands)
        let final = lifecycle.finish(
            jobId, ending, result: result, threadId: outcome.threadId, turnId: outcome.turnId, worktree: worktree,
            review: review)
        let summary = final.map { "Job \($0.status.rawValue)\($0.errorMessage.map { ": \($0)" } ?? ".")" }
        store.appendLog(
            jobId, summary ?? "Job ended; its answer is kept in \(JobAnswerFile.path(for: jobId, in: store))")
    }

    /// How a turn's outcome ends the job.
    static func ending(for outcome: TurnOutcome, cancelRequested: Bool) -> JobLifecycle.Ending {
        switch outcome.status {
        case .completed:
            return .completed
        case .interrupted where cancelRequested:
            return .cancelled("Cancelled by the user.")
        case .interrupted:
            return .failed(.turnFailed, outcome.errorMessage ?? "The turn was interrupted.")
        case .timedOut:
            return .failed(.timedOut, outcome.errorMessage ?? "Codex did not finish in time.")
        case .failed:
            let message = outcome.errorMessage ?? "Codex reported a failure without a message."
            return .failed(outcome.failure == .appServerExited ? .workerDied : .turnFailed, message)
        }
    }
}

/// Writes the worker's progress into the job: log lines always, record fields when
/// they change (thread, turn, app-server pid, phase), through the lifecycle.
final class WorkerObserver: TurnObserver {
    let lifecycle: JobLifecycle
    let jobId: String
    var phase: JobPhase = .starting

    init(lifecycle: JobLifecycle, jobId: String) {
        self.lifecycle = lifecycle
        self.jobId = jobId
    }

    func appServerStarted(pid: Int32) {
        lifecycle.recordAppServer(jobId, pid: pid)
        lifecycle.store.appendLog(jobId, "Started codex app-server (pid \(pid)).")
    }

    func threadReady(threadId: String, resumed: Bool) {
        lifecycle.recordThread(jobId, threadId: threadId)
    }

    func turnStarted(turnId: String) {
        lifecycle.recordTurn(jobId, turnId: turnId)
        phase = .running
    }

    func progress(_ line: String, phase reported: String?) {
        lifecycle.store.appendLog(jobId, line)
        guard let next = reported.flatMap(JobPhase.init(rawValue:)), next != phase, !next.isTerminal,
            phase.canMove(to: next)
        else { return }
        phase = next
        lifecycle.advance(jobId, to: next)
    }
}

/// Commits what a turn left in its worktree onto the job's branch.
public enum WorktreeCapturing {
    public static func capture(_ worktree: JobWorktree, jobId: String, lifecycle: JobLifecycle) -> JobWorktree {
        let store = lifecycle.store
        var updated = worktree
        updated.updatedAt = Timestamp.now()
        updated.state = .ready
        do {
            let capture = try WorktreeOperations.capture(worktree.info, jobId: jobId)
            updated.capturedCommit = capture.head
            updated.diffStat = capture.diffStat
            updated.changedPaths = capture.changedPaths
            updated.ignoredPaths = capture.ignoredPaths
            updated.outcome =
                capture.hasChanges ? "changes committed on \(worktree.info.branch)" : "the turn changed nothing"
            if capture.committed || worktree.capturedCommit == nil {
                store.appendLog(jobId, "Captured the worktree's changes on \(worktree.info.branch).")
                store.appendEvent(
                    "captured", jobId: jobId, worktree: worktree.info,
                    detail: capture.hasChanges ? "\(capture.changedPaths.count) path(s)" : "no changes")
            }
        } catch {
            updated.outcome = "capturing the changes failed (\(error)); they are still in \(worktree.info.path)"
            store.appendLog(jobId, "Capturing the worktree failed: \(error)")
            store.appendEvent("failed", jobId: jobId, worktree: worktree.info, detail: "capture: \(error)")
        }
        do { try WorktreeOperations.unlock(worktree.info) } catch {
            store.appendLog(jobId, "Unlocking the worktree failed: \(error)")
        }
        return updated
    }
}
