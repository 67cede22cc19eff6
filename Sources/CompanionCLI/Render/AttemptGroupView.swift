import CompanionSystem
import CompanionJSON
import GitWorktrees
import JobStore
import Jobs

/// The keep preview of a finished worktree job, as shown by `status <id>`, `result`,
/// `status <group-id>` and `compare`. Computed on demand (never in listings), cached in
/// `jobs/<id>.keep-preview`.
package enum KeepPreviewView {
    /// nil when there is nothing to decide yet (the job runs, or its worktree is decided),
    /// or when the repository cannot be read (the preview is advice; keep itself decides).
    package static func compute(_ record: JobRecord, store: WorkspaceStore, environment: [String: String])
        -> KeepPreview?
    {
        guard record.status.isTerminal, let worktree = record.worktree,
            worktree.state == .ready || worktree.state == .conflict
        else { return nil }
        guard let git = try? GitClient(base: environment) else { return nil }
        return try? WorktreeOperations.keepPreview(worktree.info, cacheFile: store.keepPreviewPath(record.id), git: git)
    }
}

/// `status <group-id>` and the end of a foreground `task --runs`: every attempt of a group.
package enum AttemptGroupView {
    package static func output(
        groupId: String, records: [JobRecord], store: WorkspaceStore, invocation: Invocation, waitTimedOut: Bool? = nil
    ) -> CommandOutput {
        let now = WallClock.nowMilliseconds()
        let running = records.filter { $0.status.isActive }.count
        let undecided = records.filter { $0.worktree?.state.awaitsDecision == true }.count
        var jobs: [Extended<JobPayload, KeepPreviewField>] = []
        var lines = ["## Attempts of group `\(groupId)`", ""]
        for record in records {
            let preview = KeepPreviewView.compute(record, store: store, environment: invocation.environment)
            jobs.append(
                Extended(JobView.payload(record, store: store, now: now), KeepPreviewField(keepPreview: preview)))
            lines.append("\(record.attempt.map { "\($0). " } ?? "")" + JobView.bullet(record, now: now).dropFirst(2))
            if let preview { lines.append("  - \(preview.sentence)") }
        }
        let payload = GroupPayload(
            groupId: groupId, workspaceRoot: store.root, status: running > 0 ? "running" : "finished",
            running: running, undecided: undecided, jobs: jobs)
        lines.append("")
        if running > 0 {
            lines.append("\(running) of \(records.count) still running: `codex-companion status \(groupId) --wait`.")
        } else {
            lines.append(
                "Compare them with `codex-companion compare \(groupId) [--check \"<test command>\"]`, keep one with `codex-companion worktree-cleanup <job-id> --action keep`, discard the undecided rest with `codex-companion worktree-cleanup \(groupId) --action discard`."
            )
        }
        // Exit 1 only when the group ended without a single completed attempt.
        let noneCompleted = running == 0 && !records.contains { $0.status == .completed }
        return CommandOutput(
            payload: Extended(payload, waitTimedOut.map(WaitTimedOut.init)), markdown: lines.joined(separator: "\n"),
            exitCode: noneCompleted ? ExitCode.failure : ExitCode.success)
    }
}

/// `status <group-id> --json`: every attempt of a group, each `job + keepPreview`.
package struct GroupPayload: Encodable, Sendable {
    let groupId, workspaceRoot: String
    /// `running` or `finished`.
    let status: String
    let running, undecided: Int
    let jobs: [Extended<JobPayload, KeepPreviewField>]
}

/// `keepPreview` beside a job object (null while it runs or once decided).
package struct KeepPreviewField: Encodable, Sendable {
    let keepPreview: KeepPreview?
}

/// `waitTimedOut`, present only in the answers of `--wait`.
package struct WaitTimedOut: Encodable, Sendable {
    let waitTimedOut: Bool
}
