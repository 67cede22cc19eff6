import Testing

@testable import CodexCloud
import GitWorktrees
@testable import CompanionJSON
@testable import CompanionSystem

/// The `CodexCloud` module against the real Codex CLI and the scripted mock service.
@Suite("codex cloud, real CLI against the mock", .enabled(if: RealCodex.available), .serialized)
struct CloudRealCLITests {
    @Test func submitPollAndFetchTheDiff() throws {
        let mock = try CloudMock(script: CloudScripts.standard())
        let client = try mock.client()
        #expect(client.version == "0.147.0")
        let submitted = try client.exec(
            CloudTaskRequest(environment: "mock-env", branch: "feature/x", attempts: 1, prompt: "--add hello please"))
        #expect(submitted.url.hasSuffix("/codex/tasks/" + submitted.taskId))
        var task = try client.task(submitted.taskId)
        #expect(task.status == .pending)
        task = try client.task(submitted.taskId)
        #expect(task.status == .ready)
        #expect(task.title == "Add hello")
        #expect(task.summary == CloudDiffSummary(filesChanged: 1, linesAdded: 1, linesRemoved: 0))
        let diff = try client.diff(submitted.taskId)
        #expect(String(decoding: diff.diff, as: UTF8.self).hasPrefix("diff --git a/hello.txt b/hello.txt\n"))
        #expect(diff.stat == task.summary)

        let requests = mock.requests()
        let create = requests.first { $0["method"] == "POST" && $0["path"]?.stringValue?.hasSuffix("/tasks") == true }
        #expect(create?["body"]?["new_task"]?["branch"] == "feature/x", "the branch is sent as given")
        let prompt = create?["body"]?["input_items"]?[0]?["content"]?[0]?["text"]
        #expect(prompt == "--add hello please", "a prompt starting with dashes is text, not an option")
        let agents = requests.compactMap { $0["headers"]?["user-agent"]?.stringValue }
        #expect(!agents.contains { $0.contains("codex_cloud_tasks_apply") })
        #expect(try FileSystem.list(mock.temp.path + "/scratch").isEmpty, "every scratch directory is removed")
    }

    @Test func attemptsAreSubmittedAndReadOneByOne() throws {
        let mock = try CloudMock(script: CloudScripts.standard())
        let client = try mock.client()
        let submitted = try client.exec(
            CloudTaskRequest(environment: "env_mock", branch: "main", attempts: 2, prompt: "two ways"))
        let task = try client.task(submitted.taskId)
        #expect(task.status == .ready)
        #expect(task.attemptTotal == 2)
        let diffs = try client.diffs(submitted.taskId, total: task.attemptTotal)
        #expect(diffs.map(\.attempt) == [1, 2])
        #expect(String(decoding: diffs[1].diff, as: UTF8.self).contains("+bye"))
        #expect(throws: CloudError.attemptUnavailable(taskId: submitted.taskId, attempt: 3)) {
            _ = try client.diff(submitted.taskId, attempt: 3)
        }
        let state = try mockState(mock)
        #expect(state?["tasks"]?[0]?["best_of_n"] == 2)
    }

    /// What `compare <cloud-job>` shows per attempt: each attempt's diff previewed against the
    /// user's tree (an untracked hello.txt stops attempt 1, attempt 2 applies), touching nothing.
    @Test func attemptDiffsArePreviewedAgainstTheUsersTree() throws {
        let mock = try CloudMock(script: CloudScripts.standard())
        let client = try mock.client()
        let submitted = try client.exec(
            CloudTaskRequest(environment: "env_mock", branch: "main", attempts: 2, prompt: "two ways"))
        let diffs = try client.diffs(submitted.taskId, total: 2)
        let repo = mock.temp.path + "/repo"
        let git = try GitClient(base: mock.environment)
        try FileSystem.createDirectory(repo)
        try git.check(["init", "-q", "-b", "main"], in: repo)
        try AtomicFile.write(Array("mine\n".utf8), to: repo + "/hello.txt")
        var previews: [KeepPreview] = []
        for (index, diff) in diffs.enumerated() {
            let patch = mock.temp.path + "/attempt-\(index + 1).patch"
            try AtomicFile.write(diff.diff, to: patch)
            previews.append(try WorktreeOperations.patchPreview(patch, repoRoot: repo, git: git))
        }
        #expect(previews[0].clean == false && previews[0].conflicts == ["hello.txt"])
        #expect(previews[0].sentence == "keep would conflict in hello.txt")
        #expect(previews[1] == KeepPreview(clean: true, files: ["bye.txt"], conflicts: []))
        #expect(try FileSystem.read(repo + "/hello.txt") == Array("mine\n".utf8))
        #expect(!FileSystem.exists(repo + "/bye.txt"))
    }

    @Test func aFailedTaskIsAnErrorWithNoDiff() throws {
        let mock = try CloudMock(script: CloudScripts.standard())
        let client = try mock.client()
        let submitted = try client.exec(CloudTaskRequest(environment: "mock-env", branch: "main", prompt: "explode"))
        #expect(try client.task(submitted.taskId).status == .error)
        #expect(throws: CloudError.noDiff(taskId: submitted.taskId)) { _ = try client.diff(submitted.taskId) }
        #expect(throws: CloudError.taskNotFound(taskId: "task_e_nosuch")) { _ = try client.task("task_e_nosuch") }
    }

    @Test func unknownEnvironmentCreatesNothing() throws {
        let mock = try CloudMock(script: CloudScripts.standard())
        let client = try mock.client()
        #expect(throws: CloudError.unknownEnvironment("nope")) {
            _ = try client.exec(CloudTaskRequest(environment: "nope", branch: "main", prompt: "add hello"))
        }
        #expect(!mock.requests().contains { $0["method"] == "POST" })
    }

    @Test func apiKeyLoginIsNotEnough() throws {
        let mock = try CloudMock(script: CloudScripts.standard(), login: ["--api-key", "sk-test"])
        let client = try mock.client()
        #expect(throws: CloudError.notSignedInWithChatGPT) {
            _ = try client.exec(CloudTaskRequest(environment: "mock-env", branch: "main", prompt: "add hello"))
        }
        #expect(client.readiness().signedInWithChatGPT == false)
    }

    @Test func unreachableServiceAndHTTPErrorsAreTyped() throws {
        let mock = try CloudMock(
            script: CloudScripts.standard(faults: [["method": "POST", "path": "/tasks$", "status": 503, "times": 1]]))
        let client = try mock.client()
        do {
            _ = try client.exec(CloudTaskRequest(environment: "mock-env", branch: "main", prompt: "add hello"))
            Issue.record("a 503 must fail the submission")
        } catch {
            guard case .serviceError = error else { throw error }
        }
        var env = mock.environment
        env["CODEX_CLOUD_TASKS_BASE_URL"] = "http://127.0.0.1:1/backend-api"
        let away = try CloudClient.connect(
            codex: RealCodex.located.path!, environment: env, scratchRoot: mock.temp.path + "/scratch")
        do {
            _ = try away.list()
            Issue.record("a refused connection must fail")
        } catch {
            guard case .serviceUnreachable(let detail) = error else { throw error }
            #expect(!detail.contains("Stack backtrace"))
        }
        #expect(away.readiness().serviceReachable == false)
    }

    @Test func aSlowServiceHitsTheTimeout() throws {
        let mock = try CloudMock(
            script: CloudScripts.standard(faults: [["method": "GET", "path": "/tasks/list", "delay_s": 20]]))
        let client = try mock.client(timeout: 3)
        #expect(throws: CloudError.timedOut(command: "codex cloud list --json", seconds: 3)) { _ = try client.list() }
    }

    @Test func readinessTellsEnvironmentsApart() throws {
        let mock = try CloudMock(script: CloudScripts.standard())
        #expect(try mock.client().readiness().ready)
        try mock.setScript(["environments": [], "tasks": []])
        let none = try mock.client().readiness()
        #expect(!none.ready && none.environmentsVisible == false)
        #expect(!mock.requests().contains { $0["method"] == "POST" }, "the probe submits nothing")
    }

    private func mockState(_ mock: CloudMock) throws -> JSONValue? {
        let output = try Subprocess.run(
            SpawnRequest(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", "-c",
                    "import urllib.request,sys;sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())",
                    "http://127.0.0.1:\(mock.port)/_mock/state",
                ]))
        return try? JSONCoding.decode(JSONValue.self, from: output.stdout)
    }
}
