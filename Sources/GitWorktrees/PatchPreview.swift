import CompanionSystem

extension WorktreeOperations {
    /// The keep preview of a patch that is not on any branch yet (a cloud attempt's diff):
    /// would it apply to the user's working tree now? Only reads: `git apply --numstat` and
    /// `git apply --check` without `--index` read the patch and the working tree, and an
    /// operation in progress (merge, rebase…) stops it as it stops keep.
    public static func patchPreview(_ patchFile: String, repoRoot: String, git: GitClient? = nil) throws
        -> KeepPreview
    {
        let git = try git ?? GitClient()
        let numstat = try git.check(
            ["-c", "core.quotepath=false"] + applySettings + ["apply", "--numstat", "-z", "--", patchFile],
            in: repoRoot, reading: true)
        let files = NULFields.split(numstat.stdout).compactMap { record -> String? in
            let fields = record.split(separator: UInt8(ascii: "\t"), maxSplits: 2, omittingEmptySubsequences: false)
            return fields.count == 3 ? String(decoding: fields[2], as: UTF8.self) : nil
        }
        if files.isEmpty { return KeepPreview(clean: true, files: [], conflicts: []) }
        if let operation = try git.operationInProgress(in: repoRoot) {
            let detail = GitError.operationInProgress(operation, repoRoot: repoRoot).message
            return KeepPreview(clean: false, files: files, conflicts: [], detail: detail)
        }
        let output = try git.run(
            ["-c", "core.quotepath=false"] + applySettings + ["apply", "--check", "--binary", "--", patchFile],
            in: repoRoot, reading: true)
        if output.status.isSuccess { return KeepPreview(clean: true, files: files, conflicts: []) }
        let stderr = GitText.trim(output.stderrText)
        let conflicts = files.filter { stderr.contains($0) }
        return KeepPreview(clean: false, files: files, conflicts: conflicts, detail: stderr)
    }
}
