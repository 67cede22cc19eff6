#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
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
    /// Unreadable state files, and a state directory that cannot be written.
    @Suite("Corrupt, unreadable and unwritable state", .serialized)
    struct CorruptState {
        /// Bad contents for a record file, each from a real record where it matters.
        static func badRecords(from good: [UInt8]) -> [(String, [UInt8])] {
            let text = String(decoding: good, as: UTF8.self)
            let alien = text.relReplacing("\"schemaVersion\" : 1", with: "\"schemaVersion\" : 99")
            let invalidInString = text.relReplacing(
                "\"title\" : \"store-writer\"", with: "\"title\" : \"store-\u{1}writer\"")
            var nonUTF8InString = Array(invalidInString.utf8)
            if let at = nonUTF8InString.firstIndex(of: 1) { nonUTF8InString[at] = 0xff }
            return [
                ("corrupt", Array("{ this is not json ]".utf8)),
                ("truncated", Array(good.prefix(good.count / 2))),
                ("empty", []),
                ("alien-version", Array(alien.utf8)),
                ("non-utf8", [0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a]),
                ("non-utf8-in-a-string", nonUTF8InString),
            ]
        }

        @Test("corrupt, truncated, empty, alien-version and non-UTF-8 records are moved aside with a warning")
        func badRecordsAreQuarantined() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("corrupt")
            let good = [JobID.make(), JobID.make()]
            for id in good {
                try #require(sandbox.storeWriter(workspace: workspace, job: id, updates: 2, tag: "ok").code == 0)
            }
            let template = try #require(try FileSystem.read(sandbox.recordPath(workspace, good[0])))
            #expect(String(decoding: template, as: UTF8.self).contains("\"schemaVersion\" : 1"))

            var bad: [String: [UInt8]] = [:]
            for (_, bytes) in Self.badRecords(from: template) {
                let id = JobID.make()
                try AtomicFile.write(bytes, to: sandbox.recordPath(workspace, id))
                bad[id] = bytes
            }

            let status = sandbox.companion(["status", "--all", "--json"], cwd: workspace)
            #expect(status.code == 0, "\(status)")
            #expect(status.json?["totalJobs"]?.intValue == 2)
            #expect(Rel.listedIDs(status.json) == Set(good))
            for (id, _) in bad {
                let path = sandbox.recordPath(workspace, id)
                #expect(
                    status.stderrLines.contains {
                        $0.contains("warning") && $0.contains(path) && $0.contains("moved it to")
                    },
                    "no warning names \(path): \(status.stderr)")
                #expect(!FileSystem.exists(path))
            }
            // Moved, not deleted: every byte is still there to inspect.
            let quarantine = sandbox.storeDirectory(workspace) + "/quarantine"
            let moved = try FileSystem.list(quarantine)
            #expect(moved.count == bad.count)
            for (id, bytes) in bad {
                let name = try #require(moved.first { $0.hasPrefix(id + ".json.") }, "\(id) not in quarantine")
                #expect(try FileSystem.read(quarantine + "/" + name) == bytes)
            }

            // Once moved, the listing is quiet again, and writes and reads of the others work.
            let again = sandbox.companion(["status", "--all", "--json"], cwd: workspace)
            #expect(again.code == 0 && !again.stderr.contains("warning"), "\(again)")
            #expect(sandbox.storeWriter(workspace: workspace, job: good[0], updates: 1, tag: "next").code == 0)
            #expect(sandbox.record(workspace, good[0])?.result?.touchedFiles == ["ok-0", "ok-1", "next-0"])
            let result = sandbox.companion(["result", good[1], "--json"], cwd: workspace)
            #expect(result.code == 0, "\(result)")
            let gone = sandbox.companion(["status", bad.keys.first!, "--json"], cwd: workspace)
            #expect(gone.code == 1 && gone.errorCode == "job-not-found", "\(gone)")
        }

        @Test("a job looked up by id whose record is corrupt: exit 1, warning, moved aside")
        func corruptRecordLookedUpById() throws {
            let sandbox = try RelSandbox("corrupt")
            let (workspace, good) = try sandbox.workspaceWithJob()
            let broken = JobID.make()
            try AtomicFile.write(
                Array("{\"schemaVersion\": 1, \"id\": \"".utf8), to: sandbox.recordPath(workspace, broken))
            for command in ["status", "result", "cancel"] {
                try AtomicFile.write(
                    Array("{\"schemaVersion\": 1, \"id\": \"".utf8), to: sandbox.recordPath(workspace, broken))
                let run = sandbox.companion([command, broken, "--json"], cwd: sandbox.base)
                #expect(run.code == 1, "\(command): \(run)")
                #expect(run.stderr.contains(sandbox.recordPath(workspace, broken)), "\(command): \(run.stderr)")
                #expect(!FileSystem.exists(sandbox.recordPath(workspace, broken)))
            }
            #expect(sandbox.quarantined(workspace).count == 3)
            #expect(sandbox.companion(["status", good, "--json"], cwd: sandbox.base).code == 0)
        }

        @Test(
            "a corrupt workspace.json is moved aside with a warning and rewritten",
            arguments: ["truncated", "empty", "non-utf8", "not-a-marker"])
        func corruptWorkspaceMarker(kind: String) throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("marker")
            let ids = [JobID.make(), JobID.make()]
            for id in ids {
                try #require(sandbox.storeWriter(workspace: workspace, job: id, updates: 1, tag: "ok").code == 0)
            }
            let marker = sandbox.storeDirectory(workspace) + "/workspace.json"
            let bytes: [UInt8] =
                switch kind {
                case "truncated": Array("{\"schemaVersion\": 1, \"ro".utf8)
                case "empty": []
                case "non-utf8": [0xff, 0xfe, 0x7b, 0x80]
                default: Array("[1, 2, 3]\n".utf8)
                }

            // Looked up by id from elsewhere (every workspace is scanned).
            try AtomicFile.write(bytes, to: marker)
            let byID = sandbox.companion(["status", ids[0], "--json"], cwd: sandbox.base)
            #expect(byID.code == 0, "\(byID)")
            #expect(byID.json?["job"]?["workspaceRoot"]?.stringValue == workspace)
            #expect(
                byID.stderrLines.contains { $0.contains("warning") && $0.contains(marker) },
                "no warning names \(marker): \(byID.stderr)")

            // Listed from the workspace itself.
            try AtomicFile.write(bytes, to: marker)
            let status = sandbox.companion(["status", "--all", "--json"], cwd: workspace)
            #expect(status.code == 0, "\(status)")
            #expect(status.json?["totalJobs"]?.intValue == 2)
            #expect(
                status.stderrLines.contains { $0.contains("warning") && $0.contains(marker) },
                "no warning names \(marker): \(status.stderr)")

            // Moved aside (not lost), a valid marker is back, and writes work.
            let moved = sandbox.quarantined(workspace).filter { $0.hasPrefix("workspace.json.") }
            #expect(moved.count == 2)
            let rewritten = try #require(try FileSystem.read(marker))
            #expect(JSONValue.parse(String(decoding: rewritten, as: UTF8.self))?["root"]?.stringValue == workspace)
            let quiet = sandbox.companion(["status", "--all", "--json"], cwd: workspace)
            #expect(!quiet.stderr.contains("warning"), "\(quiet.stderr)")
            #expect(sandbox.storeWriter(workspace: workspace, job: ids[1], updates: 1, tag: "next").code == 0)
            #expect(sandbox.record(workspace, ids[1])?.result?.touchedFiles == ["ok-0", "next-0"])
        }

        @Test("an events log that cannot be read: events lists none and says why, exit 0")
        func unreadableEventsLog() throws {
            let sandbox = try RelSandbox("events-unreadable")
            let repo = try sandbox.repository("repo")
            let task = sandbox.companion(["task", "--background", "--json", "hello"], cwd: repo)
            #expect(task.code == 0, "\(task)")
            let events = sandbox.storeDirectory(repo) + "/events.jsonl"
            try? FileSystem.remove(events)  // there may be none yet: a task without a worktree logs none
            try FileSystem.createDirectory(events)  // a directory where the log should be: read fails
            let listed = sandbox.companion(["events", "--json"], cwd: repo)
            #expect(listed.code == 0, "\(listed)")
            #expect(listed.json?["events"]?.arrayValue?.isEmpty == true, "\(listed)")
            #expect(
                listed.stderrLines.contains { $0.contains("could not read") && $0.contains(events) }, "\(listed.stderr)"
            )
        }

        @Test("a corrupt and a torn line in events.jsonl: warned about, the rest listed, the next event recorded")
        func corruptEventsLine() throws {
            let sandbox = try RelSandbox("events")
            let repo = try sandbox.repository("repo")
            let script = try sandbox.script("edit", FakeScript.writing([("a.txt", "changed\n")]))
            let task = sandbox.companion(
                ["task", "--write", "--worktree", "--json", "edit a"], cwd: repo,
                environment: ["FAKE_CODEX_SCRIPT": script])
            #expect(task.code == 0, "\(task)")
            let id = try #require(task.json?["jobId"]?.stringValue)
            let events = sandbox.storeDirectory(repo) + "/events.jsonl"
            let before = try #require(try FileSystem.read(events))
            // A line of garbage, then a line torn by a crash mid-append (no newline).
            try FileSystem.append(
                Array("garbage that is not an event\n{\"schemaVersion\":1,\"time\":\"2026-".utf8), to: events)

            let listed = sandbox.companion(["events", "--json"], cwd: repo)
            #expect(listed.code == 0, "\(listed)")
            #expect(listed.json?["skippedLines"]?.intValue == 2)
            #expect(
                listed.json?["events"]?.arrayValue?.compactMap { $0["event"]?.stringValue } == ["created", "captured"])
            #expect(listed.stderrLines.contains { $0.contains("warning") && $0.contains(events) }, "\(listed.stderr)")
            #expect(before.count > 0)

            let branch = sandbox.companion(["worktree-cleanup", id, "--action", "branch", "--json"], cwd: repo)
            #expect(branch.code == 0, "\(branch)")
            let after = sandbox.companion(["events", "--json"], cwd: repo)
            #expect(
                after.json?["events"]?.arrayValue?.compactMap { $0["event"]?.stringValue } == [
                    "created", "captured", "branched",
                ],
                "the event after a torn line was lost: \(after)")
        }

        // MARK: unwritable state

        @Test(
            "a read-only jobs directory: a clear error naming the directory, exit 1, nothing half-written",
            .needsReadOnlyDirectories)
        func readOnlyStateDirectory() throws {
            let sandbox = try RelSandbox("ro")
            let (workspace, id) = try sandbox.workspaceWithJob()
            let jobs = sandbox.storeDirectory(workspace) + "/jobs"
            let before = Rel.tree(sandbox.state, skip: [])
            try sandbox.lockReadOnly(jobs)

            let task = sandbox.companion(["task", "--json", "hello"], cwd: workspace)
            #expect(task.code == 1, "\(task)")
            #expect(task.errorCode == "state-unwritable", "\(task)")
            #expect(
                task.stderrLines.count == 1 && task.stderr.contains(sandbox.storeDirectory(workspace)), "\(task.stderr)"
            )
            let update = sandbox.storeWriter(workspace: workspace, job: id, updates: 1, tag: "blocked")
            #expect(update.code == 1 && update.stderr.contains(sandbox.storeDirectory(workspace)), "\(update)")
            // Reading still works.
            let status = sandbox.companion(["status", "--all", "--json"], cwd: workspace)
            #expect(status.code == 0 && status.json?["totalJobs"]?.intValue == 1, "\(status)")
            // The listing cache is derived data outside the locked jobs directory; ignore it.
            var after = Rel.tree(sandbox.state, skip: [])
            after = after.filter { !$0.key.hasSuffix("/listing-cache.json") }
            #expect(after == before, "something was written to a read-only state directory")

            RelReadOnly.unlock(jobs)
            #expect(sandbox.storeWriter(workspace: workspace, job: id, updates: 1, tag: "next").code == 0)
            #expect(sandbox.record(workspace, id)?.result?.touchedFiles == ["ok-0", "next-0"])
        }

        @Test(
            "a read-only state root: a clear error naming the directory, exit 1, nothing created",
            .needsReadOnlyDirectories)
        func readOnlyStateRoot() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("ro")
            try FileSystem.createDirectory(sandbox.state, mode: 0o700)
            try sandbox.lockReadOnly(sandbox.state)
            for arguments in [["task", "--json", "hello"]] {
                let run = sandbox.companion(arguments, cwd: workspace)
                #expect(run.code == 1 && run.errorCode == "state-unwritable", "\(arguments): \(run)")
                #expect(
                    run.stderrLines.count == 1 && run.stderr.contains(sandbox.state + "/workspaces"), "\(run.stderr)")
            }
            // A read creates nothing, so it needs no write access: no jobs, exit 0.
            #expect(sandbox.companion(["status", "--json"], cwd: workspace).code == 0)
            #expect(try FileSystem.list(sandbox.state).isEmpty)
        }

        @Test("a state directory under a regular file: a clear error naming the directory, exit 1, the file untouched")
        func stateDirectoryUnderAFile() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("ro")
            let file = sandbox.base + "/not-a-directory"
            try sandbox.write(file, "precious\n")
            let stateDir = file + "/state"
            #expect(sandbox.companion(["--state-dir", stateDir, "status", "--json"], cwd: workspace).code == 0)
            for arguments in [["task", "--json", "hello"], ["task", "--background", "--json", "hi"]] {
                let run = sandbox.companion(["--state-dir", stateDir] + arguments, cwd: workspace)
                #expect(run.code == 1 && run.errorCode == "state-unwritable", "\(arguments): \(run)")
                #expect(run.stderrLines.count == 1 && run.stderr.contains(stateDir), "\(run.stderr)")
            }
            let write = sandbox.storeWriter(
                workspace: workspace, job: JobID.make(), updates: 1, tag: "x", stateDir: stateDir)
            #expect(write.code == 1, "\(write)")
            #expect(try sandbox.readText(file) == "precious\n")
        }

        /// A full disk, simulated without root: RLIMIT_FSIZE (`ulimit -f 1`, with SIGXFSZ
        /// ignored) makes every write past the first block of a file fail, as ENOSPC would.
        static let shell: String? = FileSystem.isExecutable("/bin/sh") ? "/bin/sh" : nil

        func limited(
            _ sandbox: RelSandbox, _ executable: String, _ arguments: [String], cwd: String,
            environment extra: [String: String] = [:]
        ) -> CLIRun {
            var env = sandbox.environment
            for (key, value) in extra { env[key] = value }
            let output = Binaries.run(
                Self.shell!, ["-c", "trap '' XFSZ; ulimit -f 1 && exec \"$@\"", "sh", executable] + arguments,
                cwd: cwd, environment: env, timeout: 60)
            return CLIRun(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
        }

        @Test(
            "a full disk: a clear error naming the directory, exit 1, nothing half-written",
            .enabled(if: shell != nil, "no /bin/sh to set RLIMIT_FSIZE with"))
        func fullDisk() throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("full")
            let id = JobID.make()
            // A record and a prompt well past the limit (512 bytes with dash, 1 KiB with bash),
            // so each write fails part-way through.
            try #require(sandbox.storeWriter(workspace: workspace, job: id, updates: 300, tag: "entry").code == 0)
            try #require((FileSystem.size(sandbox.recordPath(workspace, id)) ?? 0) > 4096)
            let before = Rel.tree(sandbox.state, skip: [])

            let prompt = String(repeating: "fill the disk ", count: 300)
            let task = limited(sandbox, Rel.companion, ["task", "--json", prompt], cwd: workspace)
            #expect(task.code == 1, "\(task)")
            #expect(task.errorCode == "state-unwritable", "\(task)")
            #expect(
                task.stderrLines.count == 1 && task.stderr.contains(sandbox.storeDirectory(workspace)), "\(task.stderr)"
            )

            let update = limited(
                sandbox, Rel.bench,
                [
                    "store-writer", "--state-dir", sandbox.state, "--workspace", workspace,
                    "--job", id, "--updates", "1", "--tag", "full",
                ], cwd: workspace)
            #expect(update.code == 1 && update.stderr.contains(sandbox.storeDirectory(workspace)), "\(update)")

            let result = limited(sandbox, Rel.companion, ["result", id, "--json"], cwd: workspace)
            #expect(result.code == 0, "reading a result must not need disk space: \(result)")

            #expect(Rel.tree(sandbox.state, skip: []) == before, "a failed write left something behind")
            let next = sandbox.storeWriter(workspace: workspace, job: id, updates: 1, tag: "next")
            #expect(next.code == 0, "\(next)")
            #expect(sandbox.record(workspace, id)?.result?.touchedFiles.count == 301)
        }
    }
}

extension RelSandbox {
    /// The text of a file, nil when absent.
    func readText(_ path: String) throws -> String? {
        try FileSystem.read(path).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension String {
    /// Plain substring replacement (no Foundation here).
    func relReplacing(_ target: String, with replacement: String) -> String {
        GitText.replacingAll(self, target, with: replacement)
    }
}
