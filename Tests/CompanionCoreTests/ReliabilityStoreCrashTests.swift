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
    /// A writer SIGKILLed between each pair of steps of a store write (fault points armed by
    /// CODEX_COMPANION_FAULT), and many writers SIGKILLed at random moments.
    @Suite("Crash at every step of a store write", .serialized)
    struct StoreCrash {
        static let storePoints = ["after-temp-write", "after-fsync", "after-rename", "while-locked"]

        /// Three finished jobs made by store-writer (each with "seed-0", "seed-1").
        static func seed(_ sandbox: RelSandbox, workspace: String) throws -> [String] {
            var ids: [String] = []
            for _ in 0..<3 {
                let id = JobID.make()
                let run = sandbox.storeWriter(workspace: workspace, job: id, updates: 2, tag: "seed")
                try #require(run.code == 0, "seeding failed: \(run)")
                ids.append(id)
            }
            return ids
        }

        /// A new sandbox whose workspace "ws" holds the three `seed` jobs.
        static func seededSandbox(_ label: String) throws -> (sandbox: RelSandbox, workspace: String, ids: [String]) {
            let (sandbox, workspace) = try RelSandbox.withWorkspace(label)
            return (sandbox, workspace, try seed(sandbox, workspace: workspace))
        }

        /// What must hold after any crash: every job listed and readable, nothing quarantined,
        /// no warning, the lock free, and the next write through the store succeeds.
        static func expectIntact(
            _ sandbox: RelSandbox, workspace: String, ids: [String], nextWriteOn id: String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            let status = sandbox.companion(["status", "--all", "--json"], cwd: workspace)
            #expect(status.code == 0, "\(status)", sourceLocation: sourceLocation)
            #expect(
                status.json?["totalJobs"]?.intValue == Int64(ids.count), "\(status)", sourceLocation: sourceLocation)
            #expect(Rel.listedIDs(status.json) == Set(ids), sourceLocation: sourceLocation)
            #expect(!status.stderr.contains("warning"), "\(status.stderr)", sourceLocation: sourceLocation)
            #expect(sandbox.quarantined(workspace).isEmpty, sourceLocation: sourceLocation)
            for id in ids {
                let one = sandbox.companion(["status", id, "--json"], cwd: sandbox.base)
                #expect(
                    one.code == 0 && one.json?["job"]?["status"]?.stringValue == "completed", "\(one)",
                    sourceLocation: sourceLocation)
            }
            #expect(sandbox.lockIsFree(workspace), "the store lock is still held", sourceLocation: sourceLocation)
            let next = sandbox.storeWriter(workspace: workspace, job: id, updates: 1, tag: "next", timeout: 30)
            #expect(next.code == 0, "the next write failed: \(next)", sourceLocation: sourceLocation)
            #expect(
                sandbox.record(workspace, id)?.result?.touchedFiles.last == "next-0", sourceLocation: sourceLocation)
        }

        static func strayTemporaries(_ sandbox: RelSandbox, workspace: String) -> [String] {
            ((try? FileSystem.list(sandbox.storeDirectory(workspace) + "/jobs")) ?? []).filter { $0.contains(".tmp-") }
        }

        @Test("store-writer SIGKILLed mid-update at each fault point", arguments: storePoints)
        func updateKilledAtFaultPoint(point: String) throws {
            let (sandbox, workspace, ids) = try Self.seededSandbox("crash")
            let target = ids[1]
            let others = [ids[0], ids[2]].map { (try? FileSystem.read(sandbox.recordPath(workspace, $0))) ?? nil }

            let crash = sandbox.storeWriter(workspace: workspace, job: target, updates: 3, tag: "crash", fault: point)
            #expect(crash.wasKilled, "expected SIGKILL at \(point): \(crash)")

            // The record is whole: the old content, or (killed after the rename) the new one.
            let record = try #require(
                sandbox.record(workspace, target), "the record does not parse after a crash at \(point)")
            let expected = ["seed-0", "seed-1"] + (point == "after-rename" ? ["crash-0"] : [])
            #expect(record.result?.touchedFiles == expected)
            // The other records were not touched.
            #expect(
                [ids[0], ids[2]].map { (try? FileSystem.read(sandbox.recordPath(workspace, $0))) ?? nil } == others)
            // A crash before the rename leaves a temp file; it must not disturb anything.
            if point == "after-temp-write" || point == "after-fsync" {
                #expect(Self.strayTemporaries(sandbox, workspace: workspace).count == 1)
            }
            Self.expectIntact(sandbox, workspace: workspace, ids: ids, nextWriteOn: target)
        }

        @Test("result SIGKILLed while marking the result viewed, at each fault point", arguments: storePoints)
        func resultKilledAtFaultPoint(point: String) throws {
            let (sandbox, workspace, ids) = try Self.seededSandbox("crash")
            let target = ids[0]
            #expect(sandbox.record(workspace, target)?.resultViewedAt == nil)

            let crash = sandbox.companion(
                ["result", target, "--json"], cwd: workspace, environment: ["CODEX_COMPANION_FAULT": point])
            #expect(crash.wasKilled, "expected SIGKILL at \(point): \(crash)")

            let record = try #require(sandbox.record(workspace, target))
            #expect((record.resultViewedAt != nil) == (point == "after-rename"))
            #expect(record.result?.touchedFiles == ["seed-0", "seed-1"])

            let again = sandbox.companion(["result", target, "--json"], cwd: workspace)
            #expect(again.code == 0, "\(again)")
            #expect(again.json?["job"]?["finalMessage"] != nil)
            #expect(sandbox.record(workspace, target)?.resultViewedAt != nil)
            Self.expectIntact(sandbox, workspace: workspace, ids: ids, nextWriteOn: target)
        }

        @Test("creating a job (and a new workspace) SIGKILLed at each fault point", arguments: storePoints)
        func creationKilledAtFaultPoint(point: String) throws {
            let (sandbox, workspace, ids) = try Self.seededSandbox("crash")

            // A new job in an existing workspace.
            let fresh = JobID.make()
            let crash = sandbox.storeWriter(workspace: workspace, job: fresh, updates: 1, tag: "new", fault: point)
            #expect(crash.wasKilled, "\(crash)")
            let created = sandbox.record(workspace, fresh)
            if point == "after-rename" {
                #expect(created != nil && created?.status == .completed, "a renamed record must be whole")
            } else {
                #expect(!FileSystem.exists(sandbox.recordPath(workspace, fresh)))
            }
            Self.expectIntact(
                sandbox, workspace: workspace, ids: ids + (created != nil ? [fresh] : []), nextWriteOn: ids[2])

            // The very first write to a new workspace (its workspace.json marker, then the job).
            let other = try sandbox.directory("ws2")
            let first = JobID.make()
            let crash2 = sandbox.storeWriter(workspace: other, job: first, updates: 1, tag: "new", fault: point)
            #expect(crash2.wasKilled, "\(crash2)")
            let status = sandbox.companion(["status", "--all", "--json"], cwd: other)
            #expect(status.code == 0, "\(status)")
            #expect(!status.stderr.contains("warning"), "\(status.stderr)")
            #expect(sandbox.lockIsFree(other))
            let next = sandbox.storeWriter(workspace: other, job: first, updates: 1, tag: "next")
            #expect(next.code == 0, "\(next)")
            #expect(sandbox.record(other, first)?.result?.touchedFiles.last == "next-0")
            #expect(sandbox.companion(["status", "--all", "--json"], cwd: other).json?["totalJobs"]?.intValue == 1)
        }

        @Test("temp files of killed writers are swept once they are old, never while fresh")
        func strayTemporariesAreSwept() throws {
            let (sandbox, workspace, ids) = try Self.seededSandbox("sweep")
            for point in ["after-temp-write", "after-fsync"] {
                #expect(
                    sandbox.storeWriter(workspace: workspace, job: ids[0], updates: 1, tag: "x", fault: point).wasKilled
                )
            }
            let jobs = sandbox.storeDirectory(workspace) + "/jobs"
            let strays = Self.strayTemporaries(sandbox, workspace: workspace)
            try #require(strays.count == 2)
            // One is from two minutes ago, the other could still belong to a live writer.
            var old = utimbuf(actime: time(nil) - 120, modtime: time(nil) - 120)
            #expect(utime(jobs + "/" + strays[0], &old) == 0)

            let task = sandbox.companion(["task", "--json", "a quick task"], cwd: workspace)
            #expect(task.code == 0, "\(task)")
            #expect(Self.strayTemporaries(sandbox, workspace: workspace) == [strays[1]])
            #expect(sandbox.record(workspace, ids[0])?.result?.touchedFiles == ["seed-0", "seed-1"])
        }

        @Test("12 concurrent writers on one job, a random half SIGKILLed at random moments")
        func randomKillsOfConcurrentWriters() throws {
            let sandbox = try RelSandbox("kill")
            let (workspace, job) = try sandbox.workspaceWithJob(tag: "start")

            let writers = 12
            let updates = 20
            var generator = SystemRandomNumberGenerator()
            let victims = Set((0..<writers).shuffled(using: &generator).prefix(writers / 2))
            var processes: [BackgroundProcess] = []
            for index in 0..<writers {
                processes.append(
                    try sandbox.startStoreWriter(
                        workspace: workspace, job: job, updates: updates, tag: "w\(index)", delayMs: 2))
            }
            defer { for process in processes { process.kill() } }
            // Each victim dies at its own random moment while the writers contend.
            var schedule = victims.map { (index: $0, at: Double.random(in: 0.0...1.2, using: &generator)) }.sorted {
                $0.at < $1.at
            }
            let start = MonotonicClock.now()
            var killed: Set<Int> = []
            while !schedule.isEmpty {
                let next = schedule.removeFirst()
                let wait = next.at - (MonotonicClock.now() - start)
                if wait > 0 { sleepSeconds(wait) }
                if processes[next.index].isRunning {
                    _ = Signals.send(processes[next.index].pid, SIGKILL)
                    killed.insert(next.index)
                }
            }
            #expect(BackgroundProcess.waitAll(processes, timeout: 90), "writers did not finish in time")

            let record = try #require(sandbox.record(workspace, job), "the record is torn or unreadable")
            let entries = record.result?.touchedFiles ?? []
            var perWriter: [String: [Int]] = [:]
            for entry in entries where entry.hasPrefix("w") {
                let parts = entry.split(separator: "-")
                guard parts.count == 2, let number = Int(parts[1]) else {
                    Issue.record("odd entry \(entry)")
                    continue
                }
                perWriter[String(parts[0]), default: []].append(number)
            }
            for index in 0..<writers {
                let tag = "w\(index)"
                let seen = perWriter[tag] ?? []
                // Entries of one writer appear in order, without holes or repeats: 0..<k.
                #expect(seen == Array(0..<seen.count), "writer \(tag) has holes or repeats: \(seen)")
                let status = processes[index].status
                if !killed.contains(index) || status == .exited(0) {
                    #expect(
                        status == .exited(0),
                        "writer \(tag) failed: \(String(describing: status)) \(processes[index].stderrText)")
                    #expect(
                        seen.count == updates, "writer \(tag) finished but lost updates: \(seen.count) of \(updates)")
                } else {
                    #expect(seen.count <= updates)
                }
            }
            #expect(entries.first == "start-0")
            #expect(entries.count == 1 + perWriter.values.reduce(0) { $0 + $1.count })
            #expect(sandbox.quarantined(workspace).isEmpty)
            Self.expectIntact(sandbox, workspace: workspace, ids: [job], nextWriteOn: job)
        }
    }
}
