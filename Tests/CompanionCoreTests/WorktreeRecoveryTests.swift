#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Testing

@testable import CompanionSystem
import CompanionTestSupport
@testable import CompanionJSON
@testable import ShellGuard
@testable import CodexAppServer
@testable import GitWorktrees
@testable import JobStore
@testable import Jobs
@testable import CompanionCLI

/// A keep interrupted at each step of its protocol, then settled by `recoverInterruptedKeep`.
/// The crash is simulated by running the keep's stages up to the crash point (the real
/// fault points SIGKILL the process, which a test process cannot survive).
struct InterruptedKeep {
    let sandbox: GitSandbox
    let repo: String
    let info: WorktreeInfo
    let backup: String
    let before: [String: String]
    /// What the index holds (modes, blob ids, stages, paths); its stat cache is refreshed on restore.
    let indexBefore: String

    init() throws {
        sandbox = try GitSandbox()
        repo = try sandbox.makeRepository(files: [
            "a.txt": Array("a\n".utf8), "z.txt": Array("z\n".utf8), "gone.txt": Array("gone\n".utf8),
            "blob.bin": [0, 1, 2, 3, 255, 0, 10, 13], "untouched.txt": Array("u\n".utf8),
            "dir/keep.txt": Array("k\n".utf8),
        ])
        try sandbox.write(repo + "/run.sh", Array("#!/bin/sh\necho 1\n".utf8), mode: 0o755)
        try FileEntries.makeSymlink(Array("a.txt".utf8), at: repo + "/link")
        try sandbox.commitAll(repo, "more")
        info = try WorktreeOperations.create(fromDirectory: repo, jobId: "crash", baseRef: nil, git: sandbox.git)
        backup = sandbox.base + "/state/crash.keep"

        try sandbox.write(info.path + "/a.txt", "a changed\n")
        try sandbox.write(info.path + "/z.txt", "z changed\n")
        try sandbox.write(info.path + "/run.sh", Array("#!/bin/sh\necho 2\n".utf8), mode: 0o755)
        try FileEntries.makeSymlink(Array("z.txt".utf8), at: info.path + "/link")
        try FileSystem.remove(info.path + "/gone.txt")
        try FileSystem.remove(info.path + "/dir/keep.txt")
        FileEntries.removeEmptyDirectory(info.path + "/dir")
        try sandbox.write(info.path + "/dir", "dir became a file\n")
        try sandbox.write(info.path + "/deep/new/dir/f.txt", "f\n")
        try sandbox.write(info.path + "/blob.bin", [9, 9, 0, 0, 255])
        try WorktreeOperations.capture(info, jobId: "crash", git: sandbox.git)

        // The user's own state: a staged edit and an unstaged one, on untouched files.
        try sandbox.write(repo + "/untouched.txt", "staged by the user\n")
        try sandbox.run(["add", "untouched.txt"], in: repo)
        try sandbox.write(repo + "/untouched.txt", "then edited again\n")
        before = try sandbox.snapshot(repo)
        indexBefore = try sandbox.run(["ls-files", "--stage", "-z"], in: repo)
    }

    func plan() throws -> WorktreeOperations.KeepPlan {
        let preparation = try WorktreeOperations.prepareKeep(
            info, jobId: "crash", backupDirectory: backup, indexPath: try sandbox.git.gitPath("index", in: repo),
            git: sandbox.git)
        guard case .ready(let plan) = preparation else {
            throw GitError.applyFailed(repoRoot: repo, detail: "not ready: \(preparation)")
        }
        return plan
    }

    func recover() throws -> RecoveryOutcome {
        try WorktreeOperations.recoverInterruptedKeep(info, backupDirectory: backup, git: sandbox.git)
    }

    func expectUnchanged() throws {
        #expect(try sandbox.snapshot(repo) == before)
        #expect(try sandbox.run(["ls-files", "--stage", "-z"], in: repo) == indexBefore)
        #expect(try sandbox.run(["diff", "--cached", "--name-only"], in: repo) == "untouched.txt")
        #expect(FileSystem.isDirectory(info.path))
        #expect(try sandbox.git.branchExists(info.branch, in: repo))
    }
}

@Suite("Worktree keep recovery")
struct WorktreeRecoveryTests {
    @Test func aKeepKilledHalfWayThroughApplyingIsRolledBackByteForByte() throws {
        let k = try InterruptedKeep()
        let plan = try k.plan()
        #expect(plan.staged)
        _ = try KeepBackup.write(plan, jobId: "crash", to: k.backup)
        // What CODEX_COMPANION_FAULT=keep-mid-apply does: the first half, then death.
        let halves = try WorktreeOperations.splitPatch(plan.patchFile)
        #expect(halves.count == 2)
        try WorktreeOperations.applyPatch(halves[0], staged: true, in: k.repo, git: k.sandbox.git)
        #expect(try k.sandbox.snapshot(k.repo) != k.before)

        #expect(try k.recover() == .rolledBack(paths: plan.changes.map(\.path)))
        try k.expectUnchanged()
        #expect(!FileSystem.exists(k.backup))
        #expect(!FileSystem.exists(k.repo + "/deep"))

        // The job is back to awaiting a decision, and a new keep succeeds.
        let outcome = try WorktreeOperations.keep(k.info, jobId: "crash", backupDirectory: k.backup, git: k.sandbox.git)
        guard case .applied(_, true, let paths) = outcome else {
            Issue.record("expected a staged apply, got \(outcome)")
            return
        }
        #expect(
            Set(paths) == [
                "a.txt", "z.txt", "run.sh", "link", "gone.txt", "dir", "dir/keep.txt", "deep/new/dir/f.txt", "blob.bin",
            ])
        #expect(try k.sandbox.read(k.repo + "/dir") == "dir became a file\n")
        #expect(try FileEntries.readLink(k.repo + "/link") == Array("z.txt".utf8))
        #expect(FileEntries.inspect(k.repo + "/run.sh")?.mode == 0o755)
        #expect(try k.sandbox.read(k.repo + "/untouched.txt") == "then edited again\n")
    }

    @Test func aKeepKilledAfterTheFullApplyButBeforeItsMarkerIsRolledBack() throws {
        let k = try InterruptedKeep()
        let plan = try k.plan()
        _ = try KeepBackup.write(plan, jobId: "crash", to: k.backup)
        try WorktreeOperations.applyPatch(plan.patchFile, staged: true, in: k.repo, git: k.sandbox.git)
        #expect(try k.recover() == .rolledBack(paths: plan.changes.map(\.path)))
        try k.expectUnchanged()
    }

    @Test func aKeepKilledRightAfterItsBackupIsRolledBack() throws {
        let k = try InterruptedKeep()
        let plan = try k.plan()
        _ = try KeepBackup.write(plan, jobId: "crash", to: k.backup)
        #expect(try k.recover() == .rolledBack(paths: plan.changes.map(\.path)))
        try k.expectUnchanged()
    }

    @Test func aNewKeepRollsBackAStaleBackupBeforeApplying() throws {
        let k = try InterruptedKeep()
        let plan = try k.plan()
        _ = try KeepBackup.write(plan, jobId: "crash", to: k.backup)
        let halves = try WorktreeOperations.splitPatch(plan.patchFile)
        try WorktreeOperations.applyPatch(halves[0], staged: true, in: k.repo, git: k.sandbox.git)
        // The lead never called recover: keep itself restores the half-applied tree, then applies all.
        let outcome = try WorktreeOperations.keep(k.info, jobId: "crash", backupDirectory: k.backup, git: k.sandbox.git)
        guard case .applied(_, true, let paths) = outcome else {
            Issue.record("expected a staged apply, got \(outcome)")
            return
        }
        #expect(paths.count == plan.changes.count)
        #expect(try k.sandbox.read(k.repo + "/a.txt") == "a changed\n")
        #expect(try k.sandbox.read(k.repo + "/untouched.txt") == "then edited again\n")
        #expect(!FileSystem.exists(k.backup) && !FileSystem.exists(k.info.path))
    }

    @Test func aKeepKilledAfterApplyingIsCompleted() throws {
        let k = try InterruptedKeep()
        let plan = try k.plan()
        _ = try KeepBackup.write(plan, jobId: "crash", to: k.backup)
        try WorktreeOperations.applyPatch(plan.patchFile, staged: true, in: k.repo, git: k.sandbox.git)
        try KeepBackup.markApplied(
            .applied(stat: plan.stat, staged: true, paths: plan.changes.map(\.path)), in: k.backup)
        let applied = try k.sandbox.snapshot(k.repo)
        #expect(try k.recover() == .completed)
        #expect(try k.sandbox.snapshot(k.repo) == applied)
        #expect(!FileSystem.exists(k.info.path))
        #expect(try !k.sandbox.git.branchExists(k.info.branch, in: k.repo))
        #expect(!FileSystem.exists(k.backup))
    }

    @Test func aKeepKilledBeforeItsBackupWasDurableChangedNothing() throws {
        let k = try InterruptedKeep()
        _ = try k.plan()
        try AtomicFile.write([1, 2, 3], to: k.backup + "/data")
        #expect(try k.recover() == .notApplied)
        try k.expectUnchanged()
        #expect(!FileSystem.exists(k.backup))
    }

    @Test func aKeepThatHadFinishedEverythingIsCompleted() throws {
        let k = try InterruptedKeep()
        _ = try WorktreeOperations.keep(k.info, jobId: "crash", backupDirectory: k.backup, git: k.sandbox.git)
        #expect(try k.recover() == .completed)
    }
}
