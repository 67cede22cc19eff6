import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore

/// Finds the Codex CLI: `CODEX_COMPANION_CODEX`, else `codex` on PATH.
public enum CodexLocator {
    public static func find(environment: [String: String]) -> String? {
        if let explicit = environment["CODEX_COMPANION_CODEX"], !explicit.isEmpty {
            return Subprocess.resolve(explicit, path: environment["PATH"])
        }
        return Subprocess.resolve("codex", path: environment["PATH"])
    }

    public static func require(environment: [String: String]) throws(JobError) -> String {
        guard let path = find(environment: environment) else {
            let explicit = environment["CODEX_COMPANION_CODEX"].flatMap { $0.isEmpty ? nil : $0 }
            throw .codexNotFound(explicit: explicit)
        }
        return path
    }
}

/// Turns a prompt into a job title and summary.
package enum PromptText {
    package static func collapse(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
    }

    package static func shorten(_ text: String, to limit: Int) -> String {
        let collapsed = collapse(text)
        if collapsed.count <= limit { return collapsed }
        return String(collapsed.prefix(limit - 1)) + "…"
    }

    package static let continuePrompt =
        "Continue from the current thread state. Pick the next highest-value step and follow through until the task is resolved."
}

/// Picks the thread `--resume-last` continues: the newest finished task of this
/// workspace that has a thread, from this session first, then from any session.
package enum ResumeCandidates {
    package static func find(in records: [JobRecord], sessionId: String?) -> JobRecord? {
        let finished = records.filter { $0.status.isTerminal && $0.threadId != nil }
            .sorted { ($0.completedAt ?? $0.updatedAt) > ($1.completedAt ?? $1.updatedAt) }
        if let sessionId, let mine = finished.first(where: { $0.sessionId == sessionId }) { return mine }
        return finished.first
    }
}
