#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Synchronization
import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

extension Reliability {
    /// Faults around a job's life: where it starts (a deleted directory, a missing login),
    /// what it is fed (hostile model text, a line over 64 MiB, a prompt at Codex's input
    /// limit), how it ends (a full disk, a cancel that loses the race, two resumes at once)
    /// and what it finds in its state (planted links, records nobody can read).
    @Suite("Lifecycle", .serialized)
    struct Lifecycle {
        /// Control characters and bidi overrides that must never reach a terminal raw.
        static func rawControls(in text: String) -> [UInt32] {
            text.unicodeScalars.map(\.value).filter { value in
                switch value {
                case 0x09, 0x0A: return false
                case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
                default: return false
                }
            }
        }

        /// Runs `codex-companion` from a directory that is deleted before it starts: a shell
        /// enters the directory, removes it, and execs the companion, which inherits the
        /// deleted working directory.
        static func inDeletedDirectory(
            _ sandbox: RelSandbox, _ arguments: [String], environment extra: [String: String] = [:],
            input: [UInt8]? = nil
        ) throws -> CLIRun {
            let directory = try sandbox.directory("gone-\(UInt32.random(in: 0...UInt32.max))")
            var env = sandbox.environment
            for (key, value) in extra { env[key] = value }
            let output = Binaries.run(
                "/bin/sh",
                ["-c", #"cd "$1" && rmdir "$1" && shift && exec "$@""#, "sh", directory, Rel.companion]
                    + arguments, cwd: sandbox.base, environment: env, input: input, timeout: 60)
            #expect(!FileSystem.exists(directory), "the directory was not deleted")
            return CLIRun(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
        }

        static func fakeLog(_ path: String) -> [JSONValue] {
            guard let bytes = (try? FileSystem.read(path)) ?? nil else { return [] }
            return bytes.split(separator: 10).compactMap { try? JSONCoding.decode(JSONValue.self, from: Array($0)) }
        }

        static func hookInput(_ command: String) -> [UInt8] {
            let payload: JSONValue = [
                "session_id": "s-rel", "hook_event_name": "PreToolUse", "cwd": "/tmp", "tool_name": "Bash",
                "tool_input": ["command": .string(command), "description": "run it"],
            ]
            return (try? JSONCoding.encode(payload)) ?? []
        }

        @Test("a deleted cwd: task, status and result fail with workspace-missing, nothing is written; the hook works")
        func deletedWorkingDirectory() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
            let id = try sandbox.taskJobId("an earlier job", cwd: workspace)
            let escaped = "companion-rel-escaped-\(UInt32.random(in: 0...UInt32.max)).txt"
            let script = try sandbox.script("escape", FakeScript.writing([(escaped, "written where it must not be\n")]))
            let log = sandbox.base + "/fake-deleted.log"
            let env = ["FAKE_CODEX_SCRIPT": script, "FAKE_CODEX_LOG": log]
            let before = Rel.tree(sandbox.base, skip: [])
            for arguments in [
                ["task", "--write", "--json", "write a file"], ["task", "--write", "--background", "--json", "write"],
                ["status", "--json"], ["status", id, "--json"], ["result", id, "--json"], ["result", "--json"],
            ] {
                let run = try Self.inDeletedDirectory(sandbox, arguments, environment: env)
                let what = arguments.joined(separator: " ")
                #expect(run.code == 1, "\(what): \(run)")
                #expect(run.errorCode == "workspace-missing", "\(what): \(run)")
                #expect(run.stderrLines.count == 1, "\(what): one line: \(run.stderr)")
                #expect(run.stderr.contains("current directory no longer exists"), "\(what): \(run.stderr)")
            }
            // No record, prompt or log anywhere; Codex never ran, so nothing was written outside.
            #expect(Rel.tree(sandbox.base, skip: []) == before, "a refused command left something behind")
            #expect(!FileSystem.exists(log), "the app-server was started")
            #expect(!FileSystem.exists("/" + escaped) && !FileSystem.exists(sandbox.base + "/" + escaped))
            #expect(sandbox.allRecordPaths().count == 1)

            // The PreToolUse guard needs no directory: it still denies running Codex directly.
            let hook = try Self.inDeletedDirectory(
                sandbox, ["hook", "pre-tool-use"], input: Self.hookInput("codex exec 'fix it'"))
            #expect(hook.code == 0, "\(hook)")
            #expect(hook.json?["hookSpecificOutput"]?["permissionDecision"]?.stringValue == "deny", "\(hook)")
            let allowed = try Self.inDeletedDirectory(sandbox, ["hook", "pre-tool-use"], input: Self.hookInput("ls"))
            #expect(allowed.code == 0 && allowed.stdout.isEmpty, "\(allowed)")
        }

        // MARK: - disk full

        /// Mounts a tmpfs of `options` at `path`; false when this machine does not allow it.
        static func mountTmpfs(_ path: String, options: String) -> Bool {
            guard let mount = Subprocess.resolve("mount", path: ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin")
            else { return false }
            let request = SpawnRequest(executable: mount, arguments: ["-t", "tmpfs", "-o", options, "tmpfs", path])
            return (try? Subprocess.run(request, timeout: 20))?.status.isSuccess ?? false
        }

        static func unmount(_ path: String) {
            guard let umount = Subprocess.resolve("umount", path: ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin")
            else { return }
            _ = try? Subprocess.run(SpawnRequest(executable: umount, arguments: ["-l", path]), timeout: 20)
        }

        /// Fills the file system at `directory` to 100 %: every free block into one filler
        /// file, and (when `inodes`) every free inode into empty files, so that no new file
        /// can be made even once some blocks are freed.
        static func fill(_ directory: String, inodes: Bool) {
            let fd = open(directory + "/filler", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return }
            defer { close(fd) }
            if inodes {
                var index = 0
                while true {
                    let made = open(directory + "/inode-\(index)", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                    if made < 0 { break }
                    close(made)
                    index += 1
                }
            }
            for size in [1 << 16, 4096, 1] {
                let chunk = [UInt8](repeating: 0x66, count: size)
                while (chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }) > 0 {}
            }
        }

        static func emptyFill(_ directory: String) {
            for name in (try? FileSystem.list(directory)) ?? [] where name == "filler" || name.hasPrefix("inode-") {
                try? FileSystem.remove(directory + "/" + name)
            }
        }

        @Test(
            "the disk fills up while a job runs: its answer is still shown, and the next job works",
            arguments: ["blocks", "blocks and inodes"])
        func diskFullWhenTheJobEnds(fill: String) throws {
            let sandbox = try RelSandbox("life", stateName: "small/state")
            let small = sandbox.base + "/small"
            try FileSystem.createDirectory(small, mode: 0o755)
            guard Self.mountTmpfs(small, options: "size=4m,nr_inodes=400,mode=0755") else {
                print("skipped Reliability/Lifecycle/diskFullWhenTheJobEnds: mounting a tmpfs is not permitted here")
                return
            }
            defer {
                sandbox.killLeftoverJobs()
                Self.unmount(small)
                withExtendedLifetime(sandbox) {}
            }
            let workspace = try sandbox.directory("ws")
            let go = sandbox.base + "/go"
            let message = "The answer, kept through a full disk."
            let script = try sandbox.script(
                "full",
                FakeScript.turn([
                    FakeScript.reasoning("Working."), ["waitFile": .string(go)], FakeScript.agentMessage(message),
                ]))
            let start = sandbox.companion(
                ["task", "--background", "--json", "answer me"], cwd: workspace,
                environment: ["FAKE_CODEX_SCRIPT": script])
            let id = try #require(start.json?["jobId"]?.stringValue, "\(start)")
            let running = try #require(sandbox.waitForRecord(id) { $0.turnId != nil }, "the turn never started")
            let store = try sandbox.store(workspace)
            try #require(FileSystem.size(JobAnswerFile.path(for: id, in: store)) == JobAnswerFile.reservedBytes)

            Self.fill(small, inodes: fill.contains("inodes"))
            try sandbox.write(go, "go\n")
            #expect(WorkerDeath.waitGone(running.pid, timeout: 60), "the worker never ended")
            if fill.contains("inodes") {
                // The fault is real: the worker could not write its final record.
                #expect(sandbox.record(workspace, id)?.status == .running)
            }
            try Self.expectAnswerShown(sandbox, workspace: workspace, id: id, message: message)

            Self.emptyFill(small)
            let status = sandbox.companion(["status", id, "--json"], cwd: workspace)
            #expect(status.json?["job"]?["status"]?.stringValue == "completed", "\(status)")
            #expect(sandbox.record(workspace, id)?.status == .completed, "the end was not saved once there was room")
            let next = sandbox.companion(["task", "--json", "again"], cwd: workspace, timeout: 90)
            #expect(next.code == 0, "\(next)")
            #expect(next.json?["finalMessage"]?.stringValue == "Done.", "\(next)")
        }

        /// `result` and `status` show the job completed with its message (never running,
        /// never worker-died), human and JSON.
        static func expectAnswerShown(_ sandbox: RelSandbox, workspace: String, id: String, message: String) throws {
            let result = sandbox.companion(["result", id, "--json"], cwd: workspace)
            #expect(result.code == 0, "\(result)")
            #expect(result.json?["job"]?["finalMessage"]?.stringValue == message, "\(result)")
            let human = sandbox.companion(["result", id], cwd: workspace)
            #expect(human.code == 0 && human.stdout.contains(message), "\(human)")
            let status = sandbox.companion(["status", id, "--json"], cwd: workspace)
            #expect(status.code == 0, "\(status)")
            #expect(status.json?["job"]?["status"]?.stringValue == "completed", "\(status)")
            #expect(status.json?["job"]?["reason"]?.stringValue == "completed", "\(status)")
            let listing = sandbox.companion(["status", "--json"], cwd: workspace)
            #expect(listing.json?["running"]?.arrayValue?.isEmpty == true, "\(listing)")
            #expect(listing.json?["latestFinished"]?["id"]?.stringValue == id, "\(listing)")
        }

        // MARK: - hostile model output

        static let hostile =
            "Plain \u{1b}[31mred\u{1b}[0m \u{1b}]0;pwned\u{07} nul\u{0}byte c1\u{9b}2J bidi \u{202e}txt.exe end"

        @Test("escape sequences, OSC, NUL, C1 and bidi overrides from the model are escaped in human output")
        func hostileModelOutput() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
            let script = try sandbox.script(
                "hostile",
                FakeScript.turn([
                    FakeScript.reasoning("thinking " + Self.hostile),
                    [
                        "notify": "item/completed",
                        "params": [
                            "threadId": "{{threadId}}", "turnId": "{{turnId}}",
                            "item": [
                                "type": "agentMessage", "id": "msg_c", "text": .string("note " + Self.hostile),
                                "phase": "commentary",
                            ],
                        ],
                    ],
                    FakeScript.agentMessage(Self.hostile),
                ]))
            let env = ["FAKE_CODEX_SCRIPT": script]
            let task = sandbox.companion(["task", "show me"], cwd: workspace, environment: env)
            #expect(task.code == 0, "\(task)")
            let id = try #require(sandbox.allRecordPaths().first.map { Path.basename($0).replacingSuffix(".json") })
            let humanRuns = [
                ("task", task), ("result", sandbox.companion(["result", id], cwd: workspace)),
                ("status <id>", sandbox.companion(["status", id], cwd: workspace)),
                ("status", sandbox.companion(["status", "--all"], cwd: workspace)),
            ]
            for (what, run) in humanRuns {
                #expect(Self.rawControls(in: run.stdout).isEmpty, "\(what) stdout: \(Self.rawControls(in: run.stdout))")
                #expect(Self.rawControls(in: run.stderr).isEmpty, "\(what) stderr: \(Self.rawControls(in: run.stderr))")
            }
            #expect(task.stdout.contains("\\x1b[31mred") && task.stdout.contains("\\u{202e}"), "\(task.stdout)")
            #expect(task.stderr.contains("\\x1b"), "the progress lines lost the escaped text: \(task.stderr)")
            #expect(humanRuns[2].1.stdout.contains("\\x1b"), "status shows no progress: \(humanRuns[2].1.stdout)")
            // --json carries the exact text.
            let json = sandbox.companion(["task", "--json", "again"], cwd: workspace, environment: env)
            #expect(json.json?["finalMessage"]?.stringValue == Self.hostile, "\(json)")
            let result = sandbox.companion(["result", id, "--json"], cwd: workspace)
            #expect(result.json?["job"]?["finalMessage"]?.stringValue == Self.hostile, "\(result)")
        }

        // MARK: - login, input limits, oversized lines

        @Test("not logged in: the job fails at once with `codex login`, and no thread is started")
        func notLoggedIn() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
            let log = sandbox.base + "/fake-login.log"
            let run = sandbox.companion(
                ["task", "--timeout", "900", "--json", "do it"], cwd: workspace,
                environment: ["FAKE_CODEX_LOGGED_OUT": "1", "FAKE_CODEX_LOG": log], timeout: 60)
            #expect(run.code == 1, "\(run)")
            #expect(run.json?["status"]?.stringValue == "failed", "\(run)")
            #expect(run.json?["errorMessage"]?.stringValue?.contains("codex login") == true, "\(run)")
            let methods = Self.fakeLog(log).compactMap { $0["method"]?.stringValue }
            #expect(methods.contains("account/read"), "\(methods)")
            #expect(!methods.contains("thread/start") && !methods.contains("turn/start"), "\(methods)")
            let id = try #require(run.json?["jobId"]?.stringValue)
            #expect(sandbox.record(workspace, id)?.status == .failed)
        }

        @Test("a prompt of exactly 1 MiB is sent inline; one byte more is handed over as the prompt file")
        func promptAtTheInputLimit() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
            let limit = 1_048_576
            for size in [limit, limit + 1] {
                let prompt = "Task: " + String(repeating: "x", count: size - 6)
                try #require(prompt.utf8.count == size)
                let file = sandbox.base + "/prompt-\(size).txt"
                try sandbox.write(file, prompt)
                let log = sandbox.base + "/fake-\(size).log"
                let run = sandbox.companion(
                    ["task", "--prompt-file", file, "--json"], cwd: workspace, environment: ["FAKE_CODEX_LOG": log],
                    timeout: 120)
                #expect(run.code == 0, "\(size): \(run.status) \(run.stderr.suffix(300))")
                let id = try #require(run.json?["jobId"]?.stringValue)
                let record = try #require(sandbox.record(workspace, id))
                #expect(try FileSystem.read(record.promptFile) == Array(prompt.utf8), "\(size): prompt file")
                let turn = Self.fakeLog(log).first { $0["method"]?.stringValue == "turn/start" }
                let sent = try #require(turn?["params"]?["input"]?[0]?["text"]?.stringValue, "\(size): no turn/start")
                if size == limit {
                    #expect(sent == prompt, "the prompt at the limit was not sent as it is")
                } else {
                    #expect(sent != prompt && sent.utf8.count < 4096, "over the limit the prompt was sent inline")
                    #expect(sent.contains(record.promptFile), "\(sent)")
                }
            }
        }

        @Test("one line over 64 MiB from the app-server fails the job at once, naming the limit")
        func lineOverSixtyFourMebibytes() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
            let script = try sandbox.script(
                "long", FakeScript.turn([["longLine": .int(65 << 20)], FakeScript.agentMessage("never seen")]))
            // The job timeout is far beyond the command's bound: only failing at once passes.
            let run = sandbox.companion(
                ["task", "--timeout", "1800", "--json", "talk a lot"], cwd: workspace,
                environment: ["FAKE_CODEX_SCRIPT": script], timeout: 240)
            #expect(run.code == 1, "\(run)")
            #expect(run.json?["status"]?.stringValue == "failed", "\(run)")
            #expect(run.json?["errorMessage"]?.stringValue?.contains("64 MiB") == true, "\(run)")
            let id = try #require(run.json?["jobId"]?.stringValue)
            let record = try #require(sandbox.record(workspace, id))
            #expect(record.status == .failed && record.reason != .timedOut, "\(String(describing: record.reason))")
            #expect(WorkerDeath.waitGone(record.pid))
        }
    }
}

extension String {
    func replacingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}

extension Reliability.Lifecycle {
    /// Collects warnings from another thread.
    final class Warnings: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func add(_ line: String) { lines.withLock { $0.append(line) } }
    }

    @Test("a corrupt record read while the store lock is held is quarantined at once (no self-deadlock)")
    func corruptRecordUnderTheLock() throws {
        let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
        let warnings = Warnings()
        let store = try WorkspaceStore.open(
            stateRoot: sandbox.state, workspaceRoot: workspace, warn: { warnings.add($0) })
        let good = RelRecords.make(store)
        try store.create(good)
        let corrupt = JobID.make()
        try sandbox.write(store.recordPath(corrupt), "{\"schemaVersion\": 1, \"id\": trunc")
        let finished = Mutex<Bool?>(nil)
        let reader = Task.detached {
            let loaded = try? store.withLock { _ in store.load(corrupt) }
            finished.withLock { $0 = loaded == nil }
        }
        let done = Rel.eventually(20) { finished.withLock { $0 } != nil }
        #expect(done, "load under the held lock did not return within 20 s (a self-deadlock)")
        if !done { return }  // the stuck reader cannot be joined
        _ = reader
        #expect(finished.withLock { $0 } == true, "a corrupt record was returned")
        #expect(!FileSystem.exists(store.recordPath(corrupt)), "the corrupt record was not moved aside")
        #expect(sandbox.quarantined(workspace).contains { $0.hasPrefix(corrupt + ".json") })
        #expect(
            warnings.all.contains { $0.contains(store.recordPath(corrupt)) && $0.contains("moved it to") },
            "\(warnings.all)")
        #expect(sandbox.lockIsFree(workspace))

        // The same through the binary: retention pruning with a corrupt record beside an expired job.
        var expired = RelRecords.make(store)
        expired.resultViewedAt = "2000-01-01T00:00:00.000Z"
        expired.completedAt = "2000-01-01T00:00:00.000Z"
        try store.create(expired)
        let second = JobID.make()
        try sandbox.write(store.recordPath(second), "not json at all")
        let task = sandbox.companion(
            ["task", "--json", "prune first"], cwd: workspace, environment: ["CODEX_COMPANION_RETENTION_DAYS": "1"],
            timeout: 60)
        #expect(task.code == 0, "\(task)")
        #expect(task.stderr.contains(store.recordPath(second)) && task.stderr.contains("moved it to"), "\(task.stderr)")
        #expect(!FileSystem.exists(store.recordPath(expired.id)), "the expired job was not pruned")
        #expect(FileSystem.exists(store.recordPath(good.id)))
    }

    @Test("a cancel that loses the race with completion says job-finished and the job stays completed")
    func cancelLosesTheRace() throws {
        let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
        // The turn is parked; the interrupt makes it finish normally (completed), as a turn
        // that was about to end anyway does.
        let script = try sandbox.script(
            "race",
            FakeScript.turn(
                [
                    FakeScript.reasoning("Almost done."), ["sleepMs": 60000],
                    FakeScript.agentMessage("Finished on my own."),
                ],
                extra: ["onInterrupt": "finish"]))
        let start = sandbox.companion(
            ["task", "--background", "--json", "race"], cwd: workspace, environment: ["FAKE_CODEX_SCRIPT": script])
        let id = try #require(start.json?["jobId"]?.stringValue, "\(start)")
        try #require(sandbox.waitForRecord(id) { $0.turnId != nil } != nil, "the turn never started")
        let cancel = sandbox.companion(["cancel", id, "--json"], cwd: workspace)
        #expect(cancel.code == 1, "\(cancel)")
        #expect(cancel.errorCode == "job-finished", "\(cancel)")
        #expect(cancel.stderrLines.count == 1 && cancel.stderr.contains("completed"), "\(cancel.stderr)")
        #expect(!cancel.stdout.contains("Cancelled") && !cancel.stderr.contains("Cancelled"), "\(cancel)")
        let record = try #require(sandbox.record(workspace, id))
        #expect(record.status == .completed && record.reason == .completed, "\(record.status)")
        #expect(record.result?.finalMessage == "Finished on my own.")
        let again = sandbox.companion(["cancel", id, "--json"], cwd: workspace)
        #expect(again.code == 1 && again.errorCode == "job-finished", "\(again)")
        #expect(sandbox.record(workspace, id)?.status == .completed)
    }

    /// Starts `codex-companion` in the background with its stdout in `stdoutPath`.
    static func startCompanion(
        _ sandbox: RelSandbox, _ arguments: [String], cwd: String, environment extra: [String: String],
        stdoutPath: String
    ) throws -> BackgroundProcess {
        var env = sandbox.environment
        env["PATH"] = ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin"
        for (key, value) in extra { env[key] = value }
        return try BackgroundProcess(
            "/bin/sh", ["-c", #"out=$1; shift; exec "$@" > "$out""#, "sh", stdoutPath, Rel.companion] + arguments,
            cwd: cwd, environment: env, stderrPath: stdoutPath + ".err")
    }

    /// `git worktree list --porcelain`: whether the worktree at `path` is locked.
    static func isLocked(_ sandbox: RelSandbox, repo: String, path: String) throws -> Bool {
        let text = try sandbox.gitText(["worktree", "list", "--porcelain"], in: repo)
        let blocks = text.components("\n\n")
        guard let block = blocks.first(where: { $0.hasPrefix("worktree " + path + "\n") || $0 == "worktree " + path })
        else { return false }
        return block.split(separator: "\n").contains { $0 == "locked" || $0.hasPrefix("locked ") }
    }

    @Test("two --resume-last at once on one thread: exactly one starts, the other is thread-busy")
    func twoResumesAtOnce() throws {
        let sandbox = try RelSandbox("life")
        let repo = try sandbox.repository("repo")
        let first = sandbox.companion(
            ["task", "--write", "--worktree", "--json", "edit"], cwd: repo,
            environment: ["FAKE_CODEX_SCRIPT": try sandbox.script("edit", FakeScript.writing([("a.txt", "one\n")]))])
        #expect(first.code == 0, "\(first)")
        let firstId = try #require(first.json?["jobId"]?.stringValue)
        let worktree = try #require(sandbox.record(firstId)?.worktree)
        let go = sandbox.base + "/go"
        let slow = try sandbox.script(
            "resume",
            FakeScript.turn(
                [["waitFile": .string(go)], FakeScript.agentMessage("Continued.")], extra: ["knownThreads": ["thr_rel"]]
            ))
        let arguments = ["task", "--resume-last", "--write", "--background", "--json", "continue"]
        let racers = try (0..<2).map { index in
            try Self.startCompanion(
                sandbox, arguments, cwd: repo, environment: ["FAKE_CODEX_SCRIPT": slow],
                stdoutPath: sandbox.base + "/racer-\(index).out")
        }
        defer { try? sandbox.write(go, "go\n") }
        #expect(BackgroundProcess.waitAll(racers, timeout: 60), "a racer hung")
        let outputs = try (0..<2).map { try sandbox.readText(sandbox.base + "/racer-\($0).out") ?? "" }
        let codes = racers.map { process -> Int32? in
            if case .exited(let code)? = process.status { return code } else { return nil }
        }
        #expect(codes.sorted { ($0 ?? -1) < ($1 ?? -1) } == [0, 1], "\(codes) \(outputs)")
        let loser = try #require(codes.firstIndex(of: 1))
        #expect(JSONValue.parse(outputs[loser])?["error"]?["code"]?.stringValue == "thread-busy", "\(outputs[loser])")
        #expect(racers[loser].stderrText.contains("thr_rel"), "\(racers[loser].stderrText)")
        let winnerId = try #require(JSONValue.parse(outputs[1 - loser])?["jobId"]?.stringValue)
        #expect(sandbox.allRecordPaths().count == 2, "exactly one new job: \(sandbox.allRecordPaths())")
        let winner = try #require(sandbox.waitForRecord(winnerId) { $0.turnId != nil }, "the winner never ran")
        #expect(winner.worktree?.info.path == worktree.info.path)
        #expect(try Self.isLocked(sandbox, repo: repo, path: worktree.info.path), "the resumed worktree is unlocked")
        #expect(sandbox.record(firstId)?.worktree?.continuedBy == winnerId)
        try sandbox.write(go, "go\n")
        let ended = sandbox.waitForRecord(winnerId, timeout: 60) { $0.status.isTerminal }
        #expect(ended?.status == .completed, "\(String(describing: ended?.status))")
    }

    @Test("a job log and events.jsonl replaced by symlinks: the outside file is untouched, the job ends clearly")
    func plantedSymlinks() throws {
        let sandbox = try RelSandbox("life")
        let repo = try sandbox.repository("repo")
        let go = sandbox.base + "/go"
        let script = try sandbox.script(
            "planted",
            FakeScript.turn([
                FakeScript.reasoning("Waiting."), ["waitFile": .string(go)], FakeScript.writeFile("a.txt", "changed\n"),
                FakeScript.reasoning("Wrote a.txt."), FakeScript.agentMessage("Changed a.txt."),
            ]))
        let start = sandbox.companion(
            ["task", "--write", "--worktree", "--background", "--json", "edit"], cwd: repo,
            environment: ["FAKE_CODEX_SCRIPT": script])
        let id = try #require(start.json?["jobId"]?.stringValue, "\(start)")
        try #require(sandbox.waitForRecord(id) { $0.turnId != nil } != nil, "the turn never started")
        let outside = sandbox.base + "/outside.txt"
        let precious = Array("precious bytes, not a log\n".utf8)
        try sandbox.write(outside, precious)
        let store = try sandbox.store(repo)
        for planted in [store.logPath(id), store.eventsPath] {
            #expect(FileSystem.exists(planted), "\(planted) was not there to replace")
            try FileSystem.remove(planted)
            try FileEntries.makeSymlink(Array(outside.utf8), at: planted)
        }
        #expect(sandbox.record(id)?.status == .running, "the job ended before the links were planted")
        try sandbox.write(go, "go\n")
        let ended = try #require(sandbox.waitForRecord(id, timeout: 60) { $0.status.isTerminal }, "never ended")
        #expect(try FileSystem.read(outside) == precious, "the file outside the state directory was written")
        #expect(ended.status == .completed, "\(ended.status) \(ended.errorMessage ?? "")")
        #expect(ended.worktree?.state == .ready && ended.worktree?.capturedCommit != nil)
        let status = sandbox.companion(["status", id, "--json"], cwd: repo)
        #expect(status.code == 0 && status.json?["job"]?["status"]?.stringValue == "completed", "\(status)")
        let result = sandbox.companion(["result", id, "--json"], cwd: repo)
        #expect(result.json?["job"]?["finalMessage"]?.stringValue == "Changed a.txt.", "\(result)")
        #expect(try FileSystem.read(outside) == precious)
    }

    /// Makes `path` a record nobody can read, root included.
    static func makeUnreadable(_ path: String, kind: String) throws {
        switch kind {
        case "directory": try FileSystem.createDirectory(path, mode: 0o755)
        case "fifo": if mkfifo(path, 0o600) != 0 { throw SystemError.current("mkfifo", path: path) }
        default:
            try AtomicFile.write(Array("{}".utf8), to: path)
            _ = chmod(path, 0)
        }
    }

    @Test(
        "a record that cannot be read (a directory, a FIFO; mode 000 when not root) is named with the fix",
        arguments: ["directory", "fifo", "mode 000"])
    func unreadableRecord(kind: String) throws {
        if kind == "mode 000" && geteuid() == 0 {
            print("skipped unreadableRecord(mode 000): root reads a file of mode 000")
            return
        }
        let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
        let goodId = try sandbox.taskJobId("a readable job", cwd: workspace)
        let bad = JobID.make()
        let path = sandbox.recordPath(workspace, bad)
        try Self.makeUnreadable(path, kind: kind)
        defer {
            // Gone before the sandbox is: its clean-up reads every record (a FIFO would block it).
            _ = chmod(path, 0o600)
            try? FileSystem.removeTree(path)
            withExtendedLifetime(sandbox) {}
        }
        // Bounded: a reader that opened the FIFO would wait forever and be killed here.
        let listing = sandbox.companion(["status", "--all", "--json"], cwd: workspace, timeout: 30)
        #expect(listing.code == 0, "\(listing)")
        #expect(Rel.listedIDs(listing.json).contains(goodId), "\(listing)")
        #expect(listing.stderr.contains("warning") && listing.stderr.contains(path), "\(listing.stderr)")
        #expect(listing.stderr.contains("fix the file's permissions or move it aside"), "\(listing.stderr)")
        for command in ["status", "result", "cancel"] {
            let run = sandbox.companion([command, bad, "--json"], cwd: workspace, timeout: 30)
            #expect(run.code == 1, "\(command): \(run)")
            #expect(run.errorCode == "job-unreadable", "\(command): \(run)")
            #expect(run.stderr.contains(path), "\(command): \(run.stderr)")
            #expect(!run.stderr.contains("warning above") || run.stderrLines.count > 1, "\(command): \(run.stderr)")
        }
        #expect(FileSystem.exists(path), "an unreadable (not corrupt) record was moved away")
        let next = sandbox.companion(["task", "--json", "still works"], cwd: workspace, timeout: 60)
        #expect(next.code == 0, "\(next)")
    }

    @Test("control characters and bidi overrides in bad arguments: exit 64, never echoed raw")
    func controlCharactersInArguments() throws {
        let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
        let cases: [[String]] = [
            ["status", "task-\u{1b}[31mred"], ["result", "\u{202e}task-abc"], ["cancel", "task-\u{9b}2J"],
            ["status", "task-\u{1b}]0;title\u{07}"], ["task", "--effort", "hi\u{1b}[2J", "x"],
            ["status", "--bo\u{1b}[2Jgus"], ["\u{1b}[31mfrobnicate"],
            ["worktree-cleanup", "task-mf3k2x9a-7q2c", "--action", "ke\u{202e}ep"],
            ["task-worker", "--job-id", "task-\u{1b}[1m"], ["worktree", "pr\u{2066}une"],
        ]
        let before = Rel.tree(sandbox.base, skip: [])
        for arguments in cases {
            let run = sandbox.companion(arguments + ["--json"], cwd: workspace)
            let what = Printable.singleLine(arguments.joined(separator: " "))
            Reliability.BadInput.expectRejected(run, code: 64, what)
            #expect(Self.rawControls(in: run.stderr).isEmpty, "\(what): \(Self.rawControls(in: run.stderr))")
        }
        #expect(Rel.tree(sandbox.base, skip: []) == before)
    }

    @Test("status --timeout-ms without --wait is a usage error naming --wait")
    func timeoutWithoutWait() throws {
        let (sandbox, workspace) = try RelSandbox.withWorkspace("life")
        let id = try sandbox.taskJobId("a job", cwd: workspace)
        let run = sandbox.companion(["status", "--timeout-ms", "5", id, "--json"], cwd: workspace)
        Reliability.BadInput.expectRejected(run, code: 64, mentioning: "--wait", "status --timeout-ms 5")
        let waited = sandbox.companion(["status", id, "--wait", "--timeout-ms", "5", "--json"], cwd: workspace)
        #expect(waited.code == 0 && waited.json?["job"]?["status"]?.stringValue == "completed", "\(waited)")
    }
}
