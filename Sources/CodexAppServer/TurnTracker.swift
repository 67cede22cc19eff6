import CompanionSystem
import CompanionJSON
/// One progress line and the job phase it implies (nil keeps the current phase).
package struct ProgressEvent: Equatable, Sendable {
    package var line: String
    package var phase: String?

    package init(_ line: String, phase: String? = nil) {
        self.line = line
        self.phase = phase
    }
}

/// How the root turn ended, as Codex (or the inferred-completion rule) said.
package struct TurnCompletion: Equatable, Sendable {
    package var status: TurnEndStatus
    package var errorMessage: String?
    /// True when no root `turn/completed` came and the final answer was taken as the end.
    package var inferred: Bool
}

/// The turn state machine: fed the server's notifications in order, it separates the
/// root thread from subagent threads, folds events into progress lines, collects the
/// result (final message, touched files, reasoning summary, commands) and decides when
/// and how the root turn ended. Pure: no I/O, no clock.
///
/// Thread tracking follows the reference client: the root thread is the one the turn
/// was started on; a thread becomes a tracked subagent when a `collabAgentToolCall`
/// item lists it in `receiverThreadIds`, or when `thread/started` or
/// `thread/name/updated` names it. Notifications for untracked threads are ignored,
/// and once a thread's turn id is known, notifications for other turns are ignored.
package struct TurnTracker {
    package struct Subagent: Equatable {
        package var label: String?
        package var turnId: String?
        package var isActive = false
    }

    /// Paths inside this directory are shown relative to it in progress lines.
    package var displayRoot: String?

    private(set) var rootThreadId: String?
    private(set) var rootTurnId: String?
    private(set) var subagents: [String: Subagent] = [:]
    private(set) var completion: TurnCompletion?

    private(set) var finalMessage: String?
    private(set) var touchedFiles: [String] = []
    private(set) var reasoningSummary: [String] = []
    private(set) var commands: [CommandRecord] = []
    /// The last `error` notification on the root thread that Codex will not retry.
    private(set) var lastError: String?
    /// An `agentMessage` with phase `final_answer` completed on the root thread.
    private(set) var hasRootFinalAnswer = false
    /// The id the root thread's `turn/started` carried. For a review it differs from the id
    /// `review/start` returned (which items and `turn/completed` carry), and only this one
    /// is accepted by `turn/interrupt`.
    private(set) var rootStartedTurnId: String?
    /// The rendered review of an `exitedReviewMode` item on the root thread.
    private(set) var reviewText: String?

    private var enteredReview = false
    private var touchedSet: Set<String> = []
    private var reasoningSet: Set<String> = []
    private var pendingRootCollabItems: Set<String> = []

    package init(displayRoot: String? = nil) {
        self.displayRoot = displayRoot
    }

    package mutating func setRootThread(_ threadId: String) {
        rootThreadId = threadId
        subagents[threadId] = nil
    }

    package mutating func setRootTurn(_ turnId: String) {
        rootTurnId = turnId
    }

    /// All inferred-completion conditions hold: a root final answer, no root
    /// collaboration call still pending, no subagent turn still running.
    package var isInferredCompletionReady: Bool {
        completion == nil && hasRootFinalAnswer && pendingRootCollabItems.isEmpty
            && !subagents.values.contains { $0.isActive }
    }

    /// Ends the turn as completed although no root `turn/completed` arrived.
    package mutating func completeByInference() -> [ProgressEvent] {
        guard completion == nil else { return [] }
        completion = TurnCompletion(status: .completed, errorMessage: nil, inferred: true)
        return [
            ProgressEvent("Turn completed (final answer received; Codex sent no turn/completed).", phase: "finalizing")
        ]
    }

    /// Feeds one server notification; returns the progress lines it produces.
    package mutating func handle(method: String, params: JSONValue) -> [ProgressEvent] {
        switch method {
        case "thread/started":
            guard let thread = params["thread"], let id = thread["id"]?.stringValue else { return [] }
            let label = firstString(thread["agentNickname"], thread["agentRole"], thread["name"])
            registerSubagent(id, label: label)
            return []
        case "thread/name/updated":
            guard let id = params["threadId"]?.stringValue else { return [] }
            registerSubagent(id, label: params["threadName"]?.stringValue)
            return []
        case "configWarning":
            let summary = params["summary"]?.stringValue ?? params["message"]?.stringValue ?? "configuration warning"
            return [ProgressEvent("Codex configuration warning: \(ProgressText.preview(summary))")]
        case "warning":
            guard let message = params["message"]?.stringValue else { return [] }
            if let thread = params["threadId"]?.stringValue {
                guard isTracked(thread) else { return [] }
                return [ProgressEvent(prefix(thread) + "Codex warning: " + ProgressText.preview(message))]
            }
            return [ProgressEvent("Codex warning: " + ProgressText.preview(message))]
        default:
            break
        }

        guard let threadId = params["threadId"]?.stringValue, isTracked(threadId) else { return [] }
        let isRoot = threadId == rootThreadId
        let turnId = params["turnId"]?.stringValue ?? params["turn"]?["id"]?.stringValue

        if method == "turn/started" {
            if isRoot {
                if let turnId { rootStartedTurnId = turnId }
                if let known = rootTurnId, let turnId, known != turnId {
                    return reviewText == nil && enteredReview
                        ? [ProgressEvent("Review turn started.", phase: "investigating")] : []
                }
                if rootTurnId == nil, let turnId { rootTurnId = turnId }
                return [ProgressEvent("Turn started.", phase: "starting")]
            }
            subagents[threadId]?.turnId = turnId
            subagents[threadId]?.isActive = true
            return [ProgressEvent(prefix(threadId) + "Turn started.", phase: "investigating")]
        }

        let knownTurn = isRoot ? rootTurnId : subagents[threadId]?.turnId
        if let knownTurn, let turnId, knownTurn != turnId { return [] }

        switch method {
        case "item/started":
            guard let item = params["item"] else { return [] }
            return handleItem(item, completed: false, threadId: threadId, isRoot: isRoot)
        case "item/completed":
            guard let item = params["item"] else { return [] }
            return handleItem(item, completed: true, threadId: threadId, isRoot: isRoot)
        case "turn/completed":
            return handleTurnCompleted(params["turn"] ?? .null, threadId: threadId, isRoot: isRoot)
        case "error":
            let message = params["error"]?["message"]?.stringValue ?? "unknown error"
            if params["willRetry"]?.boolValue == true {
                return [ProgressEvent(prefix(threadId) + "Codex error, retrying: " + ProgressText.preview(message))]
            }
            if isRoot {
                lastError = message
                return [ProgressEvent("Codex error: " + ProgressText.preview(message), phase: "failed")]
            }
            return [ProgressEvent(prefix(threadId) + "Codex error: " + ProgressText.preview(message))]
        case "turn/plan/updated":
            guard let plan = params["plan"]?.arrayValue, !plan.isEmpty else { return [] }
            let done = plan.filter { $0["status"]?.stringValue == "completed" }.count
            var line = prefix(threadId) + "Plan: \(done)/\(plan.count) steps done"
            if let current = plan.first(where: { $0["status"]?.stringValue == "inProgress" })?["step"]?.stringValue {
                line += "; now: " + ProgressText.preview(current, limit: 120)
            }
            return [ProgressEvent(line + ".")]
        default:
            return []
        }
    }

    // MARK: - Items

    private mutating func handleItem(_ item: JSONValue, completed: Bool, threadId: String, isRoot: Bool)
        -> [ProgressEvent]
    {
        let type = item["type"]?.stringValue ?? ""
        let lead = prefix(threadId)
        switch type {
        case "agentMessage":
            let text = item["text"]?.stringValue ?? ""
            let hasText = !text.allSatisfy(\.isWhitespace)
            if isRoot && hasText { finalMessage = text }
            guard completed else { return [] }
            if isRoot && item["phase"]?.stringValue == "final_answer" { hasRootFinalAnswer = true }
            guard hasText else { return [] }
            return [ProgressEvent(lead + "Assistant: " + ProgressText.preview(text))]

        case "reasoning":
            guard completed else { return [] }
            var events: [ProgressEvent] = []
            for entry in Self.flattenSummary(item["summary"] ?? .null) {
                let text = ProgressText.collapseWhitespace(entry)
                guard !text.isEmpty, reasoningSet.insert(text).inserted else { continue }
                reasoningSummary.append(text)
                events.append(ProgressEvent(lead + "Reasoning: " + ProgressText.preview(text)))
            }
            return events

        case "commandExecution":
            let command = item["command"]?.stringValue ?? ""
            let shown = ProgressText.preview(ProgressText.displayCommand(command))
            let phase = ProgressText.commandPhase(ProgressText.displayCommand(command))
            guard completed else { return [ProgressEvent(lead + "Running command: " + shown, phase: phase)] }
            let status = item["status"]?.stringValue ?? "completed"
            let exitCode = item["exitCode"]?.intValue.map { Int($0) }
            commands.append(CommandRecord(command: command, exitCode: exitCode, status: status))
            let exitText = exitCode.map { " (exit \($0))" } ?? ""
            return [ProgressEvent(lead + "Command \(status): \(shown)\(exitText)", phase: phase)]

        case "fileChange":
            let changes = item["changes"]?.arrayValue ?? []
            guard completed else {
                return [ProgressEvent(lead + "Applying \(changes.count) file change(s).", phase: "editing")]
            }
            let status = item["status"]?.stringValue ?? "completed"
            guard status == "completed" else {
                return [ProgressEvent(lead + "File changes \(status).", phase: "editing")]
            }
            var shown: [String] = []
            for change in changes {
                guard let path = change["path"]?.stringValue, !path.isEmpty else { continue }
                if touchedSet.insert(path).inserted { touchedFiles.append(path) }
                shown.append(display(path))
            }
            if shown.isEmpty { return [ProgressEvent(lead + "File changes completed.", phase: "editing")] }
            return [
                ProgressEvent(
                    lead + "Files changed: " + ProgressText.preview(shown.joined(separator: ", ")), phase: "editing")
            ]

        case "mcpToolCall":
            let name = [item["server"]?.stringValue, item["tool"]?.stringValue].compactMap { $0 }.joined(separator: "/")
            guard completed else { return [ProgressEvent(lead + "Calling \(name).", phase: "investigating")] }
            let status = item["status"]?.stringValue ?? "completed"
            return [ProgressEvent(lead + "Tool \(name) \(status).", phase: "investigating")]

        case "dynamicToolCall":
            let name = [item["namespace"]?.stringValue, item["tool"]?.stringValue].compactMap { $0 }.joined(
                separator: "/")
            guard completed else { return [ProgressEvent(lead + "Calling \(name).", phase: "investigating")] }
            let status = item["status"]?.stringValue ?? "completed"
            return [ProgressEvent(lead + "Tool \(name) \(status).", phase: "investigating")]

        case "webSearch":
            guard !completed else { return [] }
            let query = item["query"]?.stringValue ?? item["action"]?["query"]?.stringValue ?? ""
            return [
                ProgressEvent(lead + "Searching: " + ProgressText.preview(query, limit: 160), phase: "investigating")
            ]

        case "collabAgentToolCall":
            let receivers = (item["receiverThreadIds"]?.arrayValue ?? []).compactMap(\.stringValue)
            for receiver in receivers { registerSubagent(receiver, label: nil) }
            let tool = item["tool"]?.stringValue ?? "unknown"
            if isRoot, let id = item["id"]?.stringValue {
                if completed { pendingRootCollabItems.remove(id) } else { pendingRootCollabItems.insert(id) }
            }
            let labels = receivers.map(label(of:)).joined(separator: ", ")
            let subject = labels.isEmpty ? "subagent" : "subagent \(labels)"
            guard completed else {
                let line: String
                switch tool {
                case "spawnAgent": line = "Starting \(subject) via collaboration tool: spawnAgent."
                case "wait": line = "Waiting for \(subject)."
                case "sendInput": line = "Sending input to \(subject)."
                case "resumeAgent": line = "Resuming \(subject)."
                case "closeAgent": line = "Closing \(subject)."
                default: line = "Collaboration tool \(tool) for \(subject)."
                }
                return [ProgressEvent(lead + line, phase: "investigating")]
            }
            let status = item["status"]?.stringValue ?? "completed"
            return [
                ProgressEvent(
                    lead + "\(subject.prefix(1).uppercased())\(subject.dropFirst()) \(status) (\(tool)).",
                    phase: "investigating")
            ]

        case "contextCompaction":
            return completed ? [] : [ProgressEvent(lead + "Compacting the conversation context.")]

        case "enteredReviewMode":
            guard completed, isRoot else { return [] }
            enteredReview = true
            let hint = item["review"]?.stringValue ?? ""
            return [
                ProgressEvent("Codex review started: " + ProgressText.preview(hint, limit: 160), phase: "investigating")
            ]

        case "exitedReviewMode":
            guard completed, isRoot else { return [] }
            reviewText = item["review"]?.stringValue ?? ""
            return [ProgressEvent("Codex review finished.", phase: "finalizing")]

        default:
            return []
        }
    }

    private mutating func handleTurnCompleted(_ turn: JSONValue, threadId: String, isRoot: Bool) -> [ProgressEvent] {
        let status = turn["status"]?.stringValue ?? "completed"
        guard isRoot else {
            subagents[threadId]?.isActive = false
            return [ProgressEvent(prefix(threadId) + "Turn \(status).")]
        }
        guard completion == nil else { return [] }
        if finalMessage == nil, let items = turn["items"]?.arrayValue {
            let texts = items.filter { $0["type"]?.stringValue == "agentMessage" }.compactMap {
                $0["text"]?.stringValue
            }
            finalMessage = texts.last { !$0.allSatisfy(\.isWhitespace) }
        }
        let codexMessage = turn["error"]?["message"]?.stringValue
        switch status {
        case "completed":
            completion = TurnCompletion(status: .completed, errorMessage: nil, inferred: false)
            return [ProgressEvent("Turn completed.", phase: "finalizing")]
        case "interrupted":
            completion = TurnCompletion(status: .interrupted, errorMessage: codexMessage, inferred: false)
            return [ProgressEvent("Turn interrupted.", phase: "finalizing")]
        case "failed":
            let message = codexMessage ?? lastError ?? "Codex reported the turn as failed without a message."
            completion = TurnCompletion(status: .failed, errorMessage: message, inferred: false)
            return [ProgressEvent("Turn failed: " + ProgressText.preview(message), phase: "failed")]
        default:
            let message = codexMessage ?? lastError ?? "Codex ended the turn with status \(status)."
            completion = TurnCompletion(status: .failed, errorMessage: message, inferred: false)
            return [ProgressEvent("Turn ended with status \(status).", phase: "failed")]
        }
    }

    // MARK: - Threads

    private func isTracked(_ threadId: String) -> Bool {
        threadId == rootThreadId || subagents[threadId] != nil
    }

    /// Adds a subagent thread (or improves its label). Nothing happens before the root
    /// thread is known, so the root's own `thread/started` is never mistaken for one.
    private mutating func registerSubagent(_ threadId: String, label: String?) {
        guard let root = rootThreadId, threadId != root else { return }
        var entry = subagents[threadId] ?? Subagent()
        if let label, !label.isEmpty { entry.label = label }
        subagents[threadId] = entry
    }

    private func label(of threadId: String) -> String {
        if let label = subagents[threadId]?.label { return label }
        return threadId.count > 8 ? String(threadId.suffix(8)) : threadId
    }

    private func prefix(_ threadId: String) -> String {
        threadId == rootThreadId ? "" : "[subagent \(label(of: threadId))] "
    }

    private func display(_ path: String) -> String {
        guard let root = displayRoot, !root.isEmpty else { return path }
        let base = root.hasSuffix("/") ? root : root + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    private func firstString(_ values: JSONValue?...) -> String? {
        for value in values {
            if let text = value?.stringValue, !text.isEmpty { return text }
        }
        return nil
    }

    /// Reasoning summaries come as strings (0.147.0) or objects with `text`, `summary`,
    /// `content` or `parts` (older servers); both are accepted, nested arrays flattened.
    package static func flattenSummary(_ value: JSONValue) -> [String] {
        switch value {
        case .string(let text): return [text]
        case .array(let items): return items.flatMap(flattenSummary)
        case .object:
            for key in ["text", "summary", "content", "parts"] {
                if let inner = value[key], inner != .null { return flattenSummary(inner) }
            }
            return []
        default: return []
        }
    }
}
