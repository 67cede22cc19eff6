#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Testing
import Dispatch
import Synchronization
import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

@Suite struct JobStoreTests {
    func makeRecord(
        _ store: WorkspaceStore, status: JobStatus = .completed, pid: Int32? = nil, startTime: Int64? = nil,
        createdAt: String = Timestamp.now()
    ) -> JobRecord {
        let id = JobID.make()
        return JobRecord(
            id: id, status: status, phase: JobPhase(rawValue: status.rawValue) ?? .done, title: "t", summary: "s",
            workspaceRoot: store.root, cwd: store.root, sessionId: "s1", write: false, background: true,
            pid: pid, pidStartTime: startTime, createdAt: createdAt,
            startedAt: status == .running ? createdAt : nil, completedAt: status.isTerminal ? createdAt : nil,
            updatedAt: createdAt, timeoutSeconds: 1800, logFile: store.logPath(id), promptFile: store.promptPath(id))
    }

    func noWarnings() -> WarningSink { { _ in } }

    @Test func recordsRoundTripWithAVersion() throws {
        let temp = TempDir("store")
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: noWarnings())
        let record = makeRecord(store)
        try store.create(record)
        #expect(store.load(record.id) == record)
        let text = String(decoding: try FileSystem.read(store.recordPath(record.id))!, as: UTF8.self)
        #expect(text.contains("\"schemaVersion\" : 1"))
        #expect(throws: StoreError.self) { try store.create(record) }
    }

    @Test func corruptRecordsAreMovedAsideAndTheRestStillListed() throws {
        let temp = TempDir("store")
        let warnings = WarningBox()
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: { warnings.add($0) })
        let good = makeRecord(store)
        try store.create(good)
        let cases: [(String, [UInt8])] = [
            ("truncated", Array("{\"schemaVersion\": 1, \"id\": \"tas".utf8)),
            ("empty", []),
            ("alien", Array("{\"schemaVersion\": 99, \"id\": \"x\"}".utf8)),
            ("binary", [0xff, 0xfe, 0x00, 0x80]),
        ]
        var badIDs: [String] = []
        for (_, bytes) in cases {
            let id = JobID.make()
            badIDs.append(id)
            try AtomicFile.write(bytes, to: store.recordPath(id))
        }
        let listed = store.list()
        #expect(listed.map(\.id) == [good.id])
        for id in badIDs {
            #expect(!FileSystem.exists(store.recordPath(id)))
            #expect(warnings.all.contains { $0.contains(id) && $0.contains("moved it to") })
        }
        #expect(try FileSystem.list(store.quarantineDirectory).count == badIDs.count)
        // The next write works.
        let next = makeRecord(store)
        try store.create(next)
        #expect(Set(store.list().map(\.id)) == [good.id, next.id])
    }

    @Test func updateNeverLosesAChangeAcrossThreads() throws {
        let temp = TempDir("store")
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: noWarnings())
        var record = makeRecord(store)
        record.result = JobResult(finalMessage: nil, touchedFiles: [], reasoningSummary: [], commands: [])
        try store.create(record)
        let id = record.id
        // Separate stores (separate lock fds) on separate threads contend like processes do.
        let threads = 4
        let perThread = 50
        let done = WarningBox()
        let stateRoot = temp.path
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let mine = try! WorkspaceStore.open(stateRoot: stateRoot, workspaceRoot: "/repo", warn: { _ in })
            for i in 0..<perThread {
                _ = try! mine.update(id) { $0.result!.touchedFiles.append("t\(t)-\(i)") }
            }
            done.add("\(t)")
        }
        #expect(done.all.count == threads)
        #expect(store.load(id)?.result?.touchedFiles.count == threads * perThread)
    }

    @Test func deadWorkerIsReconciledToWorkerDied() throws {
        let temp = TempDir("store")
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: noWarnings())
        // A child that has exited: its pid is free (or reused), so the job must fail.
        let child = try Subprocess.spawn(
            SpawnRequest(executable: "/bin/true", arguments: [], stdout: .null, stderr: .null))
        let start = ProcessProbe.startTime(of: child.pid)
        _ = Subprocess.wait(child.pid)
        let record = makeRecord(store, status: .running, pid: child.pid, startTime: start)
        try store.create(record)
        let reconciled = Reconciler.reconcile(record, in: store)
        #expect(reconciled.status == .failed)
        #expect(reconciled.reason == .workerDied)
        #expect(store.load(record.id)?.reason == .workerDied)
    }

    @Test func aReusedPidIsNotMistakenForTheWorker() throws {
        let temp = TempDir("store")
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: noWarnings())
        // Our own pid is alive, but with a different start time it is another process.
        let me = getpid()
        let record = makeRecord(
            store, status: .running, pid: me, startTime: (ProcessProbe.startTime(of: me) ?? 0) + 12345)
        try store.create(record)
        #expect(Reconciler.reconcile(record, in: store).reason == .workerDied)
        // With the right start time it is alive and stays running.
        let alive = makeRecord(store, status: .running, pid: me, startTime: ProcessProbe.startTime(of: me))
        try store.create(alive)
        #expect(Reconciler.reconcile(alive, in: store).status == .running)
    }

    @Test func aTerminalStateIsNeverOverwrittenByReconciliation() throws {
        let temp = TempDir("store")
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: noWarnings())
        let stale = makeRecord(store, status: .running, pid: 999_999, startTime: 1)
        var finished = stale
        finished.status = .completed
        finished.reason = .completed
        try store.create(finished)
        // The reader saw "running" before the worker finished; the re-check under the lock wins.
        let result = Reconciler.reconcile(stale, in: store)
        #expect(result.status == .completed)
        #expect(store.load(stale.id)?.status == .completed)
    }

    @Test func retentionKeepsUnreadRunningAndUndecidedJobs() throws {
        let temp = TempDir("store")
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: noWarnings())
        let old = Timestamp.format(milliseconds: WallClock.nowMilliseconds() - 30 * 86_400_000)
        var read = makeRecord(store, createdAt: old)
        read.resultViewedAt = old
        let unread = makeRecord(store, createdAt: old)
        var running = makeRecord(
            store, status: .running, pid: getpid(), startTime: ProcessProbe.startTime(of: getpid()), createdAt: old)
        running.resultViewedAt = old
        var undecided = makeRecord(store, createdAt: old)
        undecided.resultViewedAt = old
        undecided.worktree = JobWorktree(
            info: WorktreeInfo(
                repoRoot: "/r", path: "/r/.worktrees/x", branch: "codex/x", baseRef: "HEAD", baseCommit: "abc"),
            state: .ready)
        var recent = makeRecord(store)
        recent.resultViewedAt = Timestamp.now()
        for record in [read, unread, running, undecided, recent] {
            try store.create(record)
            store.appendLog(record.id, "line")
        }
        let removed = Retention.prune(store, records: store.list(), days: 7)
        #expect(removed == [read.id])
        #expect(!FileSystem.exists(store.logPath(read.id)))
        #expect(Set(store.ids()) == [unread.id, running.id, undecided.id, recent.id])
        #expect(FileSystem.exists(store.logPath(unread.id)))
    }

    @Test func lookupFindsJobsFromAnyWorkspaceByUniquePrefix() throws {
        let temp = TempDir("store")
        let a = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo-a", warn: noWarnings())
        let b = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo-b", warn: noWarnings())
        let first = makeRecord(a)
        try a.create(first)
        try b.create(makeRecord(b))
        let lookup = JobLookup(stateRoot: temp.path, warn: noWarnings())
        #expect(try lookup.find(first.id).1.id == first.id)
        #expect(try lookup.find(String(first.id.prefix(first.id.count - 2))).1.id == first.id)
        #expect(throws: StoreError.self) { try lookup.find("task-") }
        #expect(throws: StoreError.self) { try lookup.find("task-zzzzzzzz-0000") }
    }
}

/// Thread-safe string collector for warnings.
final class WarningBox: Sendable {
    private let items = Mutex<[String]>([])
    func add(_ item: String) { items.withLock { $0.append(item) } }
    var all: [String] { items.withLock { $0 } }
}
