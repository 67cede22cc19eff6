import CompanionSystem
import CompanionJSON
import ShellGuard

/// Where a job's isolated worktree lives (stored inside the job record).
public struct WorktreeInfo: Codable, Sendable, Equatable {
    /// Top level of the user's working tree the job was started from.
    public var repoRoot: String
    /// `<repoRoot>/.worktrees/<jobId>`
    public var path: String
    /// `codex/<jobId>`
    public var branch: String
    /// What the user asked for (default "HEAD").
    public var baseRef: String
    /// The commit the worktree started from: what `baseRef` resolved to, or the snapshot
    /// commit of the user's working tree. Keep applies baseCommit→branch.
    public var baseCommit: String
    /// Set when the worktree started from a snapshot of the user's working tree (then
    /// `baseCommit` is `snapshot.commit`); nil when it started from a ref.
    public var snapshot: WorkingTreeSnapshot?

    public init(
        repoRoot: String, path: String, branch: String, baseRef: String, baseCommit: String,
        snapshot: WorkingTreeSnapshot? = nil
    ) {
        self.repoRoot = repoRoot
        self.path = path
        self.branch = branch
        self.baseRef = baseRef
        self.baseCommit = baseCommit
        self.snapshot = snapshot
    }

    /// The job id the path and branch were named after.
    public var jobId: String { Path.basename(path) }
}

/// The user's working tree as a commit: HEAD plus staged, unstaged and untracked (not
/// ignored) files, built on a temporary index. No ref points at it but the job's branch.
public struct WorkingTreeSnapshot: Codable, Sendable, Equatable {
    /// The snapshot commit, whose parent is `head`; equal to `head` when the tree was clean.
    public var commit: String
    /// The user's HEAD commit when the snapshot was taken.
    public var head: String
    /// Paths where the snapshot differs from HEAD (what Codex saw beyond HEAD).
    public var paths: [String]

    public init(commit: String, head: String, paths: [String]) {
        self.commit = commit
        self.head = head
        self.paths = paths
    }

    /// The tree had nothing beyond HEAD: no snapshot commit was made.
    public var isClean: Bool { commit == head }
}

/// What a capture (or a summary) found on the job's branch.
public struct WorktreeCapture: Codable, Sendable, Equatable {
    /// The branch head commit.
    public var head: String
    /// True when this call made a companion commit (false when there was nothing new).
    public var committed: Bool
    /// Whether base..branch changes anything.
    public var hasChanges: Bool
    /// `git diff --stat base..branch`, human text ("" when nothing changed).
    public var diffStat: String
    /// Every path base..branch touches (no rename pairing: a rename is a delete and an add).
    public var changedPaths: [String]
    /// New files in the worktree that .gitignore rules kept out of the commit; they are
    /// NOT on the branch and are lost when the worktree is removed. Ignored directories end with "/".
    public var ignoredPaths: [String] = []
    /// Nested repositories (gitlinks) on the branch: only their commit id is recorded, not their files.
    public var nestedRepositories: [String] = []
}

/// How a keep ended. Every case leaves the user's tree either unchanged or fully applied.
public enum KeepOutcome: Codable, Sendable, Equatable {
    /// The changes are in the user's working tree (and in the index when `staged`); the
    /// worktree and the branch are gone.
    case applied(stat: String, staged: Bool, paths: [String])
    /// The branch changed nothing; the worktree and the branch were removed.
    case nothingToApply
    /// Nothing was applied: every user file is byte-identical to before, and the worktree
    /// and the branch are still there. `paths` are the conflicting paths, `detail` git's words.
    case conflict(paths: [String], detail: String)
}

/// How an interrupted keep was settled.
public enum RecoveryOutcome: Codable, Sendable, Equatable {
    /// The keep's own writes were undone: `paths` hold what they held before it. Paths in
    /// `leftToUser` changed after the keep wrote or checked them and were left exactly as they
    /// are. The worktree and branch are still there, so the job is back to awaiting a decision.
    case rolledBack(paths: [String], leftToUser: [String] = [])
    /// The keep had applied everything; its cleanup (worktree, branch, backup) was finished.
    case completed
    /// The keep had not started applying: nothing in the user's tree changed.
    case notApplied
}

/// What `inventory` found about one companion worktree, branch or job.
public struct WorktreeInventoryEntry: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A job's worktree whose directory exists.
        case active
        /// A `.worktrees/<id>` directory (or registered worktree) without a job.
        case orphanDirectory = "orphan-directory"
        /// A job whose worktree directory is gone (its branch may still hold the work).
        case vanished
        /// A `codex/*` branch with neither a job nor a directory.
        case orphanBranch = "orphan-branch"
    }

    public var id: String
    public var kind: Kind
    public var hasJob: Bool
    /// `<repo>/.worktrees/<id>`, whether or not it exists.
    public var path: String
    public var directoryExists: Bool
    /// Registered in `git worktree list`.
    public var registered: Bool
    public var locked: Bool
    /// `codex/<id>` when that branch exists.
    public var branch: String?
    public var branchHead: String?
    /// The base used for the stat: the job's base commit, else merge-base(HEAD, branch).
    public var base: String?
    public var diffStat: String
    public var changedPaths: [String]
    /// The directory has changes (tracked, untracked or ignored files) not committed on its branch.
    public var hasUncommittedChanges: Bool
    /// The branch's changes exist somewhere else too: no diff against the base, or its head
    /// is reachable from HEAD or from a branch outside codex/*.
    public var changesExistElsewhere: Bool
    /// `creating` while a live process is making it; `abandoned` when that process died
    /// before the job's record took it over; nil for a worktree no creation is under way for.
    public var creation: CreationState? = nil
    /// git's lock reason, when locked.
    public var lockReason: String? = nil
}

public enum CreationState: String, Codable, Sendable {
    case creating, abandoned
}

public struct WorktreeInventory: Codable, Sendable, Equatable {
    public var repoRoot: String
    public var entries: [WorktreeInventoryEntry]

    public var orphans: [WorktreeInventoryEntry] { entries.filter { $0.kind != .active } }
}

/// What `prune` removed (or, in a dry run, would remove) and what it kept, each with a reason.
public struct PruneReport: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable { case worktree, branch, metadata }
        public var kind: Kind
        /// A path for worktrees and metadata, a branch name for branches.
        public var name: String
        public var id: String?
        public var reason: String
    }

    public var dryRun: Bool
    public var removed: [Item]
    public var kept: [Item]
}
