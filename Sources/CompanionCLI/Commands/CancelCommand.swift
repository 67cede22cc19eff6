import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `cancel [job-id]`: asks the worker to interrupt its turn, then kills the job's
/// whole process tree after a short grace, and checks that nothing is left.
package enum CancelCommand {
    package static let graceSeconds = 5.0

    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let (store, found) = try resolve(invocation)
        let record = Reconciler.reconcile(found, in: store)
        if record.status.isTerminal {
            if record.status == .cancelled {
                return output(
                    record, store: store, previous: record.status, interruptAttempted: false, left: [],
                    note: "already cancelled")
            }
            throw CompanionError.failure(
                .jobFinished,
                "job \(record.id) already ended (\(record.status.rawValue)); nothing to cancel. See codex-companion result \(record.id)"
            )
        }
        let previous = record.status
        guard
            let marked = try store.update(
                record.id,
                { current in
                    if current.status.isActive && current.cancelRequestedAt == nil {
                        current.cancelRequestedAt = Timestamp.now()
                    }
                })
        else {
            throw CompanionError.failure(
                .jobUnreadable, "job \(record.id) could not be read; run codex-companion status --all")
        }

        var left: [ProcessTree.Member] = []
        var interruptAttempted = false
        if let pid = marked.pid, ProcessProbe.isAlive(pid, startTime: marked.pidStartTime) {
            let tree = ProcessTree.snapshot(
                workerPID: pid, workerStartTime: marked.pidStartTime, appServerPID: marked.appServerPid)
            interruptAttempted = marked.turnId != nil
            Signals.send(pid, Signal.terminate)
            let deadline = MonotonicClock.now() + graceSeconds
            while ProcessProbe.isAlive(pid, startTime: marked.pidStartTime) && MonotonicClock.now() < deadline {
                sleepSeconds(0.02)
            }
            let afterGrace = store.load(record.id)
            left = ProcessTree.terminate(
                workerPID: pid, workerStartTime: marked.pidStartTime,
                appServerPID: afterGrace?.appServerPid ?? marked.appServerPid, grace: 1.0)
            left += tree.waitForExit(seconds: 1.0).filter { !left.contains($0) }
            if !left.isEmpty {
                ProcessTree(members: Set(left)).signal(Signal.kill)
                left = ProcessTree(members: Set(left)).waitForExit(seconds: 1.0)
            }
        }
        let final =
            try store.update(record.id) { current in
                if current.status.isActive { current.markCancelled("Cancelled by the user.") }
                if var worktree = current.worktree, worktree.state == .active {
                    worktree.state = .ready
                    worktree.updatedAt = Timestamp.now()
                    current.worktree = worktree
                }
            } ?? record
        if var worktree = final.worktree, worktree.capturedCommit == nil, worktree.state == .ready,
            FileSystem.isDirectory(worktree.info.path)
        {
            // The worker was killed before it could capture: make the branch the durable copy now.
            worktree = WorktreeCapturing.capture(worktree, jobId: record.id, store: store)
            _ = try? store.update(record.id) { $0.worktree = worktree }
        }
        store.appendLog(
            record.id,
            "Cancel requested by the user\(left.isEmpty ? "; no process of the job is left." : "; \(left.count) process(es) could not be stopped.")"
        )
        let current = store.load(record.id) ?? final
        let result = output(
            current, store: store, previous: previous, interruptAttempted: interruptAttempted, left: left, note: nil)
        if !left.isEmpty {
            throw CompanionError.failure(
                .processesLeft,
                "job \(record.id) is marked cancelled, but processes \(left.map { String($0.pid) }.joined(separator: ", ")) would not die; kill them by hand (kill -9)"
            )
        }
        return result
    }

    package static func resolve(_ invocation: Invocation) throws -> (WorkspaceStore, JobRecord) {
        if let reference = invocation.parsed.positionals.first {
            return try invocation.lookup().find(reference)
        }
        let store = try invocation.workspaceStore()
        let active = Reconciler.reconcileAll(store.list(), in: store)
            .filter { $0.status.isActive && (invocation.sessionId == nil || $0.sessionId == invocation.sessionId) }
        guard let only = active.first else {
            throw CompanionError.failure(
                .jobNotFound, "no running job in this session; run codex-companion status --all to see every job")
        }
        guard active.count == 1 else {
            throw CompanionError.failure(
                .jobAmbiguous,
                "\(active.count) jobs are running (\(active.map(\.id).joined(separator: ", "))); name the one to cancel: codex-companion cancel <job-id>"
            )
        }
        return (store, only)
    }

    package static func output(
        _ record: JobRecord, store: WorkspaceStore, previous: JobStatus, interruptAttempted: Bool,
        left: [ProcessTree.Member], note: String?
    ) -> CommandOutput {
        let json: JSONValue = [
            "jobId": .string(record.id),
            "status": .string(record.status.rawValue),
            "previousStatus": .string(previous.rawValue),
            "turnInterruptAttempted": .bool(interruptAttempted),
            "processesLeft": .array(left.map { .int(Int64($0.pid)) }),
            "note": .optional(note),
            "job": JobView.json(record, store: store),
        ]
        var lines = ["Cancelled Codex job `\(record.id)` (was \(previous.rawValue)).\(note.map { " (\($0))" } ?? "")"]
        lines.append(
            left.isEmpty
                ? "No process of the job is left."
                : "Still alive: \(left.map { String($0.pid) }.joined(separator: ", "))")
        if let thread = record.threadId {
            lines.append(
                "Its thread `\(thread)` can be continued with `/codex:rescue --resume-thread \(thread) <next step>`.")
        }
        if let worktree = record.worktree, worktree.state.awaitsDecision {
            lines.append(
                "Its worktree changes are kept on `\(worktree.info.branch)`; decide with `codex-companion worktree-cleanup \(record.id) --action keep|discard|branch`."
            )
        }
        return CommandOutput(json: json, markdown: lines.joined(separator: "\n"))
    }
}
