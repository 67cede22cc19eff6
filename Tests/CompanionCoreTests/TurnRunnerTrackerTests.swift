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

/// The turn state machine fed with the exchanges captured from codex 0.147.0
/// (docs: codex-app-server-protocol.md §7), server lines only.
@Suite struct TurnRunnerTrackerTests {
    /// Feeds server lines; returns the progress lines. Responses are skipped.
    @discardableResult
    static func feed(_ tracker: inout TurnTracker, _ text: String) -> [ProgressEvent] {
        var events: [ProgressEvent] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            guard let message = RPCCodec.decode(String(line)) else {
                Issue.record("bad fixture line: \(line)")
                continue
            }
            if case .notification(let method, let params) = message {
                events += tracker.handle(method: method, params: params)
            }
        }
        return events
    }

    /// A tracker for root thread `thread` and (when known) turn `turn`, fed `text`, and the
    /// progress lines it gave.
    static func tracked(
        displayRoot: String? = nil, thread: String = "thr_main", turn: String?, _ text: String
    ) -> (tracker: TurnTracker, events: [ProgressEvent]) {
        var tracker = TurnTracker(displayRoot: displayRoot)
        tracker.setRootThread(thread)
        if let turn { tracker.setRootTurn(turn) }
        let events = feed(&tracker, text)
        return (tracker, events)
    }

    static let success = #"""
        {"method":"thread/started","params":{"thread":{"id":"thr_main","parentThreadId":null,"ephemeral":false,"status":{"type":"idle"},"cwd":"/home/me/proj","source":"vscode","name":null,"turns":[]}}}
        {"method":"thread/name/updated","params":{"threadId":"thr_main","threadName":"Codex Companion Task: Create hello.txt"}}
        {"method":"thread/status/changed","params":{"threadId":"thr_main","status":{"type":"active","activeFlags":[]}}}
        {"method":"turn/started","params":{"threadId":"thr_main","turn":{"id":"turn_1","items":[],"itemsView":"notLoaded","status":"inProgress","error":null,"startedAt":1795313967,"completedAt":null,"durationMs":null}}}
        {"method":"item/started","params":{"item":{"type":"userMessage","id":"itm_u1","clientId":null,"content":[{"type":"text","text":"Create hello.txt","text_elements":[]}]},"threadId":"thr_main","turnId":"turn_1","startedAtMs":1795313967767}}
        {"method":"item/completed","params":{"item":{"type":"userMessage","id":"itm_u1","clientId":null,"content":[{"type":"text","text":"Create hello.txt","text_elements":[]}]},"threadId":"thr_main","turnId":"turn_1","completedAtMs":1795313967767}}
        {"method":"item/started","params":{"item":{"type":"reasoning","id":"rs_1","summary":["**Inspecting files** I will list the directory first."],"content":[]},"threadId":"thr_main","turnId":"turn_1","startedAtMs":1795313967806}}
        {"method":"item/completed","params":{"item":{"type":"reasoning","id":"rs_1","summary":["**Inspecting files** I will list the directory first."],"content":[]},"threadId":"thr_main","turnId":"turn_1","completedAtMs":1795313967806}}
        {"method":"item/started","params":{"item":{"type":"commandExecution","id":"call_1","pluginId":null,"scriptPath":null,"command":"/bin/bash -lc ls","cwd":"/home/me/proj","processId":"5190","source":"unifiedExecStartup","status":"inProgress","commandActions":[{"type":"listFiles","command":"ls","path":null}],"aggregatedOutput":null,"exitCode":null,"durationMs":null},"threadId":"thr_main","turnId":"turn_1","startedAtMs":1795313967409}}
        {"method":"item/completed","params":{"item":{"type":"commandExecution","id":"call_1","pluginId":null,"scriptPath":null,"command":"/bin/bash -lc ls","cwd":"/home/me/proj","processId":"5190","source":"unifiedExecStartup","status":"completed","commandActions":[{"type":"listFiles","command":"ls","path":null}],"aggregatedOutput":"README.md\n","exitCode":0,"durationMs":0},"threadId":"thr_main","turnId":"turn_1","completedAtMs":1795313967409}}
        {"method":"item/started","params":{"item":{"type":"fileChange","id":"call_2","changes":[{"path":"/home/me/proj/hello.txt","kind":{"type":"add"},"diff":"hello world\n"}],"status":"inProgress"},"threadId":"thr_main","turnId":"turn_1","startedAtMs":1795313967450}}
        {"method":"item/completed","params":{"item":{"type":"fileChange","id":"call_2","changes":[{"path":"/home/me/proj/hello.txt","kind":{"type":"add"},"diff":"hello world\n"}],"status":"completed"},"threadId":"thr_main","turnId":"turn_1","completedAtMs":1795313967598}}
        {"method":"turn/diff/updated","params":{"threadId":"thr_main","turnId":"turn_1","diff":"diff --git a/hello.txt b/hello.txt\nnew file mode 100644\n"}}
        {"method":"item/started","params":{"item":{"type":"agentMessage","id":"msg_1","text":"","phase":null,"memoryCitation":null},"threadId":"thr_main","turnId":"turn_1","startedAtMs":1795313967641}}
        {"method":"item/completed","params":{"item":{"type":"agentMessage","id":"msg_1","text":"Created hello.txt.","phase":"final_answer","memoryCitation":null},"threadId":"thr_main","turnId":"turn_1","completedAtMs":1795313967641}}
        {"method":"thread/status/changed","params":{"threadId":"thr_main","status":{"type":"idle"}}}
        {"method":"turn/completed","params":{"threadId":"thr_main","turn":{"id":"turn_1","items":[{"type":"agentMessage","id":"msg_1","text":"Created hello.txt.","phase":"final_answer","memoryCitation":null}],"itemsView":"summary","status":"completed","error":null,"startedAt":1795313967,"completedAt":1795313967,"durationMs":383}}}
        """#

    @Test func successExchangeGivesTheDocumentedResult() {
        let (tracker, events) = Self.tracked(displayRoot: "/home/me/proj", turn: "turn_1", Self.success)
        #expect(tracker.completion == TurnCompletion(status: .completed, errorMessage: nil, inferred: false))
        #expect(tracker.finalMessage == "Created hello.txt.")
        #expect(tracker.touchedFiles == ["/home/me/proj/hello.txt"])
        #expect(tracker.reasoningSummary == ["**Inspecting files** I will list the directory first."])
        #expect(tracker.commands == [CommandRecord(command: "/bin/bash -lc ls", exitCode: 0, status: "completed")])
        #expect(tracker.subagents.isEmpty, "the root's own thread/started and name update are not subagents")
        #expect(
            events == [
                ProgressEvent("Turn started.", phase: "starting"),
                ProgressEvent("Reasoning: **Inspecting files** I will list the directory first."),
                ProgressEvent("Running command: ls", phase: "running"),
                ProgressEvent("Command completed: ls (exit 0)", phase: "running"),
                ProgressEvent("Applying 1 file change(s).", phase: "editing"),
                ProgressEvent("Files changed: hello.txt", phase: "editing"),
                ProgressEvent("Assistant: Created hello.txt."),
                ProgressEvent("Turn completed.", phase: "finalizing"),
            ])
    }

    @Test func theTurnIdIsAdoptedFromTurnStartedWhenUnknown() {
        let (tracker, _) = Self.tracked(turn: nil, Self.success)
        #expect(tracker.rootTurnId == "turn_1")
        #expect(tracker.completion?.status == .completed)
    }

    @Test func notificationsOfOtherTurnsAndThreadsAreIgnored() {
        let (tracker, events) = Self.tracked(
            turn: "turn_2",
            Self.success + "\n" + #"""
                {"method":"item/completed","params":{"item":{"type":"agentMessage","id":"m","text":"not mine","phase":"final_answer"},"threadId":"thr_other","turnId":"turn_2"}}
                """#)
        #expect(events.isEmpty)
        #expect(tracker.completion == nil)
        #expect(tracker.finalMessage == nil)
    }

    @Test func interruptExchange() {
        let (tracker, _) = Self.tracked(
            turn: "turn_2",
            #"""
            {"method":"thread/status/changed","params":{"threadId":"thr_main","status":{"type":"active","activeFlags":[]}}}
            {"method":"turn/started","params":{"threadId":"thr_main","turn":{"id":"turn_2","items":[],"itemsView":"notLoaded","status":"inProgress","error":null,"startedAt":1795313995,"completedAt":null,"durationMs":null}}}
            {"method":"item/completed","params":{"item":{"type":"reasoning","id":"rs_1","summary":["**Planning** Looking at the repo."],"content":[]},"threadId":"thr_main","turnId":"turn_2","completedAtMs":1795313995240}}
            {"method":"thread/status/changed","params":{"threadId":"thr_main","status":{"type":"idle"}}}
            {"method":"turn/completed","params":{"threadId":"thr_main","turn":{"id":"turn_2","items":[],"itemsView":"notLoaded","status":"interrupted","error":null,"startedAt":1795313995,"completedAt":1795313997,"durationMs":2000}}}
            """#)
        #expect(tracker.completion == TurnCompletion(status: .interrupted, errorMessage: nil, inferred: false))
        #expect(tracker.finalMessage == nil)
        #expect(tracker.reasoningSummary == ["**Planning** Looking at the repo."])
    }

    @Test func failureExchangeKeepsCodexMessage() {
        let (tracker, events) = Self.tracked(
            turn: "turn_3",
            #"""
            {"method":"error","params":{"error":{"message":"<provider error text>","codexErrorInfo":"other","additionalDetails":null},"willRetry":false,"threadId":"thr_main","turnId":"turn_3"}}
            {"method":"turn/completed","params":{"threadId":"thr_main","turn":{"id":"turn_3","items":[],"itemsView":"notLoaded","status":"failed","error":{"message":"<provider error text>","codexErrorInfo":"other","additionalDetails":null},"startedAt":1795314057,"completedAt":1795314057,"durationMs":53}}}
            """#)
        #expect(
            tracker.completion
                == TurnCompletion(status: .failed, errorMessage: "<provider error text>", inferred: false))
        #expect(tracker.lastError == "<provider error text>")
        #expect(events.map(\.phase) == ["failed", "failed"])
    }

    @Test func aRetriedErrorIsNotKept() {
        let (tracker, events) = Self.tracked(
            turn: "turn_1",
            #"""
            {"method":"error","params":{"error":{"message":"Reconnecting... 2/5","codexErrorInfo":{"responseStreamDisconnected":{"httpStatusCode":null}}},"willRetry":true,"threadId":"thr_main","turnId":"turn_1"}}
            {"method":"turn/completed","params":{"threadId":"thr_main","turn":{"id":"turn_1","items":[],"status":"completed","error":null}}}
            """#)
        #expect(tracker.lastError == nil)
        #expect(events.first == ProgressEvent("Codex error, retrying: Reconnecting... 2/5"))
        #expect(tracker.completion?.status == .completed)
    }

    @Test func aFailedTurnWithoutErrorObjectUsesTheLastError() {
        let (tracker, _) = Self.tracked(
            thread: "t", turn: "u",
            #"""
            {"method":"error","params":{"error":{"message":"first"},"willRetry":false,"threadId":"t","turnId":"u"}}
            {"method":"turn/completed","params":{"threadId":"t","turn":{"id":"u","status":"failed","error":null}}}
            """#)
        #expect(tracker.completion?.errorMessage == "first")
    }

    static let subagent = #"""
        {"method":"item/started","params":{"item":{"type":"collabAgentToolCall","id":"call_s1","tool":"spawnAgent","status":"inProgress","senderThreadId":"thr_main","receiverThreadIds":[],"prompt":"Check README","agentsStates":{}},"threadId":"thr_main","turnId":"turn_4"}}
        {"method":"thread/status/changed","params":{"threadId":"thr_sub_0123456789","status":{"type":"active","activeFlags":[]}}}
        {"method":"item/completed","params":{"item":{"type":"collabAgentToolCall","id":"call_s1","tool":"spawnAgent","status":"completed","senderThreadId":"thr_main","receiverThreadIds":["thr_sub_0123456789"],"prompt":"Check README","model":"gpt-5.5","reasoningEffort":"medium","agentsStates":{"thr_sub_0123456789":{"status":"pendingInit","message":null}}},"threadId":"thr_main","turnId":"turn_4","completedAtMs":1795314125246}}
        {"method":"turn/started","params":{"threadId":"thr_sub_0123456789","turn":{"id":"turn_s1","items":[],"itemsView":"notLoaded","status":"inProgress","error":null,"startedAt":1795314125,"completedAt":null,"durationMs":null}}}
        {"method":"item/completed","params":{"item":{"type":"agentMessage","id":"msg_sub","text":"README has a single heading.","phase":"final_answer","memoryCitation":null},"threadId":"thr_sub_0123456789","turnId":"turn_s1","completedAtMs":1795314125326}}
        {"method":"turn/completed","params":{"threadId":"thr_sub_0123456789","turn":{"id":"turn_s1","items":[{"type":"agentMessage","id":"msg_sub","text":"README has a single heading.","phase":"final_answer","memoryCitation":null}],"itemsView":"summary","status":"completed","error":null,"startedAt":1795314125,"completedAt":1795314125,"durationMs":81}}}
        """#

    static let subagentEnd = #"""
        {"method":"item/completed","params":{"item":{"type":"agentMessage","id":"msg_main","text":"Subagent says README has a single heading.","phase":"final_answer","memoryCitation":null},"threadId":"thr_main","turnId":"turn_4","completedAtMs":1795314125387}}
        {"method":"turn/completed","params":{"threadId":"thr_main","turn":{"id":"turn_4","items":[{"type":"agentMessage","id":"msg_main","text":"Subagent says README has a single heading.","phase":"final_answer","memoryCitation":null}],"itemsView":"summary","status":"completed","error":null,"startedAt":1795314125,"completedAt":1795314125,"durationMs":221}}}
        """#

    @Test func aSubagentNeverEndsTheRootTurnNorGivesTheAnswer() {
        let (tracker, events) = Self.tracked(turn: "turn_4", Self.subagent)
        #expect(tracker.completion == nil)
        #expect(tracker.finalMessage == nil)
        #expect(!tracker.isInferredCompletionReady)
        #expect(tracker.subagents["thr_sub_0123456789"]?.isActive == false)
        #expect(events.contains(ProgressEvent("[subagent 23456789] Assistant: README has a single heading.")))
        #expect(events.contains(ProgressEvent("Subagent 23456789 completed (spawnAgent).", phase: "investigating")))

        var ended = tracker
        Self.feed(&ended, Self.subagentEnd)
        #expect(ended.completion?.status == .completed)
        #expect(ended.finalMessage == "Subagent says README has a single heading.")
    }

    @Test func subagentLabelsComeFromThreadStarted() {
        let (_, events) = Self.tracked(
            turn: "turn_4",
            #"""
            {"method":"thread/started","params":{"thread":{"id":"thr_x","parentThreadId":"thr_main","agentNickname":"Ada","turns":[]}}}
            {"method":"turn/started","params":{"threadId":"thr_x","turn":{"id":"t1","status":"inProgress"}}}
            {"method":"item/started","params":{"item":{"type":"commandExecution","id":"c","command":"make test","status":"inProgress"},"threadId":"thr_x","turnId":"t1"}}
            """#)
        #expect(events.last == ProgressEvent("[subagent Ada] Running command: make test", phase: "verifying"))
    }

    @Test func inferredCompletionWaitsForPendingCollaboration() {
        var (tracker, _) = Self.tracked(
            turn: "turn_4",
            #"""
            {"method":"item/started","params":{"item":{"type":"collabAgentToolCall","id":"call_w","tool":"wait","status":"inProgress","senderThreadId":"thr_main","receiverThreadIds":["thr_s"]},"threadId":"thr_main","turnId":"turn_4"}}
            {"method":"item/completed","params":{"item":{"type":"agentMessage","id":"m","text":"Early answer","phase":"final_answer"},"threadId":"thr_main","turnId":"turn_4"}}
            """#)
        #expect(tracker.hasRootFinalAnswer)
        #expect(!tracker.isInferredCompletionReady, "a collaboration call is still pending")
        Self.feed(
            &tracker,
            #"""
            {"method":"item/completed","params":{"item":{"type":"collabAgentToolCall","id":"call_w","tool":"wait","status":"completed","senderThreadId":"thr_main","receiverThreadIds":["thr_s"]},"threadId":"thr_main","turnId":"turn_4"}}
            """#)
        #expect(tracker.isInferredCompletionReady)
        #expect(!tracker.completeByInference().isEmpty)
        #expect(tracker.completion == TurnCompletion(status: .completed, errorMessage: nil, inferred: true))
        #expect(tracker.finalMessage == "Early answer")
    }

    @Test func reasoningSummariesAreFlattenedCollapsedAndDeduplicated() {
        #expect(
            TurnTracker.flattenSummary(["a", ["text": "b"], ["parts": ["c", ["content": "d"]]]]) == [
                "a", "b", "c", "d",
            ])
        let (tracker, _) = Self.tracked(
            thread: "t", turn: "u",
            #"""
            {"method":"item/completed","params":{"item":{"type":"reasoning","id":"r1","summary":["  one\n two ", ""]},"threadId":"t","turnId":"u"}}
            {"method":"item/completed","params":{"item":{"type":"reasoning","id":"r2","summary":[{"text":"one two"},{"text":"three"}]},"threadId":"t","turnId":"u"}}
            """#)
        #expect(tracker.reasoningSummary == ["one two", "three"])
    }

    @Test func onlyCompletedFileChangesAreTouchedFilesInFirstSeenOrder() {
        let (tracker, _) = Self.tracked(
            thread: "t", turn: "u",
            #"""
            {"method":"item/completed","params":{"item":{"type":"fileChange","id":"f1","changes":[{"path":"/w/b"},{"path":"/w/a"}],"status":"completed"},"threadId":"t","turnId":"u"}}
            {"method":"item/completed","params":{"item":{"type":"fileChange","id":"f2","changes":[{"path":"/w/c"}],"status":"declined"},"threadId":"t","turnId":"u"}}
            {"method":"item/completed","params":{"item":{"type":"fileChange","id":"f3","changes":[{"path":"/w/a"},{"path":"/w/d"}],"status":"completed"},"threadId":"t","turnId":"u"}}
            """#)
        #expect(tracker.touchedFiles == ["/w/b", "/w/a", "/w/d"])
    }

    @Test func finalMessageFallsBackToTurnItems() {
        let (tracker, _) = Self.tracked(
            thread: "t", turn: "u",
            #"""
            {"method":"turn/completed","params":{"threadId":"t","turn":{"id":"u","status":"completed","items":[{"type":"agentMessage","text":"From items"},{"type":"agentMessage","text":"  "}]}}}
            """#)
        #expect(tracker.finalMessage == "From items")
    }
}
