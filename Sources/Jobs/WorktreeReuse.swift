import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore

extension WorktreeOperations {
    /// Locks an existing worktree again for a job that continues in it (resume).
    /// Already locked is fine: the previous job may not have unlocked it. That is read from
    /// `git worktree list --porcelain`, never from git's message.
    public static func lock(_ info: WorktreeInfo, jobId: String, git: GitClient? = nil) throws {
        let git = try git ?? GitClient()
        let output = try git.run(["worktree", "lock", "--reason", lockReason(jobId), info.path], in: info.repoRoot)
        if output.status.isSuccess { return }
        let entry = try git.worktrees(in: info.repoRoot).first { samePath($0.path, info.path) }
        if entry?.isLocked == true { return }
        throw GitError.commandFailed(
            GitClient.failure(git.request(["worktree", "lock", info.path], in: info.repoRoot), output))
    }
}
