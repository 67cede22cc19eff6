import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

extension Reliability {
    /// Hostile or odd input: each gets one line of error and the documented exit code (64
    /// usage, 1 failure) or works, and nothing on disk changes that the user did not ask for.
    @Suite("Bad input", .serialized)
    struct BadInput {
        /// The repository and the state directory as the user would see them.
        struct Snapshot: Equatable {
            var repo: String
            var state: [String]

            init(_ sandbox: RelSandbox, repo: String) {
                self.repo = sandbox.fingerprint(repo)
                state = Rel.fileList(sandbox.state)
            }
        }

        static func expectRejected(
            _ run: CLIRun, code: Int32, mentioning text: String? = nil, _ what: String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            #expect(run.code == code, "\(what): \(run)", sourceLocation: sourceLocation)
            #expect(
                run.stderrLines.count == 1, "\(what): expected one line on stderr: \(run.stderr)",
                sourceLocation: sourceLocation)
            #expect(
                (run.stderrLines.first?.utf8.count ?? 0) < 400, "\(what): the error line is too long",
                sourceLocation: sourceLocation)
            #expect(
                run.errorCode != nil, "\(what): --json must carry an error object: \(run.stdout)",
                sourceLocation: sourceLocation)
            #expect(
                run.stdout.split(separator: "\n").count == 1, "\(what): one JSON object on stdout",
                sourceLocation: sourceLocation)
            if let text { #expect(run.stderr.contains(text), "\(what): \(run.stderr)", sourceLocation: sourceLocation) }
        }

        @Test("job ids with .., /, NUL or 10 kB are usage errors that touch nothing")
        func maliciousJobIds() throws {
            let sandbox = try RelSandbox("input")
            let (workspace, _) = try sandbox.workspaceWithJob()
            // Files a traversal would reach.
            try sandbox.write(sandbox.state + "/workspaces/victim.json", "{}")
            let before = Rel.tree(sandbox.state, skip: [])
            let ids = [
                "..", "../victim", "../../workspaces/victim", "a/b", "/etc/passwd", "task-abc/../../x",
                String(repeating: "a", count: 10_000), String(repeating: "task-", count: 2_000), "TASK-ABC", "task-ü",
            ]
            for bad in ids {
                for command in [
                    ["status", bad], ["result", bad], ["cancel", bad],
                    ["worktree-cleanup", bad, "--action", "discard"],
                    ["task-worker", "--job-id", bad],
                ] {
                    let run = sandbox.companion(command + ["--json"], cwd: workspace)
                    Self.expectRejected(run, code: 64, "\(command[0]) \(bad.prefix(30))")
                }
            }
            #expect(Rel.tree(sandbox.state, skip: []) == before)

            // NUL cannot travel in argv; the parser still refuses it when handed one in-process,
            // also inside the one argument a slash command passes (split like a shell would).
            for arguments in [
                ["status", "task-\u{0}x"], ["result", "task-mf3k2x9a-7q2c\u{0}/../x"],
                ["status", "'task-\u{0}' --json"], ["task-worker", "--job-id", "task-\u{0}"],
            ] {
                let run = TestCLI.run(arguments + ["--state-dir", sandbox.state], cwd: workspace)
                #expect(run.code == 64, "\(arguments): \(run)")
                #expect(!run.stderr.contains("\u{0}"), "the NUL is echoed back")
            }
            #expect(Rel.tree(sandbox.state, skip: []) == before)
        }

        @Test("unknown and repeated flags")
        func unknownAndRepeatedFlags() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("input")
            #expect(sandbox.companion(["status", "--json"], cwd: workspace).code == 0)
            let before = Rel.tree(sandbox.state, skip: [])
            let cases: [([String], String)] = [
                (["status", "--bogus"], "--bogus"),
                (["task", "--bogus", "hi"], "--bogus"),
                (["--bogus", "status"], "--bogus"),
                (["task", "--model", "a", "--model", "b", "hi"], "--model"),
                (["task", "--timeout", "5", "--timeout", "6", "hi"], "--timeout"),
                (["task", "--effort", "low", "--effort=high", "hi"], "--effort"),
                (["worktree-cleanup", "task-mf3k2x9a-7q2c", "--action", "keep", "--action", "discard"], "--action"),
                (["task", "--resume-last", "--fresh", "hi"], "--resume-last"),
                (["task", "--timeout", "-3", "hi"], "--timeout"),
                (["task", "--model"], "--model"),
                (["status", "--json=yes"], "--json"),
                (["frobnicate"], "frobnicate"),
            ]
            for (arguments, mention) in cases {
                let run = sandbox.companion(["--json"] + arguments, cwd: workspace)
                Self.expectRejected(run, code: 64, mentioning: mention, arguments.joined(separator: " "))
            }
            #expect(Rel.tree(sandbox.state, skip: []) == before, "a rejected command changed the state directory")
            // The same flag twice with the same meaning is fine.
            #expect(sandbox.companion(["status", "--all", "--all", "--json", "--json"], cwd: workspace).code == 0)
            let same = sandbox.companion(["task", "--model", "m", "--model", "m", "--json", "hi"], cwd: workspace)
            #expect(same.code == 0, "\(same)")
        }

        @Test("empty prompts, missing or directory prompt files, --cwd to a missing directory")
        func emptyAndMissingPrompts() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("input")
            try sandbox.write(workspace + "/blank.txt", " \n\t\n")
            #expect(sandbox.companion(["status", "--json"], cwd: workspace).code == 0)
            let before = Rel.tree(sandbox.state, skip: [])
            let workspaceBefore = Rel.tree(workspace)
            let cases: [([String], [UInt8]?, String)] = [
                (["task"], nil, "no prompt"),
                (["task", ""], nil, "no prompt"),
                (["task", "   \n  "], nil, "no prompt"),
                (["task"], [], "no prompt"),
                (["task"], Array(" \n \t".utf8), "no prompt"),
                (["task", "--prompt-file", "blank.txt"], nil, "no prompt"),
                (["task", "--prompt-file", "missing.txt"], nil, "missing.txt"),
                (["task", "--prompt-file", sandbox.base], nil, "is a directory"),
                (["task", "--prompt-file", "blank.txt", "and words"], nil, "not both"),
                (["--cwd", sandbox.base + "/nowhere", "status"], nil, "nowhere"),
                (["task", "--cwd", sandbox.base + "/nowhere", "hi"], nil, "nowhere"),
                (["-C", workspace + "/blank.txt", "status"], nil, "blank.txt"),
            ]
            for (arguments, input, mention) in cases {
                let run = sandbox.companion(["--json"] + arguments, cwd: workspace, input: input)
                Self.expectRejected(run, code: 64, mentioning: mention, arguments.joined(separator: " "))
            }
            #expect(Rel.tree(sandbox.state, skip: []) == before)
            #expect(Rel.tree(workspace) == workspaceBefore)
            #expect(!FileSystem.exists(sandbox.base + "/nowhere"))
        }

        @Test("a 5 MB prompt (file and stdin) works end to end")
        func fiveMegabytePrompt() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("input")
            var text = ""
            let line = "Please look at every file and explain it — line with ünïcode and \"quotes\".\n"
            while text.utf8.count < 5_000_000 { text += line }
            try sandbox.write(sandbox.base + "/big prompt.txt", text)
            for (arguments, input) in [
                (["task", "--prompt-file", sandbox.base + "/big prompt.txt"], nil as [UInt8]?),
                (["task"], Array(text.utf8)),
            ] {
                let log = sandbox.base + "/fake-\(arguments.count).log"
                let run = sandbox.companion(
                    arguments + ["--json"], cwd: workspace, environment: ["FAKE_CODEX_LOG": log],
                    input: input, timeout: 120)
                #expect(run.code == 0, "\(run.status) \(run.stderr.suffix(500))")
                let id = try #require(run.json?["jobId"]?.stringValue)
                let record = try #require(sandbox.record(workspace, id))
                #expect(record.title.count <= 80)
                #expect(try FileSystem.read(record.promptFile) == Array(text.utf8))
                // Over Codex's 1 MiB input limit the turn names the prompt file, which holds
                // the whole prompt, instead of sending 5 MB that Codex would reject.
                let received = String(decoding: ((try? FileSystem.read(log)) ?? nil) ?? [], as: UTF8.self)
                #expect(received.contains(record.promptFile), "turn/start does not name \(record.promptFile)")
                #expect(!received.split(separator: "\n").contains { $0.utf8.count > 1_048_576 })
            }
        }

        @Test("--worktree outside git, in a repository without commits, on a detached HEAD and mid-rebase")
        func awkwardRepositories() throws {
            let sandbox = try RelSandbox("repos")
            let script = try sandbox.script("edit", FakeScript.writing([("a.txt", "edited\n")]))
            let env = ["FAKE_CODEX_SCRIPT": script]

            // Not a repository: failure, nothing created in the directory, no job recorded.
            let plain = try sandbox.directory("plain")
            try sandbox.write(plain + "/notes.txt", "mine\n")
            #expect(sandbox.companion(["status", "--json"], cwd: plain).code == 0)
            var state = Rel.fileList(sandbox.state)
            let plainBefore = Rel.tree(plain, skip: [])
            let notGit = sandbox.companion(
                ["task", "--write", "--worktree", "--json", "edit"], cwd: plain, environment: env)
            Self.expectRejected(notGit, code: 1, mentioning: "not inside a git working tree", "not a repository")
            #expect(Rel.tree(plain, skip: []) == plainBefore)
            #expect(Rel.fileList(sandbox.state) == state)

            // No commits yet: failure, the repository exactly as it was.
            let empty = try sandbox.repository("empty", files: [:])
            try sandbox.write(empty + "/draft.txt", "draft\n")
            #expect(sandbox.companion(["status", "--json"], cwd: empty).code == 0)
            state = Rel.fileList(sandbox.state)
            let emptyBefore = Snapshot(sandbox, repo: empty)
            let noCommit = sandbox.companion(
                ["task", "--write", "--worktree", "--json", "edit"], cwd: empty, environment: env)
            Self.expectRejected(noCommit, code: 1, mentioning: "no commit", "no commits")
            #expect(Snapshot(sandbox, repo: empty) == emptyBefore)
            #expect(!FileSystem.exists(empty + "/.worktrees"))
            #expect(Rel.fileList(sandbox.state) == state)

            // Detached HEAD: works; the worktree starts from that commit; HEAD stays detached.
            let detached = try sandbox.repository("detached")
            try sandbox.write(detached + "/a.txt", "second\n")
            try sandbox.gitText(["commit", "--quiet", "-am", "second"], in: detached)
            try sandbox.gitText(["checkout", "--quiet", "--detach", "HEAD~1"], in: detached)
            let head = try sandbox.gitText(["rev-parse", "HEAD"], in: detached)
            let detachedBefore = Snapshot(sandbox, repo: detached)
            let onDetached = sandbox.companion(
                ["task", "--write", "--worktree", "--json", "edit"], cwd: detached, environment: env)
            #expect(onDetached.code == 0, "\(onDetached)")
            let detachedJob = try #require(onDetached.json?["jobId"]?.stringValue)
            #expect(sandbox.record(detachedJob)?.worktree?.info.baseCommit == head)
            #expect(sandbox.record(detachedJob)?.worktree?.state == .ready)
            #expect(sandbox.fingerprint(detached) == detachedBefore.repo, "the user's checkout changed")
            let keepDetached = sandbox.companion(
                ["worktree-cleanup", detachedJob, "--action", "keep", "--json"], cwd: detached)
            #expect(keepDetached.code == 0, "\(keepDetached)")
            #expect(try sandbox.readText(detached + "/a.txt") == "edited\n")
            #expect(try sandbox.gitText(["rev-parse", "HEAD"], in: detached) == head)

            // Mid-rebase: the task works in its worktree; keep refuses and changes nothing.
            let rebasing = try sandbox.repository("rebasing")
            try sandbox.gitText(["checkout", "--quiet", "-b", "topic"], in: rebasing)
            try sandbox.write(rebasing + "/b.txt", "topic\n")
            try sandbox.gitText(["commit", "--quiet", "-am", "topic"], in: rebasing)
            try sandbox.gitText(["checkout", "--quiet", "main"], in: rebasing)
            try sandbox.write(rebasing + "/b.txt", "main\n")
            try sandbox.gitText(["commit", "--quiet", "-am", "main"], in: rebasing)
            try sandbox.gitText(["checkout", "--quiet", "topic"], in: rebasing)
            let rebase = try sandbox.git.run(["rebase", "main"], in: rebasing)
            try #require(!rebase.status.isSuccess, "the rebase was meant to stop on a conflict")
            let rebaseBefore = Snapshot(sandbox, repo: rebasing)
            let midRebase = sandbox.companion(
                ["task", "--write", "--worktree", "--json", "edit"], cwd: rebasing, environment: env)
            #expect(midRebase.code == 0, "\(midRebase)")
            let rebaseJob = try #require(midRebase.json?["jobId"]?.stringValue)
            #expect(sandbox.fingerprint(rebasing) == rebaseBefore.repo)
            let afterTask = Snapshot(sandbox, repo: rebasing)
            let keep = sandbox.companion(["worktree-cleanup", rebaseJob, "--action", "keep", "--json"], cwd: rebasing)
            Self.expectRejected(keep, code: 1, mentioning: "rebase", "keep mid-rebase")
            #expect(Snapshot(sandbox, repo: rebasing).repo == afterTask.repo)
            #expect(
                FileSystem.isDirectory(
                    try sandbox.gitText(["rev-parse", "--git-path", "rebase-merge"], in: rebasing).asAbsolute(
                        in: rebasing)))
            #expect(sandbox.record(rebaseJob)?.worktree?.state == .ready)
        }

        @Test("paths and file names with spaces, quotes, newlines and non-ASCII")
        func oddNames() throws {
            // The state directory's name is odd too.
            let sandbox = try RelSandbox("names", stateName: "state dir 'q' \"dq\"\nnl ü")
            let repo = try sandbox.repository(
                "my repo 'single' \"double\"\nnewline ünï",
                files: [
                    "plain.txt": "plain\n", "spaced name.txt": "old\n", "ü/ñ.txt": "old\n",
                ])
            let files: [(String, String)] = [
                ("spaced name.txt", "new spaced\n"),
                ("ü/ñ.txt", "new ñ\n"),
                ("quote's \"both\".txt", "quotes\n"),
                ("new\nline.txt", "newline\n"),
                ("dir with space/tab\there.txt", "tab\n"),
                ("日本語/ファイル.txt", "kanji\n"),
                ("-starts-with-dash.txt", "dash\n"),
            ]
            let script = try sandbox.script("names", FakeScript.writing(files))
            let before = Rel.tree(repo)
            let task = sandbox.companion(
                ["task", "--write", "--worktree", "--json", "write odd names"], cwd: repo,
                environment: ["FAKE_CODEX_SCRIPT": script])
            #expect(task.code == 0, "\(task)")
            let id = try #require(task.json?["jobId"]?.stringValue)
            let record = try #require(sandbox.record(id))
            #expect(record.workspaceRoot == repo)
            #expect(Set(record.worktree?.changedPaths ?? []) == Set(files.map(\.0)))
            #expect(Rel.tree(repo) == before, "the user's tree changed before any keep")

            // status and result find it, from the odd directory and from elsewhere.
            #expect(sandbox.companion(["status", "--all", "--json"], cwd: repo).json?["totalJobs"]?.intValue == 1)
            #expect(sandbox.companion(["result", id, "--json"], cwd: sandbox.base).code == 0)

            let keep = sandbox.companion(["worktree-cleanup", id, "--action", "keep", "--json"], cwd: repo)
            #expect(keep.code == 0, "\(keep)")
            var expected = before
            for (path, content) in files {
                expected[path] = "file " + Rel.fnv(Array(content.utf8))
                var parent = Path.dirname(path)
                while parent != "." && !parent.isEmpty && parent != path {
                    expected[parent + "/"] = "dir"
                    let next = Path.dirname(parent)
                    if next == parent { break }
                    parent = next
                }
            }
            #expect(Rel.tree(repo) == expected)
            #expect(sandbox.record(id)?.worktree?.state == .kept)
        }
    }
}

extension String {
    func asAbsolute(in directory: String) -> String { hasPrefix("/") ? self : directory + "/" + self }
}
