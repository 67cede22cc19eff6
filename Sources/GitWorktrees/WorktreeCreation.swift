import CompanionSystem
import CompanionJSON

/// A worktree being created: written (fsynced) before `git worktree add`, in the repository's
/// common git directory (`codex-companion/creating/<job>.json`), so every prune sees it,
/// whatever state directory it runs with. It is removed once the job's record owns the
/// worktree (`finishCreation`). An intent whose creating process is gone is an abandoned
/// creation: nothing ever ran in that worktree, so prune removes it.
public struct CreationIntent: Codable, Sendable, Equatable {
    public var version = 1
    public var jobId: String
    public var path: String
    public var branch: String
    public var baseCommit: String
    public var pid: Int32
    public var startTime: Int64?
    public var createdAt: String

    /// The creating process is still the one that wrote the intent.
    public var ownerAlive: Bool { ProcessProbe.isAlive(pid, startTime: startTime) }
}

extension WorktreeOperations {
    package static let creatingDirectory = "codex-companion/creating"

    /// Serializes what adds, removes or prunes worktrees of one repository: concurrent
    /// `git worktree add`s read each other's half-written records ("failed to read
    /// .git/worktrees/<id>/commondir"). An flock in the common git directory, released by
    /// the kernel if the holder dies.
    package static func worktreesLock(commonDirectory: String) throws -> FileLock {
        let path = commonDirectory + "/codex-companion/worktrees.lock"
        try FileSystem.createDirectory(Path.dirname(path), mode: 0o755)
        return try FileLock(exclusive: path)
    }

    package static func worktreesLock(root: String, git: GitClient) throws -> FileLock {
        let path = try git.gitPath("codex-companion/worktrees.lock", in: root)
        return try worktreesLock(commonDirectory: Path.dirname(Path.dirname(path)))
    }

    package static func creationIntentPath(commonDirectory: String, jobId: String) -> String {
        commonDirectory + "/" + creatingDirectory + "/" + jobId + ".json"
    }

    package static func writeCreationIntent(_ info: WorktreeInfo, commonDirectory: String) throws {
        let pid = CurrentProcess.id
        let intent = CreationIntent(
            jobId: info.jobId, path: info.path, branch: info.branch, baseCommit: info.baseCommit, pid: pid,
            startTime: ProcessProbe.startTime(of: pid), createdAt: Timestamp.now())
        let path = creationIntentPath(commonDirectory: commonDirectory, jobId: info.jobId)
        try FileSystem.createDirectory(Path.dirname(path), mode: 0o755)
        try AtomicFile.write(try JSONCoding.encode(intent), to: path, mode: 0o644)
    }

    /// The job's record now owns the worktree: the creation is over.
    public static func finishCreation(_ info: WorktreeInfo, git: GitClient? = nil) throws {
        let git = try git ?? GitClient()
        try FileSystem.remove(try git.gitPath(creatingDirectory + "/" + info.jobId + ".json", in: info.repoRoot))
    }

    /// Every creation intent of the repository, keyed by job id (unreadable ones are skipped:
    /// they are at most a moment old, being written atomically).
    package static func creationIntents(in root: String, git: GitClient) throws -> [String: CreationIntent] {
        let directory = try git.gitPath(creatingDirectory, in: root)
        var result: [String: CreationIntent] = [:]
        for name in try FileSystem.list(directory) where name.hasSuffix(".json") && !name.hasPrefix(".") {
            guard let bytes = try FileSystem.read(directory + "/" + name),
                // An intent that does not parse is still an intent: handled as one without details below.
                let intent = try? JSONCoding.decode(CreationIntent.self, from: bytes)
            else { continue }
            result[intent.jobId] = intent
        }
        return result
    }

    /// Removes what an abandoned creation left (its worktree, forced past the lock and the
    /// half-made checkout; its branch only while it still points at the base), then the intent.
    package static func removeAbandonedCreation(_ intent: CreationIntent, root: String, git: GitClient) throws {
        let info = WorktreeInfo(
            repoRoot: root, path: intent.path, branch: intent.branch, baseRef: "", baseCommit: intent.baseCommit)
        try validate(info, jobId: intent.jobId)
        _ = try git.run(["worktree", "unlock", info.path], in: root)
        if FileSystem.exists(info.path) {
            let removed = try git.run(["worktree", "remove", "--force", "--force", info.path], in: root)
            if !removed.status.isSuccess, !(try FileSystem.list(info.path)).contains(where: { $0 != ".git" }) {
                try FileSystem.removeTree(info.path)
            }
        }
        try git.check(["worktree", "prune"], in: root)
        if let head = try git.commit(of: "refs/heads/" + info.branch, in: root), head == intent.baseCommit {
            try git.deleteBranch(info.branch, in: root)
        }
        try FileSystem.remove(try git.gitPath(creatingDirectory + "/" + intent.jobId + ".json", in: root))
        removeEmptyWorktreesDirectory(root)
    }
}
