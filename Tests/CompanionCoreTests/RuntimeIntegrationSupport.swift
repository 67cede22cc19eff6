#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

/// One run of a built binary: exit code (128+n for a signal), stdout, stderr.
struct RIRun: CustomStringConvertible {
    let code: Int32
    let stdout: String
    let stderr: String

    init(_ output: ProcessOutput) {
        switch output.status {
        case .exited(let code): self.code = code
        case .signalled(let signal): self.code = 128 + signal
        }
        stdout = output.stdoutText
        stderr = output.stderrText
    }

    /// stdout parsed as one JSON value (nil when it is not exactly one).
    var json: JSONValue? { JSONValue.parse(stdout) }

    /// Non-empty lines of stdout / stderr.
    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

    var description: String { "exit \(code)\n--- stdout\n\(stdout.prefix(4000))\n--- stderr\n\(stderr.prefix(4000))" }
}

/// A temp directory holding a git repository, an isolated state root, a home, and the
/// fake app-server's log, plus a unique marker put into the environment of everything
/// started from here, so the test can find (and at the end kill) exactly the processes
/// it caused, through /proc.
final class RISandbox {
    let temp: TempDir
    let repo: String
    let stateDir: String
    let home: String
    let marker: String
    /// FAKE_CODEX_SCRIPT for the next runs (nil: fake-codex's built-in one-turn script).
    var script: String?
    /// FAKE_CODEX_LOG for the next runs.
    var fakeLog: String
    /// CODEX_COMPANION_SESSION_ID for the next runs (nil: unset).
    var session: String?

    static let markerName = "CODEX_COMPANION_ITEST_MARKER"

    init(fixture: String? = "success.json", label: String = "ri") {
        temp = TempDir(label)
        repo = temp.file("repo")
        stateDir = temp.file("state")
        home = temp.file("home")
        fakeLog = temp.file("fake.log")
        marker = "ri-" + String(UInt64.random(in: 1...UInt64.max), radix: 36) + String(getpid())
        script = fixture.map { FakeCodex.fixture($0) }
        try? FileSystem.createDirectory(home)
        RISandbox.makeGitRepo(repo)
    }

    deinit { cleanUp() }

    /// Kills every process carrying this sandbox's marker (only ours) and waits for them.
    func cleanUp() {
        for _ in 0..<3 {
            let pids = markerProcesses()
            if pids.isEmpty { break }
            for pid in pids { kill(pid, SIGKILL) }
            _ = waitNoMarkerProcesses(timeout: 3)
        }
    }

    static func makeGitRepo(_ path: String) { GitFixture.makeRepo(path) }

    /// A fresh directory (not a repository) inside the sandbox.
    func directory(_ name: String) -> String {
        let path = temp.file(name)
        try? FileSystem.createDirectory(path, mode: 0o755)
        return path
    }

    /// Writes a fake-codex script into the sandbox and returns its path.
    /// A sandbox whose fake-codex runs the script `text` (written to scripts/`name`).
    static func running(script name: String, _ text: String) -> RISandbox {
        let box = RISandbox(fixture: nil)
        box.script = box.writeScript(name, text)
        return box
    }

    func writeScript(_ name: String, _ text: String) -> String {
        temp.write("scripts/" + name, text)
        return temp.file("scripts/" + name)
    }

    func environment(_ overrides: [String: String?] = [:]) -> [String: String] {
        var env: [String: String] = [
            "HOME": home,
            "CODEX_COMPANION_CODEX": Binaries.fakeCodex,
            "CODEX_COMPANION_STATE_DIR": stateDir,
            "FAKE_CODEX_LOG": fakeLog,
            RISandbox.markerName: marker,
        ]
        if let script { env["FAKE_CODEX_SCRIPT"] = script }
        if let session { env["CODEX_COMPANION_SESSION_ID"] = session }
        for (key, value) in overrides { env[key] = value }
        return env
    }

    /// Runs the built codex-companion (in the repository unless `cwd` is given).
    @discardableResult
    func run(
        _ arguments: [String], cwd: String? = nil, env overrides: [String: String?] = [:],
        input: [UInt8]? = nil, timeout: Double = 60
    ) -> RIRun {
        RIRun(
            Binaries.run(
                Binaries.companion, arguments, cwd: cwd ?? repo, environment: environment(overrides),
                input: input, timeout: timeout))
    }

    /// `task --background --json …`; returns the job id (nil and a recorded issue on failure).
    func startBackground(
        _ prompt: [String], options: [String] = [], cwd: String? = nil,
        env overrides: [String: String?] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) -> String? {
        let launched = run(["task", "--background", "--json"] + options + prompt, cwd: cwd, env: overrides)
        guard launched.code == 0, let id = launched.json?["jobId"]?.stringValue else {
            Issue.record("task --background failed: \(launched)", sourceLocation: sourceLocation)
            return nil
        }
        return id
    }

    /// The `job` object of `status <id> --json`.
    func job(_ id: String, cwd: String? = nil) -> JSONValue? {
        let out = run(["status", id, "--json"], cwd: cwd)
        return out.code == 0 ? out.json?["job"] : nil
    }

    /// Polls `status <id> --json` until `condition` holds or `timeout` seconds pass.
    /// Returns the last job object seen and whether the condition held.
    func waitForJob(_ id: String, timeout: Double = 30, until condition: (JSONValue) -> Bool) -> (
        job: JSONValue?, met: Bool
    ) {
        let deadline = MonotonicClock.now() + timeout
        var last: JSONValue? = nil
        while true {
            if let job = job(id) {
                last = job
                if condition(job) { return (job, true) }
            }
            if MonotonicClock.now() >= deadline { return (last, false) }
            sleepSeconds(0.1)
        }
    }

    /// Waits until the job is completed, failed or cancelled.
    func waitForEnd(_ id: String, timeout: Double = 30) -> JSONValue? {
        let (job, met) = waitForJob(id, timeout: timeout) { RISandbox.isTerminal($0) }
        return met ? job : nil
    }

    /// Waits until the job runs a turn (turnId set) and has a worker pid.
    /// Starts a background task (`prompt`) and waits until its turn runs; returns the job's id
    /// and its worker's pid (the test fails without either).
    func startJobInItsTurn(
        _ prompt: String = "take your time", sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (id: String, workerPID: pid_t) {
        let id = try #require(startBackground([prompt], sourceLocation: sourceLocation), sourceLocation: sourceLocation)
        let running = try #require(
            waitForTurn(id), "job \(id) never started its turn", sourceLocation: sourceLocation)
        let workerPID = try #require(running["pid"]?.intValue.map { pid_t($0) }, sourceLocation: sourceLocation)
        return (id, workerPID)
    }

    /// Runs a foreground `task --json <prompt>` that must succeed; returns the string `field` of
    /// its JSON (required too).
    func succeedingTask(
        _ prompt: String, reading field: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        let task = run(["task", "--json", prompt])
        try #require(task.code == 0, "\(task)", sourceLocation: sourceLocation)
        return try #require(task.json?[field]?.stringValue, "\(task)", sourceLocation: sourceLocation)
    }

    /// A sandbox on the slow fixture (a turn that sleeps 30 s) with one background job parked in
    /// its turn (`startJobInItsTurn`).
    static func withSlowJobInItsTurn(
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (box: RISandbox, id: String, workerPID: pid_t) {
        let box = RISandbox(fixture: "slow.json")
        let (id, workerPID) = try box.startJobInItsTurn(sourceLocation: sourceLocation)
        return (box, id, workerPID)
    }

    func waitForTurn(_ id: String, timeout: Double = 30) -> JSONValue? {
        let (job, met) = waitForJob(id, timeout: timeout) { job in
            job["status"]?.stringValue == "running" && job["turnId"]?.stringValue != nil && job["pid"]?.intValue != nil
        }
        return met ? job : nil
    }

    static func isTerminal(_ job: JSONValue) -> Bool {
        ["completed", "failed", "cancelled"].contains(job["status"]?.stringValue ?? "")
    }

    // MARK: - Store access (for hand edits of records, under the store's lock)

    func store(workspace: String? = nil) throws -> WorkspaceStore {
        try WorkspaceStore.open(stateRoot: stateDir, workspaceRoot: workspace ?? repo, warn: { _ in })
    }

    // MARK: - Fake app-server log

    /// Every JSON message fake-codex logged in `path` (default: the sandbox's log).
    func fakeMessages(_ path: String? = nil) -> [JSONValue] {
        guard let bytes = (try? FileSystem.read(path ?? fakeLog)) ?? nil else { return [] }
        return bytes.split(separator: 10).compactMap { try? JSONCoding.decode(JSONValue.self, from: Array($0)) }
    }

    func fakeRequests(_ method: String, _ path: String? = nil) -> [JSONValue] {
        fakeMessages(path).filter { $0["method"]?.stringValue == method }
    }

    // MARK: - Processes

    /// Live (non-zombie) processes whose environment carries this sandbox's marker.
    func markerProcesses() -> [pid_t] {
        RIProc.pids().filter { pid in
            pid != getpid() && RIProc.isLive(pid)
                && RIProc.environment(pid).contains(RISandbox.markerName + "=" + marker)
        }
    }

    /// Waits until no marker process is alive; returns the survivors.
    func waitNoMarkerProcesses(timeout: Double) -> [pid_t] {
        let deadline = MonotonicClock.now() + timeout
        var left = markerProcesses()
        while !left.isEmpty && MonotonicClock.now() < deadline {
            sleepSeconds(0.05)
            left = markerProcesses()
        }
        return left
    }
}

/// /proc helpers (Linux).
enum RIProc {
    static func pids() -> [pid_t] {
        ((try? FileSystem.list("/proc")) ?? []).compactMap { pid_t($0) }.filter { $0 > 0 }
    }

    /// The fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, …].
    static func statFields(_ pid: pid_t) -> [String]? {
        guard let bytes = (try? FileSystem.read("/proc/\(pid)/stat")) ?? nil,
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        return String(decoding: bytes[(close + 1)...], as: UTF8.self).split(separator: " ").map(String.init)
    }

    /// Alive and not a zombie.
    static func isLive(_ pid: pid_t) -> Bool {
        guard let state = statFields(pid)?.first else { return false }
        return state != "Z" && state != "X"
    }

    static func parent(_ pid: pid_t) -> pid_t? {
        statFields(pid).flatMap { $0.count > 1 ? pid_t($0[1]) : nil }
    }

    /// Live children of `pid`, from every process's ppid.
    static func children(of pid: pid_t) -> [pid_t] {
        pids().filter { parent($0) == pid && isLive($0) }
    }

    static func environment(_ pid: pid_t) -> [String] {
        guard let bytes = (try? FileSystem.read("/proc/\(pid)/environ")) ?? nil else { return [] }
        return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    static func executable(_ pid: pid_t) -> String? {
        FileSystem.realPath("/proc/\(pid)/exe")
    }
}

typealias RIBinaries = Binaries

extension JSONValue {
    /// Ids of the jobs in a `status --json` overview (running, latestFinished, recent).
    var riJobIds: [String] {
        var ids: [String] = []
        for job in self["running"]?.arrayValue ?? [] { if let id = job["id"]?.stringValue { ids.append(id) } }
        if let id = self["latestFinished"]?["id"]?.stringValue { ids.append(id) }
        for job in self["recent"]?.arrayValue ?? [] { if let id = job["id"]?.stringValue { ids.append(id) } }
        return ids
    }
}

/// A codex-companion run started without waiting for it (its own process group;
/// stdout and stderr go to files in the sandbox).
struct RIAsyncRun {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String

    /// Waits up to `timeout` seconds for the run to end; nil if it is still running.
    func finish(timeout: Double) -> RIRun? {
        let deadline = MonotonicClock.now() + timeout
        while true {
            if let status = Subprocess.poll(pid) {
                let out = (try? FileSystem.read(stdoutPath)).flatMap { $0 } ?? []
                let err = (try? FileSystem.read(stderrPath)).flatMap { $0 } ?? []
                return RIRun(ProcessOutput(status: status, stdout: out, stderr: err))
            }
            if MonotonicClock.now() >= deadline { return nil }
            sleepSeconds(0.05)
        }
    }

    /// Kills and reaps the run if it is still going (cleanup).
    func kill() {
        if Subprocess.poll(pid) == nil {
            _ = Signals.sendToGroup(pid, SIGKILL)
            _ = Subprocess.wait(pid)
        }
    }
}

extension RISandbox {
    func spawn(_ arguments: [String], cwd: String? = nil, env overrides: [String: String?] = [:], name: String) throws
        -> RIAsyncRun
    {
        let outPath = temp.file(name + ".stdout")
        let errPath = temp.file(name + ".stderr")
        let outFD = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let errFD = open(errPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer {
            if outFD >= 0 { close(outFD) }
            if errFD >= 0 { close(errFD) }
        }
        var env = environment(overrides)
        env["PATH"] = ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin"
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        let request = SpawnRequest(
            executable: Binaries.companion, arguments: arguments, environment: env, directory: cwd ?? repo,
            grouping: .newGroup, stdin: .null, stdout: .descriptor(outFD), stderr: .descriptor(errFD))
        let child = try Subprocess.spawn(request)
        return RIAsyncRun(pid: child.pid, stdoutPath: outPath, stderrPath: errPath)
    }

    /// The one job of the state root's workspace for the repository that is active (polls).
    func waitForActiveJob(timeout: Double = 20) -> String? {
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            let out = run(["status", "--all", "--json"])
            if let id = out.json?["running"]?[0]?["id"]?.stringValue { return id }
            sleepSeconds(0.05)
        }
        return nil
    }
}
