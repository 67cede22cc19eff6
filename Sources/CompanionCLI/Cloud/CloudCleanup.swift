import CodexCloud
import CompanionJSON
import CompanionSystem
import GitWorktrees
import JobStore
import Jobs

/// The cloud-only first step of `worktree-cleanup … --action keep|branch`: fetch the chosen
/// attempt's diff into `codex/<job>`. After it the decision is the ordinary worktree one
/// (the same safe keep: checked against the user's tree, all or nothing). Never `codex cloud apply`.
package enum CloudCleanup {
    package static func fetch(
        _ worktree: JobWorktree, record: JobRecord, store: WorkspaceStore, invocation: Invocation
    ) throws -> (worktree: JobWorktree, refusal: CommandOutput?) {
        let attempt = try chosenAttempt(invocation, record: record)
        let fetched: (worktree: JobWorktree, conflict: String?)
        do {
            fetched = try CloudDecisions.materialize(
                worktree, record: record, attempt: attempt, store: store, invocation: invocation)
        } catch {
            store.appendEvent("failed", jobId: record.id, worktree: worktree.info, detail: "fetch: \(error)")
            throw CompanionError.wrap(error, doing: "fetching the cloud diff")
        }
        guard let conflict = fetched.conflict else { return (fetched.worktree, nil) }
        var updated = fetched.worktree
        let outcome = "the cloud diff does not apply (\(PromptText.shorten(conflict, to: 160))); nothing was changed"
        // The fetch is the decision's first step: ready|conflict → keeping → conflict, as a keep that conflicts.
        let lifecycle = JobLifecycle(store: store)
        try lifecycle.moveWorktree(record.id, to: .keeping)
        try lifecycle.moveWorktree(record.id, to: .conflict) { $0.outcome = outcome }
        updated.state = .conflict
        updated.outcome = outcome
        store.appendEvent("conflict", jobId: record.id, worktree: updated.info, detail: conflict)
        let message =
            "the diff of cloud task \(record.cloud?.taskId ?? "?") (attempt \(attempt)) no longer applies to your repository; nothing was changed and the task is still on Codex Cloud (\(record.cloud?.url ?? "")). Update the branch and submit again, or open the task to merge by hand"
        var out = WorktreeCleanupCommand.output(
            store.load(record.id) ?? record, action: invocation.parsed.value("--action") ?? "keep", store: store,
            exitCode: ExitCode.failure, error: ErrorPayload(.conflict, message))
        out.markdown += "\n\n**Conflict:** " + Printable.neutralized(message)
        invocation.warn("codex-companion: " + Printable.singleLine(message))
        return (updated, out)
    }

    /// A cloud job gets something to decide about only once its task is ready.
    package static func nothingToDecide(_ record: JobRecord) -> CompanionError {
        if record.status.isActive {
            return .failure(
                .jobRunning,
                "cloud job \(record.id) is still \(record.status.rawValue); wait for it (codex-companion status \(record.id) --wait)"
            )
        }
        return .failure(
            .noWorktree,
            "cloud job \(record.id) ended \(record.status.rawValue) (\(record.reason?.rawValue ?? "no reason")) without work to fetch; there is nothing to keep or discard"
        )
    }

    /// `--attempt <n>` (1–4, default: the attempt already fetched, else 1).
    package static func chosenAttempt(_ invocation: Invocation, record: JobRecord) throws -> Int {
        guard let text = invocation.parsed.value("--attempt") else { return record.cloud?.chosenAttempt ?? 1 }
        guard let attempt = Int(text), CloudTaskRequest.attemptRange.contains(attempt) else {
            throw CompanionError.usage("--attempt must be a number from 1 to 4, not \(Printable.clipped(text))")
        }
        if let total = record.cloud?.attemptTotal, attempt > total {
            throw CompanionError.usage("job \(record.id) has \(total) attempt(s); --attempt \(attempt) does not exist")
        }
        return attempt
    }
}
