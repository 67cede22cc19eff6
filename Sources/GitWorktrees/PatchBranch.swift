import CompanionSystem

extension WorktreeOperations {
    /// How committing a fetched patch on a job branch went.
    public enum PatchCommit: Sendable, Equatable {
        /// The branch now holds the patch as one commit on `base`.
        case committed(commit: String, base: String)
        /// The patch applies to none of the candidate bases; git's words for the last one.
        case doesNotApply(detail: String)
    }

    /// Commits a patch (e.g. a cloud task's diff) as one commit on the first of `bases` it
    /// applies to, and creates `info.branch` there. The user's working tree and index are
    /// never touched: the patch is applied to a scratch index (`GIT_INDEX_FILE`) read from
    /// the base. From then on the job is an ordinary worktree job whose directory is gone,
    /// and keep/branch/discard treat it exactly like one.
    /// - Throws: `GitError.branchExists` when the branch is already there.
    public static func commitPatch(
        _ patchFile: String, bases: [String], info: WorktreeInfo, message: String, scratchIndex: String,
        git: GitClient? = nil
    ) throws -> PatchCommit {
        let git = try git ?? GitClient()
        try validate(info, jobId: info.jobId)
        try requireRepository(info)
        let root = info.repoRoot
        if try git.branchExists(info.branch, in: root) {
            throw GitError.branchExists(branch: info.branch, repoRoot: root)
        }
        // Our own scratch index file.
        defer { try? FileSystem.remove(scratchIndex) }
        let index = ["GIT_INDEX_FILE": scratchIndex]
        var detail = "no base commit to apply it to"
        var tried: Set<String> = []
        for base in bases {
            guard let commit = try git.commit(of: base, in: root), tried.insert(commit).inserted else { continue }
            try? FileSystem.remove(scratchIndex)  // read-tree below writes a fresh one either way
            try git.check(["read-tree", commit], in: root, environment: index)
            let applied = try git.run(
                applySettings + ["apply", "--cached", "--binary", "--", patchFile], in: root, environment: index)
            guard applied.status.isSuccess else {
                detail = GitText.trim(applied.stderrText)
                continue
            }
            let tree = try git.text(["write-tree"], in: root, environment: index)
            let made = try git.text(
                [
                    "-c", "commit.gpgsign=false", "commit-tree", tree, "-p", commit, "-m", message,
                ], in: root, environment: identityEnvironment)
            try git.check(["branch", "--no-track", info.branch, made], in: root)
            return .committed(commit: made, base: commit)
        }
        return .doesNotApply(detail: detail)
    }
}
