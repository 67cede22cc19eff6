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
        var rows: [JSONValue] = []
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
            for diff in diffs {
                let row = try compareOne(current, diff: diff, git: git)
                rows.append(row.json)
                table.append(row.row)
            }
            table += [
                "",
                "Keep one: `codex-companion worktree-cleanup \(current.id) --action keep --attempt <n>` (or `--action branch --attempt <n>`);",
                "`codex-companion worktree-cleanup \(current.id) --action discard` drops them all.",
            ]
        } else {
            table.append(notReadyLine(current))
        }
        let json: JSONValue = [
            "jobId": .string(current.id), "backend": "cloud", "groupId": .null, "check": .null,
            "workspaceRoot": .string(store.root), "status": .string(current.status.rawValue),
            "ready": .bool(ready), "taskId": .optional(cloud?.taskId), "url": .optional(cloud?.url),
            "remoteStatus": .optional(cloud?.remoteStatus),
            "attemptTotal": cloud?.attemptTotal.map { .int(Int64($0)) } ?? .null,
            "chosenAttempt": cloud?.chosenAttempt.map { .int(Int64($0)) } ?? .null,
            "attempts": .array(rows),
        ]
        return CommandOutput(json: json, markdown: table.joined(separator: "\n"))
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
        json: JSONValue, row: String
    ) {
        guard let cloud = record.cloud else { return ([:], "") }
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
        let json: JSONValue = [
            "jobId": .string(record.id), "attempt": .int(Int64(attempt)),
            "status": .string(record.status.rawValue), "reason": .optional(record.reason?.rawValue),
            "worktreeState": .optional(record.worktree?.state.rawValue),
            "branch": .optional(record.worktree?.info.branch), "worktreePath": .null,
            "filesChanged": .int(Int64(diff.stat.filesChanged)), "linesAdded": .int(Int64(diff.stat.linesAdded)),
            "linesRemoved": .int(Int64(diff.stat.linesRemoved)), "binaryFiles": .null,
            "keepPreview": KeepPreviewView.json(preview), "lastMessage": .null, "check": .null, "checkError": .null,
            "chosen": .bool(chosen), "kept": .bool(chosen && record.worktree?.state == .kept),
        ]
        let chosenCell = chosen ? (decided ? (record.worktree?.state.rawValue ?? "chosen") : "chosen") : ""
        let cells = [
            "\(attempt)", "\(diff.stat.filesChanged)", "+\(diff.stat.linesAdded) −\(diff.stat.linesRemoved)",
            Printable.singleLine(preview.sentence), chosenCell,
        ]
        return (json, "| " + cells.map { $0.replacingPipes() }.joined(separator: " | ") + " |")
    }
}
