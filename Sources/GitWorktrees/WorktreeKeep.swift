import CompanionSystem
import CompanionJSON
import ShellGuard

// Keep: apply base→branch to the user's working tree as a journaled transaction.
//
// The protocol, in order, with what a crash at each point leaves behind:
//   0. flock <git dir>/codex-companion-keep.lock; an unresolved journal is settled first
//   1. refuse during a merge/rebase/cherry-pick/revert/bisect          nothing changed
//   2. capture what is left in the worktree (the branch is the copy)   nothing changed in the user's tree
//   3. binary patch, `git apply --check` (index, else working tree)    nothing changed
//   4. intent: each touched path's `before` (its content hash now) and `after` (what git makes of
//      it, computed in a scratch copy), the index entries, the bytes of both  (keep.after-intent)
//   5. check every path against `before`; any difference → refuse      nothing changed
//   6. write path by path, compare-before-write (keep.path-written-N, keep.mid-apply), then the
//      index entries by the same rule; a difference → roll back our own writes and refuse
//   7. committed.json, the commit point                                 (keep.before/after-commit-point)
//   8. remove the worktree, delete the branch, remove the journal (intent first)
// Settling a journal: with a commit point, finish 8. Without one, roll back path by path:
// current == after → restore before; current == before → untouched; anything else is the
// user's and is left alone and reported. The branch is deleted only after the commit point.

extension WorktreeOperations {
    package static let patchName = "keep.patch"

    /// Applies base→branch to the user's working tree at `repoRoot`, staged where the index
    /// allows it. `backupDirectory` holds this keep's journal: created and removed here.
    /// - Throws: `GitError.keepPathChanged` when a path changed while the keep ran (its own
    ///   writes are undone first), `.keepInterrupted` when an earlier keep's recovery left paths
    ///   to the user.
    public static func keep(
        _ info: WorktreeInfo, jobId: String, backupDirectory: String, git: GitClient? = nil
    ) throws -> KeepOutcome {
        let git = try git ?? GitClient()
        try validate(info, jobId: jobId)
        try requireRepository(info)
        // One rev-parse for the lock, the index and the in-progress markers.
        let paths = try git.gitPaths([lockName, "index"] + GitClient.operationProbes.map(\.name), in: info.repoRoot)
        let lock = try FileLock(exclusive: paths[0])
        defer { withExtendedLifetime(lock) {} }

        switch try settleJournal(info, directory: backupDirectory, git: git) {
        case .committed(let outcome):
            return outcome
        case .rolledBack(let settlement) where !settlement.leftToUser.isEmpty:
            throw GitError.keepInterrupted(paths: settlement.leftToUser, branch: info.branch)
        case .rolledBack, .none:
            break
        }
        if let operation = GitClient.operation(probing: Array(paths[2...])) {
            throw GitError.operationInProgress(operation, repoRoot: info.repoRoot)
        }
        try clearStaleLocks(info, git: git)

        switch try prepareKeep(info, jobId: jobId, backupDirectory: backupDirectory, indexPath: paths[1], git: git) {
        case .nothing(let usable):
            try finishAfterApply(info, git: git, usable: usable)
            try FileSystem.removeTree(backupDirectory)
            return .nothingToApply
        case .conflict(let paths, let detail):
            try FileSystem.removeTree(backupDirectory)
            return .conflict(paths: paths, detail: detail)
        case .ready(let plan):
            let intent: KeepIntent
            switch try makeIntent(plan, jobId: jobId, directory: backupDirectory, git: git) {
            case .conflict(let paths, let detail):
                try FileSystem.removeTree(backupDirectory)
                return .conflict(paths: paths, detail: detail)
            case .ready(let made, let blobs):
                intent = made
                try KeepJournal.write(intent, blobs: blobs, to: backupDirectory)
            }
            FaultPoint.keepAfterIntent.hit()
            try applyIntent(intent, info: info, directory: backupDirectory, git: git)
            FaultPoint.keepBeforeCommitPoint.hit()
            let outcome = KeepOutcome.applied(stat: plan.stat, staged: plan.staged, paths: plan.changes.map(\.path))
            try KeepJournal.markCommitted(outcome, in: backupDirectory)
            FaultPoint.keepAfterCommitPoint.hit()
            do {
                try finishAfterApply(info, git: git, usable: plan.worktreeUsable)
            } catch {
                throw GitError.cleanupFailed(
                    repoRoot: info.repoRoot, detail: (error as? GitError)?.message ?? "\(error)")
            }
            try KeepJournal.remove(backupDirectory)
            return outcome
        }
    }

    /// Settles a keep whose process died: rolls back what it wrote (only where its own bytes are
    /// still there), or finishes its cleanup when it had reached its commit point. Paths that
    /// changed since are the user's: they are left alone and named in the outcome.
    public static func recoverInterruptedKeep(
        _ info: WorktreeInfo, backupDirectory: String, git: GitClient? = nil
    ) throws -> RecoveryOutcome {
        let git = try git ?? GitClient()
        try validate(info, jobId: info.jobId)
        try requireRepository(info)
        let lock = try keepLock(info, git: git)
        defer { withExtendedLifetime(lock) {} }
        switch try settleJournal(info, directory: backupDirectory, git: git) {
        case .committed:
            return .completed
        case .rolledBack(let settlement):
            return .rolledBack(paths: settlement.restored, leftToUser: settlement.leftToUser)
        case .none:
            // No intent: applying never started, or the keep finished everything.
            try FileSystem.removeTree(backupDirectory)
            if try !git.branchExists(info.branch, in: info.repoRoot) && !FileSystem.exists(info.path) {
                return .completed
            }
            return .notApplied
        }
    }

    package enum JournalSettlement {
        /// There was no intent (maybe a directory with a patch, which the caller removes).
        case none
        case committed(KeepOutcome)
        case rolledBack(KeepSettlement)
    }

    /// Resolves an unresolved journal the same way however often it runs; the caller holds the keep lock.
    package static func settleJournal(_ info: WorktreeInfo, directory: String, git: GitClient) throws
        -> JournalSettlement
    {
        if let outcome = try KeepJournal.loadCommitted(directory) {
            try finishAfterApply(info, git: git)
            try KeepJournal.remove(directory)
            return .committed(outcome)
        }
        if FileSystem.exists(directory + "/manifest.json") {
            throw GitError.backupDamaged(
                backupDirectory: directory,
                reason: "it was written by an older codex-companion, which this one cannot undo")
        }
        guard let intent = try KeepJournal.loadIntent(directory) else { return .none }
        guard samePath(intent.repoRoot, info.repoRoot) else {
            throw GitError.backupDamaged(backupDirectory: directory, reason: "it belongs to \(intent.repoRoot)")
        }
        let settlement = try rollBack(intent, directory: directory, git: git)
        try KeepJournal.remove(directory)
        return .rolledBack(settlement)
    }

    /// Undoes an intent's writes to the tree and the index where they are still the keep's own.
    package static func rollBack(_ intent: KeepIntent, directory: String, git: GitClient) throws -> KeepSettlement {
        var settlement = try KeepTransfer(intent: intent, directory: directory).rollBack()
        guard intent.staged else { return settlement }
        let current = try indexEntries(intent.index.map(\.path), in: intent.repoRoot, git: git)
        var restore: [(path: String, entry: String?)] = []
        for entry in intent.index where current[entry.path] != entry.before {
            if current[entry.path] == entry.after {
                restore.append((entry.path, entry.before))
            } else {
                settlement.leftToUser.append(entry.path + " (staged)")
            }
        }
        try writeIndex(restore, idLength: intent.branchHead.count, in: intent.repoRoot, git: git)
        try refreshIndex(intent.repoRoot, git: git)
        return settlement
    }

    /// Step 5 and 6: check every path, then write them and stage, compare-before-write. On a
    /// difference the keep's own writes are undone, the journal removed, and the keep refused.
    /// - Parameter afterWrite: called with the number of paths written so far (tests edit files there).
    package static func applyIntent(
        _ intent: KeepIntent, info: WorktreeInfo, directory: String, git: GitClient,
        afterWrite: (Int) throws -> Void = { _ in }
    ) throws {
        let transfer = KeepTransfer(intent: intent, directory: directory)
        var changed: [String] = []
        var kept: [String] = []
        for entry in intent.entries where try PathState.read(transfer.absolute(entry.path)).state != entry.before {
            changed.append(entry.path)
        }
        let steps = changed.isEmpty ? transfer.applySteps() : []
        for (count, step) in steps.enumerated() {
            if case .changed(let aside) = try transfer.write(step.number, expected: step.expected, target: step.target)
            {
                changed.append(intent.entries[step.number].path)
                if let aside { kept.append(transfer.relative(aside)) }
                break
            }
            try afterWrite(count + 1)
            FaultPoint.hit(named: "keep.path-written-\(count + 1)")
            if count + 1 == max(1, steps.count / 2) { FaultPoint.keepMidApply.hit() }
        }
        if changed.isEmpty && intent.staged { changed = try stage(intent, git: git) }
        guard !changed.isEmpty else { return }
        let settlement = try rollBack(intent, directory: directory, git: git)
        try KeepJournal.remove(directory)
        var left = kept
        for path in settlement.leftToUser where !left.contains(path) { left.append(path) }
        throw GitError.keepPathChanged(paths: changed, leftToUser: left, branch: info.branch)
    }

    /// Stages the intent's index entries when every one is still what the keep checked;
    /// returns the paths whose entry changed (nothing is staged then).
    package static func stage(_ intent: KeepIntent, git: GitClient) throws -> [String] {
        let current = try indexEntries(intent.index.map(\.path), in: intent.repoRoot, git: git)
        let changed = intent.index.filter { current[$0.path] != $0.before }.map { $0.path + " (staged)" }
        guard changed.isEmpty else { return changed }
        let writes = intent.index.filter { $0.before != $0.after }.map { (path: $0.path, entry: $0.after) }
        try writeIndex(writes, idLength: intent.branchHead.count, in: intent.repoRoot, git: git)
        try refreshIndex(intent.repoRoot, git: git)
        return []
    }

    /// Entries written with `--index-info` carry no stat data: refresh it (contents are not
    /// touched), as `git status` would, so the next keep sees a clean match and can stage.
    /// A refresh that finds files needing an update exits 1; that is not a failure here.
    package static func refreshIndex(_ root: String, git: GitClient) throws {
        _ = try git.run(["update-index", "-q", "--refresh"], in: root)
    }

    /// Keeps into one working tree run one at a time (each may write the same paths and
    /// index): an flock on `<git dir>/codex-companion-keep.lock`, released by the kernel
    /// if the process dies.
    package static func keepLock(_ info: WorktreeInfo, git: GitClient) throws -> FileLock {
        try FileLock(exclusive: try git.gitPath(lockName, in: info.repoRoot))
    }

    package static let lockName = "codex-companion-keep.lock"

    // MARK: stages (internal so tests can stop between them)

    package struct KeepPlan {
        package var info: WorktreeInfo
        package var head: String
        package var changes: [GitChange]
        package var patchFile: String
        package var indexPath: String
        package var worktreeUsable: Bool
        package var staged: Bool
        package var stat: String
    }

    package enum KeepPreparation {
        case nothing(worktreeUsable: Bool)
        case conflict(paths: [String], detail: String)
        case ready(KeepPlan)
    }

    /// Steps 2–4: durable copy, patch, pre-check. Changes nothing in the user's tree.
    package static func prepareKeep(
        _ info: WorktreeInfo, jobId: String, backupDirectory: String, indexPath: String, git: GitClient
    ) throws -> KeepPreparation {
        let root = info.repoRoot
        let state = try checkoutState(info, git: git)
        var head: String?
        if state.usable, try !commitWorktree(info, jobId: jobId, state: state, probeFirst: true, git: git),
            case .onBranch(let known) = state
        {
            head = known
        }
        if head == nil { head = try git.commit(of: "refs/heads/" + info.branch, in: root) }
        guard let head else { throw GitError.workMissing(branch: info.branch, path: info.path) }
        // The stat comes from `git apply --check --stat` below, at no extra cost.
        let changes = try git.diffSummary(from: info.baseCommit, to: head, in: root, withStat: false).changes
        if changes.isEmpty { return .nothing(worktreeUsable: state.usable) }
        if let odd = changes.first(where: { !$0.hasFaithfulPath }) {
            throw GitError.unsupportedPathEncoding(path: odd.path)
        }
        let reserved = changes.filter { $0.path == directoryName || $0.path.hasPrefix(directoryName + "/") }
        if !reserved.isEmpty {
            return .conflict(
                paths: reserved.map(\.path),
                detail: "the branch adds files under .worktrees/, where companion worktrees live")
        }

        try FileSystem.createDirectory(backupDirectory)
        var plan = KeepPlan(
            info: info, head: head, changes: changes, patchFile: backupDirectory + "/" + patchName,
            indexPath: indexPath,
            worktreeUsable: state.usable, staged: false, stat: "")
        try writePatch(plan, to: plan.patchFile, git: git)

        let collisions = collidingPaths(changes, root: root)
        let inTheWay =
            collisions.isEmpty ? nil : "untracked files are in the way: " + collisions.joined(separator: ", ")
        if collisions.isEmpty, case .success(let stat) = try check(plan.patchFile, index: true, in: root, git: git) {
            plan.staged = true
            plan.stat = stat
        } else {
            switch try check(plan.patchFile, index: false, in: root, git: git) {
            case .failure(let stderr):
                var paths = collisions
                let failing = try conflictingPaths(plan.patchFile, paths: changes.map(\.path), in: root, git: git)
                for path in failing where !paths.contains(path) { paths.append(path) }
                let detail = [inTheWay, GitText.trim(stderr)].compactMap { $0 }.filter { !$0.isEmpty }
                return .conflict(paths: paths, detail: detail.joined(separator: "\n"))
            case .success(let stat):
                if let inTheWay { return .conflict(paths: collisions, detail: inTheWay) }
                plan.stat = stat
            }
        }
        return .ready(plan)
    }

    /// `git diff --binary --full-index base head` straight into `file` (git writes the
    /// bytes; they never pass through a String). Settings that would change the patch
    /// format (prefixes, colour, external diff, textconv, relative) are pinned.
    package static func writePatch(_ plan: KeepPlan, to file: String, git: GitClient) throws {
        try FileSystem.remove(file)
        try git.check(
            [
                "-c", "diff.suppressBlankEmpty=false", "-c", "diff.noprefix=false",
                "diff", "--binary", "--full-index", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
                "--no-relative", "--ignore-submodules=none", "--src-prefix=a/", "--dst-prefix=b/",
                "--output=" + file, plan.info.baseCommit, plan.head, "--",
            ],
            in: plan.info.repoRoot, reading: true)
    }

    package static let applySettings = ["-c", "apply.whitespace=nowarn", "-c", "apply.ignoreWhitespace=no"]

    package enum CheckResult {
        /// It applies; the patch's diff stat.
        case success(stat: String)
        /// It does not; git's stderr.
        case failure(String)
    }

    /// `git apply --check --stat`: whether the patch applies, and its stat in the same run.
    package static func check(_ patch: String, index: Bool, in root: String, git: GitClient) throws -> CheckResult {
        let arguments =
            ["-c", "core.quotepath=false"] + applySettings + ["apply", "--check", "--stat", "--binary"]
            + (index ? ["--index"] : []) + ["--", patch]
        let output = try git.run(arguments, in: root, reading: !index)
        return output.status.isSuccess ? .success(stat: GitText.trim(output.stdoutText)) : .failure(output.stderrText)
    }

    /// New files of the patch whose path (or a parent of it) is already taken in the user's tree.
    /// A path the patch deletes does not count (a file may become a directory and back).
    package static func collidingPaths(_ changes: [GitChange], root: String) -> [String] {
        let deleted = Set(changes.filter { $0.kind == .deleted }.map(\.path))
        var result: [String] = []
        for change in changes where change.kind == .added {
            if let facts = FileEntries.inspect(root + "/" + change.path) {
                if facts.kind != .directory || !directoryHoldsOnly(change.path, deleted, root: root) {
                    result.append(change.path)
                }
                continue
            }
            var prefix = ""
            for component in change.path.split(separator: "/", omittingEmptySubsequences: false).dropLast() {
                prefix += (prefix.isEmpty ? "" : "/") + component
                if let facts = FileEntries.inspect(root + "/" + prefix), facts.kind != .directory,
                    !deleted.contains(prefix)
                {
                    result.append(change.path)
                    break
                }
            }
        }
        return result
    }

    /// Whether everything under the directory `relative` is a file the patch deletes.
    package static func directoryHoldsOnly(_ relative: String, _ deleted: Set<String>, root: String) -> Bool {
        // Cannot be listed: it may hold something else, so the answer is the safe "no".
        guard let names = try? FileSystem.list(root + "/" + relative) else { return false }
        for name in names {
            let child = relative + "/" + name
            if FileEntries.inspect(root + "/" + child)?.kind == .directory {
                if !directoryHoldsOnly(child, deleted, root: root) { return false }
            } else if !deleted.contains(child) {
                return false
            }
        }
        return true
    }

    /// After the changes are applied: remove the worktree and delete the branch.
    package static func finishAfterApply(_ info: WorktreeInfo, git: GitClient, usable: Bool? = nil) throws {
        try removeWorktree(info, git: git, allowPlainDirectory: false, usable: usable)
        try git.deleteBranch(info.branch, in: info.repoRoot)
    }
}
