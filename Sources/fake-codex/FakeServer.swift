#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims
import CompanionSystem

/// The scripted app-server: a single-threaded poll loop over stdin that answers the
/// client's requests and plays the script's steps after `turn/start`. See main.swift
/// for the script format.
final class FakeServer {
    let script: FakeJSON
    let logPath: String?
    let environment: [String: String]

    private var initialized = false
    private var threadId: String?
    private var cwd: String
    private var turnId: String?
    private var turnCount = 0
    private var interruptsThisTurn = 0
    private var turnActive = false
    /// Steps are still being played (a turn can stay active after them: turnStatus "none").
    private var playing = false
    private var steps: [FakeJSON] = []
    private var stepIndex = 0
    private var wakeAt: Double?
    /// A `waitFile` step: the steps pause until this path exists.
    private var waitingFor: String?
    /// Set by `onInterrupt: "finish"`: the remaining steps play at once, without their pauses.
    private var hurrying = false
    private var awaitingId: Int64?
    private var nextServerRequestId: Int64 = 0
    private var stdinOpen = true
    private var pendingInput: [UInt8] = []
    private var scannedInput = 0

    init(script: FakeJSON, logPath: String?, environment: [String: String]) {
        self.script = script
        self.logPath = logPath
        self.environment = environment
        self.cwd = FileSystem.currentDirectory() ?? ""
    }

    func run() -> Never {
        if script["ignoreSIGTERM"]?.bool == true { signal(SIGTERM, SIG_IGN) }
        for line in script["stderr"]?.array ?? [] {
            if let text = line.string { writeStderr(text) }
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            runSteps()
            var timeout: Int32 = -1
            if playing, awaitingId == nil, let wake = wakeAt {
                timeout = Int32(max(0, (wake - MonotonicClock.now()) * 1000).rounded(.up))
            }
            if playing, awaitingId == nil, waitingFor != nil { timeout = 20 }
            guard stdinOpen else {
                // stdin is closed but the script keeps us alive: only steps and signals matter.
                sleepSeconds(timeout < 0 ? 0.2 : min(Double(timeout) / 1000, 0.2))
                continue
            }
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 1, timeout)
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { raw in read(0, raw.baseAddress, raw.count) }
            if count > 0 {
                pendingInput.append(contentsOf: buffer[0..<count])
                processInput()
            } else if count == 0 || (cc_errno() != EINTR && cc_errno() != EAGAIN) {
                stdinOpen = false
                if script["ignoreStdinEOF"]?.bool != true { exit(0) }
            }
        }
    }

    // MARK: - Input

    private func processInput() {
        var start = 0
        while let newline = pendingInput[max(start, scannedInput)...].firstIndex(of: 0x0A) {
            let line = Array(pendingInput[start..<newline])
            start = newline + 1
            handleLine(line)
        }
        pendingInput.removeFirst(start)
        scannedInput = pendingInput.count
    }

    private func handleLine(_ line: [UInt8]) {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }
        log(line)
        guard let message = FakeJSON.parse(line), case .object = message else { return }
        let method = message["method"]?.string
        let id = message["id"]
        switch (method, id) {
        case (let method?, let id?) where id != .null:
            handleRequest(method: method, id: id, params: message["params"] ?? .null)
        case (.some, _):
            break  // notifications from the client (initialized) need nothing
        case (nil, let id?):
            if let number = id.int, number == awaitingId { awaitingId = nil }
        default:
            break
        }
    }

    private func handleRequest(method: String, id: FakeJSON, params: FakeJSON) {
        if let override = script["responses"]?[method] {
            if override.string == "none" { return }
            if let error = override["error"] {
                send(["id": id, "error": error])
                return
            }
            if let result = override["result"] {
                send(["id": id, "result": result.substituting(variables)])
                return
            }
        }
        if !initialized && method != "initialize" {
            sendError(id, "Not initialized")
            return
        }
        switch method {
        case "initialize":
            if initialized {
                sendError(id, "Already initialized")
                return
            }
            initialized = true
            let name = params["clientInfo"]?["name"]?.string ?? "unknown"
            sendResult(
                id,
                [
                    "userAgent": .string("\(name)/0.147.0-fake"),
                    "codexHome": "/nonexistent/fake-codex-home",
                    "platformFamily": "unix",
                    "platformOs": "linux",
                ])
        case "thread/start":
            startThread(id, params: params)
        case "thread/resume":
            resumeThread(id, params: params)
        case "turn/start":
            let requested = params["threadId"]?.string ?? ""
            guard requested == threadId else {
                sendError(id, "thread not found: \(requested)")
                return
            }
            turnCount += 1
            let base = script["turnId"]?.string ?? "turn_1"
            let turn = turnCount == 1 ? base : "\(base)-\(turnCount)"
            turnId = turn
            interruptsThisTurn = 0
            sendResult(id, ["turn": turnObject(status: "inProgress", error: .null, items: [])])
            notify(
                "thread/status/changed",
                ["threadId": .string(requested), "status": ["type": "active", "activeFlags": []]])
            notify(
                "turn/started",
                ["threadId": .string(requested), "turn": turnObject(status: "inProgress", error: .null, items: [])])
            steps = script["steps"]?.array ?? []
            stepIndex = 0
            wakeAt = nil
            awaitingId = nil
            turnActive = true
            playing = true
            hurrying = false
            waitingFor = nil
        case "turn/interrupt":
            handleInterrupt(id)
        case "account/read":
            sendResult(id, accountResult())
        case "config/read":
            sendResult(
                id,
                script["config"] ?? [
                    "config": ["model": .null, "model_provider": .null], "origins": [:], "layers": .null,
                ])
        case "thread/name/set":
            sendResult(id, [:])
        default:
            sendError(id, "Invalid request: unknown variant `\(method)`")
        }
    }

    /// `account/read`: the script's answer, else logged in with an API key (or not, with
    /// FAKE_CODEX_LOGGED_OUT=1).
    private func accountResult() -> FakeJSON {
        if let account = script["account"] { return account }
        if environment["FAKE_CODEX_LOGGED_OUT"] == "1" { return ["account": .null, "requiresOpenaiAuth": true] }
        return ["account": ["type": "apiKey"], "requiresOpenaiAuth": true]
    }

    private func startThread(_ id: FakeJSON, params: FakeJSON) {
        threadId = script["threadId"]?.string ?? "thr_fake"
        if let dir = params["cwd"]?.string { cwd = dir }
        let thread = threadObject(id: threadId!, turns: [])
        sendResult(id, threadResult(thread, params: params))
        notify("thread/started", ["thread": thread])
    }

    /// `thread/resume`: ids listed in knownThreads succeed, others fail as 0.147.0 does.
    private func resumeThread(_ id: FakeJSON, params: FakeJSON) {
        let requested = params["threadId"]?.string ?? ""
        let known = (script["knownThreads"]?.array ?? []).compactMap(\.string)
        guard known.contains(requested) else {
            sendError(id, "no rollout found for thread id \(requested)")
            return
        }
        threadId = requested
        if let dir = params["cwd"]?.string { cwd = dir }
        let past: FakeJSON = [
            "id": "turn_past", "items": [], "itemsView": "full", "status": "completed", "error": .null,
        ]
        let thread = threadObject(id: requested, turns: [past])
        sendResult(id, threadResult(thread, params: params))
        notify("thread/status/changed", ["threadId": .string(requested), "status": ["type": "idle"]])
    }

    private func handleInterrupt(_ id: FakeJSON) {
        interruptsThisTurn += 1
        // 0.147.0 never answers a second interrupt for the same turn.
        if interruptsThisTurn > 1 { return }
        guard turnActive else {
            sendError(id, "no active turn to interrupt")
            return
        }
        switch script["onInterrupt"]?.string ?? "complete" {
        case "ignore":
            return
        case "replyOnly":
            sendResult(id, [:])
        case "finish":
            // The turn ends on its own as the interrupt arrives: the rest plays at once.
            sendResult(id, [:])
            hurrying = true
            wakeAt = nil
            waitingFor = nil
        default:
            sendResult(id, [:])
            endTurn(status: "interrupted", error: .null, items: [])
        }
    }

    // MARK: - Steps

    private func runSteps() {
        while playing, awaitingId == nil {
            if let wake = wakeAt {
                if MonotonicClock.now() < wake { return }
                wakeAt = nil
            }
            if let path = waitingFor {
                if !FileSystem.exists(path) { return }
                waitingFor = nil
            }
            guard stepIndex < steps.count else {
                finishScriptedTurn()
                return
            }
            let step = steps[stepIndex]
            stepIndex += 1
            perform(step)
        }
    }

    private func perform(_ rawStep: FakeJSON) {
        let step = rawStep.substituting(variables)
        if let method = step["notify"]?.string {
            notify(method, step["params"] ?? [:])
        } else if let raw = step["raw"]?.string {
            writeStdout(Array(raw.utf8) + [0x0A])
        } else if let milliseconds = step["sleepMs"]?.int {
            if !hurrying { wakeAt = MonotonicClock.now() + Double(milliseconds) / 1000 }
        } else if let path = step["waitFile"]?.string {
            if !hurrying { waitingFor = path }
        } else if let bytes = step["longLine"]?.int {
            longLine(bytes: Int(bytes))
        } else if let text = step["stderr"]?.string {
            writeStderr(text)
        } else if let code = step["exit"]?.int {
            exit(Int32(code))
        } else if step["killSelf"]?.bool == true {
            kill(getpid(), SIGKILL)
        } else if let method = step["request"]?.string {
            let id = nextServerRequestId
            nextServerRequestId += 1
            send(["id": .int(id), "method": .string(method), "params": step["params"] ?? [:]])
            if step["await"]?.bool != false { awaitingId = id }
        } else if let count = step["flood"]?.int {
            flood(
                count: Int(count), bytes: Int(step["bytes"]?.int ?? 1000),
                method: step["method"]?.string ?? "item/commandExecution/outputDelta")
        } else if let path = step["writeFile"]?.string {
            writeFile(path, content: step["content"]?.string ?? "")
        } else if let status = step["turnCompleted"]?.string {
            endTurn(status: status, error: step["error"] ?? .null, items: step["items"] ?? [])
        } else if let seconds = step["spawnSleeper"]?.int {
            spawnSleeper(seconds: seconds)
        } else {
            writeStderr("fake-codex: unknown step \(String(decoding: rawStep.encoded(), as: UTF8.self))")
        }
    }

    private func finishScriptedTurn() {
        playing = false
        let status = script["turnStatus"]?.string ?? "completed"
        if status == "none" { return }  // the turn stays active and never completes
        let error =
            status == "failed"
            ? (script["turnError"] ?? ["message": "fake failure", "codexErrorInfo": "other"]) : .null
        endTurn(status: status, error: error, items: (script["finalItems"] ?? []).substituting(variables))
    }

    private func endTurn(status: String, error: FakeJSON, items: FakeJSON) {
        turnActive = false
        playing = false
        steps = []
        stepIndex = 0
        wakeAt = nil
        waitingFor = nil
        awaitingId = nil
        guard let threadId else { return }
        notify("thread/status/changed", ["threadId": .string(threadId), "status": ["type": "idle"]])
        let itemList = items.array ?? []
        notify(
            "turn/completed",
            ["threadId": .string(threadId), "turn": turnObject(status: status, error: error, items: itemList)])
    }

    private func flood(count: Int, bytes: Int, method: String) {
        let padding = String(repeating: "x", count: max(bytes, 0))
        let prefix =
            #"{"method":""# + method + #"","params":{"threadId":""# + (threadId ?? "") + #"","turnId":""#
            + (turnId ?? "") + #"","itemId":"flood","delta":""# + padding + #"","seq":"#
        var chunk: [UInt8] = []
        for index in 0..<count {
            chunk.append(contentsOf: Array(prefix.utf8))
            chunk.append(contentsOf: Array("\(index)}}\n".utf8))
            if chunk.count > 256 * 1024 {
                writeStdout(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { writeStdout(chunk) }
    }

    /// One line of `bytes` bytes (a JSON string member padded with "x"), written in
    /// chunks so that its newline comes last.
    private func longLine(bytes: Int) {
        let head = Array(#"{"method":"item/commandExecution/outputDelta","params":{"delta":""#.utf8)
        let tail = Array(#""}}"#.utf8) + [0x0A]
        writeStdout(head)
        var left = max(0, bytes - head.count - tail.count)
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        while left > 0 {
            let count = min(left, chunk.count)
            writeStdout(Array(chunk[0..<count]))
            left -= count
        }
        writeStdout(tail)
    }

    private func writeFile(_ path: String, content: String) {
        let full = path.hasPrefix("/") ? path : Path.join(cwd, path)
        try? FileSystem.createDirectory(Path.dirname(full), mode: 0o755)
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            writeStderr("fake-codex: cannot write \(full)")
            return
        }
        try? FileDescriptorIO.writeAll(fd, Array(content.utf8))
        close(fd)
    }

    private func spawnSleeper(seconds: Int64) {
        let request = SpawnRequest(
            executable: "/bin/sleep", arguments: [String(seconds)], grouping: .inherit,
            stdin: .null, stdout: .null, stderr: .null)
        guard let child = try? Subprocess.spawn(request) else {
            writeStderr("fake-codex: cannot spawn /bin/sleep")
            return
        }
        let note: FakeJSON = ["fake": "childSpawned", "pid": .int(Int64(child.pid))]
        log(note.encoded())
    }

    // MARK: - Shapes

    private var variables: [String: String] {
        ["threadId": threadId ?? "", "turnId": turnId ?? "", "cwd": cwd]
    }

    private func threadObject(id: String, turns: [FakeJSON]) -> FakeJSON {
        [
            "id": .string(id), "parentThreadId": .null, "preview": "", "ephemeral": false,
            "status": ["type": "idle"], "cwd": .string(cwd), "source": "vscode", "name": .null, "turns": .array(turns),
        ]
    }

    private func threadResult(_ thread: FakeJSON, params: FakeJSON) -> FakeJSON {
        let sandbox: FakeJSON =
            params["sandbox"]?.string == "workspace-write"
            ? ["type": "workspaceWrite", "writableRoots": [], "networkAccess": false]
            : ["type": "readOnly", "networkAccess": false]
        return [
            "thread": thread, "model": params["model"].flatMap { $0 == .null ? nil : $0 } ?? "gpt-fake",
            "modelProvider": "fake", "serviceTier": .null, "cwd": .string(cwd), "instructionSources": [],
            "approvalPolicy": params["approvalPolicy"] ?? "on-request", "approvalsReviewer": "user",
            "sandbox": sandbox, "reasoningEffort": .null,
        ]
    }

    private func turnObject(status: String, error: FakeJSON, items: [FakeJSON]) -> FakeJSON {
        [
            "id": .string(turnId ?? ""), "items": .array(items), "itemsView": items.isEmpty ? "notLoaded" : "summary",
            "status": .string(status), "error": error, "startedAt": .null, "completedAt": .null, "durationMs": .null,
        ]
    }

    // MARK: - Output

    private func notify(_ method: String, _ params: FakeJSON) {
        send(["method": .string(method), "params": params, "emittedAtMs": .int(WallClock.nowMilliseconds())])
    }

    private func sendResult(_ id: FakeJSON, _ result: FakeJSON) {
        send(["id": id, "result": result])
    }

    private func sendError(_ id: FakeJSON, _ message: String) {
        send(["id": id, "error": ["code": -32600, "message": .string(message)]])
    }

    private func send(_ message: FakeJSON) {
        writeStdout(message.encoded() + [0x0A])
    }

    private func writeStdout(_ bytes: [UInt8]) {
        do {
            try FileDescriptorIO.writeAll(1, bytes)
        } catch {
            exit(0)  // the client is gone
        }
    }

    private func writeStderr(_ text: String) {
        try? FileDescriptorIO.writeAll(2, Array((text + "\n").utf8))
    }

    private func log(_ line: [UInt8]) {
        guard let logPath else { return }
        try? FileSystem.append(line + [0x0A], to: logPath)
    }
}

extension FakeJSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(arrayLiteral elements: FakeJSON...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, FakeJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
