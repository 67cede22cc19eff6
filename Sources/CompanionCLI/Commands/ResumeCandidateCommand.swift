import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
/// `task-resume-candidate`: which thread `--resume-last` would continue.
package enum ResumeCandidateCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let store = try invocation.workspaceStoreForReading()
        let records = Reconciler.reconcileAll(store.list(), in: store)
        guard let candidate = ResumeCandidates.find(in: records, sessionId: invocation.sessionId) else {
            return CommandOutput(
                json: ["available": false, "candidate": .null, "workspaceRoot": .string(store.root)],
                markdown: "No earlier Codex task thread to resume in `\(store.root)`.")
        }
        let json: JSONValue = [
            "available": true,
            "workspaceRoot": .string(store.root),
            "candidate": [
                "jobId": .string(candidate.id),
                "threadId": .optional(candidate.threadId),
                "status": .string(candidate.status.rawValue),
                "title": .string(candidate.title),
                "summary": .string(candidate.summary),
                "completedAt": .optional(candidate.completedAt),
                "sessionId": .optional(candidate.sessionId),
                "worktreePath": .optional(candidate.worktree?.info.path),
            ],
        ]
        let markdown =
            "`--resume-last` would continue thread `\(candidate.threadId ?? "?")` of job `\(candidate.id)` (\(candidate.status.rawValue)): \(candidate.title)"
        return CommandOutput(json: json, markdown: markdown)
    }
}
