import CodexCloud
import CompanionJSON
import CompanionSystem
import GitWorktrees
import JobStore
import Jobs

/// Result, cancel and the decision's first step for cloud jobs.
package enum CloudDecisions {
    /// For a ready cloud job: the diff stat of every attempt, fetched once and stored.
    package static func withAttemptStats(_ record: JobRecord, store: WorkspaceStore, invocation: Invocation)
        -> JobRecord
    {
        guard let cloud = record.cloud, let taskId = cloud.taskId, record.status == .completed,
            cloud.attemptDiffs == nil
        else { return record }
        do {
            let diffs = try CloudJobs.client(invocation, store: store).diffs(taskId, total: cloud.attemptTotal ?? 1)
            return recording(diffs, in: record, store: store)
        } catch {
            let message = ErrorFunnel.report(for: error).message
            invocation.warn("codex-companion: could not read the attempts' diffs: \(Printable.singleLine(message))")
            return record
        }
    }

    /// Stores the diff stat of `diffs` as the job's attempts when none is stored yet.
    package static func recording(_ diffs: [CloudAttemptDiff], in record: JobRecord, store: WorkspaceStore)
        -> JobRecord
    {
        guard record.cloud?.attemptDiffs == nil, !diffs.isEmpty else { return record }
        let attempts = diffs.map {
            JobCloud.Attempt(
                attempt: $0.attempt, filesChanged: $0.stat.filesChanged, linesAdded: $0.stat.linesAdded,
                linesRemoved: $0.stat.linesRemoved)
        }
        // A record that cannot be updated keeps its old view; the stats are fetched again next time.
        let updated = try? JobLifecycle(store: store).updateCloud(record.id) { $0.attemptDiffs = attempts }
        return updated.flatMap { $0 } ?? record
    }

    /// The Markdown lines `result` adds for a cloud job.
    package static func resultLines(_ record: JobRecord) -> [String] {
        guard let cloud = record.cloud else { return [] }
        var lines = ["", "## Codex Cloud"]
        lines.append("- task: \(Printable.singleLine(cloud.url ?? "not created"))")
        if let title = cloud.remoteTitle { lines.append("- title: \(Printable.singleLine(title))") }
        lines.append(
            "- environment `\(Printable.singleLine(cloud.environment))` · branch `\(Printable.singleLine(cloud.branch))` · service status **\(cloud.remoteStatus)**"
        )
        if let files = cloud.filesChanged {
            lines.append("- summary: \(files) file(s), +\(cloud.linesAdded ?? 0)/-\(cloud.linesRemoved ?? 0)")
        }
        for attempt in cloud.attemptDiffs ?? [] {
            lines.append(
                "- attempt \(attempt.attempt): \(attempt.filesChanged) file(s), +\(attempt.linesAdded)/-\(attempt.linesRemoved)"
                    + (cloud.chosenAttempt == attempt.attempt ? " (chosen)" : ""))
        }
        if (cloud.attemptDiffs?.count ?? 0) > 1 {
            lines.append("- keep one attempt with `--attempt <n>` on worktree-cleanup (default 1)")
        }
        if !cloud.branchWarnings.isEmpty {
            lines.append("- at submission: " + cloud.branchWarnings.map { "`\($0)`" }.joined(separator: ", "))
        }
        return lines
    }

    /// `cancel` of a cloud job: the companion stops tracking it. The Codex CLI has no command
    /// that stops a cloud task, so the task goes on on the service.
    package static func cancel(_ record: JobRecord, store: WorkspaceStore) throws -> CommandOutput {
        let previous = record.status
        let url = record.cloud?.url ?? "chatgpt.com/codex"
        let note =
            "stopped tracking; the cloud task itself keeps running on Codex Cloud (the Codex CLI cannot stop it): open \(url) to stop or archive it"
        let (stored, lostRace) = try JobLifecycle(store: store).cloudCancel(
            record.id, message: "Cancelled by the user: \(note).")
        let final = stored ?? record
        if lostRace {
            throw CompanionError.failure(
                .jobFinished,
                "job \(record.id) \(final.status.rawValue) before the cancel reached it; nothing was cancelled. See codex-companion result \(record.id)"
            )
        }
        store.appendLog(record.id, "Cancel requested by the user: \(note).")
        var out = CancelCommand.output(
            final, store: store, previous: previous, interruptAttempted: false, left: [], note: note)
        out.markdown += "\n" + Printable.neutralized(note.prefix(1).uppercased() + note.dropFirst()) + "."
        return out
    }

    /// Before keep or branch: makes `codex/<job>` hold the chosen attempt's diff as one commit on
    /// the job's base (else on HEAD), so the ordinary worktree decision takes over. Fetching
    /// and committing never touch the user's tree. A diff that applies to neither base is a
    /// conflict: nothing changed, the job stays undecided.
    package static func materialize(
        _ worktree: JobWorktree, record: JobRecord, attempt: Int, store: WorkspaceStore, invocation: Invocation
    ) throws -> (worktree: JobWorktree, conflict: String?) {
        guard let cloud = record.cloud, let taskId = cloud.taskId else { return (worktree, nil) }
        let git = try GitClient(base: invocation.environment)
        let root = worktree.info.repoRoot
        if try git.branchExists(worktree.info.branch, in: root) {
            if cloud.chosenAttempt == attempt || cloud.chosenAttempt == nil { return (worktree, nil) }
            // The branch holds another attempt the companion fetched (the job is undecided, so
            // nobody else wrote on it): replace it.
            try git.deleteBranch(worktree.info.branch, in: root)
        }
        let diff = try CloudJobs.client(invocation, store: store).diff(taskId, attempt: attempt)
        let patch = store.directory + "/jobs/\(record.id).cloud.patch"
        try AtomicFile.write(diff.diff, to: patch)
        defer { try? FileSystem.remove(patch) }  // a scratch copy of the service's diff
        let committed = try WorktreeOperations.commitPatch(
            patch, bases: [worktree.info.baseCommit, "HEAD"], info: worktree.info,
            message: "codex-companion: Codex Cloud task \(taskId), attempt \(attempt) (job \(record.id))",
            scratchIndex: store.directory + "/jobs/\(record.id).cloud.index", git: git)
        var updated = worktree
        switch committed {
        case .doesNotApply(let detail):
            return (updated, "the cloud diff applies neither to \(worktree.info.baseRef) nor to HEAD: \(detail)")
        case .committed(let commit, let base):
            updated.info.baseCommit = base
            if base != worktree.info.baseCommit { updated.info.baseRef = "HEAD" }
            updated.capturedCommit = commit
            let lifecycle = JobLifecycle(store: store)
            try lifecycle.updateWorktree(record.id) { stored in
                stored.info = updated.info
                stored.capturedCommit = commit
            }
            try lifecycle.updateCloud(record.id) { $0.chosenAttempt = attempt }
            store.appendEvent(
                "fetched", jobId: record.id, worktree: updated.info, detail: "cloud task \(taskId) attempt \(attempt)")
            return (updated, nil)
        }
    }
}
