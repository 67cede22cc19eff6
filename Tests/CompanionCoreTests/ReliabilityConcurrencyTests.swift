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
    /// Many processes changing jobs of one workspace at once, while others read and cancel.
    @Suite("Concurrent writers, readers and cancels", .serialized)
    struct Concurrency {
        @Test("16 processes × 200 updates, with status reads and cancels of running jobs: no update lost")
        func sixteenWritersWithReadersAndCancels() throws {
            // Contention is the point here, not durability: the state lives on tmpfs when there is one.
            let sandbox = try RelSandbox("conc", fast: true)
            let workspace = try sandbox.directory("ws")
            let updates = 200
            // Six jobs: two with four writers each, four with two writers each.
            let jobs = (0..<6).map { _ in JobID.make() }
            let assignment = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
            for job in jobs {
                try #require(sandbox.storeWriter(workspace: workspace, job: job, updates: 0, tag: "init").code == 0)
            }

            // Two unrelated running jobs (real workers and fake app-servers) to cancel mid-storm.
            let slow = ["FAKE_CODEX_SCRIPT": Rel.fixture("slow.json")]
            var running: [String] = []
            for n in 0..<2 {
                let start = sandbox.companion(
                    ["task", "--background", "--json", "slow job \(n)"], cwd: workspace, environment: slow)
                let id = try #require(start.json?["jobId"]?.stringValue, "\(start)")
                running.append(id)
            }
            defer { sandbox.killLeftoverJobs() }
            for id in running {
                try #require(
                    sandbox.waitForRecord(id, timeout: 30) { $0.status == .running && $0.turnId != nil } != nil,
                    "job \(id) never started its turn")
            }

            var writers: [BackgroundProcess] = []
            for (index, job) in assignment.enumerated() {
                writers.append(
                    try sandbox.startStoreWriter(
                        workspace: workspace, job: jobs[job], updates: updates, tag: "p\(index)"))
            }
            defer { for writer in writers { writer.kill() } }

            var reads = 0
            func read() {
                let status = sandbox.companion(["status", "--all", "--json"], cwd: workspace)
                reads += 1
                #expect(status.code == 0, "\(status)")
                #expect(status.json?["totalJobs"]?.intValue == Int64(jobs.count + running.count), "\(status)")
                #expect(!status.stderr.contains("warning"), "\(status.stderr)")
                let one = sandbox.companion(["status", jobs[reads % jobs.count], "--json"], cwd: workspace)
                #expect(one.code == 0 && one.json?["job"]?["id"]?.stringValue == jobs[reads % jobs.count], "\(one)")
            }
            read()
            for id in running {
                let cancel = sandbox.companion(["cancel", id, "--json"], cwd: workspace, timeout: 60)
                #expect(cancel.code == 0, "\(cancel)")
                #expect(cancel.json?["status"]?.stringValue == "cancelled", "\(cancel)")
                #expect(cancel.json?["processesLeft"]?.arrayValue?.isEmpty == true, "\(cancel)")
                read()
            }
            let deadline = MonotonicClock.now() + 120
            while writers.contains(where: \.isRunning) && MonotonicClock.now() < deadline { read() }
            #expect(BackgroundProcess.waitAll(writers, timeout: 5), "writers did not finish in time")

            for (index, writer) in writers.enumerated() {
                #expect(
                    writer.status == .exited(0),
                    "writer p\(index): \(String(describing: writer.status)) \(writer.stderrText)")
            }
            for (number, job) in jobs.enumerated() {
                let record = try #require(sandbox.record(workspace, job), "job \(job) unreadable")
                let entries = record.result?.touchedFiles ?? []
                let mine = assignment.indices.filter { assignment[$0] == number }
                #expect(
                    entries.count == mine.count * updates,
                    "job \(job): \(entries.count) entries, expected \(mine.count * updates)")
                for index in mine {
                    let seen = entries.filter { $0.hasPrefix("p\(index)-") }.compactMap {
                        Int($0.dropFirst("p\(index)-".count))
                    }
                    #expect(seen == Array(0..<updates), "writer p\(index) lost or repeated updates (\(seen.count))")
                }
            }
            for id in running {
                let record = sandbox.record(workspace, id)
                #expect(record?.status == .cancelled && record?.reason == JobEndReason.cancelled)
            }
            #expect(sandbox.quarantined(workspace).isEmpty)
            #expect(reads >= 3)
            let final = sandbox.companion(["status", "--all", "--json"], cwd: workspace)
            #expect(final.json?["totalJobs"]?.intValue == Int64(jobs.count + running.count))
        }
    }
}
