import CompanionJSON
import CompanionSystem

extension CloudClient {
    /// Submits a task: `codex cloud exec --env E --attempts N --branch B -` with the prompt on
    /// stdin (so a prompt can never be read as an option, whatever its first characters).
    /// - Returns: the task id and URL from the one line the CLI prints.
    public func exec(_ task: CloudTaskRequest) throws(CloudError) -> CloudSubmission {
        let arguments = [
            "cloud", "exec", "--env", task.environment, "--attempts", String(task.attempts), "--branch", task.branch,
            "-",
        ]
        let output = try run(arguments, input: Array(task.prompt.utf8), label: "codex cloud exec")
        guard output.status.isSuccess else {
            throw CloudDiagnostics.classify(
                stderr: output.stderrText, status: output.status.description, command: "codex cloud exec",
                environment: task.environment)
        }
        let lines = output.stdoutText.split(separator: "\n").map { String($0).trimmingWhitespace() }
        guard let url = lines.last(where: { !$0.isEmpty }), let taskId = Self.taskId(fromURL: url) else {
            throw .unparsableOutput(command: "codex cloud exec", detail: "expected the task URL, got no URL")
        }
        return CloudSubmission(taskId: taskId, url: url)
    }

    /// `<root>/codex/tasks/<task_id>` → `<task_id>` when it is a plain id.
    static func taskId(fromURL url: String) -> String? {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { return nil }
        let parts = url.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[parts.count - 2] == "tasks" else { return nil }
        let id = String(parts[parts.count - 1])
        return isTaskId(id) ? id : nil
    }

    /// Letters, digits, `_` and `-`, 1–200 characters: what the service's task ids are made of.
    public static func isTaskId(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 200
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
            }
    }

    /// One page of `codex cloud list --json` (the CLI's only JSON output).
    public func list(limit: Int = 20, cursor: String? = nil) throws(CloudError) -> CloudTaskPage {
        var arguments = ["cloud", "list", "--json", "--limit", String(min(max(limit, 1), 20))]
        if let cursor { arguments += ["--cursor", cursor] }
        let output = try run(arguments, label: "codex cloud list --json")
        guard output.status.isSuccess else {
            throw CloudDiagnostics.classify(
                stderr: output.stderrText, status: output.status.description, command: "codex cloud list --json")
        }
        return try CloudListWire.decode(output.stdout)
    }

    /// The task with this id, from `list --json` (newest first, up to `pages` pages), else from
    /// `codex cloud status`'s text when the task is older than that.
    public func task(_ taskId: String, pages: Int = 3) throws(CloudError) -> CloudTask {
        var cursor: String?
        for _ in 0..<max(pages, 1) {
            let page = try list(limit: 20, cursor: cursor)
            if let task = page.tasks.first(where: { $0.id == taskId }) { return task }
            guard let next = page.cursor, !next.isEmpty else { break }
            cursor = next
        }
        return try statusFromText(taskId)
    }

    /// `codex cloud status <id>`: its text is no contract, so only the bracketed status word that
    /// starts the first line (`[READY] <title>`) is read, and the title after it; exit 0 means READY.
    func statusFromText(_ taskId: String) throws(CloudError) -> CloudTask {
        let output = try run(["cloud", "status", taskId], label: "codex cloud status")
        let first = output.stdoutText.split(separator: "\n").first.map(String.init) ?? ""
        let word = first.hasPrefix("[") ? first.dropFirst().prefix { $0 != "]" } : ""
        guard let status = CloudTaskStatus(rawValue: word.lowercased()) else {
            throw CloudDiagnostics.classify(
                stderr: output.stderrText, status: output.status.description, command: "codex cloud status",
                taskId: taskId)
        }
        let title = String(first.dropFirst(word.count + 2)).trimmingWhitespace()
        return CloudTask(
            id: taskId, url: nil, title: title, status: status, updatedAt: nil, environmentId: nil,
            environmentLabel: nil, summary: CloudDiffSummary(filesChanged: 0, linesAdded: 0, linesRemoved: 0),
            isReview: false, attemptTotal: 1)
    }

    /// The raw unified diff of one attempt: `codex cloud diff <id> --attempt N`.
    public func diff(_ taskId: String, attempt: Int = 1) throws(CloudError) -> CloudAttemptDiff {
        let output = try run(
            ["cloud", "diff", taskId, "--attempt", String(attempt)], label: "codex cloud diff --attempt \(attempt)")
        guard output.status.isSuccess else {
            throw CloudDiagnostics.classify(
                stderr: output.stderrText, status: output.status.description, command: "codex cloud diff",
                taskId: taskId, attempt: attempt)
        }
        return CloudAttemptDiff(attempt: attempt, diff: output.stdout, stat: DiffStatCounter.summary(of: output.stdout))
    }

    /// Every attempt that has a diff, in the CLI's numbering, up to `total` (at most 4).
    public func diffs(_ taskId: String, total: Int) throws(CloudError) -> [CloudAttemptDiff] {
        var result: [CloudAttemptDiff] = []
        for attempt in 1...min(max(total, 1), CloudTaskRequest.attemptRange.upperBound) {
            do {
                result.append(try diff(taskId, attempt: attempt))
            } catch {
                if case .attemptUnavailable = error, !result.isEmpty { break }
                throw error
            }
        }
        return result
    }
}
