import CodexCloud
import CompanionJSON
import CompanionSystem
import GitWorktrees
import JobStore
import Jobs

/// `compare <cloud-job-id>`: the attempts of one Codex Cloud task side by side, as `compare`
/// shows a local group: files and lines per attempt, the keep preview of each attempt's diff
/// against the user's tree now (only read: `git apply --check`), and which attempt is chosen.
package enum CloudCompare {
    package static func run(_ record: JobRecord, store: WorkspaceStore, invocation: Invocation) throws
        -> CommandOutput
    {
        if invocation.parsed.value("--check") != nil {
            throw CompanionError.unsupportedForCloud(
                "--check does not run for cloud job \(record.id): its attempts have no worktree here; keep or branch one (worktree-cleanup \(record.id) --action branch --attempt <n>) and check that"
            )
        }
        var current = CloudJobs.refresh(record, store: store, invocation: invocation)
        let cloud = current.cloud
        let ready = current.status == .completed && cloud?.taskId != nil
        var rows: [Extended<AttemptComparison, CloudChoice>] = []
        var table = [
            "## Attempts of Codex Cloud job `\(current.id)`", "",
            "Task: \(Printable.singleLine(cloud?.url ?? "not created")) · service status **\(Printable.singleLine(cloud?.remoteStatus ?? "?"))**",
            "",
        ]
        if ready {
            table += [
                "| # | Files | +/− | Keep preview | Chosen |", "|---|---:|---:|---|---|",
            ]
            // Each attempt's diff is fetched once: its preview and the stored stats come from it.
            let diffs = try attemptDiffs(current, invocation: invocation, store: store)
            current = CloudDecisions.recording(diffs, in: current, store: store)
            let git = try GitClient(base: invocation.environment)
            let compared = try diffs.compactMap { try compareOne(current, diff: $0, git: git) }
            rows = compared.map(\.payload)
            table +=
                compared.map(\.row) + [
                    "",
                    "Keep one: `codex-companion worktree-cleanup \(current.id) --action keep --attempt <n>` (or `--action branch --attempt <n>`);",
                    "`codex-companion worktree-cleanup \(current.id) --action discard` drops them all.",
                ]
        } else {
            table.append(notReadyLine(current))
        }
        let payload = CloudComparePayload(
            jobId: current.id, workspaceRoot: store.root, status: current.status, ready: ready, taskId: cloud?.taskId,
            url: cloud?.url, remoteStatus: cloud?.remoteStatus, attemptTotal: cloud?.attemptTotal,
            chosenAttempt: cloud?.chosenAttempt, attempts: rows)
        return CommandOutput(payload: payload, markdown: table.joined(separator: "\n"))
    }

    static func notReadyLine(_ record: JobRecord) -> String {
        if record.status.isActive {
            return
                "The task is not ready yet (\(record.status.rawValue)); its attempts are compared once it is: `codex-companion status \(record.id) --wait`, then compare again."
        }
        return
            "The job ended \(record.status.rawValue) (\(record.reason?.rawValue ?? "no reason")): there are no attempts to compare."
    }

    /// The diff of every attempt of a ready task, in attempt order.
    static func attemptDiffs(_ record: JobRecord, invocation: Invocation, store: WorkspaceStore) throws
        -> [CloudAttemptDiff]
    {
        guard let cloud = record.cloud, let taskId = cloud.taskId else { return [] }
        let client = try CloudJobs.client(invocation, store: store)
        let total = max(1, cloud.attemptTotal ?? cloud.attempts)
        do {
            return try (1...total).map { try client.diff(taskId, attempt: $0) }
        } catch {
            throw ErrorFunnel.report(for: error)
        }
    }

    static func compareOne(_ record: JobRecord, diff: CloudAttemptDiff, git: GitClient) throws -> (
        payload: Extended<AttemptComparison, CloudChoice>, row: String
    )? {
        guard let cloud = record.cloud else { return nil }
        let attempt = diff.attempt
        let preview: KeepPreview
        do {
            preview = try ScratchDirectory.with(prefix: "codex-companion-cloud-preview") { scratch in
                let patch = scratch + "/attempt.patch"
                try AtomicFile.write(diff.diff, to: patch)
                return try WorktreeOperations.patchPreview(patch, repoRoot: cloud.repoRoot, git: git)
            }
        } catch {
            throw CompanionError.wrap(error, doing: "checking attempt \(attempt) against your tree")
        }
        let decided = record.worktree.map { !$0.state.awaitsDecision } ?? false
        let chosen = cloud.chosenAttempt == attempt
        let stat = diff.stat
        let comparison = AttemptComparison(
            record, attempt: attempt, worktreePath: nil,
            counts: (stat.filesChanged, stat.linesAdded, stat.linesRemoved, nil),
            keepPreview: preview)
        let choice = CloudChoice(chosen: chosen, kept: chosen && record.worktree?.state == .kept)
        let chosenCell = chosen ? (decided ? (record.worktree?.state.rawValue ?? "chosen") : "chosen") : ""
        let cells = [
            "\(attempt)", "\(diff.stat.filesChanged)", "+\(diff.stat.linesAdded) −\(diff.stat.linesRemoved)",
            Printable.singleLine(preview.sentence), chosenCell,
        ]
        return (Extended(comparison, choice), "| " + cells.map { $0.replacingPipes() }.joined(separator: " | ") + " |")
    }
}

/// `compare <cloud-job-id> --json`: the local compare's fields (no group, no check) plus the task's.
package struct CloudComparePayload: Encodable, Sendable {
    let jobId: String
    let backend = JobBackend.cloud
    let groupId: String? = nil
    let check: String? = nil
    let workspaceRoot: String
    let status: JobStatus
    let ready: Bool
    let taskId, url, remoteStatus: String?
    let attemptTotal, chosenAttempt: Int?
    let attempts: [Extended<AttemptComparison, CloudChoice>]
}

/// Beside a cloud attempt: whether it is the one chosen for the branch, and whether it was kept.
package struct CloudChoice: Encodable, Sendable {
    let chosen, kept: Bool
}
