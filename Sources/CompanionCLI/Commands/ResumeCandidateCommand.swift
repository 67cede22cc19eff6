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
                payload: ResumeCandidatePayload(candidate: nil, workspaceRoot: store.root),
                markdown: "No earlier Codex task thread to resume in `\(store.root)`.")
        }
        let markdown =
            "`--resume-last` would continue thread `\(candidate.threadId ?? "?")` of job `\(candidate.id)` (\(candidate.status.rawValue)): \(candidate.title)"
        return CommandOutput(
            payload: ResumeCandidatePayload(candidate: .init(candidate), workspaceRoot: store.root), markdown: markdown)
    }
}

/// `task-resume-candidate --json`: the thread `--resume-last` would continue, if any.
package struct ResumeCandidatePayload: Encodable, Sendable {
    struct Candidate: Encodable, Sendable {
        let jobId: String
        let threadId: String?
        let status: JobStatus
        let title, summary: String
        let completedAt, sessionId, worktreePath: String?

        init(_ record: JobRecord) {
            (jobId, threadId, status, title) = (record.id, record.threadId, record.status, record.title)
            (summary, completedAt, sessionId) = (record.summary, record.completedAt, record.sessionId)
            worktreePath = record.worktree?.info.path
        }
    }

    let available: Bool
    let candidate: Candidate?
    let workspaceRoot: String

    init(candidate: Candidate?, workspaceRoot: String) {
        (available, self.candidate, self.workspaceRoot) = (candidate != nil, candidate, workspaceRoot)
    }
}
