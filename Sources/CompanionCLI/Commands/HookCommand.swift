import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `hook pre-tool-use|stop|session-start|session-end`: the plugin's hook handlers. They read
/// the hook JSON on stdin and never fail a Claude Code call because of a bug of ours:
/// every problem is one line on stderr and exit 0.
package enum HookCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let input = invocation.context.readStdin() ?? []
        switch invocation.parsed.positionals.first {
        case "pre-tool-use":
            let outcome = PreToolUseHook.evaluate(
                input: input, pluginRoot: invocation.environment["CLAUDE_PLUGIN_ROOT"])
            if let text = outcome.stderr { invocation.context.writeStderr(text.hasSuffix("\n") ? text : text + "\n") }
            if let text = outcome.stdout { invocation.context.writeStdout(text.hasSuffix("\n") ? text : text + "\n") }
            return .nothing(exitCode: outcome.exitCode)
        case "stop":
            let output = StopHook.run(invocation, input: input).output
            if let text = output.stdout { invocation.context.writeStdout(text + "\n") }
            return .nothing(exitCode: output.exitCode)
        case "session-start":
            sessionStart(invocation, input: input)
        case "session-end":
            sessionEnd(invocation, input: input)
        default:
            break
        }
        return .nothing()
    }

    package static func sessionId(from input: [UInt8]) -> String? {
        // Hooks never fail a Claude Code call: input that does not parse has no session id.
        guard let value = try? JSONCoding.decode(JSONValue.self, from: input) else { return nil }
        return value["session_id"]?.stringValue
    }

    /// Writes CODEX_COMPANION_SESSION_ID to CLAUDE_ENV_FILE, one line however often the
    /// hook fires (no state dir: terminal and plugin share the default one), and moves
    /// records from the plugin's old state dir into it.
    package static func sessionStart(_ invocation: Invocation, input: [UInt8]) {
        guard let session = sessionId(from: input), SessionStore.isValid(session) else {
            invocation.warn("codex-companion: session-start: no usable session_id in the hook input; nothing recorded")
            return
        }
        let source = (try? JSONCoding.decode(JSONValue.self, from: input))?["source"]?.stringValue  // as above
        if let envFile = invocation.environment["CLAUDE_ENV_FILE"], !envFile.isEmpty {
            do {
                try SessionEnvFile.update(
                    path: envFile,
                    variables: [
                        (name: "CODEX_COMPANION_SESSION_ID", value: session)
                    ])
            } catch {
                invocation.warn("codex-companion: session-start: could not update \(envFile): \(error)")
            }
        }
        if let legacy = StateMigration.legacyRoot(environment: invocation.environment) {
            let report = StateMigration.migrate(from: legacy, to: invocation.stateRoot, warn: invocation.warn)
            for line in report.left {
                invocation.warn("codex-companion: session-start: not migrated, left in place: \(line)")
            }
        }
        do {
            try SessionStore.update(stateRoot: invocation.stateRoot, sessionId: session, warn: invocation.warn) {
                record in
                if record.startedAt == nil { record.startedAt = Timestamp.now() }
                record.endedAt = nil
                record.endReason = nil
                record.lastSource = source
                record.cwd = invocation.cwd
            }
        } catch {
            invocation.warn("codex-companion: session-start: could not record the session: \(error)")
        }
    }

    /// Records that the session ended. Never kills jobs, never deletes records.
    package static func sessionEnd(_ invocation: Invocation, input: [UInt8]) {
        guard let session = sessionId(from: input), SessionStore.isValid(session) else {
            invocation.warn("codex-companion: session-end: no usable session_id in the hook input; nothing recorded")
            return
        }
        let reason = (try? JSONCoding.decode(JSONValue.self, from: input))?["reason"]?.stringValue  // as above
        do {
            try SessionStore.update(stateRoot: invocation.stateRoot, sessionId: session, warn: invocation.warn) {
                record in
                record.endedAt = Timestamp.now()
                record.endReason = reason
            }
        } catch {
            invocation.warn("codex-companion: session-end: could not record the end of the session: \(error)")
        }
    }
}
