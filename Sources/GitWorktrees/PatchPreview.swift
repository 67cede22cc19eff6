import CompanionSystem

extension WorktreeOperations {
    /// The keep preview of a patch that is not on any branch yet (a cloud attempt's diff):
    /// would it apply to the user's working tree now? Only reads: `git apply --numstat` and
    /// `git apply --check` without `--index` read the patch and the working tree, and an
    /// operation in progress (merge, rebase…) stops it as it stops keep.
    ///
    /// The conflicting paths come from git's exit status, never from its message text: the
    /// paths are those `--numstat -z` lists, each checked alone (`conflictingPaths`).
    public static func patchPreview(_ patchFile: String, repoRoot: String, git: GitClient? = nil) throws
        -> KeepPreview
    {
        let git = try git ?? GitClient()
        let files = try patchPaths(patchFile, repoRoot: repoRoot, git: git)
        if files.isEmpty { return KeepPreview(clean: true, files: [], conflicts: []) }
        if let operation = try git.operationInProgress(in: repoRoot) {
            let detail = GitError.operationInProgress(operation, repoRoot: repoRoot).message
            return KeepPreview(clean: false, files: files, conflicts: [], detail: detail)
        }
        let output = try applyCheck(patchFile, only: nil, in: repoRoot, git: git)
        if output.status.isSuccess { return KeepPreview(clean: true, files: files, conflicts: []) }
        let conflicts = try conflictingPaths(patchFile, paths: files, in: repoRoot, git: git)
        return KeepPreview(clean: false, files: files, conflicts: conflicts, detail: GitText.trim(output.stderrText))
    }

    /// The path of each file the patch changes (its new name, or its old one when deleted:
    /// what `--include` matches), from `git apply --numstat -z`.
    package static func patchPaths(_ patchFile: String, repoRoot: String, git: GitClient) throws -> [String] {
        let numstat = try git.check(
            ["-c", "core.quotepath=false"] + applySettings + ["apply", "--numstat", "-z", "--", patchFile],
            in: repoRoot, reading: true)
        var paths: [String] = []
        for record in NULFields.split(numstat.stdout) {
            let fields = record.split(separator: UInt8(ascii: "\t"), maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[2].isEmpty else { continue }
            let path = String(decoding: fields[2], as: UTF8.self)
            if !paths.contains(path) { paths.append(path) }
        }
        return paths
    }
}
