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

/// A private temp directory with a git that reads no system or user configuration but the
/// sandbox's own HOME. Removed when the sandbox is released.
final class GitSandbox {
    let base: String
    let home: String
    let git: GitClient

    init() throws {
        let tmp = FileSystem.realPath(ProcessEnvironment.value("TMPDIR") ?? "/tmp") ?? "/tmp"
        base = tmp + "/wt-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        home = base + "/home"
        try FileSystem.createDirectory(home, mode: 0o755)
        git = try GitClient(overrides: [
            "HOME": home, "XDG_CONFIG_HOME": home + "/.config", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        ])
        try AtomicFile.write(
            Array("[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n".utf8),
            to: home + "/.gitconfig", mode: 0o644)
    }

    deinit { try? FileSystem.removeTree(base) }

    /// Runs git (which must succeed) and returns stdout without its last newline.
    @discardableResult
    func run(_ arguments: [String], in directory: String?, environment: [String: String] = [:]) throws -> String {
        try git.text(arguments, in: directory, environment: environment)
    }

    /// A new repository at `base/name` with `files` committed on main.
    func makeRepository(_ name: String = "repo", files: [String: [UInt8]] = ["README.md": Array("hello\n".utf8)]) throws
        -> String
    {
        let path = base + "/" + name
        try FileSystem.createDirectory(path, mode: 0o755)
        try run(["init", "--quiet", path], in: nil)
        for (file, bytes) in files { try write(path + "/" + file, bytes) }
        if !files.isEmpty {
            try run(["add", "-A"], in: path)
            try run(["commit", "--quiet", "-m", "initial"], in: path)
        }
        return path
    }

    func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        try FileSystem.createDirectory(Path.dirname(path), mode: 0o755)
        try AtomicFile.write(bytes, to: path, mode: mode)
        try FileEntries.setMode(path, UInt32(mode))
    }

    func write(_ path: String, _ text: String) throws { try write(path, Array(text.utf8)) }

    func read(_ path: String) throws -> String? {
        try FileSystem.read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    func commitAll(_ directory: String, _ message: String) throws {
        try run(["add", "-A"], in: directory)
        try run(["commit", "--quiet", "-m", message], in: directory)
    }

    func status(_ directory: String) throws -> String {
        try run(["status", "--porcelain", "--untracked-files=all"], in: directory)
    }

    /// Every file under `directory` (not .git, not .worktrees) with its kind, mode and bytes.
    func snapshot(_ directory: String) throws -> [String: String] {
        var result: [String: String] = [:]
        func walk(_ relative: String) throws {
            let absolute = relative.isEmpty ? directory : directory + "/" + relative
            for name in try FileSystem.list(absolute) {
                if relative.isEmpty && (name == ".git" || name == ".worktrees") { continue }
                let child = relative.isEmpty ? name : relative + "/" + name
                guard let facts = FileEntries.inspect(directory + "/" + child) else { continue }
                switch facts.kind {
                case .directory:
                    result[child + "/"] = "dir"
                    try walk(child)
                case .symlink:
                    result[child] = "link \(try FileEntries.readLink(directory + "/" + child))"
                default:
                    let bytes = try FileSystem.read(directory + "/" + child) ?? []
                    result[child] = "file \(String(facts.mode, radix: 8)) \(bytes)"
                }
            }
        }
        try walk("")
        return result
    }

    /// The bytes of the index of the working tree at `directory`.
    func indexBytes(_ directory: String) throws -> [UInt8]? {
        try FileSystem.read(try git.gitPath("index", in: directory))
    }
}

@Suite("Git client")
struct WorktreeGitClientTests {
    @Test func parsesWorktreeListPorcelain() {
        let text =
            "worktree /r\0HEAD aaaa\0branch refs/heads/main\0\0"
            + "worktree /r/.worktrees/j 1\0HEAD bbbb\0branch refs/heads/codex/j\0locked codex-companion job j running\0\0"
            + "worktree /r/line\nbreak\0HEAD cccc\0detached\0locked\0prunable gitdir file points to non-existent location\0\0"
        let entries = GitWorktreeEntry.parse(Array(text.utf8))
        #expect(entries.count == 3)
        #expect(entries[0].path == "/r" && entries[0].branch == "refs/heads/main" && !entries[0].isLocked)
        #expect(entries[1].path == "/r/.worktrees/j 1" && entries[1].lockReason == "codex-companion job j running")
        #expect(entries[2].path == "/r/line\nbreak" && entries[2].isDetached && entries[2].lockReason == "")
        #expect(entries[2].prunableReason == "gitdir file points to non-existent location")
    }

    @Test func parsesRawDiffWithAwkwardNames() {
        let zeros = String(repeating: "0", count: 40)
        let ones = String(repeating: "1", count: 40)
        let text =
            ":000000 100644 \(zeros) \(ones) A\0new file\nwith newline\0"
            + ":100644 000000 \(ones) \(zeros) D\0dé jà.txt\0:100644 100755 \(ones) \(ones) M\0x\0"
        var bytes = Array(text.utf8)
        bytes += Array(":160000 160000 \(ones) \(ones) M\0".utf8) + [0x62, 0xff, 0x00]
        let changes = GitChange.parseRaw(bytes).changes
        #expect(changes.map(\.kind) == [.added, .deleted, .modified, .modified])
        #expect(changes[0].path == "new file\nwith newline" && changes[0].hasFaithfulPath)
        #expect(changes[1].path == "dé jà.txt")
        #expect(changes[2].oldMode == "100644" && changes[2].newMode == "100755")
        #expect(changes[3].newMode == "160000" && !changes[3].hasFaithfulPath)
    }

    @Test func quotesForTheShell() {
        #expect(ShellWords.quote("codex/abc-1") == "codex/abc-1")
        #expect(ShellWords.quote("/tmp/my repo") == "'/tmp/my repo'")
        #expect(ShellWords.quote("it's") == "'it'\\''s'")
        #expect(ShellWords.quote("") == "''")
        #expect(ShellWords.quote("ü") == "'ü'")
    }

    @Test func buildsRequestsWithoutShellOrChdir() throws {
        let client = try GitClient(base: [
            "PATH": ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin", "GIT_DIR": "/elsewhere", "GIT_WORK_TREE": "/w",
        ])
        let request = client.request(["status", "--porcelain"], in: "/some dir", reading: true)
        #expect(request.arguments == ["-C", "/some dir", "status", "--porcelain"])
        #expect(request.directory == nil)
        #expect(request.environment?["LC_ALL"] == "C")
        #expect(request.environment?["GIT_TERMINAL_PROMPT"] == "0")
        #expect(request.environment?["GIT_OPTIONAL_LOCKS"] == "0")
        #expect(request.environment?["GIT_DIR"] == nil && request.environment?["GIT_WORK_TREE"] == nil)
        #expect(client.request(["add", "-A"], in: "/r").environment?["GIT_OPTIONAL_LOCKS"] == nil)
    }

    @Test func gitKilledBySignalIsAnError() throws {
        let sandbox = try GitSandbox()
        let fake = sandbox.base + "/fake-git"
        try sandbox.write(fake, Array("#!/bin/sh\nkill -9 $$\n".utf8), mode: 0o755)
        let client = try GitClient(executable: fake)
        #expect {
            try client.run(["status"], in: sandbox.base)
        } throws: { error in
            guard case .commandFailed(let failure)? = error as? GitError else { return false }
            return failure.status == .signalled(SIGKILL)
        }
    }

    @Test func answersRepositoryQuestions() throws {
        let sandbox = try GitSandbox()
        #expect(throws: GitError.notARepository(directory: sandbox.home)) { try sandbox.git.topLevel(of: sandbox.home) }
        let repo = try sandbox.makeRepository()
        try FileSystem.createDirectory(repo + "/a/b", mode: 0o755)
        #expect(try sandbox.git.topLevel(of: repo + "/a/b") == repo)
        #expect(try sandbox.git.hasCommit(in: repo))
        #expect(try sandbox.git.commit(of: "nope", in: repo) == nil)
        #expect(try sandbox.git.commit(of: "--all", in: repo) == nil)
        #expect(try sandbox.git.gitPath("info/exclude", in: repo + "/a/b") == repo + "/.git/info/exclude")
        #expect(try sandbox.git.operationInProgress(in: repo) == nil)
        #expect(try sandbox.git.branchExists("main", in: repo))
        try sandbox.run(["branch", "gone"], in: repo)
        try sandbox.git.deleteBranch("gone", in: repo)
        try sandbox.git.deleteBranch("gone", in: repo)
        #expect(try !sandbox.git.branchExists("gone", in: repo))

        let empty = try sandbox.makeRepository("empty", files: [:])
        #expect(try !sandbox.git.hasCommit(in: empty))
    }

    @Test func detectsMergeInProgress() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository(files: ["f.txt": Array("one\n".utf8)])
        try sandbox.run(["checkout", "--quiet", "-b", "other"], in: repo)
        try sandbox.write(repo + "/f.txt", "other\n")
        try sandbox.commitAll(repo, "other")
        try sandbox.run(["checkout", "--quiet", "main"], in: repo)
        try sandbox.write(repo + "/f.txt", "main\n")
        try sandbox.commitAll(repo, "main")
        let merge = try sandbox.git.run(["merge", "other"], in: repo)
        #expect(!merge.status.isSuccess)
        #expect(try sandbox.git.operationInProgress(in: repo) == .merge)
    }

    @Test func errorsReadAsASentenceWithARemedy() {
        let error = GitError.operationInProgress(.rebase, repoRoot: "/r")
        #expect(error.message == "The repository at /r is in the middle of a rebase; nothing was changed.")
        #expect(error.remedy.contains("git rebase --abort"))
        let failed = GitError.commandFailed(
            GitCommandFailure(arguments: ["git", "-C", "/a b", "apply"], status: .exited(1), stderr: "bad"))
        #expect(failed.message == "`git -C '/a b' apply` failed (exit 1): bad")
    }
}
