import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `task-worker --job-id <id>`: the detached process that runs one job's turn.
/// It is a session leader (started with setsid), adopts orphaned descendants, and
/// turns SIGTERM/SIGINT/SIGHUP into a turn interrupt through a self-pipe.
package enum TaskWorkerCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let id = invocation.parsed.value("--job-id")!
        let stopFD = Signals.pipe(for: [Signal.terminate, Signal.interrupt, Signal.hangup])
        CurrentProcess.becomeSubreaper()
        let store = try invocation.workspaceStore()
        guard let initial = store.load(id) else {
            throw CompanionError.failure(.jobNotFound, "worker: no job \(id) in \(store.directory)")
        }
        if initial.status.isTerminal { return CommandOutput(json: [:], markdown: "") }
        if initial.cancelRequestedAt != nil {
            finish(store, id) { $0.markCancelled("Cancelled before it started.") }
            return CommandOutput(json: [:], markdown: "")
        }
        let me = CurrentProcess.id
        _ = try store.update(id) { record in
            record.status = .running
            record.phase = "starting"
            record.startedAt = Timestamp.now()
            record.pid = me
            record.pidStartTime = ProcessProbe.startTime(of: me)
        }
        store.appendLog(id, "Worker started (pid \(me)).")

        let prompt =
            (try? FileSystem.read(store.promptPath(id))).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) }
            ?? ""
        guard let codex = CodexLocator.find(environment: invocation.environment) else {
            finish(store, id) { record in
                record.markFailed(
                    JobReason.spawnFailed,
                    "the Codex CLI was not found (set CODEX_COMPANION_CODEX or put codex on PATH, then run /codex:setup)"
                )
            }
            return CommandOutput(json: [:], markdown: "")
        }
        let request = TurnRequest(
            codexExecutable: codex, codexArguments: ["app-server"], environment: invocation.environment,
            cwd: initial.cwd, prompt: prompt, write: initial.write, model: initial.model, effort: initial.effort,
            resumeThreadId: initial.resumeThreadId, timeoutSeconds: Double(initial.timeoutSeconds),
            clientVersion: CommandRegistry.version)
        let observer = WorkerObserver(store: store, jobId: id)
        let outcome = TurnRunner.run(request, observer: observer, stopFD: stopFD)
        // As a subreaper the worker adopts descendants the app-server left behind; reap
        // those that ended (nothing else of ours is running at this point).
        CurrentProcess.reapExitedChildren()

        var worktree = store.load(id)?.worktree
        if var current = worktree, current.state == .active {
            current = WorktreeCapturing.capture(current, jobId: id, store: store)
            worktree = current
        }

        let cancelRequested = store.load(id)?.cancelRequestedAt != nil
        finish(store, id) { record in
            record.threadId = outcome.threadId ?? record.threadId
            record.turnId = outcome.turnId ?? record.turnId
            record.result = JobResult(
                finalMessage: outcome.finalMessage, touchedFiles: outcome.touchedFiles,
                reasoningSummary: outcome.reasoningSummary, commands: outcome.commands)
            if let worktree { record.worktree = worktree }
            switch outcome.status {
            case .completed:
                record.status = .completed
                record.phase = "done"
                record.reason = JobReason.completed
                record.completedAt = Timestamp.now()
            case .interrupted where cancelRequested:
                record.markCancelled("Cancelled by the user.")
            case .interrupted:
                record.markFailed(JobReason.turnFailed, outcome.errorMessage ?? "The turn was interrupted.")
            case .timedOut:
                record.markFailed(
                    JobReason.timedOut,
                    outcome.errorMessage ?? "Codex did not finish within \(record.timeoutSeconds) seconds.")
            case .failed:
                let message = outcome.errorMessage ?? "Codex reported a failure without a message."
                let died = message.contains("exited unexpectedly")
                record.markFailed(died ? JobReason.workerDied : JobReason.turnFailed, message)
            }
        }
        let final = store.load(id)
        store.appendLog(id, "Job \(final?.status.rawValue ?? "ended")\(final?.errorMessage.map { ": \($0)" } ?? ".")")
        return CommandOutput(json: [:], markdown: "")
    }

    /// Applies the final change unless the job already reached a terminal state
    /// (a terminal state is never overwritten); the result is still filled in.
    package static func finish(_ store: WorkspaceStore, _ id: String, _ body: (inout JobRecord) -> Void) {
        do {
            _ = try store.update(id) { record in
                if record.status.isTerminal {
                    var copy = record
                    body(&copy)
                    if record.result == nil { record.result = copy.result }
                    if copy.worktree != nil { record.worktree = copy.worktree }
                    if record.threadId == nil { record.threadId = copy.threadId }
                    return
                }
                body(&record)
            }
        } catch {
            store.appendLog(id, "Could not record the job's end: \(error)")
        }
    }
}

extension JobRecord {
    package mutating func markFailed(_ reason: String, _ message: String) {
        status = .failed
        phase = "failed"
        self.reason = reason
        errorMessage = message
        completedAt = Timestamp.now()
    }

    package mutating func markCancelled(_ message: String) {
        status = .cancelled
        phase = "cancelled"
        reason = JobReason.cancelled
        errorMessage = message
        completedAt = Timestamp.now()
    }
}

/// Writes the worker's progress into the job: log lines always, record fields when
/// they change (thread, turn, app-server pid, phase).
package final class WorkerObserver: TurnObserver {
    package let store: WorkspaceStore
    package let jobId: String
    package var phase: String = "starting"

    package init(store: WorkspaceStore, jobId: String) {
        self.store = store
        self.jobId = jobId
    }

    package func appServerStarted(pid: Int32) {
        _ = try? store.update(jobId) { $0.appServerPid = pid }
        store.appendLog(jobId, "Started codex app-server (pid \(pid)).")
    }

    package func threadReady(threadId: String, resumed: Bool) {
        _ = try? store.update(jobId) { $0.threadId = threadId }
    }

    package func turnStarted(turnId: String) {
        _ = try? store.update(jobId) { record in
            record.turnId = turnId
            if record.phase == "starting" { record.phase = "running" }
        }
        phase = "running"
    }

    package func progress(_ line: String, phase: String?) {
        store.appendLog(jobId, line)
        // Once the turn runs, "starting" would only move the phase backwards.
        if let phase, phase != self.phase, !(phase == "starting" && self.phase != "starting") {
            self.phase = phase
            _ = try? store.update(jobId) { if $0.status.isActive { $0.phase = phase } }
        }
    }
}

/// Commits what a turn left in its worktree onto the job's branch.
package enum WorktreeCapturing {
    package static func capture(_ worktree: JobWorktree, jobId: String, store: WorkspaceStore) -> JobWorktree {
        var updated = worktree
        updated.updatedAt = Timestamp.now()
        do {
            let capture = try WorktreeOperations.capture(worktree.info, jobId: jobId)
            updated.state = .ready
            updated.capturedCommit = capture.head
            updated.diffStat = capture.diffStat
            updated.changedPaths = capture.changedPaths
            updated.ignoredPaths = capture.ignoredPaths
            updated.outcome =
                capture.hasChanges ? "changes committed on \(worktree.info.branch)" : "the turn changed nothing"
            guard capture.committed || worktree.capturedCommit == nil else {
                return finishCapture(updated, store: store, jobId: jobId)
            }
            store.appendLog(jobId, "Captured the worktree's changes on \(worktree.info.branch).")
            store.appendEvent(
                "captured", jobId: jobId, worktree: worktree.info,
                detail: capture.hasChanges ? "\(capture.changedPaths.count) path(s)" : "no changes")
        } catch {
            updated.state = .ready
            updated.outcome = "capturing the changes failed (\(error)); they are still in \(worktree.info.path)"
            store.appendLog(jobId, "Capturing the worktree failed: \(error)")
            store.appendEvent("failed", jobId: jobId, worktree: worktree.info, detail: "capture: \(error)")
        }
        return finishCapture(updated, store: store, jobId: jobId)
    }

    package static func finishCapture(_ worktree: JobWorktree, store: WorkspaceStore, jobId: String) -> JobWorktree {
        do { try WorktreeOperations.unlock(worktree.info) } catch {
            store.appendLog(jobId, "Unlocking the worktree failed: \(error)")
        }
        return worktree
    }
}
