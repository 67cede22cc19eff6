import Testing

import CompanionSystem
import CompanionTestSupport
import GitWorktrees
import JobStore
import Jobs

/// Cloud jobs through the lifecycle owner: every transition, and what never moves again.
@Suite("Cloud job lifecycle")
struct CloudLifecycleTests {
    let temp = TempDir("cloudlife")

    func cloudJob(_ store: WorkspaceStore, createdAt: String = Timestamp.now()) throws -> JobRecord {
        let id = JobID.make()
        let record = JobRecord(
            id: id, status: .queued, phase: .queued, title: "t", summary: "s", workspaceRoot: store.root,
            cwd: store.root, sessionId: nil, write: true, background: true, createdAt: createdAt,
            updatedAt: createdAt, timeoutSeconds: 1800, logFile: store.logPath(id), promptFile: store.promptPath(id),
            cloud: JobCloud(
                taskId: nil, url: nil, repoRoot: "/repo", baseRef: "origin/main",
                baseCommit: String(repeating: "a", count: 40),
                environment: "env", branch: "main", attempts: 2, remoteStatus: "pending", branchWarnings: []))
        try JobLifecycle(store: store).create(record)
        return record
    }

    func snapshot(_ status: String) -> CloudSnapshot {
        CloudSnapshot(
            status: status, title: "Add hello", filesChanged: 1, linesAdded: 2, linesRemoved: 0, attemptTotal: 2)
    }

    @Test func submittedPendingReady() throws {
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: { _ in })
        let lifecycle = JobLifecycle(store: store)
        let job = try cloudJob(store)
        let running = try #require(
            try lifecycle.cloudSubmitted(job.id, taskId: "task_e_1", url: "http://x/tasks/task_e_1"))
        #expect(running.status == .running && running.phase == .running && running.backend == .cloud)
        #expect(running.worktree == nil, "nothing to decide before the task is ready")
        _ = try lifecycle.cloudObserved(job.id, snapshot("pending"))
        #expect(store.load(job.id)?.status == .running)
        let done = try #require(try lifecycle.cloudObserved(job.id, snapshot("ready")))
        #expect(done.status == .completed && done.phase == .done && done.reason == .completed)
        let worktree = try #require(done.worktree)
        #expect(worktree.state == .ready)
        #expect(worktree.info.branch == "codex/" + job.id && worktree.info.path == "/repo/.worktrees/" + job.id)
        #expect(worktree.info.baseRef == "origin/main")
        #expect(done.cloud?.attemptTotal == 2 && done.cloud?.linesAdded == 2)
        // A later poll (e.g. the service now says applied) moves nothing.
        _ = try lifecycle.cloudObserved(job.id, snapshot("error"))
        #expect(store.load(job.id)?.status == .completed)
    }

    @Test func errorAndCancelEndWithoutAWorktree() throws {
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: { _ in })
        let lifecycle = JobLifecycle(store: store)
        let failing = try cloudJob(store)
        try lifecycle.cloudSubmitted(failing.id, taskId: "task_e_2", url: "u")
        let failed = try #require(try lifecycle.cloudObserved(failing.id, snapshot("error")))
        #expect(failed.status == .failed && failed.reason == .cloudTaskFailed && failed.worktree == nil)

        let tracked = try cloudJob(store)
        try lifecycle.cloudSubmitted(tracked.id, taskId: "task_e_3", url: "u")
        let (cancelled, lostRace) = try lifecycle.cloudCancel(tracked.id, message: "stopped tracking")
        #expect(!lostRace && cancelled?.status == .cancelled && cancelled?.cancelRequestedAt != nil)
        _ = try lifecycle.cloudObserved(tracked.id, snapshot("ready"))
        #expect(store.load(tracked.id)?.status == .cancelled, "a cancelled job is not revived by a poll")
        #expect(try lifecycle.cloudCancel(failing.id, message: "x").lostRace, "a job that ended first keeps its end")

        let refused = try cloudJob(store)
        #expect(lifecycle.cloudSubmitFailed(refused.id, message: "no such environment")?.reason == .submitFailed)
    }

    @Test func theReconcilerLeavesCloudJobsWithoutAWorkerAlone() throws {
        let store = try WorkspaceStore.open(stateRoot: temp.path, workspaceRoot: "/repo", warn: { _ in })
        let old = Timestamp.format(milliseconds: WallClock.nowMilliseconds() - 3_600_000)
        let job = try cloudJob(store, createdAt: old)
        try JobLifecycle(store: store).cloudSubmitted(job.id, taskId: "task_e_4", url: "u")
        let loaded = try #require(store.load(job.id))
        #expect(Reconciler.verdict(for: loaded) == nil)
        #expect(Reconciler.reconcile(loaded, in: store).status == .running)
    }
}
