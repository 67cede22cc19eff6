import CompanionSystem
import CompanionJSON

/// Runs one Codex turn over a private `codex app-server` child: spawn, `initialize`,
/// `thread/start` or `thread/resume`, `turn/start`, then a synchronous event loop until
/// the root thread's turn ends, a stop is requested, the time limit passes or the server
/// dies. The child's whole process group is always ended and reaped before returning.
public enum TurnRunner {
    /// `spark` (any case) maps to `gpt-5.3-codex-spark`; empty means the default (nil).
    public static func mapModel(_ model: String?) -> String? {
        guard let model else { return nil }
        let trimmed = ProgressText.trim(model)
        if trimmed.isEmpty { return nil }
        if trimmed.lowercased() == "spark" { return "gpt-5.3-codex-spark" }
        return trimmed
    }

    /// Runs the turn to its end. Blocks the calling thread; ignores SIGPIPE process-wide.
    /// - Parameters:
    ///   - observer: told about the pid, thread, turn and every progress line, on this thread.
    ///   - stopFD: a readable descriptor (a signal self-pipe) that means "cancel": when it
    ///     becomes readable, a running turn gets `turn/interrupt` (once) and up to
    ///     `interruptWaitSeconds` to confirm; before the turn started the run ends at once.
    ///     Not closed here.
    /// - Returns: the outcome; never throws. Spawn failures, protocol failures, timeouts
    ///   and server deaths are outcomes with status `failed` / `timedOut` and a message.
    public static func run(_ request: TurnRequest, observer: any TurnObserver, stopFD: Int32?) -> TurnOutcome {
        Signals.ignoreBrokenPipe()
        guard FileSystem.isDirectory(request.cwd) else {
            let message = "The working directory \(request.cwd) does not exist or is not a directory."
            observer.progress(message, phase: "failed")
            return TurnOutcome(status: .failed, errorMessage: message)
        }
        // Taken before the spawn: a new app-server creates its state database as it starts,
        // before it answers anything, so holding the lock only for the handshake still lets
        // two start-ups race.
        var startupLock = request.startupLockPath.flatMap { try? FileLock(exclusive: $0) }
        let connection: AppServerConnection
        do {
            connection = try AppServerConnection(
                executable: request.codexExecutable, arguments: request.codexArguments,
                environment: request.environment, directory: request.cwd)
        } catch {
            let message = "Could not start the Codex app-server (\(request.codexExecutable)): \(error.reason)."
            observer.progress(message, phase: "failed")
            return TurnOutcome(status: .failed, errorMessage: message)
        }
        connection.stopFD = stopFD
        observer.appServerStarted(pid: connection.pid)
        let session = TurnSession(
            request: request, connection: connection, observer: observer, startupLock: startupLock)
        startupLock = nil  // the session's reference is the only one: it lets go once the thread is ready
        return session.run()
    }

    // MARK: - Request parameters (pure, so they can be checked without a server)

    package static func initializeParams(clientVersion: String) -> JSONValue {
        [
            "clientInfo": ["name": "Claude Code", "title": "Codex Companion", "version": .string(clientVersion)],
            "capabilities": [
                "experimentalApi": false,
                "optOutNotificationMethods": [
                    "item/agentMessage/delta", "item/reasoning/summaryTextDelta", "item/reasoning/summaryPartAdded",
                    "item/reasoning/textDelta", "thread/tokenUsage/updated", "account/rateLimits/updated",
                ],
            ],
        ]
    }

    package static func sandboxMode(write: Bool) -> String { write ? "workspace-write" : "read-only" }

    package static func threadStartParams(_ request: TurnRequest) -> JSONValue {
        var params: [String: JSONValue] = [
            "cwd": .string(request.cwd),
            "model": mapModel(request.model).map(JSONValue.string) ?? .null,
            "approvalPolicy": "never",
            "sandbox": .string(sandboxMode(write: request.write)),
            "serviceName": "codex_companion",
            "ephemeral": .bool(request.ephemeral),
        ]
        // review/start has no effort field: the review turn takes the thread's settings.
        if request.operation.isReview, let effort = effort(request) {
            params["config"] = ["model_reasoning_effort": .string(effort)]
        }
        return .object(params)
    }

    package static func threadResumeParams(_ request: TurnRequest, threadId: String) -> JSONValue {
        [
            "threadId": .string(threadId),
            "cwd": .string(request.cwd),
            "model": mapModel(request.model).map(JSONValue.string) ?? .null,
            "approvalPolicy": "never",
            "sandbox": .string(sandboxMode(write: request.write)),
        ]
    }

    package static func turnStartParams(_ request: TurnRequest, threadId: String) -> JSONValue {
        var params: [String: JSONValue] = [
            "threadId": .string(threadId),
            "input": [["type": "text", "text": .string(request.prompt), "text_elements": []]],
            "model": mapModel(request.model).map(JSONValue.string) ?? .null,
            "effort": effort(request).map(JSONValue.string) ?? .null,
        ]
        if case .turn(let schema?) = request.operation { params["outputSchema"] = schema }
        return .object(params)
    }

    /// `review/start` with inline delivery: the review runs on this (read-only) thread.
    /// A detached review would start its own thread with the configured sandbox instead.
    package static func reviewStartParams(threadId: String, target: ReviewTarget) -> JSONValue {
        ["threadId": .string(threadId), "target": target.params, "delivery": "inline"]
    }

    package static func effort(_ request: TurnRequest) -> String? {
        request.effort.map(ProgressText.trim).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Rate limit for the "malformed line" progress line: the first, then every 100th.
    package static func shouldReportMalformed(count: Int) -> Bool {
        count == 1 || count % 100 == 0
    }

    package static func unexpectedExitMessage(status: TerminationStatus?, exited: Bool, stderr: String) -> String {
        var message: String
        if exited, let status {
            message = "codex app-server exited unexpectedly (\(status))"
        } else {
            message = "codex app-server closed its output unexpectedly"
        }
        let tail = lastLines(of: stderr, maxLines: 20, maxCharacters: 2000)
        if !tail.isEmpty { message += ": " + tail }
        return message
    }

    package static func lastLines(of text: String, maxLines: Int, maxCharacters: Int) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(maxLines)
        var joined = lines.joined(separator: "\n")
        if joined.count > maxCharacters { joined = "…" + String(joined.suffix(maxCharacters - 1)) }
        return joined
    }
}

/// A step failed; its outcome is final.
private struct StepFailure: Error {
    var outcome: TurnOutcome
    init(_ outcome: TurnOutcome) { self.outcome = outcome }
}

/// The state of one run. Used once, on one thread.
private final class TurnSession {
    package enum StopReason { case cancel, timeout }

    /// Why waiting for a response ended without one.
    package enum Abort {
        case stopped
        case timedOut
        case closed
        case unanswered(method: String)
        case oversized(Int)
    }

    package enum Awaited {
        case result(JSONValue)
        case error(RPCErrorObject)
        case aborted(Abort)
    }

    package let request: TurnRequest
    package let connection: AppServerConnection
    package let observer: any TurnObserver
    package let deadline: Double
    package var tracker: TurnTracker
    package var threadId: String?
    package var turnId: String?
    /// Notifications held back while `turn/start` is in flight, replayed once the turn id is known.
    package var buffered: [(String, JSONValue)]?
    package var stopReason: StopReason?
    /// Held while this app-server starts (see `TurnRequest.startupLockPath`).
    private var startupLock: FileLock?
    /// The thread's rollout file, from the `thread/start` result.
    package var threadPath: String?

    package init(
        request: TurnRequest, connection: AppServerConnection, observer: any TurnObserver,
        startupLock: FileLock? = nil
    ) {
        self.request = request
        self.connection = connection
        self.observer = observer
        self.startupLock = startupLock
        self.deadline = MonotonicClock.now() + max(request.timeoutSeconds, 0)
        self.tracker = TurnTracker(displayRoot: request.cwd)
    }

    package func run() -> TurnOutcome {
        // Without the lock (held since before the spawn) the start-up only risks Codex's own
        // first-use race.
        var outcome = start()
        startupLock = nil
        let status = connection.shutdown()
        outcome.appServerExit = status.description
        outcome.threadPath = threadPath
        outcome.reviewText = tracker.reviewText
        if request.operation.isReview, outcome.status == .completed {
            // Read after the app-server exited, so the rollout is complete.
            outcome.review =
                threadPath.flatMap { NativeReviewReader.fromRollout(path: $0, turnId: outcome.turnId) }
                ?? tracker.reviewText.map(NativeReviewReader.fromRenderedText)
        }
        if outcome.status == .failed, outcome.errorMessage == nil {
            outcome.failure = .appServerExited
            outcome.errorMessage = TurnRunner.unexpectedExitMessage(
                status: status, exited: true, stderr: connection.stderrText)
        }
        return outcome
    }

    // MARK: - Phases

    private func start() -> TurnOutcome {
        if let failure = handshake() { return failure }
        let id: String
        switch openThread() {
        case .success(let threadId): id = threadId
        case .failure(let failure): return failure.outcome
        }
        buffered = []
        let turnResult: JSONValue
        switch startOperation(threadId: id) {
        case .success(let result): turnResult = result
        case .failure(let failure): return failure.outcome
        }
        guard let turn = turnResult["turn"]?["id"]?.stringValue else {
            return failed("Codex answered \(operationMethod) without a turn id.")
        }
        turnId = turn
        tracker.setRootTurn(turn)
        observer.turnStarted(turnId: turn)
        let held = buffered ?? []
        buffered = nil
        for (method, params) in held { handleNotification(method, params) }
        if let status = turnResult["turn"]?["status"]?.stringValue, status != "inProgress", tracker.completion == nil {
            // The turn ended before it began (as the reference client allows for).
            handleNotification("turn/completed", ["threadId": .string(id), "turn": turnResult["turn"] ?? .null])
        }
        return runTurn()
    }

    /// A failed step's outcome, carried through `Result`.
    private func handshake() -> TurnOutcome? {
        let initialize = connection.sendRequest(
            "initialize", params: TurnRunner.initializeParams(clientVersion: request.clientVersion))
        switch awaitResponse(initialize, method: "initialize") {
        case .result: break
        case .error(let error): return failed("Codex app-server rejected initialize: \(error.message)")
        case .aborted(let abort): return aborted(abort)
        }
        connection.sendNotification("initialized")
        return checkLogin()
    }

    private func openThread() -> Result<String, StepFailure> {
        let resumed = request.resumeThreadId != nil
        let threadRequest: RPCID
        if let resumeId = request.resumeThreadId {
            threadRequest = connection.sendRequest(
                "thread/resume", params: TurnRunner.threadResumeParams(request, threadId: resumeId))
        } else {
            threadRequest = connection.sendRequest("thread/start", params: TurnRunner.threadStartParams(request))
        }
        let threadResult: JSONValue
        switch awaitResponse(threadRequest, method: resumed ? "thread/resume" : "thread/start") {
        case .result(let result): threadResult = result
        case .error(let error):
            if let resumeId = request.resumeThreadId {
                return .failure(StepFailure(failed("Could not resume Codex thread \(resumeId): \(error.message)")))
            }
            return .failure(StepFailure(failed("Codex could not start a thread: \(error.message)")))
        case .aborted(let abort): return .failure(StepFailure(aborted(abort)))
        }
        guard let id = threadResult["thread"]?["id"]?.stringValue ?? request.resumeThreadId else {
            return .failure(
                StepFailure(failed("Codex answered \(resumed ? "thread/resume" : "thread/start") without a thread id."))
            )
        }
        threadId = id
        startupLock = nil  // the next app-server of this CODEX_HOME may start now
        threadPath = threadResult["thread"]?["path"]?.stringValue
        tracker.setRootThread(id)
        observer.threadReady(threadId: id, resumed: resumed)
        report(ProgressEvent(resumed ? "Resumed Codex thread \(id)." : "Codex thread ready: \(id).", phase: "starting"))
        return .success(id)
    }

    private var operationMethod: String { request.operation.isReview ? "review/start" : "turn/start" }

    /// `turn/start`, or `review/start` for a review; the result holds the turn.
    private func startOperation(threadId id: String) -> Result<JSONValue, StepFailure> {
        let params: JSONValue
        switch request.operation {
        case .turn: params = TurnRunner.turnStartParams(request, threadId: id)
        case .review(let target): params = TurnRunner.reviewStartParams(threadId: id, target: target)
        }
        let pending = connection.sendRequest(operationMethod, params: params)
        switch awaitResponse(pending, method: operationMethod) {
        case .result(let result): return .success(result)
        case .error(let error):
            let what = request.operation.isReview ? "the review" : "the turn"
            return .failure(StepFailure(failed("Codex could not start \(what): \(error.message)")))
        case .aborted(let abort): return .failure(StepFailure(aborted(abort)))
        }
    }

    /// Starts stopping the turn (once): one `turn/interrupt` and a deadline for its
    /// confirmation. Returns nil when a stop was already under way.
    private func beginStop(_ reason: StopReason) -> Double? {
        guard stopReason == nil else { return nil }
        stopReason = reason
        switch reason {
        case .cancel:
            report(ProgressEvent("Stop requested; interrupting the Codex turn.", phase: "finalizing"))
        case .timeout:
            report(
                ProgressEvent(
                    "Timed out after \(ProgressText.seconds(request.timeoutSeconds)) seconds; interrupting the Codex turn.",
                    phase: "finalizing"))
        }
        if let threadId, let turnId {
            // Sent once only: 0.147.0 never answers a second interrupt for the same turn.
            // A review's turn/started carries another id than review/start returned, and
            // only that one is accepted (protocol notes §2); a task's two ids are the same.
            let active = request.operation.isReview ? (tracker.rootStartedTurnId ?? turnId) : turnId
            connection.sendRequest(
                "turn/interrupt", params: ["threadId": .string(threadId), "turnId": .string(active)])
        }
        return MonotonicClock.now() + max(request.interruptWaitSeconds, 0)
    }

    /// The main loop once the turn is running.
    private func runTurn() -> TurnOutcome {
        var interruptDeadline: Double?
        var inferredAt: Double?
        var died = false
        var oversized: Int?

        while tracker.completion == nil {
            // Timers are checked on every pass, not only when the loop is idle: a server
            // that never stops talking must still hit the time limit.
            let now = MonotonicClock.now()
            if tracker.isInferredCompletionReady {
                if inferredAt == nil { inferredAt = now + 0.25 }
            } else {
                inferredAt = nil
            }
            if let at = inferredAt, now >= at {
                for line in tracker.completeByInference() { report(line) }
                break
            }
            if let at = interruptDeadline, now >= at {
                report(
                    ProgressEvent(
                        "Codex did not confirm the interrupt within \(ProgressText.seconds(request.interruptWaitSeconds)) seconds; stopping the app-server."
                    ))
                return stoppedOutcome()
            }
            if interruptDeadline == nil, now >= deadline {
                interruptDeadline = beginStop(.timeout)
                continue
            }
            var wake = interruptDeadline ?? deadline
            if let inferredAt { wake = min(wake, inferredAt) }
            switch connection.nextEvent(until: wake) {
            case .message(let message):
                handleMessage(message)
            case .malformedLine(let count):
                reportMalformed(count)
            case .stopRequested:
                interruptDeadline = beginStop(.cancel) ?? interruptDeadline
            case .closed:
                died = true
            case .oversizedLine(let length):
                oversized = length
            case .deadline:
                continue  // the timers above decide
            }
            if died || oversized != nil { break }
        }

        if let completion = tracker.completion {
            if stopReason != nil, completion.status != .completed {
                return stoppedOutcome()
            }
            var outcome = resultOutcome(completion.status)
            outcome.errorMessage = completion.status == .completed ? nil : completion.errorMessage
            return outcome
        }
        if let oversized { return oversizedOutcome(length: oversized) }
        // The server went away before the root turn ended.
        if stopReason != nil { return stoppedOutcome() }
        let exited = connection.waitForExit(seconds: 1.0)
        let status = connection.shutdown()
        let message = TurnRunner.unexpectedExitMessage(status: status, exited: exited, stderr: connection.stderrText)
        report(ProgressEvent(message, phase: "failed"))
        var outcome = resultOutcome(.failed)
        outcome.errorMessage = message
        outcome.failure = .appServerExited
        return outcome
    }

    /// One line over the framer's limit: the stream cannot be trusted any more.
    private func oversizedOutcome(length: Int) -> TurnOutcome {
        let mebibytes = LineFramer.defaultMaximumLineLength >> 20
        var outcome = failed(
            "codex app-server sent one line of more than \(mebibytes) MiB (\(length >> 20) MiB so far); "
                + "the job was stopped. Run it again; if it repeats, report it to the Codex CLI")
        outcome.failure = .oversizedLine
        return outcome
    }

    // MARK: - Events

    /// Waits for the response to `id`, handling everything else that arrives meanwhile.
    private func awaitResponse(_ id: RPCID, method: String) -> Awaited {
        let requestDeadline = MonotonicClock.now() + max(request.requestTimeoutSeconds, 0)
        while true {
            let now = MonotonicClock.now()
            if now >= deadline {
                stopReason = .timeout
                return .aborted(.timedOut)
            }
            if now >= requestDeadline { return .aborted(.unanswered(method: method)) }
            switch connection.nextEvent(until: min(requestDeadline, deadline)) {
            case .message(.response(let responseId, let result)) where responseId == id:
                return .result(result)
            case .message(.errorResponse(let responseId, let error)) where responseId == id:
                return .error(error)
            case .message(let message):
                handleMessage(message)
            case .malformedLine(let count):
                reportMalformed(count)
            case .stopRequested:
                stopReason = .cancel
                return .aborted(.stopped)
            case .closed:
                return .aborted(.closed)
            case .oversizedLine(let length):
                return .aborted(.oversized(length))
            case .deadline:
                continue  // decided at the top of the loop
            }
        }
    }

    private func handleMessage(_ message: RPCMessage) {
        switch message {
        case .request(let id, let method, let params):
            let answer = ServerRequestPolicy.answer(method: method)
            switch answer {
            case .result(let result): connection.send(.response(id: id, result: result))
            case .error(let error): connection.send(.errorResponse(id: id, error: error))
            }
            report(ProgressEvent(ServerRequestPolicy.progressLine(method: method, params: params, answer: answer)))
        case .notification(let method, let params):
            handleNotification(method, params)
        case .response, .errorResponse:
            // Answers to requests nobody waits for any more (turn/interrupt): nothing to do.
            break
        }
    }

    private func handleNotification(_ method: String, _ params: JSONValue) {
        if buffered != nil {
            buffered?.append((method, params))
            return
        }
        for event in tracker.handle(method: method, params: params) { report(event) }
    }

    /// Every progress line is one line: multi-line texts (stderr tails) are folded.
    private func report(_ event: ProgressEvent) {
        let line = event.line.contains("\n") ? ProgressText.preview(event.line, limit: 500) : event.line
        observer.progress(line, phase: event.phase)
    }

    private func reportMalformed(_ count: Int) {
        guard TurnRunner.shouldReportMalformed(count: count) else { return }
        let suffix = count == 1 ? "" : " (\(count) so far)"
        report(ProgressEvent("ignored malformed line from codex app-server" + suffix))
    }

    // MARK: - Outcomes

    private func resultOutcome(_ status: TurnEndStatus) -> TurnOutcome {
        TurnOutcome(
            status: status, threadId: threadId, turnId: turnId, finalMessage: tracker.finalMessage,
            touchedFiles: tracker.touchedFiles, reasoningSummary: tracker.reasoningSummary,
            commands: tracker.commands, errorMessage: nil, appServerExit: nil)
    }

    private func failed(_ message: String) -> TurnOutcome {
        report(ProgressEvent(message, phase: "failed"))
        var outcome = resultOutcome(.failed)
        outcome.errorMessage = message
        return outcome
    }

    /// Fails at once, with the fix, when Codex has no login its provider needs, instead of
    /// letting the turn retry model requests for half a minute. An app-server that cannot
    /// answer `account/read` is not judged here.
    private func checkLogin() -> TurnOutcome? {
        let id = connection.sendRequest("account/read", params: ["refreshToken": false])
        let account: JSONValue
        switch awaitResponse(id, method: "account/read") {
        case .result(let result): account = result
        case .error: return nil
        case .aborted(let abort): return aborted(abort)
        }
        let status = AccountStatus.evaluate(account: account, config: nil)
        guard !status.loggedIn else { return nil }
        var outcome = failed(status.detail)
        outcome.failure = .notLoggedIn
        return outcome
    }

    private func timeoutMessage() -> String {
        "Codex did not finish within \(ProgressText.seconds(request.timeoutSeconds)) seconds"
    }

    /// The run ended because we asked it to (cancel or timeout).
    private func stoppedOutcome() -> TurnOutcome {
        switch stopReason {
        case .timeout?:
            var outcome = resultOutcome(.timedOut)
            outcome.errorMessage = timeoutMessage()
            return outcome
        default:
            return resultOutcome(.interrupted)
        }
    }

    private func aborted(_ abort: Abort) -> TurnOutcome {
        switch abort {
        case .stopped:
            report(ProgressEvent("Stopped before the Codex turn started.", phase: "finalizing"))
            return resultOutcome(.interrupted)
        case .timedOut:
            let message = timeoutMessage()
            report(ProgressEvent(message + ".", phase: "failed"))
            var outcome = resultOutcome(.timedOut)
            outcome.errorMessage = message
            return outcome
        case .unanswered(let method):
            return failed(
                "codex app-server did not answer \(method) within \(ProgressText.seconds(request.requestTimeoutSeconds)) seconds."
            )
        case .closed:
            let exited = connection.waitForExit(seconds: 1.0)
            let status = connection.shutdown()
            let message = TurnRunner.unexpectedExitMessage(
                status: status, exited: exited, stderr: connection.stderrText)
            var outcome = failed(message)
            outcome.failure = .appServerExited
            return outcome
        case .oversized(let length):
            return oversizedOutcome(length: length)
        }
    }
}
