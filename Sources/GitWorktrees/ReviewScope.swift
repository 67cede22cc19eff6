import CompanionSystem
import CompanionJSON

/// What the user asked to review.
public enum ReviewSelection: Sendable, Equatable {
    /// Uncommitted changes when there are any, else the branch against the default branch.
    case automatic
    case uncommitted
    case base(String)
    case commit(String)
}

/// What a review will look at, resolved against the repository before Codex is started
/// (Codex accepts unknown refs and clean trees, so this is where they are caught).
public struct ReviewScope: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case uncommitted
        case base
        case commit
    }

    public var kind: Kind
    /// The directory the review runs in: the repository's top level (or a job's worktree).
    public var repoRoot: String
    /// `base`: the ref as given or detected (`main`, `origin/main`, a sha).
    public var baseRef: String?
    /// `base`: the merge base of HEAD and `baseRef`.
    public var mergeBase: String?
    /// `commit`: the full sha.
    public var commit: String?
    /// `commit`: its subject line.
    public var commitTitle: String?
    /// For people: "uncommitted changes", "the current branch against 'main'", "commit abc1234: Fix".
    public var label: String
    /// Nothing to review: no Codex turn is started.
    public var isEmpty: Bool
}

/// Resolves review selections and answers "is there anything to review?".
public enum ReviewScopes {
    /// Resolves `selection` in the repository containing `directory`.
    /// - Throws: `GitError.notARepository` outside a working tree, `.unknownRevision` for a
    ///   ref or sha that names no commit, `.noCommits`, `.noMergeBase`, `.noDefaultBranch`.
    public static func resolve(_ selection: ReviewSelection, in directory: String, git: GitClient) throws
        -> ReviewScope
    {
        let root = try git.topLevel(of: directory)
        switch selection {
        case .uncommitted:
            return uncommitted(root: root, changed: try hasUncommittedChanges(root, git: git))
        case .automatic:
            if try hasUncommittedChanges(root, git: git) { return uncommitted(root: root, changed: true) }
            guard try git.hasCommit(in: root) else { return uncommitted(root: root, changed: false) }
            guard let base = try defaultBranch(root, git: git) else { throw GitError.noDefaultBranch(repoRoot: root) }
            return try against(base, root: root, git: git)
        case .base(let ref):
            guard try git.hasCommit(in: root) else { throw GitError.noCommits(repoRoot: root) }
            return try against(ref, root: root, git: git)
        case .commit(let sha):
            guard let full = try git.commit(of: sha, in: root) else {
                throw GitError.unknownRevision(ref: sha, repoRoot: root)
            }
            let title = try git.text(["log", "-1", "--format=%s", full], in: root, reading: true)
            let short = String(full.prefix(7))
            return ReviewScope(
                kind: .commit, repoRoot: root, commit: full, commitTitle: title.isEmpty ? nil : title,
                label: title.isEmpty ? "commit \(short)" : "commit \(short): \(title)", isEmpty: false)
        }
    }

    /// The changes of a worktree job's branch against the commit it started from, reviewed
    /// inside the worktree (which the capture left clean).
    public static func worktreeJob(_ info: WorktreeInfo, git: GitClient) throws -> ReviewScope {
        guard FileSystem.isDirectory(info.path) else { throw GitError.repositoryMissing(repoRoot: info.path) }
        let head = try git.text(["rev-parse", "HEAD"], in: info.path, reading: true)
        let base = String(info.baseCommit.prefix(12))
        let dirty = try hasUncommittedChanges(info.path, git: git)
        return ReviewScope(
            kind: .base, repoRoot: info.path, baseRef: info.baseCommit, mergeBase: info.baseCommit,
            label: "the changes on \(info.branch) against \(base)",
            isEmpty: head == info.baseCommit && !dirty)
    }

    private static func uncommitted(root: String, changed: Bool) -> ReviewScope {
        ReviewScope(kind: .uncommitted, repoRoot: root, label: "uncommitted changes", isEmpty: !changed)
    }

    private static func against(_ ref: String, root: String, git: GitClient) throws -> ReviewScope {
        guard let target = try git.commit(of: ref, in: root) else {
            throw GitError.unknownRevision(ref: ref, repoRoot: root)
        }
        guard let base = try git.mergeBase("HEAD", target, in: root) else {
            throw GitError.noMergeBase(ref: ref, repoRoot: root)
        }
        let head = try git.text(["rev-parse", "HEAD"], in: root, reading: true)
        let dirty = try hasUncommittedChanges(root, git: git)
        let empty = head == base && !dirty
        return ReviewScope(
            kind: .base, repoRoot: root, baseRef: ref, mergeBase: base,
            label: "the current branch against '\(ref)'", isEmpty: empty)
    }

    /// Whether anything is staged, unstaged or untracked (ignored files do not count).
    public static func hasUncommittedChanges(_ root: String, git: GitClient) throws -> Bool {
        let output = try git.check(
            ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=none"], in: root,
            reading: true)
        return !output.stdout.isEmpty
    }

    /// `origin/HEAD`'s target, else the first of main, master, trunk that exists as a local
    /// branch, then under `origin/`; nil when none does.
    public static func defaultBranch(_ root: String, git: GitClient) throws -> String? {
        let remoteHead = try git.run(
            ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], in: root, reading: true)
        if remoteHead.status.isSuccess {
            let name = GitText.trim(remoteHead.stdoutText)
            if !name.isEmpty, try git.commit(of: name, in: root) != nil { return name }
        }
        for name in ["main", "master", "trunk"] {
            for candidate in ["refs/heads/\(name)", "refs/remotes/origin/\(name)"] {
                let probe = try git.run(["rev-parse", "--verify", "--quiet", candidate], in: root, reading: true)
                if probe.status.isSuccess { return candidate.hasPrefix("refs/heads/") ? name : "origin/\(name)" }
            }
        }
        return nil
    }
}
