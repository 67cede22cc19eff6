import CompanionSystem
import CompanionJSON
import ShellGuard

// Worktrees that start from the user's real state.
//
// The snapshot is built on a temporary index in a private scratch directory: a copy of the
// user's index (so git's stat cache spares it rehashing unchanged files), `git add -A` and
// `git write-tree` with GIT_INDEX_FILE pointing at the copy, then `git commit-tree` with HEAD
// as the parent. git writes objects, and nothing else: the user's files, index, stash and
// refs are only read. The job's branch is the only ref that ever points at the snapshot.

/// Where a worktree starts.
public enum WorktreeStart: Sendable, Equatable {
    /// A snapshot of the user's working tree: HEAD plus staged, unstaged and untracked (not
    /// ignored) files.
    case workingTree
    /// A branch, tag or commit.
    case ref(String)
}

extension WorktreeOperations {
    /// The first line of every snapshot commit.
    public static let snapshotSubject = "codex-companion: snapshot of your working tree"

    /// Commits the user's working tree at `repoRoot` without touching it: see the top of this file.
    /// A tree with nothing beyond HEAD gives `commit == head` (no commit is made).
    /// - Parameter label: the job or group the snapshot is for (named in the message).
    public static func snapshotWorkingTree(
        repoRoot: String, label: String, git: GitClient? = nil
    ) throws -> WorkingTreeSnapshot {
        let git = try git ?? GitClient()
        let (userIndex, head, headTree) = try snapshotStart(repoRoot, git: git)
        let tree = try ScratchDirectory.with(prefix: "codex-companion-snapshot") { scratch in
            try workingTreeTree(repoRoot: repoRoot, userIndex: userIndex, head: head, scratch: scratch, git: git)
        }
        if tree == headTree { return WorkingTreeSnapshot(commit: head, head: head, paths: []) }
        let message =
            snapshotSubject + "\n\n"
            + "HEAD \(head) plus the staged, unstaged and untracked (not ignored) files of\n"
            + "\(repoRoot) when \(label) started. The job's worktree starts here; keep applies\n"
            + "only the commits after this one.\n"
        let commit = try git.text(
            ["-c", "commit.gpgsign=false", "commit-tree", "--no-gpg-sign", tree, "-p", head, "-m", message],
            in: repoRoot, environment: identityEnvironment)
        let changes = try git.diffSummary(from: head, to: commit, in: repoRoot, withStat: false).changes
        return WorkingTreeSnapshot(commit: commit, head: head, paths: changes.map(\.path))
    }

    /// The index file, HEAD and HEAD's tree: one `rev-parse` when all is well; separate
    /// questions pick the right error when not.
    package static func snapshotStart(_ repoRoot: String, git: GitClient) throws -> (String, String, String) {
        let output = try git.run(
            ["rev-parse", "--path-format=absolute", "--git-path", "index", "HEAD^{commit}", "HEAD^{tree}"],
            in: repoRoot, reading: true)
        if output.status.isSuccess, let lines = GitClient.lines(output.stdout, count: 3) {
            return (Path.absolute(lines[0], relativeTo: repoRoot), lines[1], lines[2])
        }
        let index = try git.gitPath("index", in: repoRoot)
        guard let head = try git.commit(of: "HEAD", in: repoRoot) else {
            if try !git.hasCommit(in: repoRoot) { throw GitError.noCommits(repoRoot: repoRoot) }
            throw GitError.unknownRevision(ref: "HEAD", repoRoot: repoRoot)
        }
        return (index, head, try git.text(["rev-parse", "--verify", head + "^{tree}"], in: repoRoot, reading: true))
    }

    /// The tree id of the working tree, through a temporary index in `scratch`.
    package static func workingTreeTree(
        repoRoot: String, userIndex: String, head: String, scratch: String, git: GitClient
    ) throws -> String {
        let index = scratch + "/index"
        let environment = ["GIT_INDEX_FILE": index]
        if let bytes = try FileSystem.read(userIndex) {
            try ScratchDirectory.replaceFile(bytes, at: index)
        } else {
            try git.check(["read-tree", head], in: repoRoot, environment: environment)
        }
        // `.worktrees/` is excluded before this runs, so companion worktrees never get in.
        try git.check(["add", "-A"], in: repoRoot, environment: environment)
        return try git.text(["write-tree"], in: repoRoot, environment: environment)
    }

    /// Creates the job's worktree from `start` (see `create(fromDirectory:jobId:baseRef:git:)`);
    /// from the working tree, the snapshot commit is the base and the branch starts there.
    /// - Parameter snapshot: one already taken for this repository (a group of attempts shares one).
    public static func create(
        fromDirectory cwd: String, jobId: String, start: WorktreeStart, snapshot: WorkingTreeSnapshot? = nil,
        git: GitClient? = nil
    ) throws -> WorktreeInfo {
        let git = try git ?? GitClient()
        guard case .workingTree = start else {
            guard case .ref(let ref) = start else { preconditionFailure("unreachable") }
            return try create(fromDirectory: cwd, jobId: jobId, baseRef: ref, git: git)
        }
        try validateJobId(jobId)
        let directory = FileSystem.realPath(cwd) ?? cwd
        let (root, excludePath, _) = try resolveStart(directory, ref: "HEAD", git: git)
        let path = root + "/" + directoryName + "/" + jobId
        if FileSystem.exists(path) { throw GitError.worktreePathExists(path: path) }
        try ensureExcluded(excludePath)
        let taken = try snapshot ?? snapshotWorkingTree(repoRoot: root, label: "job \(jobId)", git: git)
        let info = WorktreeInfo(
            repoRoot: root, path: path, branch: branchPrefix + jobId, baseRef: "HEAD", baseCommit: taken.commit,
            snapshot: taken)
        try addLockedWorktree(info, jobId: jobId, excludePath: excludePath, git: git)
        return info
    }

    /// Creates one worktree per job id from the same start (one snapshot for all). All or
    /// nothing: when one cannot be made, those already made (which hold nothing yet) are removed.
    public static func createAll(
        fromDirectory cwd: String, jobIds: [String], start: WorktreeStart, git: GitClient? = nil
    ) throws -> [WorktreeInfo] {
        let git = try git ?? GitClient()
        var snapshot: WorkingTreeSnapshot?
        if case .workingTree = start, let first = jobIds.first {
            try validateJobId(first)
            let directory = FileSystem.realPath(cwd) ?? cwd
            let (root, excludePath, _) = try resolveStart(directory, ref: "HEAD", git: git)
            try ensureExcluded(excludePath)
            snapshot = try snapshotWorkingTree(
                repoRoot: root, label: "attempts \(jobIds.joined(separator: ", "))", git: git)
        }
        var made: [WorktreeInfo] = []
        do {
            for id in jobIds {
                made.append(try create(fromDirectory: cwd, jobId: id, start: start, snapshot: snapshot, git: git))
            }
        } catch {
            // Worktrees this call made a moment ago and that hold nothing yet; the first error is thrown.
            for info in made { try? discard(info, git: git) }
            throw error
        }
        return made
    }

    /// Commands (shell-quoted) to review, merge or check out a job's branch. A branch that
    /// starts with a snapshot of the user's tree is picked onto it commit by commit after
    /// the snapshot, so the user's own edits are not merged in a second time.
    public static func branchCommands(_ info: WorktreeInfo) -> [String] {
        guard let snapshot = info.snapshot, !snapshot.isClean else { return branchInstructions(info) }
        let repo = "git -C " + ShellWords.quote(info.repoRoot)
        let range = ShellWords.quote(snapshot.commit + ".." + info.branch)
        return [
            "\(repo) diff \(range)",
            "\(repo) cherry-pick \(range)",
            "\(repo) checkout \(ShellWords.quote(info.branch))",
        ]
    }
}
