// A development tool, not part of the product: it calls libc directly for timing
// and fixtures. The product's targets reach libc only through CompanionSystem.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

// Sections that time whole CLI processes against `/bin/true`, spawned the same way
// (posix_spawn, stdin fed from a pipe, stdout and stderr drained, waited for).

let floorExecutable = "/bin/true"

/// A section's committed workspace (`<root>/<name>-ws`, one README) and state directory
/// (`<root>/<name>-state`), and how its commands are spawned there.
struct CommandWorkspace {
    let directory: String
    let stateDir: String
    let environment: [String: String]

    init(_ setup: BenchSetup, name: String, environment extra: [String: String] = [:]) throws {
        directory = setup.root + "/\(name)-ws"
        stateDir = setup.root + "/\(name)-state"
        try Files.makeDirectories(directory)
        try Files.write(directory + "/README.md", "\(name) benchmark workspace\n")
        try setup.commitAll(directory)
        environment = setup.environment(extra.merging(["CODEX_COMPANION_STATE_DIR": stateDir]) { $1 })
    }

    func request(_ executable: String, _ arguments: [String]) -> SpawnRequest {
        SpawnRequest(
            executable: executable, arguments: arguments, environment: environment, directory: directory,
            grouping: .inherit)
    }

    /// The floor: `/bin/true`, spawned the same way.
    var floorCase: BenchCase {
        BenchCase(name: "floor") { _ in try timedRun(request(floorExecutable, [])).ms }
    }
}

extension BenchRow {
    /// The row of case `key` against the `floor` case (`/bin/true`) of the same rounds, with
    /// a target on its median.
    static func againstTrue(
        section: String, name: String, _ samples: [String: [Double]], key: String, medianAtMost limit: Int
    ) -> BenchRow {
        let values = samples[key]!
        return BenchRow(
            section: section, name: name, samples: values, floorName: "`/bin/true`", floor: samples["floor"]!,
            target: "≤ \(limit) ms", met: Stats.median(values) <= Double(limit))
    }
}

// MARK: - 1. PreToolUse hook

enum HookSection {
    static let allowedCommand =
        #"git status --short && swift build -c release 2>&1 | tail -n 20; grep -rn "TODO(codex)" Sources | head"#
    static let deniedCommand =
        #"cd /work/app && codex exec --sandbox workspace-write "fix the flaky test in Tests/StoreTests" < /dev/null"#

    /// A PreToolUse payload as Claude Code sends it for a Bash call.
    static func payload(_ command: String, cwd: String) throws -> [UInt8] {
        let value: JSONValue = [
            "session_id": "5b0c3f9e-8a71-4d1c-9e0a-2f6b7c1d4e53",
            "transcript_path": "/root/.claude/projects/-work-app/5b0c3f9e-8a71-4d1c-9e0a-2f6b7c1d4e53.jsonl",
            "cwd": .string(cwd),
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": [
                "command": .string(command), "description": "Check the build and open TODOs", "timeout": 120000,
            ],
            "tool_use_id": "toolu_01HkQ8w3ZpT5m2yV7xN4cRbE",
        ]
        return try JSONCoding.encode(value)
    }

    /// A Stop payload as Claude Code sends it when Claude finishes a turn.
    static func stopPayload(cwd: String) throws -> [UInt8] {
        let value: JSONValue = [
            "session_id": "5b0c3f9e-8a71-4d1c-9e0a-2f6b7c1d4e53",
            "transcript_path": "/root/.claude/projects/-work-app/5b0c3f9e-8a71-4d1c-9e0a-2f6b7c1d4e53.jsonl",
            "cwd": .string(cwd), "permission_mode": "default", "hook_event_name": "Stop", "stop_hook_active": false,
        ]
        return try JSONCoding.encode(value)
    }

    static func run(_ setup: BenchSetup, options: BenchOptions, results: BenchResults) throws {
        let runs = options.runs(default: 100)
        let cwd = setup.root + "/hook-cwd"
        try Files.makeDirectories(cwd)
        let allowed = try payload(allowedCommand, cwd: cwd)
        let denied = try payload(deniedCommand, cwd: cwd)
        let stop = try stopPayload(cwd: cwd)
        let (launcher, data) = try installLauncher(setup)

        var environment = setup.environment(["CODEX_COMPANION_STATE_DIR": setup.root + "/hook-state"])
        environment["CODEX_COMPANION_BIN"] = nil
        var launcherEnvironment = environment
        launcherEnvironment["CLAUDE_PLUGIN_DATA"] = data
        func request(_ executable: String, _ arguments: [String]) -> SpawnRequest {
            SpawnRequest(
                executable: executable, arguments: arguments, environment: environment, directory: cwd,
                grouping: .inherit)
        }
        let hookArguments = ["hook", "pre-tool-use"]
        func hookCase(_ name: String, _ request: SpawnRequest, _ input: [UInt8], expectDeny: Bool?) -> BenchCase {
            BenchCase(name: name) { _ in
                let (ms, output) = try timedRun(request, input: input)
                guard output.status.isSuccess else {
                    throw BenchFailure("\(name): \(output.status): \(output.stderrText)")
                }
                if let expectDeny {
                    let denies = output.stdoutText.contains("\"permissionDecision\":\"deny\"")
                    guard denies == expectDeny, expectDeny || output.stdout.isEmpty else {
                        throw BenchFailure(
                            "\(name): unexpected decision: stdout \(output.stdoutText) stderr \(output.stderrText)")
                    }
                }
                return ms
            }
        }
        let cases = [
            hookCase("floor", request(floorExecutable, []), allowed, expectDeny: nil),
            hookCase("allowed", request(setup.companion, hookArguments), allowed, expectDeny: false),
            hookCase("denied", request(setup.companion, hookArguments), denied, expectDeny: true),
            hookCase(
                "launcher",
                SpawnRequest(
                    executable: launcher, arguments: hookArguments, environment: launcherEnvironment,
                    directory: cwd, grouping: .inherit), allowed, expectDeny: false),
            // The review gate is off by default: the Stop hook must print nothing.
            hookCase("stop", request(setup.companion, ["hook", "stop"]), stop, expectDeny: false),
        ]
        let samples = try interleave(cases, runs: runs, label: "hook")
        report(samples, results: results)
    }

    /// The launcher as Claude Code runs it for an installed plugin: <plugin root>/bin/
    /// codex-companion with CLAUDE_PLUGIN_DATA set, the build recorded in
    /// <data>/runtime/current (here: the binary under test), CODEX_COMPANION_BIN unset.
    /// Returns the launcher's path and the plugin data directory.
    static func installLauncher(_ setup: BenchSetup) throws -> (launcher: String, data: String) {
        let plugin = setup.root + "/plugin"
        let data = setup.root + "/plugin-data"
        try Files.makeDirectories(plugin + "/bin")
        try Files.makeDirectories(data + "/runtime")
        guard let launcherText = try FileSystem.read(setup.repoRoot + "/bin/codex-companion") else {
            throw BenchFailure("\(setup.repoRoot)/bin/codex-companion is missing")
        }
        let launcher = plugin + "/bin/codex-companion"
        try Files.write(launcher, launcherText, mode: 0o755)
        try Files.write(data + "/runtime/current", setup.companion + "\n", mode: 0o644)
        return (launcher, data)
    }

    /// The hook rows against `/bin/true`, the Stop hook against the guard, and the launcher's cost.
    static func report(_ samples: [String: [Double]], results: BenchResults) {
        for (key, name) in [
            ("allowed", "PreToolUse hook, allowed command (binary)"),
            ("denied", "PreToolUse hook, denied `codex exec` (binary)"),
            ("launcher", "PreToolUse hook via `bin/codex-companion` (sh launcher), allowed"),
        ] {
            results.add(.againstTrue(section: "hook", name: name, samples, key: key, medianAtMost: 5))
        }
        // Paired with the guard in each round (same load); "no more than the guard" is
        // judged on the median of the per-round ratios, with 5% for timer noise.
        var stopRow = BenchRow(
            section: "hook", name: "Stop hook, review gate disabled (binary)", samples: samples["stop"]!,
            floorName: "PreToolUse hook, allowed", floor: samples["allowed"]!, target: "≤ the PreToolUse hook")
        stopRow.met = stopRow.ratio.map { $0 <= 1.05 }
        results.add(stopRow)
        // What the launcher adds: paired per round with the binary run directly.
        let added = BenchRow(
            section: "hook", name: "Launcher cost over the binary (same allowed command)",
            samples: samples["launcher"]!,
            floorName: "binary run directly", floor: samples["allowed"]!, target: "≤ 1 ms added")
        var row = added
        row.met = (added.overheadMs ?? .infinity) <= 1
        results.add(row)
    }
}

// MARK: - 2. status --json over 200 jobs

enum StatusSection {
    static let jobCount = 200

    static func run(_ setup: BenchSetup, options: BenchOptions, results: BenchResults) throws {
        let runs = options.runs(default: 30)
        let workspace = try CommandWorkspace(setup, name: "status")
        progress("  creating \(jobCount) finished jobs (records, logs, prompts)…")
        let created = try populate(stateDir: workspace.stateDir, workspace: workspace.directory, count: jobCount)

        let statusRequest = workspace.request(setup.companion, ["status", "--json"])
        // Check once that the command sees every job.
        let check = try Subprocess.run(statusRequest, timeout: 60)
        let value = try JSONCoding.decode(JSONValue.self, from: check.stdout)
        guard check.status.isSuccess, value["totalJobs"]?.intValue == Int64(created) else {
            throw BenchFailure(
                "status --json did not list \(created) jobs: \(check.stdoutText.prefix(300)) \(check.stderrText)")
        }
        let cases = [
            workspace.floorCase,
            BenchCase(name: "status") { _ in
                let (ms, output) = try timedRun(statusRequest)
                guard output.status.isSuccess else {
                    throw BenchFailure("status --json: \(output.status): \(output.stderrText)")
                }
                return ms
            },
        ]
        let samples = try interleave(cases, runs: runs, label: "status")
        results.add(
            .againstTrue(
                section: "status", name: "`status --json` over \(created) stored jobs", samples, key: "status",
                medianAtMost: 15))
    }

    /// Writes `count` finished jobs through the store: mostly completed with results,
    /// some failed or cancelled, some write jobs with a decided worktree; each with a
    /// prompt file and a progress log. Returns how many exist.
    static func populate(stateDir: String, workspace: String, count: Int) throws -> Int {
        let store = try WorkspaceStore.open(stateRoot: stateDir, workspaceRoot: workspace, warn: { progress($0) })
        let now = WallClock.nowMilliseconds()
        let sessions = (0..<4).map { "sess-\($0)-7d1e2c4a-55b0-4c8e-a1f3-9b2d" }
        for index in 0..<count {
            let created = now - Int64(count - index) * 90_000
            let id = JobID.make(milliseconds: created)
            let started = created + 400
            let completed = started + 20_000 + Int64(index % 7) * 3_000
            let status: JobStatus = index % 10 == 3 ? .failed : (index % 20 == 7 ? .cancelled : .completed)
            let write = index % 3 == 0
            let prompt =
                "Investigate why the \(index)th integration test is flaky on CI and fix it; keep the public API unchanged and add a regression test that fails without the fix."
            let final = """
                Fixed the flaky test. The race was in `JobStore.update(\(index))`: two writers could read the same \
                version. I now hold the lock across read-modify-write and added `testConcurrentUpdates\(index)`.

                - Sources/Store/JobStore.swift: lock around the update
                - Tests/StoreTests/JobStoreTests.swift: regression test (fails on the old code)

                `swift test --filter JobStoreTests` passes 50/50 runs.
                """
            let worktree =
                write && index % 2 == 0
                ? decidedWorktree(id: id, index: index, workspace: workspace, completed: completed) : nil
            let result =
                status == .cancelled
                ? nil : jobResult(status: status, write: write, workspace: workspace, final: final)
            let record = JobRecord(
                id: id, status: status,
                phase: status == .completed ? .done : (status == .failed ? .failed : .cancelled),
                title: PromptTitle.shorten(prompt, 72), summary: PromptTitle.shorten(prompt, 200),
                workspaceRoot: workspace, cwd: worktree?.info.path ?? workspace,
                sessionId: sessions[index % sessions.count],
                write: write, background: index % 2 == 0, threadId: "thr_\(index)_0f8e7d6c", turnId: "turn_\(index)_1",
                pid: Int32(40_000 + index), pidStartTime: Int64(1_000_000 + index),
                createdAt: Timestamp.format(milliseconds: created), startedAt: Timestamp.format(milliseconds: started),
                completedAt: Timestamp.format(milliseconds: completed),
                updatedAt: Timestamp.format(milliseconds: completed),
                timeoutSeconds: 1800,
                reason: status == .completed ? .completed : (status == .failed ? .turnFailed : .cancelled),
                errorMessage: status == .failed ? "stream disconnected before completion: upstream overloaded" : nil,
                cancelRequestedAt: status == .cancelled ? Timestamp.format(milliseconds: completed - 500) : nil,
                resultViewedAt: index % 5 == 0 ? nil : Timestamp.format(milliseconds: completed + 1_000),
                logFile: store.logPath(id), promptFile: store.promptPath(id), result: result, worktree: worktree)
            try Files.write(store.promptPath(id), prompt, mode: 0o600)
            try Files.write(store.logPath(id), progressLog(started: started, index: index), mode: 0o600)
            try store.create(record)
        }
        return store.ids().count
    }

    /// A write job's worktree, kept or discarded after applying two files.
    static func decidedWorktree(id: String, index: Int, workspace: String, completed: Int64) -> JobWorktree {
        let info = WorktreeInfo(
            repoRoot: workspace, path: workspace + "/.worktrees/" + id, branch: "codex/" + id,
            baseRef: "HEAD", baseCommit: "3f1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a")
        return JobWorktree(
            info: info, state: index % 4 == 0 ? .kept : .discarded, outcome: "applied 2 files",
            capturedCommit: "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
            diffStat:
                " Sources/Store/JobStore.swift | 12 ++++++++----\n 1 file changed, 8 insertions(+), 4 deletions(-)\n",
            changedPaths: ["Sources/Store/JobStore.swift"], ignoredPaths: [], conflictPaths: [],
            updatedAt: Timestamp.format(milliseconds: completed + 60_000))
    }

    /// The result of a job that was not cancelled: the final message when it completed.
    static func jobResult(status: JobStatus, write: Bool, workspace: String, final: String) -> JobResult {
        JobResult(
            finalMessage: status == .completed ? final : nil,
            touchedFiles: write
                ? [
                    workspace + "/Sources/Store/JobStore.swift",
                    workspace + "/Tests/StoreTests/JobStoreTests.swift",
                ] : [],
            reasoningSummary: [
                "**Reading the store** Looking at how updates are serialized.",
                "**Reproducing** Running the test 50 times.",
            ],
            commands: [
                CommandRecord(
                    command: "/bin/bash -lc 'rg -n update Sources/Store'", exitCode: 0, status: "completed"),
                CommandRecord(
                    command: "/bin/bash -lc 'swift test --filter JobStoreTests'",
                    exitCode: status == .failed ? 1 : 0, status: "completed"),
            ])
    }

    /// Forty stamped progress lines, half a second apart from `started`.
    static func progressLog(started: Int64, index: Int) -> String {
        var log = ""
        for line in 0..<40 {
            let stamp = Timestamp.format(milliseconds: started + Int64(line) * 500)
            log += "[\(stamp)] " + logLine(line, index: index) + "\n"
        }
        return log
    }

    static func logLine(_ line: Int, index: Int) -> String {
        switch line % 8 {
        case 0: return "Codex thread ready: thr_\(index)_0f8e7d6c."
        case 1: return "Turn started: turn_\(index)_1."
        case 2: return "Reasoning: Reading the store — looking at how updates are serialized."
        case 3: return "Running command: /bin/bash -lc 'rg -n update Sources/Store'"
        case 4: return "Command completed: rg -n update Sources/Store (exit 0)"
        case 5: return "Editing Sources/Store/JobStore.swift"
        case 6: return "Running command: /bin/bash -lc 'swift test --filter JobStoreTests'"
        default: return "Command completed: swift test --filter JobStoreTests (exit 0)"
        }
    }
}

enum PromptTitle {
    static func shorten(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}

// MARK: - 3. task --background launch

enum TaskSection {
    static func run(_ setup: BenchSetup, options: BenchOptions, results: BenchResults) throws {
        let runs = options.runs(default: 20)
        let script = setup.repoRoot + "/Tests/Fixtures/fake-codex/success.json"
        guard FileSystem.exists(script) else { throw BenchFailure("\(script) is missing") }
        let workspace = try CommandWorkspace(
            setup, name: "task", environment: ["CODEX_COMPANION_CODEX": setup.fakeCodex, "FAKE_CODEX_SCRIPT": script])
        let launch = workspace.request(setup.companion, ["task", "--background", "--json", "create hello.txt"])
        let cases = [
            workspace.floorCase,
            BenchCase(name: "task") { _ in
                let (ms, output) = try timedRun(launch)
                guard output.status.isSuccess,
                    let value = try? JSONCoding.decode(JSONValue.self, from: output.stdout),
                    let id = value["jobId"]?.stringValue
                else {
                    throw BenchFailure("task --background: \(output.status): \(output.stdoutText) \(output.stderrText)")
                }
                // Untimed: let the job finish so workers never pile up.
                let wait = try Subprocess.run(
                    workspace.request(setup.companion, ["status", id, "--wait", "--timeout-ms", "60000", "--json"]),
                    timeout: 90)
                let job = try? JSONCoding.decode(JSONValue.self, from: wait.stdout)
                guard job?["job"]?["status"]?.stringValue == "completed" else {
                    throw BenchFailure("job \(id) did not complete: \(wait.stdoutText.prefix(400)) \(wait.stderrText)")
                }
                return ms
            },
        ]
        let samples = try interleave(cases, runs: runs, label: "task")
        results.add(
            .againstTrue(
                section: "task", name: "`task --background --json` until it returns (fake-codex)", samples,
                key: "task", medianAtMost: 50))
    }
}

// MARK: - 4. job-store contention

enum ContentionSection {
    static let writers = 8
    static let updates = 100

    static func run(_ setup: BenchSetup, options: BenchOptions, results: BenchResults) throws {
        let rounds = options.runs(default: 5)
        let workspace = setup.root + "/contention-ws"
        let stateDir = setup.root + "/contention-state"
        try Files.makeDirectories(workspace)
        let store = try WorkspaceStore.open(stateRoot: stateDir, workspaceRoot: workspace, warn: { progress($0) })
        var walls: [Double] = []
        var lost = 0
        var duplicated = 0
        var failedWriters = 0
        for round in -1..<rounds {
            let id = JobID.make()
            try StoreWriter.ensureJob(id, in: store)
            var pids: [pid_t] = []
            let ms = try timed {
                for writer in 0..<writers {
                    let child = try Subprocess.spawn(
                        SpawnRequest(
                            executable: setup.bench,
                            arguments: [
                                "store-writer", "--state-dir", stateDir, "--workspace", workspace, "--job", id,
                                "--updates", String(updates), "--tag", "w\(writer)",
                            ],
                            environment: setup.baseEnvironment, grouping: .inherit, stdin: .null, stdout: .null,
                            stderr: .inherit))
                    pids.append(child.pid)
                }
                for pid in pids where !Subprocess.wait(pid).isSuccess { failedWriters += 1 }
            }
            guard let record = store.load(id) else { throw BenchFailure("job \(id) vanished") }
            let entries = record.result?.touchedFiles ?? []
            let expected = Set((0..<writers).flatMap { w in (0..<updates).map { "w\(w)-\($0)" } })
            let present = Set(entries)
            if round >= 0 {
                walls.append(ms)
                lost += expected.subtracting(present).count
                duplicated += entries.count - present.count
            }
        }
        let total = rounds * writers * updates
        let perUpdate = Stats.median(walls) / Double(writers * updates)
        results.add(
            BenchRow(
                section: "contention", name: "Job store: \(writers) processes × \(updates) updates of one job (wall)",
                samples: walls,
                target: "0 lost updates", met: lost == 0 && duplicated == 0 && failedWriters == 0,
                detail:
                    "\(lost) lost, \(duplicated) duplicated of \(total) in \(rounds) rounds; \(Format.fixed(perUpdate, 2)) ms per update"
            ))
        if failedWriters > 0 { results.note("contention: \(failedWriters) store-writer processes failed") }
    }
}
