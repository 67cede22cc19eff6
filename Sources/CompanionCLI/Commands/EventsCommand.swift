import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
/// `events [--limit N]`: the latest worktree lifecycle events of this workspace.
package enum EventsCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let store = try invocation.workspaceStoreForReading()
        let limit = Int(invocation.parsed.value("--limit") ?? "") ?? 20
        let (events, skipped) = store.readEvents(limit: limit)
        if skipped > 0 { invocation.warn("warning: skipped \(skipped) unreadable line(s) in \(store.eventsPath)") }
        var lines = ["## Worktree events in `\(store.root)`", ""]
        if events.isEmpty { lines.append("No worktree events yet.") }
        for event in events {
            var line = "- \(event.time) **\(event.event)** `\(event.jobId)`"
            if let branch = event.branch { line += " `\(branch)`" }
            if let detail = event.detail { line += " — \(detail)" }
            lines.append(line)
        }
        let payload = EventsPayload(workspaceRoot: store.root, events: events, skippedLines: skipped)
        return CommandOutput(payload: payload, markdown: lines.joined(separator: "\n"))
    }
}

/// `events --json`: the stored events as they are (absent fields null), oldest first.
package struct EventsPayload: Encodable, Sendable {
    let workspaceRoot: String
    let events: [WorktreeEvent]
    let skippedLines: Int
}
