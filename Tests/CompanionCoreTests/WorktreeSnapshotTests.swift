import Testing

import CompanionSystem
import CompanionJSON
@testable import GitWorktrees

/// Everything of the user's a snapshot, a preview or a check could disturb: every file's
/// kind, mode and bytes, the index bytes, every ref (stash included) and HEAD.
private func userState(_ sandbox: GitSandbox, _ repo: String) throws -> String {
    let files = try sandbox.snapshot(repo).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
    let index = try sandbox.indexBytes(repo) ?? []
    let refs = try sandbox.run(["for-each-ref", "--format=%(refname) %(objectname)"], in: repo)
        .split(separator: "\n").filter { !$0.hasPrefix("refs/heads/codex/") }
    let head =
        try sandbox.run(["symbolic-ref", "HEAD"], in: repo) + " " + sandbox.run(["rev-parse", "HEAD"], in: repo)
    return (files + ["index \(index)", "head \(head)"] + refs.map(String.init)).joined(separator: "\n")
}

/// A repository with a committed file, a staged change, an unstaged change, an untracked
/// file, an ignored file and a stash entry.
private func dirtyRepository(_ sandbox: GitSandbox) throws -> String {
    let repo = try sandbox.makeRepository(files: [
        "README.md": Array("hello\n".utf8), "src/a.txt": Array("one\ntwo\nthree\n".utf8),
        "src/b.txt": Array("b\n".utf8), ".gitignore": Array("*.log\n".utf8),
    ])
    try sandbox.write(repo + "/src/b.txt", "stashed\n")
    try sandbox.run(["stash", "--quiet"], in: repo)
    try sandbox.write(repo + "/README.md", "hello, staged\n")
    try sandbox.run(["add", "README.md"], in: repo)
    try sandbox.write(repo + "/src/a.txt", "one\ntwo (mine)\nthree\n")
    try sandbox.write(repo + "/notes/new.txt", "untracked\n")
    try sandbox.write(repo + "/debug.log", "ignored\n")
    return repo
}

/// A worktree `jobId` started from `dirtyRepository`'s working tree, in which codex wrote
/// `codexWrites` (path, content), then captured.
private func capturedSnapshotWorktree(
    _ sandbox: GitSandbox, jobId: String, codexWrites: [(path: String, content: String)]
) throws -> (repo: String, info: WorktreeInfo, captured: WorktreeCapture) {
    let repo = try dirtyRepository(sandbox)
    let info = try WorktreeOperations.create(fromDirectory: repo, jobId: jobId, start: .workingTree, git: sandbox.git)
    for (path, content) in codexWrites { try sandbox.write(info.path + "/" + path, content) }
    return (repo, info, try WorktreeOperations.capture(info, jobId: jobId, git: sandbox.git))
}

@Suite("Worktree snapshot, keep preview, attempt report")
struct WorktreeSnapshotTests {
    @Test func snapshotHoldsTheUserStateAndTouchesNothing() throws {
        let sandbox = try GitSandbox()
        let repo = try dirtyRepository(sandbox)
        let head = try sandbox.run(["rev-parse", "HEAD"], in: repo)
        _ = try sandbox.status(repo)  // refreshes the index once, as the user's own git would
        let before = try userState(sandbox, repo)

        let info = try WorktreeOperations.create(
            fromDirectory: repo, jobId: "seed-1", start: .workingTree, git: sandbox.git)
        #expect(try userState(sandbox, repo) == before)

        let snapshot = try #require(info.snapshot)
        #expect(snapshot.head == head && info.baseCommit == snapshot.commit && !snapshot.isClean)
        #expect(snapshot.paths.sorted() == ["README.md", "notes/new.txt", "src/a.txt"])
        #expect(try sandbox.run(["rev-parse", snapshot.commit + "^"], in: repo) == head)
        #expect(
            try sandbox.run(["log", "-1", "--format=%s", snapshot.commit], in: repo)
                == WorktreeOperations.snapshotSubject)
        #expect(try sandbox.run(["rev-parse", "refs/heads/codex/seed-1"], in: repo) == snapshot.commit)
        // Codex sees the user's staged, unstaged and untracked files; not the ignored or stashed ones.
        #expect(try sandbox.read(info.path + "/README.md") == "hello, staged\n")
        #expect(try sandbox.read(info.path + "/src/a.txt") == "one\ntwo (mine)\nthree\n")
        #expect(try sandbox.read(info.path + "/notes/new.txt") == "untracked\n")
        #expect(try sandbox.read(info.path + "/src/b.txt") == "b\n")
        #expect(!FileSystem.exists(info.path + "/debug.log"))
        #expect(try sandbox.status(info.path) == "")
    }

    @Test func keepAppliesOnlyTheDeltaAfterTheSnapshot() throws {
        let sandbox = try GitSandbox()
        // Codex edits the file the user edited (below the user's line) and adds one.
        let (repo, info, captured) = try capturedSnapshotWorktree(
            sandbox, jobId: "seed-2",
            codexWrites: [("src/a.txt", "one\ntwo (mine)\nthree\nfour (codex)\n"), ("codex.txt", "from codex\n")])
        #expect(captured.changedPaths.sorted() == ["codex.txt", "src/a.txt"])

        let outcome = try WorktreeOperations.keep(
            info, jobId: "seed-2", backupDirectory: sandbox.base + "/backup", git: sandbox.git)
        guard case .applied(_, _, let paths) = outcome else {
            Issue.record("expected applied, got \(outcome)")
            return
        }
        #expect(paths.sorted() == ["codex.txt", "src/a.txt"])
        #expect(try sandbox.read(repo + "/src/a.txt") == "one\ntwo (mine)\nthree\nfour (codex)\n")
        #expect(try sandbox.read(repo + "/README.md") == "hello, staged\n")
        #expect(try sandbox.read(repo + "/notes/new.txt") == "untracked\n")
        #expect(try sandbox.read(repo + "/codex.txt") == "from codex\n")
        #expect(try sandbox.run(["diff", "--cached", "--name-only", "--", "README.md"], in: repo) == "README.md")
        #expect(try sandbox.run(["stash", "list"], in: repo).split(separator: "\n").count == 1)
        #expect(try !sandbox.git.branchExists("codex/seed-2", in: repo))
    }

    @Test func cleanTreeMakesNoSnapshotCommitAndRefStartStillWorks() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let head = try sandbox.run(["rev-parse", "HEAD"], in: repo)
        let info = try WorktreeOperations.create(
            fromDirectory: repo, jobId: "clean", start: .workingTree, git: sandbox.git)
        #expect(info.snapshot == WorkingTreeSnapshot(commit: head, head: head, paths: []) && info.baseCommit == head)
        #expect(WorktreeOperations.branchCommands(info) == WorktreeOperations.branchInstructions(info))

        try sandbox.write(repo + "/dirty.txt", "x\n")
        let fromRef = try WorktreeOperations.create(
            fromDirectory: repo, jobId: "ref", start: .ref("HEAD"), git: sandbox.git)
        #expect(
            fromRef.snapshot == nil && fromRef.baseCommit == head && !FileSystem.exists(fromRef.path + "/dirty.txt"))
    }

    @Test func groupSharesOneSnapshotAndUndoesAFailedCreation() throws {
        let sandbox = try GitSandbox()
        let repo = try dirtyRepository(sandbox)
        let infos = try WorktreeOperations.createAll(
            fromDirectory: repo, jobIds: ["g-1", "g-2", "g-3"], start: .workingTree, git: sandbox.git)
        #expect(Set(infos.map(\.baseCommit)).count == 1 && infos.allSatisfy { $0.snapshot != nil })
        let branchCommands = WorktreeOperations.branchCommands(infos[0])
        #expect(branchCommands[1].contains("cherry-pick") && branchCommands[1].contains(infos[0].baseCommit + ".."))

        // The second id is taken: nothing of this group stays behind.
        try FileSystem.createDirectory(repo + "/.worktrees/h-2", mode: 0o755)
        #expect(throws: GitError.self) {
            try WorktreeOperations.createAll(
                fromDirectory: repo, jobIds: ["h-1", "h-2"], start: .workingTree, git: sandbox.git)
        }
        #expect(!FileSystem.exists(repo + "/.worktrees/h-1"))
        #expect(try !sandbox.git.branchExists("codex/h-1", in: repo))
    }

    @Test func previewIsCleanThenConflictsAfterAUserEditAndTouchesNothing() throws {
        let sandbox = try GitSandbox()
        let (repo, info, _) = try capturedSnapshotWorktree(
            sandbox, jobId: "pv", codexWrites: [("src/a.txt", "one\ntwo (mine)\nTHREE\n"), ("added.txt", "new\n")])
        let cache = sandbox.base + "/preview.json"
        _ = try sandbox.status(repo)

        let before = try userState(sandbox, repo)
        let clean = try WorktreeOperations.keepPreview(info, cacheFile: cache, git: sandbox.git)
        #expect(clean == KeepPreview(clean: true, files: ["added.txt", "src/a.txt"], conflicts: []))
        #expect(clean.sentence == "keep would apply cleanly: 2 files")
        #expect(FileSystem.exists(cache))
        // A cached answer is the same answer.
        #expect(try WorktreeOperations.keepPreview(info, cacheFile: cache, git: sandbox.git) == clean)
        #expect(try userState(sandbox, repo) == before)

        // The user edits the same line after the snapshot, and creates the file Codex adds.
        try sandbox.write(repo + "/src/a.txt", "one\ntwo (mine)\nthree (mine too)\n")
        try sandbox.write(repo + "/added.txt", "mine\n")
        let edited = try userState(sandbox, repo)
        let conflict = try WorktreeOperations.keepPreview(info, cacheFile: cache, git: sandbox.git)
        #expect(!conflict.clean && conflict.files == ["added.txt", "src/a.txt"])
        #expect(conflict.conflicts.sorted() == ["added.txt", "src/a.txt"])
        #expect(conflict.sentence.hasPrefix("keep would conflict in "))
        #expect(try WorktreeOperations.keepPreview(info, cacheFile: cache, git: sandbox.git) == conflict)
        #expect(try userState(sandbox, repo) == edited)

        // And keep agrees with the preview.
        let outcome = try WorktreeOperations.keep(
            info, jobId: "pv", backupDirectory: sandbox.base + "/backup", git: sandbox.git)
        guard case .conflict = outcome else {
            Issue.record("expected a conflict, got \(outcome)")
            return
        }
        #expect(try userState(sandbox, repo) == edited)
    }

    @Test func previewReportsAnOperationInProgress() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let info = try WorktreeOperations.create(
            fromDirectory: repo, jobId: "op", start: .workingTree, git: sandbox.git)
        try sandbox.write(info.path + "/x.txt", "x\n")
        try WorktreeOperations.capture(info, jobId: "op", git: sandbox.git)
        let head = try sandbox.run(["rev-parse", "HEAD"], in: repo)
        try sandbox.write(repo + "/.git/MERGE_HEAD", head + "\n")
        let preview = try WorktreeOperations.keepPreview(info, git: sandbox.git)
        #expect(!preview.clean && preview.conflicts.isEmpty && preview.detail?.contains("a merge") == true)
    }

    @Test func totalsAndChecksInsideTheWorktree() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository(files: ["a.txt": Array("1\n2\n3\n".utf8)])
        let info = try WorktreeOperations.create(
            fromDirectory: repo, jobId: "chk", start: .workingTree, git: sandbox.git)
        try sandbox.write(info.path + "/a.txt", "1\ntwo\n3\n4\n")
        try sandbox.write(info.path + "/bin.dat", [0, 1, 2, 0, 255])
        try WorktreeOperations.capture(info, jobId: "chk", git: sandbox.git)
        let totals = try WorktreeOperations.diffTotals(info, git: sandbox.git)
        #expect(totals == DiffTotals(filesChanged: 2, linesAdded: 2, linesRemoved: 1, binaryFiles: 1))
        let before = try userState(sandbox, repo)
        let branchHead = try sandbox.run(["rev-parse", "codex/chk"], in: repo)

        let passed = try WorktreeOperations.runCheck(
            "grep -q two a.txt && echo ok && echo build > product.txt && echo more >> a.txt", in: info, timeout: 30,
            outputFile: sandbox.base + "/check.log", git: sandbox.git)
        #expect(passed.passed && passed.exitCode == 0 && !passed.timedOut && passed.outputTail == ["ok"])
        #expect(passed.leftovers.sorted() == ["a.txt", "product.txt"])
        #expect(try sandbox.read(sandbox.base + "/check.log") == "ok\n")
        // The worktree is back at the branch head; the branch did not move.
        #expect(try sandbox.status(info.path) == "" && !FileSystem.exists(info.path + "/product.txt"))
        #expect(try sandbox.run(["rev-parse", "codex/chk"], in: repo) == branchHead)

        let failed = try WorktreeOperations.runCheck(
            "echo bad >&2; exit 3", in: info, timeout: 30, outputFile: nil, git: sandbox.git)
        #expect(!failed.passed && failed.exitCode == 3 && failed.outputTail == ["bad"])

        let started = MonotonicClock.now()
        let slow = try WorktreeOperations.runCheck(
            "sleep 30 & echo started; sleep 30", in: info, timeout: 1, outputFile: nil, git: sandbox.git)
        #expect(slow.timedOut && !slow.passed && slow.exitCode == nil && slow.outputTail == ["started"])
        #expect(MonotonicClock.now() - started < 10)
        #expect(try userState(sandbox, repo) == before)
    }
}

@Suite("Patch preview (a cloud attempt's diff against the user's tree)")
struct PatchPreviewTests {
    /// Only data.txt conflicts; a.txt (a name inside "data.txt") and the glob-named file
    /// apply. The conflicting paths come from per-path checks, not from git's messages.
    @Test func conflictsAreThePathsThatFailAlone() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository(files: [
            "a.txt": Array("a\n".utf8), "data.txt": Array("d\n".utf8), "[x]*.txt": Array("x\n".utf8),
        ])
        let patch =
            "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+A\n"
            + "diff --git a/data.txt b/data.txt\n--- a/data.txt\n+++ b/data.txt\n@@ -1 +1 @@\n-d\n+D\n"
            + "diff --git a/[x]*.txt b/[x]*.txt\n--- a/[x]*.txt\n+++ b/[x]*.txt\n@@ -1 +1 @@\n-x\n+X\n"
            + "diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+n\n"
        let patchFile = sandbox.base + "/attempt.patch"
        try sandbox.write(patchFile, patch)
        let clean = try WorktreeOperations.patchPreview(patchFile, repoRoot: repo, git: sandbox.git)
        #expect(clean == KeepPreview(clean: true, files: ["a.txt", "data.txt", "[x]*.txt", "new.txt"], conflicts: []))

        try sandbox.write(repo + "/data.txt", "mine\n")
        try sandbox.write(repo + "/new.txt", "untracked\n")
        let before = try userState(sandbox, repo)
        let preview = try WorktreeOperations.patchPreview(patchFile, repoRoot: repo, git: sandbox.git)
        #expect(!preview.clean && preview.conflicts == ["data.txt", "new.txt"])
        #expect(try userState(sandbox, repo) == before)
        #expect(WorktreeOperations.literalPattern("[x]*?.txt") == "\\[x]\\*\\?.txt")
    }
}
