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
    /// The processes of a running job killed from outside, and a recorded pid that now
    /// belongs to another process. Each is reconciled to failed / worker-died.
    @Suite("Worker death", .serialized)
    struct WorkerDeath {
        /// A background job parked in a long turn (the slow fixture sleeps 30 s).
        static func startParkedJob(_ sandbox: RelSandbox, workspace: String) throws -> JobRecord {
            let start = sandbox.companion(
                ["task", "--background", "--json", "a long task"], cwd: workspace,
                environment: ["FAKE_CODEX_SCRIPT": Rel.fixture("slow.json")])
            let id = try #require(start.json?["jobId"]?.stringValue, "\(start)")
            return try #require(
                sandbox.waitForRecord(id, timeout: 30) {
                    $0.status == .running && $0.turnId != nil && $0.appServerPid != nil
                },
                "job \(id) never reached its turn")
        }

        /// A new sandbox whose workspace "ws" has a job parked in its turn (`startParkedJob`).
        static func sandboxWithParkedJob() throws -> (sandbox: RelSandbox, workspace: String, job: JobRecord) {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("death")
            return (sandbox, workspace, try startParkedJob(sandbox, workspace: workspace))
        }

        static func waitGone(_ pid: Int32?, timeout: Double = 15) -> Bool {
            guard let pid else { return true }
            return Rel.eventually(timeout) { ProcessProbe.startTime(of: pid) == nil }
        }

        static func expectWorkerDied(_ run: CLIRun, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(run.code == 0, "\(run)", sourceLocation: sourceLocation)
            #expect(run.json?["job"]?["status"]?.stringValue == "failed", "\(run)", sourceLocation: sourceLocation)
            #expect(
                run.json?["job"]?["reason"]?.stringValue == JobEndReason.workerDied.rawValue, "\(run)",
                sourceLocation: sourceLocation)
            #expect(run.json?["job"]?["errorMessage"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        }

        @Test("SIGKILL of the worker → failed / worker-died on the next read")
        func workerKilled() throws {
            let (sandbox, workspace, job) = try Self.sandboxWithParkedJob()
            defer { sandbox.killLeftoverJobs() }
            let worker = try #require(job.pid)
            #expect(Signals.send(worker, SIGKILL))
            #expect(Self.waitGone(worker), "the worker did not die")

            let status = sandbox.companion(["status", job.id, "--json"], cwd: workspace)
            Self.expectWorkerDied(status)
            #expect(status.json?["job"]?["errorMessage"]?.stringValue?.contains("pid \(worker)") == true, "\(status)")
            // The orphaned app-server sees its stdin close and leaves.
            #expect(Self.waitGone(job.appServerPid), "the app-server outlived its worker")
            let result = sandbox.companion(["result", job.id, "--json"], cwd: workspace)
            #expect(
                result.code == 1 && result.json?["job"]?["reason"]?.stringValue == JobEndReason.workerDied.rawValue,
                "\(result)")
        }

        @Test("SIGKILL of the app-server → failed / worker-died")
        func appServerKilled() throws {
            let (sandbox, workspace, job) = try Self.sandboxWithParkedJob()
            defer { sandbox.killLeftoverJobs() }
            #expect(Signals.send(try #require(job.appServerPid), SIGKILL))

            let status = sandbox.companion(
                ["status", job.id, "--wait", "--timeout-ms", "20000", "--json"], cwd: workspace)
            Self.expectWorkerDied(status)
            #expect(status.json?["waitTimedOut"]?.boolValue == false)
            #expect(status.json?["job"]?["errorMessage"]?.stringValue?.contains("app-server") == true, "\(status)")
            #expect(Self.waitGone(job.pid), "the worker did not end after its app-server died")
        }

        @Test("killpg of the worker's session and the app-server's group → failed / worker-died")
        func wholeGroupKilled() throws {
            let (sandbox, workspace, job) = try Self.sandboxWithParkedJob()
            defer { sandbox.killLeftoverJobs() }
            let worker = try #require(job.pid)
            let server = try #require(job.appServerPid)
            // The worker leads its own session and group; the app-server leads another group.
            #expect(ProcessProbe.processGroup(of: worker) == worker)
            #expect(Signals.sendToGroup(worker, SIGKILL))
            #expect(Signals.sendToGroup(ProcessProbe.processGroup(of: server) ?? server, SIGKILL))
            #expect(Self.waitGone(worker) && Self.waitGone(server))

            let status = sandbox.companion(["status", "--all", "--json"], cwd: workspace)
            #expect(status.code == 0, "\(status)")
            let listed = status.json?["latestFinished"]
            #expect(listed?["id"]?.stringValue == job.id, "\(status)")
            #expect(
                listed?["status"]?.stringValue == "failed"
                    && listed?["reason"]?.stringValue == JobEndReason.workerDied.rawValue,
                "\(status)")
            #expect(sandbox.record(workspace, job.id)?.reason == JobEndReason.workerDied)
        }

        @Test(
            "a recorded pid reused by an unrelated live process → failed / worker-died, and that process is left alone",
            arguments: [JobStatus.running, JobStatus.queued])
        func pidReusedByAnotherProcess(status: JobStatus) throws {
            let (sandbox, workspace) = try RelSandbox.withWorkspace("death")
            // An unrelated live process: ours, so we can check it is never signalled.
            let stranger = try BackgroundProcess("/bin/sleep", ["60"], cwd: sandbox.base, environment: [:])
            defer { stranger.kill() }
            let realStart = try #require(ProcessProbe.startTime(of: stranger.pid))

            let store = try sandbox.store(workspace)
            let reused = RelRecords.make(store, status: status, pid: stranger.pid, startTime: realStart - 12345)
            try store.create(reused)
            // Control: the same pid with its true start time is a live worker.
            let alive = RelRecords.make(store, status: .running, pid: stranger.pid, startTime: realStart)
            try store.create(alive)

            let reusedStatus = sandbox.companion(["status", reused.id, "--json"], cwd: workspace)
            Self.expectWorkerDied(reusedStatus)
            let aliveStatus = sandbox.companion(["status", alive.id, "--json"], cwd: workspace)
            #expect(aliveStatus.json?["job"]?["status"]?.stringValue == "running", "\(aliveStatus)")
            #expect(stranger.isRunning, "the companion signalled a process that was not its worker")
            #expect(ProcessProbe.startTime(of: stranger.pid) == realStart)

            // Cancel of the reused-pid job never touches the stranger either.
            let cancel = sandbox.companion(["cancel", reused.id, "--json"], cwd: workspace)
            #expect(cancel.code == 1 && cancel.errorCode == "job-finished", "\(cancel)")
            #expect(stranger.isRunning)
            _ = try JobLifecycle(store: store).settleCancel(alive.id)
        }
    }
}
