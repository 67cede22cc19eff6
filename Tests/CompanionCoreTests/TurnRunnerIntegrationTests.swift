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

/// `TurnRunner.run` against the built fake-codex, one fixture script each.
/// Serialized: each test owns a child process group and some use wall-clock limits.
@Suite(.serialized) struct TurnRunnerIntegrationTests {
    @Test func successfulTurnWithCommandAndFileChange() throws {
        try FakeRunner.check(fixture: "success.json", prompt: "Create hello.txt") { request in
            request.write = true
            request.model = "spark"
            request.effort = "high"
        } then: { run in
            let outcome = run.outcome
            #expect(outcome.status == .completed)
            #expect(outcome.errorMessage == nil)
            #expect(outcome.threadId == "thr_main")
            #expect(outcome.turnId == "turn_1")
            #expect(outcome.finalMessage == "Created hello.txt.")
            #expect(outcome.touchedFiles == [run.directory + "/hello.txt"])
            #expect(outcome.reasoningSummary == ["**Inspecting files** I will list the directory first."])
            #expect(outcome.commands == [CommandRecord(command: "/bin/bash -lc ls", exitCode: 0, status: "completed")])
            #expect(outcome.appServerExit == "exit 0")
            #expect(FileSystem.exists(run.directory + "/hello.txt"))

            #expect(run.observer.threads.map(\.id) == ["thr_main"])
            #expect(run.observer.threads.first?.resumed == false)
            #expect(run.observer.turnIds == ["turn_1"])
            let lines = run.observer.text
            #expect(lines.contains("Codex thread ready: thr_main."))
            #expect(lines.contains("Running command: ls"))
            #expect(lines.contains("Command completed: ls (exit 0)"))
            #expect(lines.contains("Applying 1 file change(s)."))
            #expect(lines.contains("Files changed: hello.txt"))
            #expect(lines.contains("Assistant: Creating the file now."))
            #expect(lines.last == "Turn completed.")

            // What the client sent, in order, and nothing else.
            let methods = run.received.compactMap { $0["method"]?.stringValue }
            // account/read checks the login before any thread exists (a missing login fails at once).
            #expect(methods == ["initialize", "initialized", "account/read", "thread/start", "turn/start"])
            let initialize = try #require(run.requests("initialize").first)
            #expect(
                initialize["params"]?["clientInfo"] == [
                    "name": "Claude Code", "title": "Codex Companion", "version": "9.9.9-test",
                ])
            #expect(
                initialize["params"]?["capabilities"]?["optOutNotificationMethods"]?.arrayValue?.contains(
                    "account/rateLimits/updated") == true)
            #expect(
                run.requests("thread/start").first?["params"] == [
                    "cwd": .string(run.directory), "model": "gpt-5.3-codex-spark", "approvalPolicy": "never",
                    "sandbox": "workspace-write", "serviceName": "codex_companion", "ephemeral": false,
                ])
            #expect(
                run.requests("turn/start").first?["params"] == [
                    "threadId": "thr_main",
                    "input": [["type": "text", "text": "Create hello.txt", "text_elements": []]],
                    "model": "gpt-5.3-codex-spark", "effort": "high",
                ])
            #expect(run.requests("thread/name/set").isEmpty)
        }
    }

    @Test func readOnlyByDefault() {
        FakeRunner.check(fixture: nil) { run in
            #expect(run.outcome.status == .completed)
            #expect(run.outcome.finalMessage == "Done.")
            #expect(run.requests("thread/start").first?["params"]?["sandbox"] == "read-only")
            #expect(run.requests("thread/start").first?["params"]?["model"] == .null)
            #expect(run.requests("turn/start").first?["params"]?["effort"] == .null)
        }
    }

    @Test func failedTurnCarriesCodexMessage() {
        FakeRunner.check(fixture: "failure.json") { run in
            #expect(run.outcome.status == .failed)
            #expect(
                run.outcome.errorMessage
                    == "We're currently experiencing high demand, which may cause temporary errors.")
            #expect(run.outcome.turnId == "turn_3")
            #expect(run.outcome.appServerExit == "exit 0")
            #expect(run.observer.lines.last?.phase == "failed")
        }
    }

    @Test func aRetriedErrorIsNotAFailure() {
        FakeRunner.check(fixture: "retry-then-success.json") { run in
            #expect(run.outcome.status == .completed)
            #expect(run.outcome.errorMessage == nil)
            #expect(run.outcome.finalMessage == "Recovered and done.")
            #expect(run.observer.text.contains("Codex error, retrying: Reconnecting... 2/5"))
        }
    }

    @Test func subagentEventsArePrefixedAndNeverTheAnswer() {
        FakeRunner.check(fixture: "subagent.json") { run in
            #expect(run.outcome.status == .completed)
            #expect(run.outcome.finalMessage == "Subagent says README has a single heading.")
            #expect(run.outcome.reasoningSummary == ["Reading the README."])
            #expect(run.outcome.commands.map(\.command) == ["/bin/bash -lc 'cat README.md'"])
            let lines = run.observer.text
            #expect(lines.contains("[subagent thr_sub] Assistant: README has a single heading."))
            #expect(lines.contains("[subagent thr_sub] Command completed: cat README.md (exit 0)"))
            #expect(lines.contains("[subagent thr_sub] Turn completed."))
            // The sub's turn/completed came 400 ms before the root's final answer.
            let subDone = lines.firstIndex(of: "[subagent thr_sub] Turn completed.") ?? Int.max
            let rootDone = lines.lastIndex(of: "Turn completed.") ?? -1
            #expect(subDone < rootDone)
        }
    }

    @Test func malformedLinesAreSkippedAndReportedOnce() {
        FakeRunner.check(fixture: "malformed.json") { run in
            #expect(run.outcome.status == .completed)
            #expect(run.outcome.finalMessage == "Still fine.")
            #expect(
                run.observer.text.filter { $0.hasPrefix("ignored malformed line from codex app-server") }.count == 1)
        }
    }

    @Test func everyServerRequestIsAnswered() {
        FakeRunner.check(fixture: "server-request.json") { run in
            #expect(run.outcome.status == .completed)
            #expect(run.outcome.finalMessage == "I could not get approval, so I stopped.")
            #expect(run.outcome.touchedFiles.isEmpty, "a declined file change touches nothing")
            #expect(run.answer(toServerRequest: 0)?["result"] == ["decision": "decline"])
            #expect(run.answer(toServerRequest: 1)?["result"] == ["decision": "decline"])
            #expect(
                run.answer(toServerRequest: 2)?["error"] == [
                    "code": -32601, "message": "Unsupported server request: item/tool/requestUserInput",
                ])
            #expect(run.answer(toServerRequest: 3)?["error"]?["code"] == -32601)
            let lines = run.observer.text
            #expect(
                lines.contains("Declined Codex approval request (item/commandExecution/requestApproval): rm -rf build.")
            )
            #expect(lines.contains("Rejected unsupported Codex request: item/tool/requestUserInput."))
        }
    }

    @Test func aCrashMidTurnFailsWithTheStderrTail() throws {
        try FakeRunner.check(fixture: "crash.json") { run in
            #expect(run.outcome.status == .failed)
            #expect(run.outcome.appServerExit == "exit 1")
            #expect(run.outcome.turnId == "turn_1")
            #expect(run.outcome.reasoningSummary == ["Working on it."])
            let message = try #require(run.outcome.errorMessage)
            #expect(message.hasPrefix("codex app-server exited unexpectedly (exit 1): "))
            #expect(message.contains("fake panic for the test"))
            #expect(message.contains("INFO codex_app_server: starting"))
            #expect(!message.contains("\u{1B}"))
            #expect(!message.contains("could not update PATH"))
        }
    }

    @Test func aKilledServerIsReportedWithItsSignal() throws {
        try FakeRunner.check(fixture: "kill-self.json") { run in
            #expect(run.outcome.status == .failed)
            #expect(run.outcome.appServerExit == "signal 9")
            let message = try #require(run.outcome.errorMessage)
            #expect(message.hasPrefix("codex app-server exited unexpectedly (signal 9)"))
            #expect(message.contains("about to be killed"))
        }
    }

    @Test func finalAnswerWithoutTurnCompletedIsInferred() {
        FakeRunner.check(fixture: "inferred-completion.json") { run in
            #expect(run.outcome.status == .completed)
            #expect(run.outcome.finalMessage == "All done, but no turn/completed follows.")
            #expect(run.observer.text.last?.hasPrefix("Turn completed (final answer received") == true)
            #expect(run.requests("turn/interrupt").isEmpty)
        }
    }

    /// Runs `fixture` with a turn limit of `seconds` (and, when given, `interruptWait` for the
    /// interrupt's answer), expects the turn to end timed out with `message`, then `check`s the rest.
    private func checkTimedOut(
        fixture: String, seconds: Double, interruptWait: Double? = nil, message: String,
        sourceLocation: SourceLocation = #_sourceLocation, _ check: (FakeRun) -> Void
    ) {
        let configure: (inout TurnRequest) -> Void = { request in
            request.timeoutSeconds = seconds
            if let interruptWait { request.interruptWaitSeconds = interruptWait }
        }
        FakeRunner.check(fixture: fixture, configure: configure, sourceLocation: sourceLocation) { run in
            #expect(run.outcome.status == .timedOut, sourceLocation: sourceLocation)
            #expect(run.outcome.errorMessage == message, sourceLocation: sourceLocation)
            check(run)
        }
    }

    @Test func timeoutInterruptsTheTurn() {
        checkTimedOut(
            fixture: "no-turn-completed.json", seconds: 1.5, message: "Codex did not finish within 1.5 seconds"
        ) { run in
            #expect(run.outcome.turnId == "turn_1")
            #expect(
                run.requests("turn/interrupt").map { $0["params"] } == [["threadId": "thr_main", "turnId": "turn_1"]])
            #expect(run.observer.text.contains("Turn interrupted."))
        }
    }

    @Test func timeoutWithAServerThatIgnoresTheInterrupt() {
        checkTimedOut(
            fixture: "hang-on-interrupt.json", seconds: 1, interruptWait: 0.5,
            message: "Codex did not finish within 1 seconds"
        ) { run in
            #expect(run.requests("turn/interrupt").count == 1, "the interrupt is sent once only")
            #expect(run.observer.text.contains { $0.hasPrefix("Codex did not confirm the interrupt") })
        }
    }

    @Test func timeoutFiresWhileTheServerNeverStopsTalking() {
        checkTimedOut(
            fixture: "endless-output.json", seconds: 0.5, interruptWait: 0.5,
            message: "Codex did not finish within 0.5 seconds"
        ) { run in
            #expect(run.requests("turn/interrupt").count <= 1)
        }
    }

    /// A pipe for a turn's stop descriptor: `body` gets its read and write ends, both closed after.
    private func withStopPipe(_ body: (_ readEnd: Int32, _ writeEnd: Int32) -> Void) {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        body(fds[0], fds[1])
    }

    /// Writes `signal` as the byte the runner reads from its stop descriptor.
    private static func sendStop(_ signal: Int32, to fd: Int32) {
        var byte = UInt8(signal)
        _ = write(fd, &byte, 1)
    }

    @Test func stopPipeInterruptsARunningTurn() {
        withStopPipe { readEnd, writeEnd in
            let observer = RecordingObserver()
            observer.onTurnStarted = { Self.sendStop(SIGTERM, to: writeEnd) }
            FakeRunner.check(fixture: "slow.json", observer: observer, stopFD: readEnd) { run in
                #expect(run.outcome.status == .interrupted)
                #expect(run.outcome.errorMessage == nil)
                #expect(run.outcome.finalMessage == nil)
                #expect(run.outcome.turnId == "turn_2")
                #expect(
                    run.requests("turn/interrupt").map { $0["params"] } == [
                        ["threadId": "thr_main", "turnId": "turn_2"]
                    ])
                #expect(run.observer.text.contains("Stop requested; interrupting the Codex turn."))
                #expect(run.observer.text.contains("Turn interrupted."))
            }
        }
    }

    @Test func stopBeforeTheTurnStartsEndsAtOnce() {
        withStopPipe { readEnd, writeEnd in
            Self.sendStop(SIGINT, to: writeEnd)
            FakeRunner.check(fixture: "slow.json", stopFD: readEnd) { run in
                #expect(run.outcome.status == .interrupted)
                #expect(run.outcome.turnId == nil)
                #expect(run.requests("turn/start").isEmpty)
                #expect(run.requests("turn/interrupt").isEmpty)
            }
        }
    }

    @Test func tenThousandLinesDoNotStallTheLoop() {
        FakeRunner.check(fixture: "flood.json") { run in
            #expect(run.outcome.status == .completed)
            #expect(run.outcome.finalMessage == "Survived the flood.")
        }
    }

    @Test func aFiveMegabytePromptIsWrittenWithoutDeadlock() {
        let prompt = String(repeating: "Describe every file in detail. ", count: 5 * 1024 * 1024 / 31 + 1)
        FakeRunner.check(fixture: nil, prompt: prompt) { run in
            #expect(run.outcome.status == .completed)
            #expect(
                run.requests("turn/start").first?["params"]?["input"]?[0]?["text"]?.stringValue?.utf8.count
                    == prompt.utf8.count)
        }
    }

    @Test func resumeAKnownThread() {
        FakeRunner.check(fixture: "resume.json") { request in
            request.resumeThreadId = "thr_old"
        } then: { run in
            #expect(run.outcome.status == .completed)
            #expect(run.outcome.threadId == "thr_old")
            #expect(run.outcome.finalMessage == "Continued on thr_old.")
            #expect(run.observer.threads.first?.resumed == true)
            #expect(run.requests("thread/start").isEmpty)
            #expect(
                run.requests("thread/resume").first?["params"] == [
                    "threadId": "thr_old", "cwd": .string(run.directory), "model": nil, "approvalPolicy": "never",
                    "sandbox": "read-only",
                ])
        }
    }

    @Test func resumeAnUnknownThreadFails() throws {
        try FakeRunner.check(fixture: "resume.json") {
            $0.resumeThreadId = "thr_missing"
        } then: { run in
            #expect(run.outcome.status == .failed)
            let message = try #require(run.outcome.errorMessage)
            #expect(message.contains("thr_missing"))
            #expect(message.contains("no rollout found for thread id thr_missing"))
            #expect(run.requests("turn/start").isEmpty)
        }
    }

    @Test func aStubbornServerAndItsChildrenAreKilled() {
        FakeRunner.check(fixture: "stubborn.json") { run in
            #expect(run.outcome.status == .completed)
            #expect(run.outcome.appServerExit == "signal 9")
            #expect(run.notes.count == 1, "the fake started a grandchild")
        }
    }

    @Test func anUnansweredRequestFails() {
        FakeRunner.check(fixture: "unanswered-thread-start.json") {
            $0.requestTimeoutSeconds = 0.5
        } then: { run in
            #expect(run.outcome.status == .failed)
            #expect(run.outcome.errorMessage == "codex app-server did not answer thread/start within 0.5 seconds.")
        }
    }

    @Test func aMissingExecutableIsAClearFailure() throws {
        let observer = RecordingObserver()
        let request = TurnRequest(
            codexExecutable: "/nonexistent/bin/codex", cwd: "/tmp", prompt: "x", clientVersion: "1")
        let outcome = TurnRunner.run(request, observer: observer, stopFD: nil)
        #expect(outcome.status == .failed)
        #expect(outcome.appServerExit == nil)
        #expect(observer.pid == nil)
        let message = try #require(outcome.errorMessage)
        #expect(message.contains("/nonexistent/bin/codex"))
    }
}

@Suite(.serialized) struct RPCAccountStatusIntegrationTests {
    func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessEnvironment.current()
        environment["FAKE_CODEX_SCRIPT"] = nil
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    @Test func loggedInWithAnAPIKey() {
        let status = TurnRunner.accountStatus(
            codexExecutable: FakeCodex.binary, environment: environment([:]), cwd: "/tmp", timeoutSeconds: 10)
        #expect(status == AccountStatus(loggedIn: true, detail: "Logged in with an API key.", provider: nil))
    }

    @Test func loggedOut() {
        let status = TurnRunner.accountStatus(
            codexExecutable: FakeCodex.binary, environment: environment(["FAKE_CODEX_LOGGED_OUT": "1"]), cwd: "/tmp",
            timeoutSeconds: 10)
        #expect(!status.loggedIn)
    }

    @Test func aProviderWithoutOpenAILogin() {
        let directory = TempDir("rpc")
        defer { directory.remove() }
        let script = directory.write(
            "script.json",
            #"""
            {"account": {"account": null, "requiresOpenaiAuth": false},
             "config": {"config": {"model_provider": "mock", "model_providers": {"mock": {"name": "Mock Responses API"}}}, "origins": {}, "layers": null}}
            """#)
        let log = Path.join(directory.path, "log")
        let status = TurnRunner.accountStatus(
            codexExecutable: FakeCodex.binary,
            environment: environment(["FAKE_CODEX_SCRIPT": script, "FAKE_CODEX_LOG": log]), cwd: directory.path,
            timeoutSeconds: 10)
        #expect(status.loggedIn)
        #expect(status.provider == "Mock Responses API")
        #expect(status.detail == "Mock Responses API is configured and does not require OpenAI authentication.")
        let sent = String(decoding: ((try? FileSystem.read(log)) ?? nil) ?? [], as: UTF8.self)
        #expect(sent.contains(#""method":"account/read","params":{"refreshToken":false}"#))
        #expect(sent.contains(#""includeLayers":false"#))
    }

    @Test func aMissingExecutableIsNotLoggedIn() {
        let status = TurnRunner.accountStatus(
            codexExecutable: "/nonexistent/codex", environment: nil, cwd: "/tmp", timeoutSeconds: 5)
        #expect(!status.loggedIn)
        #expect(status.detail.contains("/nonexistent/codex"))
    }
}
