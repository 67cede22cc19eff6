import CompanionSystem
import CompanionJSON
import ShellGuard

extension WorktreeOperations {
    /// Every companion worktree of the repository (`.worktrees/<id>` directories, registered
    /// worktrees under `.worktrees/`, `codex/*` branches) matched with `jobs` (keyed by job
    /// id; jobs of other repositories are ignored), orphans included.
    public static func inventory(
        repoRoot: String, jobs: [String: WorktreeInfo], git: GitClient? = nil
    ) throws -> WorktreeInventory {
        let git = try git ?? GitClient()
        let root = try git.topLevel(of: repoRoot)
        let container = root + "/" + directoryName
        let head = try git.commit(of: "HEAD", in: root)

        var registered: [String: GitWorktreeEntry] = [:]
        for entry in try git.worktrees(in: root) {
            let parent = Path.dirname(entry.path)
            if parent == container || samePath(parent, container) { registered[Path.basename(entry.path)] = entry }
        }
        let branches = try git.branches(withPrefix: branchPrefix, in: root)
        let ownJobs = jobs.filter { samePath($0.value.repoRoot, root) || $0.value.repoRoot == root }

        var ids = Set(try FileSystem.list(container))
        ids.formUnion(registered.keys)
        ids.formUnion(branches.keys.map { GitText.dropPrefix($0, branchPrefix) })
        ids.formUnion(ownJobs.keys)
        let creations = try creationIntents(in: root, git: git)
        ids.formUnion(creations.keys)

        var entries: [WorktreeInventoryEntry] = []
        for id in ids.sorted() {
            let job = ownJobs[id]
            let path = job?.path ?? container + "/" + id
            let branch = job?.branch ?? branchPrefix + id
            let branchHead = branches[branch]
            let directoryExists = FileSystem.exists(path)
            let worktree = registered[id]
            let kind: WorktreeInventoryEntry.Kind
            if job != nil {
                kind = directoryExists ? .active : .vanished
            } else {
                kind = directoryExists || worktree != nil ? .orphanDirectory : .orphanBranch
            }

            var base = job?.baseCommit
            if base == nil, let branchHead, let head { base = try git.mergeBase(head, branchHead, in: root) }
            var changes: [GitChange] = []
            var stat = ""
            if let base, let branchHead {
                (changes, stat) = try git.diffSummary(from: base, to: branchHead, in: root)
            }

            var uncommitted = false
            if directoryExists {
                let probe = WorktreeInfo(
                    repoRoot: root, path: path, branch: branch, baseRef: "", baseCommit: base ?? "")
                if try worktreeIsUsable(probe, git: git) {
                    uncommitted = try hasUncommittedWork(in: path, branchHead: branchHead, git: git)
                } else {
                    // Not a working tree git knows: its files are nowhere else unless it is empty.
                    uncommitted = !(try FileSystem.list(path)).isEmpty || !FileSystem.isDirectory(path)
                }
            }

            var elsewhere = false
            if let branchHead {
                if changes.isEmpty && base != nil {
                    elsewhere = true
                } else if let head, try git.isAncestor(branchHead, of: head, in: root) {
                    elsewhere = true
                } else {
                    elsewhere = try reachableFromOtherBranch(branchHead, in: root, git: git)
                }
            }

            entries.append(
                WorktreeInventoryEntry(
                    id: id, kind: kind, hasJob: job != nil, path: path, directoryExists: directoryExists,
                    registered: worktree != nil, locked: worktree?.isLocked ?? false,
                    branch: branchHead == nil ? nil : branch, branchHead: branchHead, base: base, diffStat: stat,
                    changedPaths: changes.map(\.path), hasUncommittedChanges: uncommitted,
                    changesExistElsewhere: elsewhere,
                    creation: creations[id].map { $0.ownerAlive ? .creating : .abandoned },
                    lockReason: worktree?.lockReason))
        }
        return WorktreeInventory(repoRoot: root, entries: entries)
    }

    /// Tracked changes, untracked or ignored files, or a HEAD with commits the branch lacks.
    package static func hasUncommittedWork(in path: String, branchHead: String?, git: GitClient) throws -> Bool {
        let status = try git.check(
            [
                "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching",
                "--ignore-submodules=none",
            ],
            in: path, reading: true)
        if !status.stdout.isEmpty { return true }
        guard let worktreeHead = try git.commit(of: "HEAD", in: path) else { return false }
        guard let branchHead else { return true }
        return try !git.isAncestor(worktreeHead, of: branchHead, in: path)
    }

    /// Whether `commit` is reachable from a local branch outside codex/*.
    package static func reachableFromOtherBranch(_ commit: String, in root: String, git: GitClient) throws -> Bool {
        let output = try git.check(
            ["for-each-ref", "--format=%(refname)", "--contains", commit, "refs/heads/"], in: root, reading: true)
        // Ref names cannot contain a newline, so lines are safe here.
        return output.stdoutText.split(separator: "\n").contains { !$0.hasPrefix("refs/heads/" + branchPrefix) }
    }

    /// Removes only what is safe: clean orphan worktree directories whose content is committed
    /// on their branch, orphan `codex/*` branches with no changes beyond what HEAD has, and
    /// stale worktree records; then `git worktree prune`. Anything belonging to one of `jobs`
    /// is left to the job's cleanup. With `dryRun`, `removed` says what would be removed.
    public static func prune(
        repoRoot: String, jobs: [String: WorktreeInfo], dryRun: Bool, git: GitClient? = nil
    ) throws -> PruneReport {
        let git = try git ?? GitClient()
        let lock = try worktreesLock(root: try git.topLevel(of: repoRoot), git: git)
        defer { withExtendedLifetime(lock) {} }
        let inventory = try inventory(repoRoot: repoRoot, jobs: jobs, git: git)
        let root = inventory.repoRoot
        var report = PruneReport(dryRun: dryRun, removed: [], kept: [])
        func keep(_ kind: PruneReport.Item.Kind, _ name: String, _ id: String, _ reason: String) {
            report.kept.append(.init(kind: kind, name: name, id: id, reason: reason))
        }
        func remove(_ kind: PruneReport.Item.Kind, _ name: String, _ id: String, _ reason: String) {
            report.removed.append(.init(kind: kind, name: name, id: id, reason: reason))
        }

        for entry in inventory.entries {
            if let state = entry.creation {
                try pruneCreation(entry, state: state, root: root, dryRun: dryRun, git: git, into: &report)
                continue
            }
            if entry.hasJob {
                let reason = "belongs to job \(entry.id); use worktree-cleanup for it"
                if entry.directoryExists { keep(.worktree, entry.path, entry.id, reason) }
                if let branch = entry.branch { keep(.branch, branch, entry.id, reason) }
                continue
            }
            let info = WorktreeInfo(
                repoRoot: root, path: entry.path, branch: branchPrefix + entry.id, baseRef: "",
                baseCommit: entry.base ?? "")
            var directoryGone = !entry.directoryExists
            if entry.directoryExists {
                if !entry.registered {
                    if !entry.hasUncommittedChanges {
                        if !dryRun { FileEntries.removeEmptyDirectory(entry.path) }
                        remove(.worktree, entry.path, entry.id, "empty directory")
                        directoryGone = true
                    } else {
                        keep(
                            .worktree, entry.path, entry.id,
                            "not a git worktree; its files exist nowhere else, inspect it by hand")
                    }
                } else if entry.locked {
                    keep(.worktree, entry.path, entry.id, lockedReason(entry))
                } else if entry.hasUncommittedChanges {
                    keep(.worktree, entry.path, entry.id, "has uncommitted, untracked or ignored files")
                } else if entry.branch == nil {
                    keep(.worktree, entry.path, entry.id, "its branch \(info.branch) is gone")
                } else {
                    var removed = true
                    if !dryRun {
                        let output = try git.run(["worktree", "remove", entry.path], in: root)
                        removed = output.status.isSuccess
                        if !removed {
                            keep(
                                .worktree, entry.path, entry.id,
                                "git refused to remove it: \(GitText.trim(output.stderrText))")
                        }
                    }
                    if removed {
                        remove(
                            .worktree, entry.path, entry.id, "clean; everything in it is committed on \(info.branch)")
                        directoryGone = true
                    }
                }
            } else if entry.registered && entry.locked {
                keep(.metadata, entry.path, entry.id, lockedReason(entry))
            } else if entry.registered {
                remove(.metadata, entry.path, entry.id, "git's record of a worktree whose directory is gone")
            }

            guard let branch = entry.branch else { continue }
            if !directoryGone {
                keep(.branch, branch, entry.id, "checked out in \(entry.path)")
            } else if entry.base != nil && entry.changedPaths.isEmpty {
                if !dryRun { try git.deleteBranch(branch, in: root) }
                remove(.branch, branch, entry.id, "no changes beyond what HEAD already has")
            } else {
                let count = entry.changedPaths.count
                keep(
                    .branch, branch, entry.id,
                    "has changes not merged into HEAD (\(count) file\(count == 1 ? "" : "s"))")
            }
        }
        if !dryRun {
            try git.check(["worktree", "prune"], in: root)
            removeEmptyWorktreesDirectory(root)
        }
        return report
    }

    /// A locked worktree belongs to a job that is running (or being made) somewhere, maybe
    /// under another state directory: it is never removed by prune.
    package static func lockedReason(_ entry: WorktreeInventoryEntry) -> String {
        let reason = entry.lockReason.map { $0.isEmpty ? "" : " (\($0))" } ?? ""
        return "locked\(reason): a job may be running in it; it is left to that job's worktree-cleanup"
    }

    /// A worktree being created is left alone, with its branch; an abandoned creation is removed.
    package static func pruneCreation(
        _ entry: WorktreeInventoryEntry, state: CreationState, root: String, dryRun: Bool, git: GitClient,
        into report: inout PruneReport
    ) throws {
        let branch = entry.branch ?? branchPrefix + entry.id
        guard state == .abandoned, !entry.hasJob, let intent = try creationIntents(in: root, git: git)[entry.id],
            !intent.ownerAlive
        else {
            let reason =
                state == .creating
                ? "being created by a running codex-companion"
                : "belongs to job \(entry.id); use worktree-cleanup for it"
            report.kept.append(.init(kind: .worktree, name: entry.path, id: entry.id, reason: reason))
            if entry.branch != nil {
                report.kept.append(.init(kind: .branch, name: branch, id: entry.id, reason: reason))
            }
            return
        }
        if !dryRun { try removeAbandonedCreation(intent, root: root, git: git) }
        let reason = "abandoned creation: process \(intent.pid) died before the job took the worktree over"
        report.removed.append(.init(kind: .worktree, name: entry.path, id: entry.id, reason: reason))
        if let head = entry.branchHead, head == intent.baseCommit {
            report.removed.append(.init(kind: .branch, name: branch, id: entry.id, reason: reason))
        } else if entry.branch != nil {
            report.kept.append(
                .init(kind: .branch, name: branch, id: entry.id, reason: "has commits beyond its base; left for you"))
        }
    }
}
