import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `worktree list` output.
package enum InventoryRendering {
    package static func output(_ inventory: WorktreeInventory, records: [String: JobRecord], repoRoot: String)
        -> CommandOutput
    {
        let now = WallClock.nowMilliseconds()
        var rows: [InventoryRow] = []
        var lines = ["## Companion worktrees of `\(repoRoot)`", ""]
        if inventory.entries.isEmpty { lines.append("No companion worktrees, branches or orphans.") }
        for entry in inventory.entries {
            let record = records[entry.id]
            let created = record.flatMap { Timestamp.milliseconds($0.createdAt) }
            let age = created.map { (now - $0) / 1000 }
            rows.append(InventoryRow(entry, record: record, ageSeconds: age))
            var line = "- `\(entry.id)` **\(entry.kind.rawValue)**"
            if let state = record?.worktree?.state { line += " · \(state.rawValue)" }
            if let branch = entry.branch { line += " · `\(branch)`" }
            if let age { line += " · \(Timestamp.duration(milliseconds: age * 1000)) old" }
            line += " · \(entry.changedPaths.count) path(s) changed"
            if entry.hasUncommittedChanges { line += " · uncommitted changes in the directory" }
            if entry.creation == .creating { line += " · being created" }
            if entry.creation == .abandoned { line += " · abandoned creation (worktree prune removes it)" }
            lines.append(line)
            if entry.kind != .active {
                lines.append(
                    "  - \(entry.changesExistElsewhere ? "its changes exist elsewhere: prune can remove it" : "holds work found nowhere else: prune keeps it")"
                )
            }
        }
        let payload = InventoryPayload(repoRoot: repoRoot, worktrees: rows, orphans: inventory.orphans.count)
        return CommandOutput(payload: payload, markdown: lines.joined(separator: "\n"))
    }
}

/// `worktree prune` output.
package enum PruneRendering {
    package static func output(_ report: PruneReport, repoRoot: String, dryRun: Bool) -> CommandOutput {
        let payload = PrunePayload(repoRoot: repoRoot, dryRun: dryRun, removed: report.removed, kept: report.kept)
        var lines = ["## \(dryRun ? "Would prune" : "Pruned") companion worktrees of `\(repoRoot)`", ""]
        if report.removed.isEmpty { lines.append("Nothing \(dryRun ? "would be" : "was") removed.") }
        lines += report.removed.map {
            "- \(dryRun ? "would remove" : "removed") \($0.kind.rawValue) `\($0.name)`: \($0.reason)"
        }
        lines += report.kept.map { "- kept \($0.kind.rawValue) `\($0.name)`: \($0.reason)" }
        return CommandOutput(payload: payload, markdown: lines.joined(separator: "\n"))
    }
}

/// `worktree list --json`.
package struct InventoryPayload: Encodable {
    let repoRoot: String
    let worktrees: [InventoryRow]
    let orphans: Int
}

/// One companion worktree, branch or orphan of `worktree list`, with its job's state.
package struct InventoryRow: Encodable {
    let id: String
    let kind: WorktreeInventoryEntry.Kind
    let hasJob: Bool
    let jobStatus: JobStatus?
    let state: WorktreeState?
    let path: String
    let directoryExists, registered, locked: Bool
    let creation: CreationState?
    let branch, base: String?
    let diffStat: String
    let changedPaths: [String]
    let hasUncommittedChanges, changesExistElsewhere: Bool
    let ageSeconds: Int64?

    init(_ entry: WorktreeInventoryEntry, record: JobRecord?, ageSeconds: Int64?) {
        (id, kind, hasJob, path) = (entry.id, entry.kind, entry.hasJob, entry.path)
        (jobStatus, state, self.ageSeconds) = (record?.status, record?.worktree?.state, ageSeconds)
        (directoryExists, registered, locked) = (entry.directoryExists, entry.registered, entry.locked)
        (creation, branch, base, diffStat) = (entry.creation, entry.branch, entry.base, entry.diffStat)
        (changedPaths, hasUncommittedChanges) = (entry.changedPaths, entry.hasUncommittedChanges)
        changesExistElsewhere = entry.changesExistElsewhere
    }
}

/// `worktree prune --json`: what was (or would be) removed and what was kept, and why.
package struct PrunePayload: Encodable {
    let repoRoot: String
    let dryRun: Bool
    let removed, kept: [PruneReport.Item]
}
