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
        var rows: [JSONValue] = []
        var lines = ["## Companion worktrees of `\(repoRoot)`", ""]
        if inventory.entries.isEmpty { lines.append("No companion worktrees, branches or orphans.") }
        for entry in inventory.entries {
            let record = records[entry.id]
            let created = record.flatMap { Timestamp.milliseconds($0.createdAt) }
            let age = created.map { (now - $0) / 1000 }
            rows.append([
                "id": .string(entry.id),
                "kind": .string(entry.kind.rawValue),
                "hasJob": .bool(entry.hasJob),
                "jobStatus": .optional(record?.status.rawValue),
                "state": .optional(record?.worktree?.state.rawValue),
                "path": .string(entry.path),
                "directoryExists": .bool(entry.directoryExists),
                "registered": .bool(entry.registered),
                "locked": .bool(entry.locked),
                "creation": .optional(entry.creation?.rawValue),
                "branch": .optional(entry.branch),
                "base": .optional(entry.base),
                "diffStat": .string(entry.diffStat),
                "changedPaths": .strings(entry.changedPaths),
                "hasUncommittedChanges": .bool(entry.hasUncommittedChanges),
                "changesExistElsewhere": .bool(entry.changesExistElsewhere),
                "ageSeconds": .optional(age),
            ])
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
        let json: JSONValue = [
            "repoRoot": .string(repoRoot), "worktrees": .array(rows), "orphans": .int(Int64(inventory.orphans.count)),
        ]
        return CommandOutput(json: json, markdown: lines.joined(separator: "\n"))
    }
}

/// `worktree prune` output.
package enum PruneRendering {
    package static func output(_ report: PruneReport, repoRoot: String, dryRun: Bool) -> CommandOutput {
        func item(_ value: PruneReport.Item) -> JSONValue {
            [
                "kind": .string(value.kind.rawValue), "name": .string(value.name), "id": .optional(value.id),
                "reason": .string(value.reason),
            ]
        }
        let json: JSONValue = [
            "repoRoot": .string(repoRoot), "dryRun": .bool(dryRun),
            "removed": .array(report.removed.map(item)), "kept": .array(report.kept.map(item)),
        ]
        var lines = ["## \(dryRun ? "Would prune" : "Pruned") companion worktrees of `\(repoRoot)`", ""]
        if report.removed.isEmpty { lines.append("Nothing \(dryRun ? "would be" : "was") removed.") }
        lines += report.removed.map {
            "- \(dryRun ? "would remove" : "removed") \($0.kind.rawValue) `\($0.name)`: \($0.reason)"
        }
        lines += report.kept.map { "- kept \($0.kind.rawValue) `\($0.name)`: \($0.reason)" }
        return CommandOutput(json: json, markdown: lines.joined(separator: "\n"))
    }
}
