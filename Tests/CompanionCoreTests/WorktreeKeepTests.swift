import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

/// A repository with a captured job worktree that edits a.txt, deletes gone.txt, adds
/// new/file.txt and changes a binary file.
struct KeepScenario {
    let sandbox: GitSandbox
    let repo: String
    let info: WorktreeInfo
    let backup: String
    let binary: [UInt8] = (0..<600).map { UInt8(($0 * 7) % 256) }

    init(jobId: String = "k1", capture: Bool = true) throws {
        sandbox = try GitSandbox()
        var lines = (1...30).map { "line \($0)" }
        repo = try sandbox.makeRepository(files: [
            "a.txt": Array((lines.joined(separator: "\n") + "\n").utf8),
            "other.txt": Array("other\n".utf8), "gone.txt": Array("gone\n".utf8),
            "blob.bin": (0..<600).map { UInt8(($0 * 3) % 256) },
        ])
        info = try WorktreeOperations.create(fromDirectory: repo, jobId: jobId, baseRef: nil, git: sandbox.git)
        backup = sandbox.base + "/state/jobs/\(jobId).keep"
        lines[1] = "line 2 changed by codex"
        try sandbox.write(info.path + "/a.txt", lines.joined(separator: "\n") + "\n")
        try FileSystem.remove(info.path + "/gone.txt")
        try sandbox.write(info.path + "/new/file.txt", "new\n")
        try sandbox.write(info.path + "/blob.bin", binary)
        if capture { try WorktreeOperations.capture(info, jobId: jobId, git: sandbox.git) }
    }

    var changedPaths: Set<String> { ["a.txt", "gone.txt", "new/file.txt", "blob.bin"] }

    func keep() throws -> KeepOutcome {
        try WorktreeOperations.keep(info, jobId: info.jobId, backupDirectory: backup, git: sandbox.git)
    }

    func expectApplied(staged: Bool) throws {
        let a = try #require(try sandbox.read(repo + "/a.txt"))
        #expect(a.contains("line 2 changed by codex"))
        #expect(!FileSystem.exists(repo + "/gone.txt"))
        #expect(try sandbox.read(repo + "/new/file.txt") == "new\n")
        #expect(try FileSystem.read(repo + "/blob.bin") == binary)
        let cached = Set(
            try sandbox.run(["diff", "--cached", "--name-only"], in: repo).split(separator: "\n").map(String.init))
        #expect(cached == (staged ? changedPaths : []))
    }

    func expectWorktreeAndBranchGone() throws {
        #expect(!FileSystem.exists(info.path))
        #expect(try !sandbox.git.branchExists(info.branch, in: repo))
        #expect(try !sandbox.git.worktrees(in: repo).contains { $0.path == info.path })
        #expect(!FileSystem.exists(backup))
    }

    func expectWorktreeAndBranchKept(sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(FileSystem.isDirectory(info.path), sourceLocation: sourceLocation)
        #expect(try sandbox.git.branchExists(info.branch, in: repo), sourceLocation: sourceLocation)
        #expect(try WorktreeOperations.summary(info, git: sandbox.git).hasChanges, sourceLocation: sourceLocation)
    }

    /// Commits other.txt as `name` on a new branch `name` and differently on main, then
    /// checks out main: the two histories conflict.
    func divergeOther(onBranch name: String) throws {
        try sandbox.run(["checkout", "--quiet", "-b", name], in: repo)
        try sandbox.write(repo + "/other.txt", name + "\n")
        try sandbox.commitAll(repo, name)
        try sandbox.run(["checkout", "--quiet", "main"], in: repo)
        try sandbox.write(repo + "/other.txt", "main\n")
        try sandbox.commitAll(repo, "main")
    }

    /// Expects keep to be refused because `operation` is in progress, leaving the user's
    /// files exactly as they were and the worktree and branch in place.
    func expectKeepRefused(during operation: GitOperation, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try sandbox.snapshot(repo)
        #expect(throws: GitError.operationInProgress(operation, repoRoot: repo), sourceLocation: sourceLocation) {
            try keep()
        }
        #expect(try sandbox.snapshot(repo) == before, sourceLocation: sourceLocation)
        try expectWorktreeAndBranchKept(sourceLocation: sourceLocation)
    }

    /// Keeps, expecting a conflict that leaves the user's files exactly as they were and the
    /// worktree and branch in place; returns the conflict (nil, with an issue, for another outcome).
    func keepExpectingAConflictThatChangesNothing(
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (paths: [String], detail: String)? {
        let before = try sandbox.snapshot(repo)
        let outcome = try keep()
        guard case .conflict(let paths, let detail) = outcome else {
            Issue.record("expected conflict, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(try sandbox.snapshot(repo) == before, sourceLocation: sourceLocation)
        try expectWorktreeAndBranchKept(sourceLocation: sourceLocation)
        return (paths, detail)
    }
}

@Suite("Worktree keep, discard, branch")
struct WorktreeKeepTests {
    @Test func keepIntoACleanTreeStagesEverything() throws {
        let s = try KeepScenario()
        let outcome = try s.keep()
        guard case .applied(let stat, let staged, let paths) = outcome else {
            Issue.record("expected applied, got \(outcome)")
            return
        }
        #expect(staged && Set(paths) == s.changedPaths)
        #expect(stat.contains("4 files changed"))
        try s.expectApplied(staged: true)
        try s.expectWorktreeAndBranchGone()
        #expect(!FileSystem.exists(s.repo + "/.worktrees"))
    }

    @Test func unrelatedLocalEditsSurvive() throws {
        let s = try KeepScenario()
        try s.sandbox.write(s.repo + "/other.txt", "user edit\n")
        try s.sandbox.write(s.repo + "/mine.txt", "untracked user file\n")
        #expect(try s.keep() != .nothingToApply)
        try s.expectApplied(staged: true)
        #expect(try s.sandbox.read(s.repo + "/other.txt") == "user edit\n")
        #expect(try s.sandbox.read(s.repo + "/mine.txt") == "untracked user file\n")
        try s.expectWorktreeAndBranchGone()
    }

    @Test func anEditElsewhereInATouchedFileAppliesUnstaged() throws {
        let s = try KeepScenario()
        var lines = (1...30).map { "line \($0)" }
        lines[27] = "line 28 edited by the user"
        try s.sandbox.write(s.repo + "/a.txt", lines.joined(separator: "\n") + "\n")
        let outcome = try s.keep()
        guard case .applied(_, let staged, _) = outcome else {
            Issue.record("expected applied, got \(outcome)")
            return
        }
        #expect(!staged)
        let a = try #require(try s.sandbox.read(s.repo + "/a.txt"))
        #expect(a.contains("line 2 changed by codex") && a.contains("line 28 edited by the user"))
        try s.expectApplied(staged: false)
    }

    @Test func aConflictingEditChangesNothingAndKeepsTheWork() throws {
        let s = try KeepScenario()
        var lines = (1...30).map { "line \($0)" }
        lines[1] = "line 2 changed by the user"
        try s.sandbox.write(s.repo + "/a.txt", lines.joined(separator: "\n") + "\n")
        try s.sandbox.run(["add", "a.txt"], in: s.repo)
        try s.sandbox.write(s.repo + "/other.txt", "unstaged\n")
        let indexBefore = try s.sandbox.indexBytes(s.repo)
        guard let conflict = try s.keepExpectingAConflictThatChangesNothing() else { return }
        #expect(conflict.paths == ["a.txt"])
        #expect(conflict.detail.contains("a.txt"))
        #expect(try s.sandbox.indexBytes(s.repo) == indexBefore)
        #expect(!(try s.sandbox.read(s.repo + "/a.txt") ?? "").contains("<<<<<<<"))
        #expect(!FileSystem.exists(s.backup))
    }

    /// Only data.txt and "error: a.txt" conflict; a.txt, whose name is inside both (and inside
    /// git's "error: error: a.txt: patch does not apply"), applies and is not reported. The
    /// paths come from per-path `git apply --check` exit codes, as in the patch preview.
    @Test func aNameInsideAConflictingNameIsNotAConflict() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository(files: [
            "a.txt": Array("a\n".utf8), "data.txt": Array("d\n".utf8), "error: a.txt": Array("e\n".utf8),
        ])
        let info = try WorktreeOperations.create(fromDirectory: repo, jobId: "nm", baseRef: nil, git: sandbox.git)
        for name in ["a.txt", "data.txt", "error: a.txt"] { try sandbox.write(info.path + "/" + name, "codex\n") }
        try WorktreeOperations.capture(info, jobId: "nm", git: sandbox.git)
        try sandbox.write(repo + "/data.txt", "mine\n")
        try sandbox.write(repo + "/error: a.txt", "mine\n")
        let before = try sandbox.snapshot(repo)
        let indexBefore = try sandbox.indexBytes(repo)

        let preview = try WorktreeOperations.keepPreview(info, git: sandbox.git)
        #expect(!preview.clean && preview.conflicts == ["data.txt", "error: a.txt"])
        #expect(preview.detail?.contains("error: a.txt") == true)
        #expect(try sandbox.snapshot(repo) == before && sandbox.indexBytes(repo) == indexBefore)
        let outcome = try WorktreeOperations.keep(
            info, jobId: "nm", backupDirectory: sandbox.base + "/nm.keep", git: sandbox.git)
        guard case .conflict(let paths, let detail) = outcome else {
            Issue.record("expected conflict, got \(outcome)")
            return
        }
        #expect(paths == ["data.txt", "error: a.txt"])
        #expect(detail.contains("data.txt"))
        #expect(try sandbox.snapshot(repo) == before && sandbox.indexBytes(repo) == indexBefore)
    }

    @Test func anUntrackedFileInTheWayIsAConflict() throws {
        let s = try KeepScenario()
        try s.sandbox.write(s.repo + "/new/file.txt", "the user's own\n")
        guard let conflict = try s.keepExpectingAConflictThatChangesNothing() else { return }
        #expect(conflict.paths == ["new/file.txt"])
    }

    @Test func anUntrackedFileWhereTheBranchNeedsADirectoryIsAConflict() throws {
        let s = try KeepScenario()
        try s.sandbox.write(s.repo + "/new", "a file named like the new directory\n")
        guard let conflict = try s.keepExpectingAConflictThatChangesNothing() else { return }
        #expect(conflict.paths.contains("new/file.txt"))
    }

    @Test func aTurnThatChangedNothingIsACleanNoOpKeep() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let info = try WorktreeOperations.create(fromDirectory: repo, jobId: "noop", baseRef: nil, git: sandbox.git)
        let before = try sandbox.snapshot(repo)
        let outcome = try WorktreeOperations.keep(
            info, jobId: "noop", backupDirectory: sandbox.base + "/b", git: sandbox.git)
        #expect(outcome == .nothingToApply)
        #expect(try sandbox.snapshot(repo) == before)
        #expect(!FileSystem.exists(info.path))
        #expect(try !sandbox.git.branchExists(info.branch, in: repo))
    }

    @Test func keepIsRefusedDuringARebase() throws {
        let s = try KeepScenario()
        try s.divergeOther(onBranch: "topic")
        try s.sandbox.run(["checkout", "--quiet", "topic"], in: s.repo)
        let rebase = try s.sandbox.git.run(["rebase", "main"], in: s.repo)
        #expect(!rebase.status.isSuccess)
        try s.expectKeepRefused(during: .rebase)
    }

    @Test func keepIsRefusedDuringAnInteractiveRebaseStop() throws {
        let s = try KeepScenario()
        try s.sandbox.write(s.repo + "/other.txt", "second\n")
        try s.sandbox.commitAll(s.repo, "second")
        try s.sandbox.run(
            ["rebase", "-i", "HEAD~1"], in: s.repo, environment: ["GIT_SEQUENCE_EDITOR": "sed -i.bak -e s/^pick/edit/"])
        try s.expectKeepRefused(during: .rebase)
    }

    @Test func keepIsRefusedDuringAMerge() throws {
        let s = try KeepScenario()
        try s.divergeOther(onBranch: "side")
        #expect(!(try s.sandbox.git.run(["merge", "side"], in: s.repo)).status.isSuccess)
        try s.expectKeepRefused(during: .merge)
    }

    @Test func keepAppliesFromTheBranchWhenTheWorktreeWasDeletedByHand() throws {
        let s = try KeepScenario()
        try FileSystem.removeTree(s.info.path)
        _ = try s.keep()
        try s.expectApplied(staged: true)
        try s.expectWorktreeAndBranchGone()
        #expect(
            try s.sandbox.run(["worktree", "list", "--porcelain"], in: s.repo).split(separator: "\n").filter {
                $0.hasPrefix("worktree ")
            }.count == 1)
    }

    @Test func keepRecapturesWhenTheBranchWasDeletedByHand() throws {
        let s = try KeepScenario(capture: false)
        try s.sandbox.run(["update-ref", "-d", "refs/heads/" + s.info.branch], in: s.repo)
        _ = try s.keep()
        try s.expectApplied(staged: true)
        try s.expectWorktreeAndBranchGone()
    }

    @Test func aWorktreeWithoutItsGitFileIsNeverMistakenForTheUsersRepository() throws {
        let s = try KeepScenario()
        try s.sandbox.write(s.info.path + "/late.txt", "written after .git vanished\n")
        try FileSystem.remove(s.info.path + "/.git")
        let userHead = try s.sandbox.run(["rev-parse", "HEAD"], in: s.repo)
        let capture = try WorktreeOperations.capture(s.info, jobId: "k1", git: s.sandbox.git)
        #expect(!capture.committed && Set(capture.changedPaths) == s.changedPaths)
        #expect(try s.sandbox.run(["rev-parse", "HEAD"], in: s.repo) == userHead)
        #expect(try s.sandbox.run(["diff", "--cached", "--name-only"], in: s.repo) == "")
        _ = try s.keep()
        try s.expectApplied(staged: true)
        // The directory may hold work no capture could reach: it is left for the user.
        #expect(try s.sandbox.read(s.info.path + "/late.txt") == "written after .git vanished\n")
        #expect(try !s.sandbox.git.branchExists(s.info.branch, in: s.repo))
    }

    @Test func aMovedRepositoryIsReportedThenRelocated() throws {
        let s = try KeepScenario()
        let moved = s.sandbox.base + "/moved repo"
        try FileSystem.rename(s.repo, to: moved)
        #expect(throws: GitError.repositoryMissing(repoRoot: s.repo)) { try s.keep() }
        let info = try WorktreeOperations.relocate(s.info, to: moved, git: s.sandbox.git)
        #expect(info.repoRoot == moved && info.path == moved + "/.worktrees/k1" && info.baseCommit == s.info.baseCommit)
        #expect(try WorktreeOperations.summary(info, git: s.sandbox.git).changedPaths.count == 4)
        let outcome = try WorktreeOperations.keep(info, jobId: "k1", backupDirectory: s.backup, git: s.sandbox.git)
        guard case .applied(_, true, _) = outcome else {
            Issue.record("expected a staged apply, got \(outcome)")
            return
        }
        #expect(try s.sandbox.read(moved + "/new/file.txt") == "new\n")
        #expect(!FileSystem.exists(info.path))
        #expect(try s.sandbox.git.worktrees(in: moved).count == 1)
    }

    @Test func keepWithNeitherWorktreeNorBranchFailsClearly() throws {
        let s = try KeepScenario()
        try WorktreeOperations.unlock(s.info, git: s.sandbox.git)
        try s.sandbox.run(["worktree", "remove", "--force", s.info.path], in: s.repo)
        try s.sandbox.run(["branch", "-D", s.info.branch], in: s.repo)
        #expect(throws: GitError.workMissing(branch: s.info.branch, path: s.info.path)) { try s.keep() }
    }

    @Test func discardRemovesTheWorktreeAndTheBranchOnly() throws {
        let s = try KeepScenario()
        try s.sandbox.write(s.info.path + "/uncommitted.txt", "x\n")
        let before = try s.sandbox.snapshot(s.repo)
        try WorktreeOperations.discard(s.info, git: s.sandbox.git)
        #expect(try s.sandbox.snapshot(s.repo) == before)
        try s.expectWorktreeAndBranchGone()
        try WorktreeOperations.discard(s.info, git: s.sandbox.git)
    }

    @Test func keepAsBranchRemovesTheDirectoryAndKeepsTheWork() throws {
        let s = try KeepScenario(capture: false)
        let before = try s.sandbox.snapshot(s.repo)
        let capture = try WorktreeOperations.keepAsBranch(s.info, git: s.sandbox.git)
        #expect(Set(capture.changedPaths) == s.changedPaths)
        #expect(!FileSystem.exists(s.info.path))
        #expect(try s.sandbox.snapshot(s.repo) == before)
        #expect(try s.sandbox.git.branchExists(s.info.branch, in: s.repo))
        #expect(
            try s.sandbox.git.check(["cat-file", "blob", s.info.branch + ":blob.bin"], in: s.repo).stdout == s.binary)
        #expect(try !s.sandbox.git.worktrees(in: s.repo).contains { $0.path == s.info.path })
        let lines = WorktreeOperations.branchInstructions(s.info)
        #expect(lines.contains("git -C \(s.repo) merge codex/k1"))
        #expect(lines.contains("git -C \(s.repo) checkout codex/k1"))
        #expect(lines.contains("git -C \(s.repo) diff \(s.info.baseCommit)..codex/k1"))
        // The branch merges cleanly afterwards.
        try s.sandbox.run(["merge", "--quiet", "--ff-only", s.info.branch], in: s.repo)
        try s.expectApplied(staged: false)
    }

    @Test func keepFinishesAKeepThatAppliedButWasStoppedBeforeCleanup() throws {
        let s = try KeepScenario()
        let stored = KeepOutcome.applied(stat: "stat", staged: true, paths: ["a.txt"])
        try FileSystem.createDirectory(s.backup)
        try KeepJournal.markCommitted(stored, in: s.backup)
        #expect(try s.keep() == stored)
        try s.expectWorktreeAndBranchGone()
    }
}
