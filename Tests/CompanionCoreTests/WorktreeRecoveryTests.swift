#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
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

    /// Steps 1–4 of a keep: the durable intent, nothing written yet (`keep.after-intent`).
    func intent() throws -> KeepIntent {
        let plan = try plan()
        #expect(plan.staged)
        guard
            case .ready(let intent, let blobs) = try WorktreeOperations.makeIntent(
                plan, jobId: "crash", directory: backup, git: sandbox.git)
        else {
            throw GitError.applyFailed(repoRoot: repo, detail: "no intent")
        }
        try KeepJournal.write(intent, blobs: blobs, to: backup)
        return intent
    }

    /// What the keep writes before a crash at `keep.path-written-<count>`.
    func write(_ intent: KeepIntent, steps count: Int? = nil) throws {
        let transfer = KeepTransfer(intent: intent, directory: backup)
        let steps = transfer.applySteps()
        for step in steps.prefix(count ?? steps.count) {
            #expect(try transfer.write(step.number, expected: step.expected, target: step.target) == .done)
        }
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
        let intent = try k.intent()
        let paths = intent.entries.map(\.path)
        // What CODEX_COMPANION_FAULT=keep.mid-apply does: half of the writes, then death.
        try k.write(intent, steps: KeepTransfer(intent: intent, directory: k.backup).applySteps().count / 2)
        #expect(try k.sandbox.snapshot(k.repo) != k.before)

        #expect(try k.recover() == .rolledBack(paths: paths))
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

    @Test func aKeepKilledAfterTheFullApplyButBeforeItsCommitPointIsRolledBack() throws {
        let k = try InterruptedKeep()
        let intent = try k.intent()
        try k.write(intent)
        #expect(try WorktreeOperations.stage(intent, git: k.sandbox.git).isEmpty)
        #expect(try k.recover() == .rolledBack(paths: intent.entries.map(\.path)))
        try k.expectUnchanged()
    }

    @Test func aKeepKilledRightAfterItsIntentIsRolledBack() throws {
        let k = try InterruptedKeep()
        let intent = try k.intent()
        #expect(try k.recover() == .rolledBack(paths: intent.entries.map(\.path)))
        try k.expectUnchanged()
    }

    @Test func aNewKeepRollsBackAStaleJournalBeforeApplying() throws {
        let k = try InterruptedKeep()
        let intent = try k.intent()
        try k.write(intent, steps: 3)
        // The lead never called recover: keep itself restores the half-applied tree, then applies all.
        let outcome = try WorktreeOperations.keep(k.info, jobId: "crash", backupDirectory: k.backup, git: k.sandbox.git)
        guard case .applied(_, true, let paths) = outcome else {
            Issue.record("expected a staged apply, got \(outcome)")
            return
        }
        #expect(paths.count == intent.entries.count)
        #expect(try k.sandbox.read(k.repo + "/a.txt") == "a changed\n")
        #expect(try k.sandbox.read(k.repo + "/untouched.txt") == "then edited again\n")
        #expect(!FileSystem.exists(k.backup) && !FileSystem.exists(k.info.path))
    }

    @Test func aKeepKilledAfterItsCommitPointIsCompleted() throws {
        let k = try InterruptedKeep()
        let intent = try k.intent()
        try k.write(intent)
        #expect(try WorktreeOperations.stage(intent, git: k.sandbox.git).isEmpty)
        try KeepJournal.markCommitted(
            .applied(stat: intent.stat, staged: true, paths: intent.entries.map(\.path)), in: k.backup)
        let applied = try k.sandbox.snapshot(k.repo)
        #expect(try k.recover() == .completed)
        #expect(try k.sandbox.snapshot(k.repo) == applied)
        #expect(!FileSystem.exists(k.info.path))
        #expect(try !k.sandbox.git.branchExists(k.info.branch, in: k.repo))
        #expect(!FileSystem.exists(k.backup))
    }

    @Test func aKeepKilledBeforeItsIntentWasDurableChangedNothing() throws {
        let k = try InterruptedKeep()
        _ = try k.plan()
        try FileSystem.createDirectory(k.backup + "/blobs")
        try AtomicFile.write([1, 2, 3], to: k.backup + "/blobs/partial")
        #expect(try k.recover() == .notApplied)
        try k.expectUnchanged()
        #expect(!FileSystem.exists(k.backup))
    }

    @Test func aKeepThatHadFinishedEverythingIsCompleted() throws {
        let k = try InterruptedKeep()
        _ = try WorktreeOperations.keep(k.info, jobId: "crash", backupDirectory: k.backup, git: k.sandbox.git)
        #expect(try k.recover() == .completed)
    }

    @Test func theUsersWorkAfterTheCrashIsNeverUndone() throws {
        let k = try InterruptedKeep()
        let intent = try k.intent()
        try k.write(intent)
        // After the crash the user edits a file the keep wrote, edits a file the keep created,
        // creates a file where the keep deleted one, and stages their edit.
        try k.sandbox.write(k.repo + "/a.txt", "the user's own a\n")
        try k.sandbox.write(k.repo + "/deep/new/dir/f.txt", "the user's f\n")
        try k.sandbox.write(k.repo + "/gone.txt", "recreated by the user\n")
        try k.sandbox.run(["add", "a.txt"], in: k.repo)
        let outcome = try k.recover()
        guard case .rolledBack(let restored, let left) = outcome else {
            Issue.record("expected a rollback, got \(outcome)")
            return
        }
        #expect(Set(left) == ["a.txt", "deep/new/dir/f.txt", "gone.txt", "a.txt (staged)"])
        #expect(!restored.contains("a.txt") && restored.contains("blob.bin") && restored.contains("run.sh"))
        #expect(try k.sandbox.read(k.repo + "/a.txt") == "the user's own a\n")
        #expect(try k.sandbox.read(k.repo + "/deep/new/dir/f.txt") == "the user's f\n")
        #expect(try k.sandbox.read(k.repo + "/gone.txt") == "recreated by the user\n")
        // What the keep wrote and nobody touched since is back as it was.
        #expect(try k.sandbox.read(k.repo + "/z.txt") == "z\n")
        #expect(try k.sandbox.run(["diff", "--cached", "--name-only"], in: k.repo) == "a.txt\nuntouched.txt")
        #expect(try FileSystem.read(k.repo + "/blob.bin") == [0, 1, 2, 3, 255, 0, 10, 13])
        #expect(try FileEntries.readLink(k.repo + "/link") == Array("a.txt".utf8))
        #expect(try k.sandbox.read(k.repo + "/dir/keep.txt") == "k\n")
        #expect(try k.sandbox.read(k.repo + "/untouched.txt") == "then edited again\n")
        #expect(!FileSystem.exists(k.backup))
        // Idempotent: nothing is left to settle.
        #expect(try k.recover() == .notApplied)
    }
}
