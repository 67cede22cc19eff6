import CompanionSystem
import CompanionJSON
import ShellGuard

/// The worktree lifecycle of a `task --write --worktree` job: create, capture, keep,
/// discard, keep as a branch, recover, inventory, prune. The job's branch is the durable
/// copy of its work from the first capture on; nothing here deletes a branch or a
/// worktree directory unless its changes are somewhere else too, or the user asked to
/// discard them.
///
/// Every operation takes an optional `GitClient` (tests pass one with a private HOME).
public enum WorktreeOperations {
    public static let directoryName = ".worktrees"
    public static let branchPrefix = "codex/"
    package static let excludeLine = ".worktrees/"
    package static let identityName = "codex-companion"
    package static let identityEmail = "codex-companion@localhost"

    // MARK: create

    /// Validates (git repository, has a commit, base resolves) before creating anything,
    /// then records a creation intent (see `CreationIntent`), creates
    /// `<repoRoot>/.worktrees/<jobId>` locked, on a new branch `codex/<jobId>` at the base
    /// commit, and adds `.worktrees/` to the exclude file git reads. The caller ends the
    /// creation with `finishCreation` once the job's record owns the worktree.
    public static func create(
        fromDirectory cwd: String, jobId: String, baseRef: String?, git: GitClient? = nil
    ) throws -> WorktreeInfo {
        let git = try git ?? GitClient()
        try validateJobId(jobId)
        let directory = FileSystem.realPath(cwd) ?? cwd
        let ref = baseRef ?? "HEAD"
        let (root, excludePath, base) = try resolveStart(directory, ref: ref, git: git)
        let info = WorktreeInfo(
            repoRoot: root, path: root + "/" + directoryName + "/" + jobId, branch: branchPrefix + jobId,
            baseRef: ref, baseCommit: base)
        if FileSystem.exists(info.path) { throw GitError.worktreePathExists(path: info.path) }

        try ensureExcluded(excludePath)
        try addLockedWorktree(info, jobId: jobId, excludePath: excludePath, git: git)
        return info
    }

    /// Records the creation intent, then `git worktree add --lock -b <branch> <path>
    /// <baseCommit>`; a half-made worktree (which holds nothing yet) is undone.
    /// - Parameter excludePath: `<common>/info/exclude`, which names the common directory.
    package static func addLockedWorktree(
        _ info: WorktreeInfo, jobId: String, excludePath: String, git: GitClient
    ) throws {
        let root = info.repoRoot
        let base = info.baseCommit
        // The intent comes first: from here on every prune knows the worktree is being made.
        // `<common>/info/exclude` names the common directory without another git run.
        try writeCreationIntent(info, commonDirectory: Path.dirname(Path.dirname(excludePath)))
        FaultPoint.createAfterIntent.hit()
        // Created locked in one step, so no prune can ever see it unlocked.
        let arguments = [
            "-c", "advice.detachedHead=false", "worktree", "add", "--quiet", "--lock", "--reason", lockReason(jobId),
            "-b", info.branch, info.path, base,
        ]
        let lock = try worktreesLock(commonDirectory: Path.dirname(Path.dirname(excludePath)))
        // Whether the branch was there before decides what a failure means (not git's message),
        // and a branch that was there before is never removed by the undo below.
        let (branchExisted, output) = try withExtendedLifetime(lock) {
            (try git.branchExists(info.branch, in: root), try git.run(arguments, in: root))
        }
        guard output.status.isSuccess else {
            if branchExisted, !FileSystem.exists(info.path) {
                throw GitError.branchExists(branch: info.branch, repoRoot: root)
            }
            // A half-made worktree holds nothing yet: undo it (failures here leave what the
            // creation intent names, which prune removes).
            if !branchExisted, try git.commit(of: "refs/heads/" + info.branch, in: root) == base {
                _ = try? git.run(["worktree", "remove", "--force", info.path], in: root)
                _ = try? git.run(["worktree", "prune"], in: root)
                _ = try? git.run(["branch", "-D", "--", info.branch], in: root)
            }
            try FileSystem.remove(
                creationIntentPath(commonDirectory: Path.dirname(Path.dirname(excludePath)), jobId: jobId))
            throw GitError.commandFailed(GitClient.failure(git.request(arguments, in: root), output))
        }
        FaultPoint.createAfterAdd.hit()
    }

    /// The top level, the exclude file and the base commit, in one `rev-parse` when all is
    /// well; when not, separate questions pick the right error.
    package static func resolveStart(_ directory: String, ref: String, git: GitClient) throws -> (
        String, String, String
    ) {
        if FileSystem.isDirectory(directory) {
            let output = try git.run(
                [
                    "rev-parse", "--show-toplevel", "--path-format=absolute", "--git-path", "info/exclude",
                    "--verify", "--quiet", "--end-of-options", ref + "^{commit}",
                ], in: directory, reading: true)
            if output.status.isSuccess, let lines = GitClient.lines(output.stdout, count: 3), !lines[0].isEmpty {
                return (lines[0], lines[1], lines[2])
            }
        }
        let (root, excludePath) = try git.topLevelAndGitPath("info/exclude", of: directory)
        guard let base = try git.commit(of: ref, in: root) else {
            if try !git.hasCommit(in: root) { throw GitError.noCommits(repoRoot: root) }
            throw GitError.unknownRevision(ref: ref, repoRoot: root)
        }
        return (root, excludePath, base)
    }

    package static func lockReason(_ jobId: String) -> String { "codex-companion job \(jobId) running" }

    /// Adds `.worktrees/` to the exclude file git reads for this working tree (`path` is
    /// `git rev-parse --git-path info/exclude`: the common one, also right from a
    /// subdirectory or a linked worktree), once.
    package static func ensureExcluded(_ path: String) throws {
        let existing = try FileSystem.read(path) ?? []
        let lines = String(decoding: existing, as: UTF8.self).split(separator: "\n").map { GitText.trim(String($0)) }
        let accepted: Set<String> = [".worktrees/", "/.worktrees/", ".worktrees", "/.worktrees"]
        if lines.contains(where: accepted.contains) { return }
        var bytes = existing
        if let last = bytes.last, last != 0x0A { bytes.append(0x0A) }
        bytes.append(contentsOf: Array((excludeLine + "\n").utf8))
        try FileSystem.createDirectory(Path.dirname(path), mode: 0o755)
        try AtomicFile.write(bytes, to: path, mode: 0o644)
    }

    // MARK: unlock

    /// Unlocks the worktree; "not locked" and an already removed worktree are fine.
    public static func unlock(_ info: WorktreeInfo, git: GitClient? = nil) throws {
        let git = try git ?? GitClient()
        let output = try git.run(["worktree", "unlock", info.path], in: info.repoRoot)
        if output.status.isSuccess { return }
        let stderr = output.stderrText
        if stderr.contains("is not locked") || stderr.contains("is not a working tree") { return }
        throw GitError.commandFailed(
            GitClient.failure(git.request(["worktree", "unlock", info.path], in: info.repoRoot), output))
    }

    // MARK: capture and summary

    /// Captures everything the turn left in the worktree (modified, deleted, new and binary
    /// files; commits Codex made are already on the branch) as one companion commit on the
    /// branch: no hooks, no signing, a fixed identity, the job id in the message. Ignored
    /// files are not captured; they are listed in `ignoredPaths`. Nothing to commit is fine.
    /// When the worktree directory is gone, this reports what the branch holds.
    @discardableResult
    public static func capture(_ info: WorktreeInfo, jobId: String, git: GitClient? = nil) throws -> WorktreeCapture {
        let git = try git ?? GitClient()
        try validate(info, jobId: jobId)
        try requireRepository(info)
        let state = try checkoutState(info, git: git)
        guard state.usable else {
            guard try git.branchExists(info.branch, in: info.repoRoot) else {
                throw GitError.workMissing(branch: info.branch, path: info.path)
            }
            return try branchSummary(info, git: git)
        }
        try clearStaleLocks(info, git: git)
        let committed = try commitWorktree(info, jobId: jobId, state: state, probeFirst: false, git: git)
        let ignored = try ignoredFiles(in: info.path, git: git)
        var result = try branchSummary(info, git: git)
        result.committed = committed
        result.ignoredPaths = ignored
        return result
    }

    /// Diff stat and changed paths of base..branch.
    public static func summary(_ info: WorktreeInfo, git: GitClient? = nil) throws -> WorktreeCapture {
        let git = try git ?? GitClient()
        try requireRepository(info)
        return try branchSummary(info, git: git)
    }

    package static func branchSummary(_ info: WorktreeInfo, git: GitClient) throws -> WorktreeCapture {
        guard let head = try git.commit(of: "refs/heads/" + info.branch, in: info.repoRoot) else {
            throw GitError.branchMissing(branch: info.branch, repoRoot: info.repoRoot)
        }
        let (changes, stat) = try git.diffSummary(from: info.baseCommit, to: head, in: info.repoRoot)
        return WorktreeCapture(
            head: head, committed: false, hasChanges: !changes.isEmpty, diffStat: stat,
            changedPaths: changes.map(\.path),
            nestedRepositories: changes.filter { $0.newMode == "160000" }.map(\.path))
    }

    /// Puts the worktree back on its branch if needed, stages everything and commits it.
    /// Returns whether a commit was made.
    /// - Parameter probeFirst: ask `git status` first and skip staging when the worktree is
    ///   clean (cheaper when nothing is expected to have changed, as at keep time).
    package static func commitWorktree(
        _ info: WorktreeInfo, jobId: String, state: CheckoutState, probeFirst: Bool, git: GitClient
    ) throws -> Bool {
        if case .elsewhere = state { try ensureOnBranch(info, git: git) }
        if probeFirst, case .onBranch = state {
            let status = try git.check(
                ["status", "--porcelain=v1", "-z", "--untracked-files=normal", "--ignore-submodules=none"],
                in: info.path, reading: true)
            if status.stdout.isEmpty { return false }
        }
        try git.check(["add", "-A"], in: info.path)
        let arguments = [
            "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", "-c", "gc.auto=0",
            "-c", "user.name=" + identityName, "-c", "user.email=" + identityEmail,
            "commit", "--quiet", "--no-verify", "--no-gpg-sign", "--cleanup=verbatim",
            "-m", "codex-companion: capture changes of job \(jobId)",
        ]
        let commit = try git.run(arguments, in: info.path, environment: identityEnvironment)
        if commit.status.isSuccess { return true }
        // `git commit` also exits 1 when there is nothing to commit: tell the two apart.
        let staged = try git.run(
            ["diff", "--cached", "--quiet", "--no-ext-diff", "--ignore-submodules=none"], in: info.path, reading: true)
        if staged.status == .exited(0) { return false }
        throw GitError.commandFailed(GitClient.failure(git.request(arguments, in: info.path), commit))
    }

    package static let identityEnvironment: [String: String] = [
        "GIT_AUTHOR_NAME": identityName, "GIT_AUTHOR_EMAIL": identityEmail,
        "GIT_COMMITTER_NAME": identityName, "GIT_COMMITTER_EMAIL": identityEmail,
    ]

    /// Makes sure the worktree's HEAD is the job branch. Recreates a branch deleted by hand
    /// at the base commit (the worktree's files still hold the work), and follows a HEAD
    /// that Codex moved ahead (detached or on another branch) when the branch is its ancestor.
    package static func ensureOnBranch(_ info: WorktreeInfo, git: GitClient) throws {
        let ref = "refs/heads/" + info.branch
        if try git.commit(of: ref, in: info.path) == nil {
            try git.check(
                ["update-ref", "-m", "codex-companion: recreate job branch", ref, info.baseCommit, ""], in: info.path)
        }
        let symbolic = try git.run(["symbolic-ref", "--quiet", "HEAD"], in: info.path, reading: true)
        if symbolic.status.isSuccess && GitClient.dropFinalNewline(symbolic.stdout) == ref { return }
        guard let head = try git.commit(of: "HEAD", in: info.path),
            let branchHead = try git.commit(of: ref, in: info.path)
        else {
            throw GitError.worktreeLeftBranch(path: info.path, branch: info.branch)
        }
        if head != branchHead {
            guard try git.isAncestor(branchHead, of: head, in: info.path) else {
                throw GitError.worktreeLeftBranch(path: info.path, branch: info.branch)
            }
            try git.check(
                ["update-ref", "-m", "codex-companion: follow worktree HEAD", ref, head, branchHead], in: info.path)
        }
        try git.check(["symbolic-ref", "HEAD", ref], in: info.path)
    }

    /// Untracked files and directories that ignore rules keep out of `git add -A`.
    package static func ignoredFiles(in directory: String, git: GitClient) throws -> [String] {
        let output = try git.check(
            ["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"], in: directory,
            reading: true)
        let paths = NULFields.split(output.stdout).map { String(decoding: $0, as: UTF8.self) }
        // git lists an ignored directory and, sometimes, files inside it too: keep the directory.
        let directories = paths.filter { $0.hasSuffix("/") }
        return paths.filter { path in !directories.contains { path != $0 && path.hasPrefix($0) } }
    }

    // MARK: discard and keep as a branch

    /// Removes the worktree (unlocking it first, forcing past uncommitted files) and deletes
    /// the branch. This destroys the job's work: call it only when the user asked to.
    public static func discard(_ info: WorktreeInfo, git: GitClient? = nil) throws {
        let git = try git ?? GitClient()
        try validate(info, jobId: info.jobId)
        try requireRepository(info)
        try removeWorktree(info, git: git, allowPlainDirectory: true)
        try git.deleteBranch(info.branch, in: info.repoRoot)
        try finishCreation(info, git: git)
    }

    /// Captures anything left, then removes the worktree directory and keeps the branch
    /// `codex/<jobId>` with the work committed on it. See `branchInstructions`.
    @discardableResult
    public static func keepAsBranch(_ info: WorktreeInfo, git: GitClient? = nil) throws -> WorktreeCapture {
        let git = try git ?? GitClient()
        let captured = try capture(info, jobId: info.jobId, git: git)
        try removeWorktree(info, git: git, allowPlainDirectory: false)
        return captured
    }

    /// Commands (shell-quoted) to review, merge or check out a job's branch.
    public static func branchInstructions(_ info: WorktreeInfo) -> [String] {
        let repo = "git -C " + ShellWords.quote(info.repoRoot)
        let branch = ShellWords.quote(info.branch)
        return [
            "\(repo) diff \(ShellWords.quote(info.baseCommit + ".." + info.branch))",
            "\(repo) merge \(branch)",
            "\(repo) checkout \(branch)",
        ]
    }

    // MARK: a moved repository

    /// The record of a job whose repository was moved (its worktree moved with it, being
    /// inside it): paths rebased on `newDirectory`'s top level, and git's links between the
    /// repository and the worktree repaired (`git worktree repair`).
    public static func relocate(_ info: WorktreeInfo, to newDirectory: String, git: GitClient? = nil) throws
        -> WorktreeInfo
    {
        let git = try git ?? GitClient()
        let root = try git.topLevel(of: FileSystem.realPath(newDirectory) ?? newDirectory)
        var moved = info
        moved.repoRoot = root
        moved.path = root + "/" + directoryName + "/" + info.jobId
        try validate(moved, jobId: info.jobId)
        guard try git.commit(of: moved.baseCommit, in: root) != nil else {
            throw GitError.unknownRevision(ref: moved.baseCommit, repoRoot: root)
        }
        if FileSystem.isDirectory(moved.path) {
            try git.check(["worktree", "repair", moved.path], in: root)
        }
        return moved
    }

    // MARK: shared pieces

    package static func validateJobId(_ id: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !id.isEmpty, id.count <= 128, id.allSatisfy(allowed.contains), !id.hasPrefix("."), !id.hasPrefix("-"),
            !id.hasSuffix("."), !id.contains(".."), !id.hasSuffix(".lock")
        else { throw GitError.invalidJobId(id) }
    }

    /// Refuses records that do not describe a companion worktree, so nothing outside
    /// `<repo>/.worktrees/` and `codex/*` is ever removed.
    package static func validate(_ info: WorktreeInfo, jobId: String) throws {
        try validateJobId(jobId)
        guard info.path == info.repoRoot + "/" + directoryName + "/" + jobId, info.branch == branchPrefix + jobId else {
            throw GitError.notACompanionWorktree(path: info.path)
        }
    }

    /// The user's working tree is still where the record says (checked without running git;
    /// git itself then reports anything stranger).
    package static func requireRepository(_ info: WorktreeInfo) throws {
        guard FileSystem.isDirectory(info.repoRoot), FileSystem.exists(info.repoRoot + "/.git") else {
            throw GitError.repositoryMissing(repoRoot: info.repoRoot)
        }
    }

    package enum CheckoutState: Equatable {
        /// Missing, or not a working tree of its own (git run there could reach the user's repository).
        case unusable
        /// Its own working tree, HEAD on the job branch, which is at `head`.
        case onBranch(head: String)
        /// Its own working tree, HEAD elsewhere (detached, another branch, or the branch deleted).
        case elsewhere

        package var usable: Bool { self != .unusable }
    }

    /// One `rev-parse` in the worktree answers all three questions in the usual case.
    package static func checkoutState(_ info: WorktreeInfo, git: GitClient) throws -> CheckoutState {
        guard FileSystem.isDirectory(info.path), FileSystem.exists(info.path + "/.git") else { return .unusable }
        let output = try git.run(
            ["rev-parse", "--show-toplevel", "HEAD^{commit}", "--symbolic-full-name", "HEAD"], in: info.path,
            reading: true)
        if output.status.isSuccess, let lines = GitClient.lines(output.stdout, count: 3) {
            guard samePath(lines[0], info.path) else { return .unusable }
            return lines[2] == "refs/heads/" + info.branch ? .onBranch(head: lines[1]) : .elsewhere
        }
        // An unborn HEAD (the branch was deleted) or a path with a newline: ask separately.
        return try worktreeIsUsable(info, git: git) ? .elsewhere : .unusable
    }

    /// The worktree directory exists and git sees it as its own working tree.
    package static func worktreeIsUsable(_ info: WorktreeInfo, git: GitClient) throws -> Bool {
        guard FileSystem.isDirectory(info.path), FileSystem.exists(info.path + "/.git") else { return false }
        // git cannot read it as a working tree: not usable.
        guard let top = try? git.topLevel(of: info.path) else { return false }
        return samePath(top, info.path)
    }

    package static func samePath(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard let ra = FileSystem.realPath(a), let rb = FileSystem.realPath(b) else { return false }
        return ra == rb
    }

    /// Unlocks and removes the worktree (its directory and git's record of it). A directory
    /// that is not a registered worktree is only deleted when `allowPlainDirectory`.
    /// Unlocks and removes the worktree (its directory and git's record of it). A directory
    /// that is not a working tree git knows (its `.git` gone or broken) may hold work no
    /// capture could reach, so it is left in place unless the user is discarding.
    /// - Parameter usable: the caller's fresh `worktreeIsUsable` answer, if it has one.
    package static func removeWorktree(
        _ info: WorktreeInfo, git: GitClient, allowPlainDirectory: Bool, usable: Bool? = nil
    ) throws {
        // Unlocking also tells whether git knows the worktree.
        let unlockArguments = ["worktree", "unlock", info.path]
        let unlocked = try git.run(unlockArguments, in: info.repoRoot)
        let registered = unlocked.status.isSuccess || unlocked.stderrText.contains("is not locked")
        if !registered && !unlocked.stderrText.contains("is not a working tree") {
            throw GitError.commandFailed(GitClient.failure(git.request(unlockArguments, in: info.repoRoot), unlocked))
        }
        let lock = try worktreesLock(root: info.repoRoot, git: git)
        defer { withExtendedLifetime(lock) {} }
        var recordRemoved = false
        if FileSystem.exists(info.path) {
            if registered, try usable ?? worktreeIsUsable(info, git: git) {
                let removed = try git.run(["worktree", "remove", "--force", info.path], in: info.repoRoot)
                recordRemoved = removed.status.isSuccess
                if !recordRemoved && FileSystem.exists(info.path) {
                    // e.g. a worktree with submodules, which git refuses to remove; its
                    // content was captured by the caller.
                    try FileSystem.removeTree(info.path)
                }
            } else if allowPlainDirectory {
                try FileSystem.removeTree(info.path)
            }
        }
        if registered && !recordRemoved { try git.check(["worktree", "prune"], in: info.repoRoot) }
        removeEmptyWorktreesDirectory(info.repoRoot)
    }

    /// Removes `<repo>/.worktrees` when nothing is left in it (rmdir: never its contents,
    /// so a worktree another job creates at the same moment is safe).
    package static func removeEmptyWorktreesDirectory(_ repoRoot: String) {
        FileEntries.removeEmptyDirectory(repoRoot + "/" + directoryName)
    }
}
