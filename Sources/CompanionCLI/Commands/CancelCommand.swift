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
        if record.cloud != nil { return try CloudDecisions.cancel(record, store: store) }
        let outcome = try JobCanceller(lifecycle: JobLifecycle(store: store), graceSeconds: graceSeconds)
            .cancel(record)
        let current = outcome.record
        if outcome.lostRace {
            throw CompanionError.failure(
                .jobFinished,
                "job \(record.id) \(current.status.rawValue) before the cancel reached it; nothing was cancelled. "
                    + "See codex-companion result \(record.id)")
        }
        let result = output(
            current, store: store, previous: outcome.previous, interruptAttempted: outcome.interruptAttempted,
            left: outcome.left, note: nil)
        if !outcome.left.isEmpty {
            let pids = outcome.left.map { String($0.pid) }.joined(separator: ", ")
            throw CompanionError.failure(
                .processesLeft,
                "job \(record.id) is marked cancelled, but processes \(pids) would not die; kill them by hand (kill -9)"
            )
        }
        return result
    }

    package static func resolve(_ invocation: Invocation) throws -> (WorkspaceStore, JobRecord) {
        if let reference = invocation.parsed.positionals.first {
            return try invocation.lookup().find(reference)
        }
        let store = try invocation.workspaceStoreForReading()
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
        let payload = CancelPayload(
            jobId: record.id, status: record.status, previousStatus: previous,
            turnInterruptAttempted: interruptAttempted, processesLeft: left.map(\.pid), note: note,
            job: JobView.payload(record, store: store))
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
        return CommandOutput(payload: payload, markdown: lines.joined(separator: "\n"))
    }
}

/// `cancel --json`: what was cancelled, whether the turn was interrupted, which of the
/// job's processes are still alive.
package struct CancelPayload: Encodable, Sendable {
    let jobId: String
    let status, previousStatus: JobStatus
    let turnInterruptAttempted: Bool
    let processesLeft: [Int32]
    let note: String?
    let job: JobPayload
}
