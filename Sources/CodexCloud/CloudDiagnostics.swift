/// Reads what a failed `codex cloud` call printed on stderr. codex-cli 0.147 reports every
/// failure as text (`Error: …`, exit 1) — there is no error JSON and no distinct exit code —
/// so this is the one place that looks at that text. Each rule matches the narrowest stable
/// token of one message as observed live (docs: Tests/cloud-e2e/README.md), and anything
/// unrecognised becomes `.commandFailed` with the first lines of stderr.
enum CloudDiagnostics {
    static func classify(
        stderr: String, status: String, command: String, taskId: String? = nil, environment: String? = nil,
        attempt: Int? = nil
    ) -> CloudError {
        // "Not signed in. Please run 'codex login' to sign in with ChatGPT, …"
        if stderr.contains("Not signed in.") { return .notSignedInWithChatGPT }
        // "Error: environment 'X' not found; run `codex cloud` to list available environments"
        if let environment, stderr.contains("environment '"), stderr.contains("' not found") {
            return .unknownEnvironment(environment)
        }
        // "Error: no cloud environments are available for this workspace"
        if stderr.contains("no cloud environments are available") { return .noEnvironments }
        // "… environment label 'X' is ambiguous …"
        if let environment, stderr.contains("is ambiguous") { return .ambiguousEnvironment(environment) }
        // "Error: … error sending request for url (…)" + "Caused by: … Connection refused"
        if stderr.contains("error sending request for url") {
            return .serviceUnreachable(detail: firstErrorLine(stderr))
        }
        // "Error: No diff available for task <id>; it may still be running."
        if let taskId, stderr.contains("No diff available for task") { return .noDiff(taskId: taskId) }
        // "Error: Attempt 3 not available; only 2 attempt(s) found"
        if let taskId, let attempt, stderr.contains("Attempt \(attempt) not available") {
            return .attemptUnavailable(taskId: taskId, attempt: attempt)
        }
        // "Error: http error: get_task_details failed: GET <url> failed: 404 Not Found; …"
        if let taskId, stderr.contains("get_task_details failed"), stderr.contains(" 404 ") {
            return .taskNotFound(taskId: taskId)
        }
        // "Error: http error: <operation> failed: <METHOD> <url> failed: <status> …"
        if stderr.contains("http error:") { return .serviceError(detail: firstErrorLine(stderr)) }
        return .commandFailed(command: command, status: status, detail: firstErrorLine(stderr))
    }

    /// The first `Error:` line (else the first non-empty line), at most 300 characters.
    static func firstErrorLine(_ stderr: String) -> String {
        let lines = stderr.split(separator: "\n").map { String($0) }
        let line =
            lines.first { $0.hasPrefix("Error: ") }.map { String($0.dropFirst("Error: ".count)) }
            ?? lines.first { !$0.trimmingWhitespace().isEmpty } ?? "no output"
        return line.count > 300 ? String(line.prefix(299)) + "…" : line
    }
}
