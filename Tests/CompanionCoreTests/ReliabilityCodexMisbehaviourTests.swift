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
    /// A `codex app-server` that crashes, babbles, stalls, asks for things we do not do, or
    /// floods us, played by fake-codex. Every foreground task is bounded by its job timeout
    /// plus a margin: a companion that hung past it would be killed and fail the test.
    @Suite("Codex misbehaving", .serialized)
    struct CodexMisbehaviour {
        static let jobTimeout = 2
        static let margin = 40.0

        struct Finished {
            /// Kept so the job's files outlive the run while the test reads them.
            let sandbox: RelSandbox
            var run: CLIRun
            var record: JobRecord?
            var fakeLog: [JSONValue]
        }

        /// Runs a foreground task against `script`; returns its output and the final record.
        static func runTask(_ sandbox: RelSandbox, script: String, timeout: Int = 60) throws -> Finished {
            let workspace = try sandbox.directory("ws")
            let log = sandbox.base + "/fake-\(UInt32.random(in: 0...UInt32.max)).log"
            let run = sandbox.companion(
                ["task", "--timeout", String(timeout), "--json", "do the thing"], cwd: workspace,
                environment: ["FAKE_CODEX_SCRIPT": script, "FAKE_CODEX_LOG": log],
                timeout: Double(timeout) + margin)
            #expect(run.code != nil, "the companion hung past the job timeout (\(timeout) s) and was killed: \(run)")
            let id = run.json?["jobId"]?.stringValue
            let record = id.flatMap { sandbox.record(workspace, $0) }
            var fakeLog: [JSONValue] = []
            if let bytes = try? FileSystem.read(log) {
                for line in bytes.split(separator: 10) {
                    if let value = try? JSONCoding.decode(JSONValue.self, from: Array(line)) { fakeLog.append(value) }
                }
            }
            if let record {
                // Nothing of the job is left running.
                #expect(WorkerDeath.waitGone(record.pid), "worker \(record.pid ?? 0) still alive")
                if let server = record.appServerPid {
                    #expect(
                        Rel.eventually(15) { ProcessProbe.members(ofGroup: server).isEmpty },
                        "app-server group \(server) still has members")
                }
            }
            return Finished(sandbox: sandbox, run: run, record: record, fakeLog: fakeLog)
        }

        /// Runs a foreground task against the fixture script `fixture` in a new sandbox.
        static func runTask(fixture: String, timeout: Int = 60) throws -> Finished {
            try runTask(try RelSandbox("codex"), script: Rel.fixture(fixture), timeout: timeout)
        }

        static func expectCompleted(
            _ finished: Finished, finalMessage: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
        ) {
            #expect(finished.run.code == 0, "\(finished.run)", sourceLocation: sourceLocation)
            if let finalMessage {
                #expect(
                    finished.run.json?["finalMessage"]?.stringValue == finalMessage, sourceLocation: sourceLocation)
            }
        }

        static func expectFailed(
            _ finished: Finished, reason: JobEndReason, message: String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            #expect(finished.run.code == 1, "\(finished.run)", sourceLocation: sourceLocation)
            #expect(
                finished.run.json?["status"]?.stringValue == "failed", "\(finished.run)", sourceLocation: sourceLocation
            )
            #expect(
                finished.run.json?["reason"]?.stringValue == reason.rawValue, "\(finished.run)",
                sourceLocation: sourceLocation)
            let text = finished.run.json?["errorMessage"]?.stringValue ?? ""
            #expect(text.contains(message), "errorMessage: \(text)", sourceLocation: sourceLocation)
            #expect(
                finished.record?.status == .failed && finished.record?.reason == reason, sourceLocation: sourceLocation)
        }

        @Test("the app-server exits mid-turn → failed / worker-died, naming the exit")
        func exitsMidTurn() throws {
            let finished = try Self.runTask(fixture: "crash.json")
            Self.expectFailed(finished, reason: JobEndReason.workerDied, message: "exited unexpectedly (exit 1)")
            #expect(
                finished.run.json?["errorMessage"]?.stringValue?.contains("panicked") == true,
                "the crash's stderr is quoted")
        }

        @Test("the app-server SIGKILLs itself mid-turn → failed / worker-died")
        func killedMidTurn() throws {
            let finished = try Self.runTask(fixture: "kill-self.json")
            Self.expectFailed(finished, reason: JobEndReason.workerDied, message: "exited unexpectedly")
        }

        @Test("garbage lines on stdout are skipped; the turn completes")
        func garbageLines() throws {
            let finished = try Self.runTask(fixture: "malformed.json")
            Self.expectCompleted(finished, finalMessage: "Still fine.")
            #expect(finished.record?.reason == JobEndReason.completed)
        }

        @Test(
            "no turn/completed ever → timed-out at the job timeout",
            arguments: ["no-turn-completed.json", "hang-on-interrupt.json", "unanswered-thread-start.json"])
        func neverCompletes(fixture: String) throws {
            let finished = try Self.runTask(fixture: fixture, timeout: Self.jobTimeout)
            Self.expectFailed(finished, reason: JobEndReason.timedOut, message: "within \(Self.jobTimeout) seconds")
        }

        @Test("an unsupported server request is answered with an error and the turn goes on")
        func unsupportedServerRequest() throws {
            let sandbox = try RelSandbox("codex")
            let script = try sandbox.script(
                "request",
                FakeScript.turn([
                    [
                        "request": "item/somethingNew/requestPermission",
                        "params": ["threadId": "{{threadId}}", "turnId": "{{turnId}}"], "await": true,
                    ],
                    [
                        "request": "item/tool/requestUserInput",
                        "params": ["threadId": "{{threadId}}", "turnId": "{{turnId}}", "questions": []], "await": true,
                    ],
                    FakeScript.agentMessage("Carried on without it."),
                ]))
            let finished = try Self.runTask(sandbox, script: script)
            Self.expectCompleted(finished, finalMessage: "Carried on without it.")
            // Both requests got an answer (an error), so the fake's steps went on.
            for id: Int64 in [0, 1] {
                let answer = finished.fakeLog.first { $0["method"] == nil && $0["id"]?.intValue == id }
                #expect(
                    answer?["error"] != nil,
                    "request \(id) was not answered with an error: \(String(describing: answer))")
            }
            let log =
                try FileSystem.read(try #require(finished.record?.logFile)).map { String(decoding: $0, as: UTF8.self) }
                ?? ""
            #expect(log.contains("Rejected unsupported Codex request: item/somethingNew/requestPermission"), "\(log)")
        }

        @Test("approval requests are declined and the turn completes")
        func approvalRequests() throws {
            let finished = try Self.runTask(fixture: "server-request.json")
            Self.expectCompleted(finished)
            let first = finished.fakeLog.first { $0["method"] == nil && $0["id"]?.intValue == 0 }
            #expect(first?["result"]?["decision"]?.stringValue == "decline", "\(String(describing: first))")
        }

        @Test("10 000 × 1 kB of output: the job completes with its message")
        func flood() throws {
            let finished = try Self.runTask(fixture: "flood.json")
            #expect(finished.run.code == 0, "\(finished.run.status)")
            #expect(finished.run.json?["finalMessage"]?.stringValue == "Survived the flood.")
            // The flood is folded, not copied into the log.
            #expect((FileSystem.size(finished.record?.logFile ?? "") ?? 0) < 1_000_000)
        }

        @Test("endless output never ends the turn → timed-out at the job timeout")
        func endlessOutput() throws {
            let finished = try Self.runTask(fixture: "endless-output.json", timeout: Self.jobTimeout)
            Self.expectFailed(finished, reason: JobEndReason.timedOut, message: "within \(Self.jobTimeout) seconds")
        }

        @Test("an app-server that ignores SIGTERM and stdin EOF and leaves a child: the job completes, nothing is left")
        func stubbornServer() throws {
            let finished = try Self.runTask(fixture: "stubborn.json")
            Self.expectCompleted(finished)
            let children = finished.fakeLog.filter { $0["fake"]?.stringValue == "childSpawned" }.compactMap {
                $0["pid"]?.intValue
            }
            #expect(!children.isEmpty)
            for child in children {
                #expect(WorkerDeath.waitGone(Int32(child)), "the app-server's child \(child) survived")
            }
        }
    }
}
