import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import ShellGuard
import CodexAppServer
@testable import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

@Suite("Worktree create and capture")
struct WorktreeCreateCaptureTests {
    @Test func createsALockedExcludedWorktreeOnANewBranch() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let head = try sandbox.run(["rev-parse", "HEAD"], in: repo)
        let info = try WorktreeOperations.create(fromDirectory: repo, jobId: "job-1", baseRef: nil, git: sandbox.git)
        #expect(
            info
                == WorktreeInfo(
                    repoRoot: repo, path: repo + "/.worktrees/job-1", branch: "codex/job-1", baseRef: "HEAD",
                    baseCommit: head))
        #expect(FileSystem.isDirectory(info.path + "/.git") || FileSystem.exists(info.path + "/.git"))
        #expect(try sandbox.run(["symbolic-ref", "HEAD"], in: info.path) == "refs/heads/codex/job-1")
        let entry = try #require(try sandbox.git.worktrees(in: repo).first { $0.path == info.path })
        #expect(entry.lockReason == "codex-companion job job-1 running")
        #expect(try sandbox.status(repo) == "")

        // A second job adds no second exclude line.
        _ = try WorktreeOperations.create(fromDirectory: repo, jobId: "job-2", baseRef: nil, git: sandbox.git)
        let exclude = try #require(try sandbox.read(repo + "/.git/info/exclude"))
        #expect(exclude.split(separator: "\n").filter { $0 == ".worktrees/" }.count == 1)
        #expect(try sandbox.status(repo) == "")

        // Unlock is idempotent.
        try WorktreeOperations.unlock(info, git: sandbox.git)
        try WorktreeOperations.unlock(info, git: sandbox.git)
        #expect(try sandbox.git.worktrees(in: repo).first { $0.path == info.path }?.isLocked == false)
    }

    @Test func aBranchThatAlreadyExistsIsRefusedAndKept() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let head = try sandbox.run(["rev-parse", "HEAD"], in: repo)
        // The user's own branch of that name, at the very commit the worktree would start from.
        try sandbox.run(["branch", "codex/job-x"], in: repo)
        #expect {
            try WorktreeOperations.create(fromDirectory: repo, jobId: "job-x", baseRef: nil, git: sandbox.git)
        } throws: { error in
            if case GitError.branchExists(let branch, _) = error { return branch == "codex/job-x" }
            return false
        }
        #expect(try sandbox.run(["rev-parse", "refs/heads/codex/job-x"], in: repo) == head)
        #expect(!FileSystem.exists(repo + "/.worktrees/job-x"))
    }

    @Test func aFailedCreationNeverRemovesABranchOrDirectoryItDidNotMake() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let head = try sandbox.run(["rev-parse", "HEAD"], in: repo)
        try sandbox.run(["branch", "codex/job-y"], in: repo)
        try FileSystem.createDirectory(repo + "/.worktrees/job-y")
        try sandbox.write(repo + "/.worktrees/job-y/notes.txt", "mine\n")
        #expect(throws: (any Error).self) {
            try WorktreeOperations.create(fromDirectory: repo, jobId: "job-y", baseRef: nil, git: sandbox.git)
        }
        #expect(try sandbox.run(["rev-parse", "refs/heads/codex/job-y"], in: repo) == head)
        #expect(try sandbox.read(repo + "/.worktrees/job-y/notes.txt") == "mine\n")
    }

    @Test func lockingAWorktreeThatIsAlreadyLockedSucceedsAndAnUnknownPathFails() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let info = try WorktreeOperations.create(fromDirectory: repo, jobId: "job-l", baseRef: nil, git: sandbox.git)
        try WorktreeOperations.lock(info, jobId: "job-l2", git: sandbox.git)  // created locked: already locked
        #expect(try sandbox.git.worktrees(in: repo).first { $0.path == info.path }?.isLocked == true)
        var elsewhere = info
        elsewhere.path = sandbox.base + "/not-a-worktree"
        #expect(throws: GitError.self) { try WorktreeOperations.lock(elsewhere, jobId: "job-l", git: sandbox.git) }
    }

    @Test func createsFromASubdirectoryWithAnOlderBase() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository(files: ["src/a.txt": Array("a\n".utf8)])
        let first = try sandbox.run(["rev-parse", "HEAD"], in: repo)
        try sandbox.run(["tag", "v1"], in: repo)
        try sandbox.write(repo + "/src/a.txt", "b\n")
        try sandbox.commitAll(repo, "second")
        let info = try WorktreeOperations.create(
            fromDirectory: repo + "/src", jobId: "sub", baseRef: "v1", git: sandbox.git)
        #expect(info.repoRoot == repo && info.baseRef == "v1" && info.baseCommit == first)
        #expect(try sandbox.read(info.path + "/src/a.txt") == "a\n")
        #expect(try sandbox.status(repo) == "")
    }

    @Test func createsFromInsideALinkedWorktree() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository(files: ["dir/f.txt": Array("f\n".utf8)])
        let linked = sandbox.base + "/linked tree"
        try sandbox.run(["worktree", "add", "--quiet", "-b", "feature", linked], in: repo)
        let info = try WorktreeOperations.create(
            fromDirectory: linked + "/dir", jobId: "in-linked", baseRef: nil, git: sandbox.git)
        #expect(info.repoRoot == linked)
        #expect(info.path == linked + "/.worktrees/in-linked")
        // The exclude line went to the common info/exclude, which both trees read.
        #expect(try sandbox.read(repo + "/.git/info/exclude")?.contains(".worktrees/") == true)
        #expect(try sandbox.status(linked) == "")
        #expect(try sandbox.status(repo) == "")

        try sandbox.write(info.path + "/dir/f.txt", "changed\n")
        let captured = try WorktreeOperations.capture(info, jobId: "in-linked", git: sandbox.git)
        #expect(captured.changedPaths == ["dir/f.txt"])
        let outcome = try WorktreeOperations.keep(
            info, jobId: "in-linked", backupDirectory: sandbox.base + "/backup", git: sandbox.git)
        guard case .applied(let stat, true, ["dir/f.txt"]) = outcome else {
            Issue.record("expected a staged apply of dir/f.txt, got \(outcome)")
            return
        }
        #expect(stat.contains("dir/f.txt") && stat.contains("1 file changed"))
        #expect(try sandbox.read(linked + "/dir/f.txt") == "changed\n")
        #expect(try sandbox.read(repo + "/dir/f.txt") == "f\n")
    }

    @Test func refusesOutsideARepositoryBeforeCreatingAnything() throws {
        let sandbox = try GitSandbox()
        let plain = sandbox.base + "/plain"
        try FileSystem.createDirectory(plain, mode: 0o755)
        #expect(throws: GitError.notARepository(directory: plain)) {
            try WorktreeOperations.create(fromDirectory: plain, jobId: "j", baseRef: nil, git: sandbox.git)
        }
        #expect(try FileSystem.list(plain).isEmpty)
    }

    @Test func refusesInARepositoryWithoutCommitsBeforeCreatingAnything() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository("fresh", files: [:])
        let excludeBefore = try FileSystem.read(repo + "/.git/info/exclude")
        #expect(throws: GitError.noCommits(repoRoot: repo)) {
            try WorktreeOperations.create(fromDirectory: repo, jobId: "j", baseRef: nil, git: sandbox.git)
        }
        #expect(!FileSystem.exists(repo + "/.worktrees"))
        #expect(try FileSystem.read(repo + "/.git/info/exclude") == excludeBefore)
        #expect(try sandbox.run(["branch", "--list"], in: repo) == "")
    }

    @Test func refusesAnUnknownBaseAndBadJobIds() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        #expect(throws: GitError.unknownRevision(ref: "no-such-ref", repoRoot: repo)) {
            try WorktreeOperations.create(fromDirectory: repo, jobId: "j", baseRef: "no-such-ref", git: sandbox.git)
        }
        for bad in ["", "../x", "a/b", "-x", ".hidden", "x.lock", "a b"] {
            #expect(throws: GitError.invalidJobId(bad)) {
                try WorktreeOperations.create(fromDirectory: repo, jobId: bad, baseRef: nil, git: sandbox.git)
            }
        }
        #expect(!FileSystem.exists(repo + "/.worktrees"))
    }

    @Test func capturesEveryKindOfChangeIgnoringHooksAndSigning() throws {
        let sandbox = try GitSandbox()
        let binary = (0...255).map { UInt8($0) } + [0, 0, 13, 10]
        let repo = try sandbox.makeRepository(files: [
            "keep.txt": Array("keep\n".utf8), "edit.txt": Array("old\n".utf8), "remove.txt": Array("bye\n".utf8),
            ".gitignore": Array("*.log\n".utf8), "image.bin": binary,
        ])
        // A user's failing hook and signing config must not stop the companion's commit.
        try sandbox.write(repo + "/.git/hooks/pre-commit", Array("#!/bin/sh\nexit 1\n".utf8), mode: 0o755)
        try sandbox.write(repo + "/.git/hooks/commit-msg", Array("#!/bin/sh\nexit 1\n".utf8), mode: 0o755)
        try sandbox.run(["config", "commit.gpgsign", "true"], in: repo)
        try sandbox.run(["config", "gpg.program", "/bin/false"], in: repo)

        let info = try WorktreeOperations.create(fromDirectory: repo, jobId: "cap", baseRef: nil, git: sandbox.git)
        // A commit Codex makes itself (hooks bypassed the way Codex would have to).
        try sandbox.write(info.path + "/committed.txt", "by codex\n")
        try sandbox.run(["add", "committed.txt"], in: info.path)
        try sandbox.run(
            [
                "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", "commit", "--quiet", "-m",
                "codex commit",
            ], in: info.path)
        // Then uncommitted work of every kind.
        try sandbox.write(info.path + "/edit.txt", "new\n")
        try FileSystem.remove(info.path + "/remove.txt")
        try sandbox.write(info.path + "/new/dir/added.txt", "added\n")
        try sandbox.write(info.path + "/image.bin", binary.reversed())
        try sandbox.write(info.path + "/fresh.bin", [0, 1, 2, 255, 0])
        try sandbox.write(info.path + "/debug.log", "ignored\n")
        try sandbox.write(info.path + "/build/out.log", "ignored too\n")

        let capture = try WorktreeOperations.capture(info, jobId: "cap", git: sandbox.git)
        #expect(capture.committed && capture.hasChanges)
        #expect(
            Set(capture.changedPaths) == [
                "committed.txt", "edit.txt", "remove.txt", "new/dir/added.txt", "image.bin", "fresh.bin",
            ])
        #expect(capture.ignoredPaths.sorted() == ["build/", "debug.log"])
        #expect(capture.diffStat.contains("6 files changed"))
        #expect(capture.head == (try sandbox.run(["rev-parse", "refs/heads/codex/cap"], in: repo)))
        let log = try sandbox.run(["log", "-2", "--format=%an <%ae>|%cn|%s"], in: info.path)
        #expect(
            log
                == "codex-companion <codex-companion@localhost>|codex-companion|codex-companion: capture changes of job cap\nTest User <test@example.com>|Test User|codex commit"
        )
        #expect(
            try sandbox.git.check(["cat-file", "blob", "codex/cap:image.bin"], in: repo).stdout == binary.reversed())
        #expect(try FileSystem.read(info.path + "/image.bin") == binary.reversed())

        // Nothing new: no commit, same summary.
        let again = try WorktreeOperations.capture(info, jobId: "cap", git: sandbox.git)
        #expect(!again.committed && again.head == capture.head && again.changedPaths == capture.changedPaths)
        #expect(try WorktreeOperations.summary(info, git: sandbox.git).diffStat == capture.diffStat)
        #expect(try sandbox.status(repo) == "")
    }

    @Test func captureOfAnUntouchedWorktreeChangesNothing() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let info = try WorktreeOperations.create(fromDirectory: repo, jobId: "idle", baseRef: nil, git: sandbox.git)
        let capture = try WorktreeOperations.capture(info, jobId: "idle", git: sandbox.git)
        #expect(
            capture
                == WorktreeCapture(
                    head: info.baseCommit, committed: false, hasChanges: false, diffStat: "", changedPaths: []))
    }

    @Test func captureFollowsAHeadCodexMovedAndRecreatesADeletedBranch() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let info = try WorktreeOperations.create(fromDirectory: repo, jobId: "moved", baseRef: nil, git: sandbox.git)
        try sandbox.run(["checkout", "--quiet", "--detach"], in: info.path)
        try sandbox.write(info.path + "/a.txt", "a\n")
        try sandbox.commitAll(info.path, "detached work")
        try sandbox.write(info.path + "/b.txt", "b\n")
        let capture = try WorktreeOperations.capture(info, jobId: "moved", git: sandbox.git)
        #expect(Set(capture.changedPaths) == ["a.txt", "b.txt"])
        #expect(try sandbox.run(["symbolic-ref", "HEAD"], in: info.path) == "refs/heads/codex/moved")

        // The branch deleted by hand: capture recreates it from the worktree's files.
        try sandbox.run(["update-ref", "-d", "refs/heads/codex/moved"], in: repo)
        try sandbox.write(info.path + "/c.txt", "c\n")
        let again = try WorktreeOperations.capture(info, jobId: "moved", git: sandbox.git)
        #expect(Set(again.changedPaths) == ["a.txt", "b.txt", "c.txt"])
        #expect(try sandbox.run(["rev-parse", "codex/moved~1"], in: repo) == info.baseCommit)
    }

    @Test func workWithAwkwardPathsEverywhere() throws {
        let sandbox = try GitSandbox()
        let name = "my repo 'quoted' \"double\" ünïcødé"
        let repo = try sandbox.makeRepository(
            name, files: ["plain.txt": Array("p\n".utf8), "spa ce.txt": Array("s\n".utf8)])
        let info = try WorktreeOperations.create(fromDirectory: repo, jobId: "odd", baseRef: nil, git: sandbox.git)
        #expect(info.repoRoot == repo)
        let awkward = [
            "spa ce.txt", "new\nline.txt", "tab\there.txt", "ünï cødé/файл.txt", "quote'\"s.txt", "-dash.txt",
            "*star?.txt",
        ]
        for (index, file) in awkward.enumerated() { try sandbox.write(info.path + "/" + file, "content \(index)\n") }
        let capture = try WorktreeOperations.capture(info, jobId: "odd", git: sandbox.git)
        #expect(Set(capture.changedPaths) == Set(awkward))
        #expect(capture.diffStat.contains("ünï cødé/файл.txt"))

        let outcome = try WorktreeOperations.keep(
            info, jobId: "odd", backupDirectory: sandbox.base + "/bk 'x'", git: sandbox.git)
        guard case .applied(_, let staged, let paths) = outcome else {
            Issue.record("expected applied, got \(outcome)")
            return
        }
        #expect(staged && Set(paths) == Set(awkward))
        for (index, file) in awkward.enumerated() {
            #expect(try sandbox.read(repo + "/" + file) == "content \(index)\n")
        }
        #expect(!FileSystem.exists(info.path))

        let lines = WorktreeOperations.branchInstructions(info)
        #expect(lines[1] == "git -C '" + GitText.replacingAll(repo, "'", with: "'\\''") + "' merge codex/odd")
        #expect(lines[1].contains("my repo '\\''quoted'\\'' \"double\" ünïcødé' merge"))
    }
}
