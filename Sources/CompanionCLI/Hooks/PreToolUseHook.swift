import ShellGuard
import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `codex-companion hook pre-tool-use`: denies Bash calls that run the Codex CLI
/// directly and points Claude to the plugin's commands instead. Everything else,
/// including input we cannot read, is allowed: a bug here must never block every
/// Bash call.
public enum PreToolUseHook {
    public struct Outcome: Equatable, Sendable {
        public var stdout: String?
        public var stderr: String?
        public var exitCode: Int32

        public init(stdout: String? = nil, stderr: String? = nil, exitCode: Int32 = 0) {
            self.stdout = stdout
            self.stderr = stderr
            self.exitCode = exitCode
        }
    }

    /// `input` is the hook's stdin (the PreToolUse JSON from Claude Code); `pluginRoot` is
    /// `CLAUDE_PLUGIN_ROOT`, which names the one launcher path an allowed call may use.
    public static func evaluate(input: [UInt8], pluginRoot: String? = nil) -> Outcome {
        // JSONWire is the small strict parser of the RPC path: on this hot path (every
        // Bash call) it avoids Foundation's decoder and its start-up cost.
        guard let value = JSONWire.parse(input) else {
            return malformed("stdin is not valid JSON")
        }
        guard value.objectValue != nil else { return malformed("stdin is not a JSON object") }
        guard let tool = value["tool_name"]?.stringValue else { return malformed("tool_name is missing") }
        guard tool == "Bash" else { return Outcome() }
        guard let command = value["tool_input"]?["command"]?.stringValue else {
            return malformed("tool_input.command is missing or not a string")
        }
        if let found = CodexInvocationGuard.findInvocation(in: command) { return deny(found: found) }
        if ReadOnlyCompanionCall.matches(command, pluginRoot: pluginRoot) { return allow() }
        return Outcome()
    }

    /// Lets a plain read-only `codex-companion status|result` call run without a prompt.
    private static func allow() -> Outcome {
        let decision = PermissionDecision(
            permissionDecision: "allow",
            permissionDecisionReason: "codex plugin: read-only codex-companion status/result call")
        return Outcome(stdout: JSONWire.text(decision))
    }

    /// The text shown to Claude when a call is denied.
    package static func reason(found: String) -> String {
        "This command runs the Codex CLI directly (`\(found)`), which the codex plugin does not allow. "
            + "Delegate the task with /codex:rescue instead, then follow it with /codex:status and read its "
            + "output with /codex:result."
    }

    private static func deny(found: String) -> Outcome {
        let decision = PermissionDecision(permissionDecision: "deny", permissionDecisionReason: reason(found: found))
        return Outcome(stdout: JSONWire.text(decision))
    }

    private static func malformed(_ detail: String) -> Outcome {
        Outcome(stderr: "codex-companion hook pre-tool-use: \(detail); allowing the call\n")
    }
}

/// The PreToolUse hook's answer to Claude Code: `{"hookSpecificOutput": {…}}`.
package struct PermissionDecision: Encodable {
    struct Specific: Encodable {
        let hookEventName = "PreToolUse"
        /// `allow` or `deny`.
        let permissionDecision: String
        let permissionDecisionReason: String
    }

    let hookSpecificOutput: Specific

    init(permissionDecision: String, permissionDecisionReason: String) {
        hookSpecificOutput = Specific(
            permissionDecision: permissionDecision, permissionDecisionReason: permissionDecisionReason)
    }
}
