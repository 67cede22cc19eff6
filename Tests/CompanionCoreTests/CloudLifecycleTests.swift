#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Testing

import CompanionJSON
import CompanionSystem
import CompanionTestSupport
import GitWorktrees
import JobStore
import Jobs

/// Cloud jobs through the lifecycle owner: every transition, and what never moves again.
@Suite("Cloud job lifecycle")
struct CloudLifecycleTests {
    let temp = TempDir("cloudlife")

    func cloudJob(_ store: WorkspaceStore, createdAt: String = Timestamp.now()) throws -> JobRecord {
        let id = JobID.make()
        let record = JobRecord(
            id: id, status: .queued, phase: .queued, title: "t", summary: "s", workspaceRoot: store.root,
            cwd: store.root, sessionId: nil, write: true, background: true, createdAt: createdAt,
            updatedAt: createdAt, timeoutSeconds: 1800, logFile: store.logPath(id), promptFile: store.promptPath(id),
            cloud: JobCloud(
                taskId: nil, url: nil, repoRoot: "/repo", baseRef: "origin/main",
                baseCommit: String(repeating: "a", count: 40),
                environment: "env", branch: "main", attempts: 2, remoteStatus: "pending", branchWarnings: []))
        try JobLifecycle(store: store).create(record)
        return record
    }

    func snapshot(_ status: String) -> CloudSnapshot {
        CloudSnapshot(
            status: status, title: "Add hello", filesChanged: 1, linesAdded: 2, linesRemoved: 0, attemptTotal: 2)
    }

    @Test func submittedPendingReady() throws {
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: { _ in })
        let lifecycle = JobLifecycle(store: store)
        let job = try cloudJob(store)
        let running = try #require(
            try lifecycle.cloudSubmitted(job.id, taskId: "task_e_1", url: "http://x/tasks/task_e_1"))
        #expect(running.status == .running && running.phase == .running && running.backend == .cloud)
        #expect(running.worktree == nil, "nothing to decide before the task is ready")
        _ = try lifecycle.cloudObserved(job.id, snapshot("pending"))
        #expect(store.load(job.id)?.status == .running)
        let done = try #require(try lifecycle.cloudObserved(job.id, snapshot("ready")))
        #expect(done.status == .completed && done.phase == .done && done.reason == .completed)
        let worktree = try #require(done.worktree)
        #expect(worktree.state == .ready)
        #expect(worktree.info.branch == "codex/" + job.id && worktree.info.path == "/repo/.worktrees/" + job.id)
        #expect(worktree.info.baseRef == "origin/main")
        #expect(done.cloud?.attemptTotal == 2 && done.cloud?.linesAdded == 2)
        // A later poll (e.g. the service now says applied) moves nothing.
        _ = try lifecycle.cloudObserved(job.id, snapshot("error"))
        #expect(store.load(job.id)?.status == .completed)
    }

    @Test func errorAndCancelEndWithoutAWorktree() throws {
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: { _ in })
        let lifecycle = JobLifecycle(store: store)
        let failing = try cloudJob(store)
        try lifecycle.cloudSubmitted(failing.id, taskId: "task_e_2", url: "u")
        let failed = try #require(try lifecycle.cloudObserved(failing.id, snapshot("error")))
        #expect(failed.status == .failed && failed.reason == .cloudTaskFailed && failed.worktree == nil)

        let tracked = try cloudJob(store)
        try lifecycle.cloudSubmitted(tracked.id, taskId: "task_e_3", url: "u")
        let (cancelled, lostRace) = try lifecycle.cloudCancel(tracked.id, message: "stopped tracking")
        #expect(!lostRace && cancelled?.status == .cancelled && cancelled?.cancelRequestedAt != nil)
        _ = try lifecycle.cloudObserved(tracked.id, snapshot("ready"))
        #expect(store.load(tracked.id)?.status == .cancelled, "a cancelled job is not revived by a poll")
        #expect(try lifecycle.cloudCancel(failing.id, message: "x").lostRace, "a job that ended first keeps its end")

        let refused = try cloudJob(store)
        #expect(lifecycle.cloudSubmitFailed(refused.id, message: "no such environment")?.reason == .submitFailed)
    }

    @Test func theReconcilerLeavesCloudJobsWithoutAWorkerAlone() throws {
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: { _ in })
        let old = Timestamp.format(milliseconds: WallClock.nowMilliseconds() - 3_600_000)
        let job = try cloudJob(store, createdAt: old)
        try JobLifecycle(store: store).cloudSubmitted(job.id, taskId: "task_e_4", url: "u")
        let loaded = try #require(store.load(job.id))
        #expect(Reconciler.verdict(for: loaded) == nil)
        #expect(Reconciler.reconcile(loaded, in: store).status == .running)
    }
}

/// The real Codex CLI (CODEX_COMPANION_E2E_CODEX, else the copy `.ci/run` installs), or nil.
private let realCodex: String? = {
    let root = Path.dirname(Path.dirname(Path.dirname(#filePath)))
    let candidates = [ProcessEnvironment.value("CODEX_COMPANION_E2E_CODEX"), root + "/.ci-work/venv/bin/codex"]
    return candidates.compactMap { $0 }.first { !$0.isEmpty && FileSystem.isExecutable($0) }
}()

/// `codex-companion` as a user runs it, on a cloud job, with the real `codex cloud` against
/// Tests/cloud-e2e/mock_cloud.py and a fake ChatGPT login.
@Suite("Cloud jobs through the CLI", .enabled(if: realCodex != nil, "needs the real codex (CODEX_COMPANION_E2E_CODEX)"))
struct CloudCompareCLITests {
    let temp = TempDir("cloudcli")

    static func lines(_ diff: [String]) -> JSONValue { .array(diff.map { .string($0) }) }

    /// The mock with one two-attempt task: attempt 1 edits a.txt, attempt 2 adds bye.txt.
    func startMock() throws -> (pid: pid_t, port: Int) {
        let kit = Path.dirname(Path.dirname(#filePath)) + "/cloud-e2e"
        let script: JSONValue = [
            "environments": [["id": "env_mock", "label": "mock-env", "is_pinned": true]],
            "tasks": [
                [
                    "match": "pick one", "polls": 0, "title": "Pick one",
                    "attempts": [
                        [
                            "diff": Self.lines([
                                "diff --git a/a.txt b/a.txt", "--- a/a.txt", "+++ b/a.txt", "@@ -1 +1,2 @@", " one",
                                "+two",
                            ])
                        ],
                        [
                            "diff": Self.lines([
                                "diff --git a/bye.txt b/bye.txt", "new file mode 100644", "--- /dev/null",
                                "+++ b/bye.txt", "@@ -0,0 +1 @@", "+bye",
                            ])
                        ],
                    ],
                ]
            ],
        ]
        try AtomicFile.write(try JSONCoding.encode(script), to: temp.file("script.json"))
        let started = try Subprocess.spawn(
            SpawnRequest(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", "-B", kit + "/mock_cloud.py", "--port", "0", "--port-file", temp.file("port"),
                    "--script", temp.file("script.json"), "--log", temp.file("requests.jsonl"), "--max-lifetime",
                    "300", "--parent-pid", String(getpid()),
                ], grouping: .newGroup, stdout: .null, stderr: .null))
        for _ in 0..<200 {
            if let bytes = try? FileSystem.read(temp.file("port")),
                let port = Int(String(decoding: bytes, as: UTF8.self).trimmingWhitespace())
            {
                let auth = try Subprocess.run(
                    SpawnRequest(
                        executable: "/usr/bin/env",
                        arguments: ["python3", "-B", kit + "/make_auth.py", temp.file("codex-home")]))
                #expect(auth.status.isSuccess, "make_auth.py: \(auth.stderrText)")
                return (started.pid, port)
            }
            sleepSeconds(0.05)
        }
        kill(started.pid, SIGKILL)
        _ = Subprocess.wait(started.pid)
        throw SystemError("start mock_cloud.py", errno: ETIMEDOUT)
    }

    @Test func compareShowsOneRowPerAttemptAndRefusesCheck() throws {
        let (pid, port) = try startMock()
        defer {
            kill(pid, SIGTERM)
            _ = Subprocess.wait(pid)
        }
        try FileSystem.createDirectory(temp.file("tmp"))
        let env = [
            "CODEX_HOME": temp.file("codex-home"), "TMPDIR": temp.file("tmp"),
            "CODEX_CLOUD_TASKS_BASE_URL": "http://127.0.0.1:\(port)/backend-api",
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE": "http://127.0.0.1:\(port)/oauth/token",
            "CODEX_COMPANION_CODEX": realCodex!, "CODEX_COMPANION_STATE_DIR": temp.file("state"),
            "CODEX_COMPANION_CLOUD_POLL_SECONDS": "0.2", "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@e.invalid",
            "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@e.invalid",
        ]
        let repo = temp.file("repo")
        func git(_ arguments: [String], in directory: String? = nil) {
            let output = Binaries.run("/usr/bin/env", ["git"] + arguments, cwd: directory ?? repo, environment: env)
            #expect(output.status.isSuccess, "git \(arguments): \(output.stderrText)")
        }
        try FileSystem.createDirectory(repo)
        git(["init", "-q", "--bare", "-b", "main", temp.file("remote.git")], in: temp.path)
        git(["init", "-q", "-b", "main"])
        temp.write("repo/a.txt", "one\n")
        git(["add", "-A"])
        git(["commit", "-qm", "one"])
        git(["remote", "add", "origin", temp.file("remote.git")])
        git(["push", "-q", "-u", "origin", "main"])
        func companion(_ arguments: [String]) -> ProcessOutput {
            Binaries.run(Binaries.companion, arguments, cwd: repo, environment: env, timeout: 120)
        }
        func json(_ arguments: [String]) throws -> JSONValue {
            let output = companion(arguments + ["--json"])
            #expect(output.status.isSuccess, "\(arguments): \(output.stdoutText) \(output.stderrText)")
            return try JSONCoding.decode(JSONValue.self, from: output.stdout)
        }

        let launched = try json(["task", "--cloud", "--env", "mock-env", "--attempts", "2", "--background", "pick one"])
        let job = try #require(launched["jobId"]?.stringValue)
        _ = try json(["status", job, "--wait", "--timeout-ms", "30000"])
        temp.write("repo/a.txt", "one\nmine\n")  // the user's edit of the file attempt 1 changes
        let tree = try FileSystem.read(repo + "/a.txt")
        let index = try FileSystem.read(repo + "/.git/index")

        let compared = try json(["compare", job])
        #expect(compared["backend"] == "cloud" && compared["jobId"]?.stringValue == job)
        let attempts = try #require(compared["attempts"]?.arrayValue)
        #expect(attempts.map { $0["attempt"] } == [1, 2])
        #expect(attempts[0]["keepPreview"]?["clean"] == false && attempts[0]["keepPreview"]?["conflicts"] == ["a.txt"])
        #expect(attempts[1]["keepPreview"]?["clean"] == true && attempts[1]["keepPreview"]?["files"] == ["bye.txt"])

        let text = companion(["compare", job])
        #expect(text.status.isSuccess)
        let rows = text.stdoutText.split(separator: "\n").filter { $0.hasPrefix("| 1 |") || $0.hasPrefix("| 2 |") }
        #expect(rows.count == 2, "one row per attempt: \(text.stdoutText)")
        #expect(rows.first?.contains("keep would conflict in a.txt") == true)
        #expect(rows.last?.contains("keep would apply cleanly") == true)

        let refused = companion(["compare", job, "--check", "true"])
        #expect(refused.status == .exited(2))
        let message = refused.stderrText.trimmingWhitespace()
        #expect(message.contains("--check") && !message.contains("\n"), "one line: \(refused.stderrText)")
        let refusedJSON = companion(["compare", job, "--check", "true", "--json"])
        #expect(refusedJSON.status == .exited(2))
        let error = try JSONCoding.decode(JSONValue.self, from: refusedJSON.stdout)["error"]
        #expect(error?["code"] == "unsupported-for-cloud", "\(refusedJSON.stdoutText)")

        #expect(try FileSystem.read(repo + "/a.txt") == tree)
        #expect(try FileSystem.read(repo + "/.git/index") == index)
        #expect(!FileSystem.exists(repo + "/bye.txt"))
    }
}
