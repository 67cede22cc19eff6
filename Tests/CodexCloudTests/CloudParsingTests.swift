import Testing

@testable import CodexCloud
@testable import CompanionJSON
@testable import CompanionSystem

@Suite("Reading what codex cloud prints")
struct CloudParsingTests {
    @Test func versionLineIsParsedExactly() {
        #expect(CloudClient.parseVersion("codex-cli 0.147.0") == "0.147.0")
        #expect(CloudClient.parseVersion("codex-cli 0.147") == "0.147")
        #expect(CloudClient.parseVersion("codex 0.147.0") == nil)
        #expect(CloudClient.parseVersion("codex-cli") == nil)
        #expect(CloudClient.parseVersion("codex-cli 0..1") == nil)
    }

    @Test func childEnvironmentDropsWhatChangesOutputOrPayload() {
        let env = CloudClient.childEnvironment([
            "RUST_BACKTRACE": "1", "CODEX_STARTING_DIFF": "diff --git", "PATH": "/bin",
        ])
        #expect(env["RUST_BACKTRACE"] == nil)
        #expect(env["CODEX_STARTING_DIFF"] == nil)
        #expect(env["PATH"] == "/bin")
    }

    @Test func listJSONDecodesIntoCamelCaseTypes() throws {
        let text = """
            {"tasks":[{"id":"task_e_1","url":"http://x/codex/tasks/task_e_1","title":"T","status":"ready",
            "updated_at":"2026-12-02T06:51:21Z","environment_id":null,"environment_label":"mock-env",
            "summary":{"files_changed":1,"lines_added":2,"lines_removed":3},"is_review":false,"attempt_total":2}],
            "cursor":null}
            """
        let page = try CloudListWire.decode(Array(text.utf8))
        #expect(page.tasks.count == 1)
        let task = page.tasks[0]
        #expect(task.status == .ready)
        #expect(task.summary == CloudDiffSummary(filesChanged: 1, linesAdded: 2, linesRemoved: 3))
        #expect(task.attemptTotal == 2)
        let encoded = try JSONCoding.encodeString(task)
        #expect(encoded.contains("\"attemptTotal\":2"))
        #expect(encoded.contains("\"environmentLabel\":\"mock-env\""))
    }

    @Test func unknownStatusOrGarbageIsAnError() {
        let unknown = #"{"tasks":[{"id":"a","status":"exploded"}],"cursor":null}"#
        #expect(throws: CloudError.self) { try CloudListWire.decode(Array(unknown.utf8)) }
        #expect(throws: CloudError.self) { try CloudListWire.decode(Array("not json".utf8)) }
    }

    @Test func taskIdComesOnlyFromATaskURL() {
        #expect(CloudClient.taskId(fromURL: "http://127.0.0.1:5/codex/tasks/task_e_abc") == "task_e_abc")
        #expect(CloudClient.taskId(fromURL: "https://chatgpt.com/codex/tasks/task_e_9-x") == "task_e_9-x")
        #expect(CloudClient.taskId(fromURL: "Reading query from stdin...") == nil)
        #expect(CloudClient.taskId(fromURL: "http://x/codex/tasks/a/../b") == nil)
        #expect(CloudClient.taskId(fromURL: "http://x/codex/tasks/") == nil)
    }

    @Test func diffStatCountsOnlyHunkLines() {
        let diff = """
            diff --git a/a.txt b/a.txt
            index 1111111..2222222 100644
            --- a/a.txt
            +++ b/a.txt
            @@ -1,2 +1,2 @@
            -old
            +new
             same
            diff --git a/b.txt b/b.txt
            new file mode 100644
            --- /dev/null
            +++ b/b.txt
            @@ -0,0 +1,2 @@
            +one
            +two

            """
        #expect(
            DiffStatCounter.summary(of: Array(diff.utf8))
                == CloudDiffSummary(filesChanged: 2, linesAdded: 3, linesRemoved: 1))
    }

    @Test func stderrIsClassifiedByTheNarrowestToken() {
        func classify(_ text: String, env: String? = nil, task: String? = nil, attempt: Int? = nil) -> CloudError {
            CloudDiagnostics.classify(
                stderr: text, status: "exit 1", command: "c", taskId: task, environment: env, attempt: attempt)
        }
        #expect(
            classify("Not signed in. Please run 'codex login' to sign in with ChatGPT, then re-run 'codex cloud'.\n")
                == .notSignedInWithChatGPT)
        #expect(
            classify("Error: environment 'x' not found; run `codex cloud` to list available environments\n", env: "x")
                == .unknownEnvironment("x"))
        #expect(classify("Error: no cloud environments are available for this workspace\n") == .noEnvironments)
        #expect(
            classify("Error: http error: list_tasks failed: error sending request for url (http://h/x)\n")
                == .serviceUnreachable(
                    detail: "http error: list_tasks failed: error sending request for url (http://h/x)"))
        #expect(
            classify("Error: No diff available for task t1; it may still be running.\n", task: "t1")
                == .noDiff(taskId: "t1"))
        #expect(
            classify("Error: Attempt 3 not available; only 2 attempt(s) found\n", task: "t1", attempt: 3)
                == .attemptUnavailable(taskId: "t1", attempt: 3))
        #expect(
            classify("Error: http error: get_task_details failed: GET u failed: 404 Not Found; body={}\n", task: "t1")
                == .taskNotFound(taskId: "t1"))
        if case .serviceError = classify(
            "Error: http error: create_task failed: POST u failed: 503 Service Unavailable")
        {
        } else {
            Issue.record("a 503 is a service error")
        }
        if case .commandFailed(_, _, let detail) = classify("thread 'main' panicked\n") {
            #expect(detail == "thread 'main' panicked")
        } else {
            Issue.record("unknown text is commandFailed")
        }
    }

    @Test func readinessFollowsTheProbeAnswer() {
        #expect(CloudClient.readiness(from: .unknownEnvironment("p")).ready)
        let none = CloudClient.readiness(from: .noEnvironments)
        #expect(!none.ready && none.environmentsVisible == false && none.signedInWithChatGPT == true)
        let out = CloudClient.readiness(from: .notSignedInWithChatGPT)
        #expect(!out.ready && out.signedInWithChatGPT == false && !out.nextSteps.isEmpty)
        #expect(CloudClient.readiness(from: .serviceUnreachable(detail: "x")).serviceReachable == false)
    }

    @Test func anotherVersionIsRefusedBeforeAnythingIsParsed() throws {
        let temp = CloudTemp("cloudver")
        let fake = temp.path + "/codex"
        try AtomicFile.write(Array("#!/bin/sh\necho 'codex-cli 0.200.1'\n".utf8), to: fake, mode: 0o755)
        #expect(throws: CloudError.unsupportedVersion(found: "codex-cli 0.200.1", supported: "0.147.x")) {
            _ = try CloudClient.connect(codex: fake, environment: ["PATH": "/usr/bin:/bin"], scratchRoot: temp.path)
        }
        let good = temp.path + "/codex-good"
        try AtomicFile.write(Array("#!/bin/sh\necho 'codex-cli 0.147.3'\n".utf8), to: good, mode: 0o755)
        let client = try CloudClient.connect(
            codex: good, environment: ["PATH": "/usr/bin:/bin"], scratchRoot: temp.path)
        #expect(client.version == "0.147.3")
        #expect(try FileSystem.list(temp.path).sorted() == ["codex", "codex-good"], "scratch directories are removed")
    }

    @Test func aHungCLIIsStoppedAtTheTimeout() throws {
        let temp = CloudTemp("cloudhang")
        let fake = temp.path + "/codex"
        try AtomicFile.write(
            Array("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'codex-cli 0.147.0'; exit 0; fi\nsleep 30\n".utf8),
            to: fake, mode: 0o755)
        let client = try CloudClient.connect(
            codex: fake, environment: ["PATH": "/usr/bin:/bin"], scratchRoot: temp.path + "/s", timeout: 1)
        let started = MonotonicClock.now()
        #expect(throws: CloudError.timedOut(command: "codex cloud list --json", seconds: 1)) {
            _ = try client.list()
        }
        #expect(MonotonicClock.now() - started < 10)
    }
}
