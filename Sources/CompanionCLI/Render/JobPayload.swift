import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore

/// The job object of `--json` payloads (the README's "Job object"). Every field is
/// encoded, null when unknown (`JSONValueEncoder`). Stored types whose fields are the
/// documented ones (`JobResult`, `KeepPreview`, `JobReviewFinding`) are encoded as they are.
package struct JobPayload: Encodable, Sendable {
    let id: String
    let kind: JobKind
    let backend: JobBackend
    let status: JobStatus, phase: JobPhase
    let title, summary: String
    let threadId, turnId: String?
    let pid: Int32?
    let createdAt: String
    let startedAt, completedAt: String?
    let updatedAt: String
    let elapsedMs: Int64?
    let sessionId: String?
    let workspaceRoot, cwd: String
    let write, background: Bool
    let model, effort: String?
    let timeoutSeconds: Int
    let reason: JobEndReason?
    let errorMessage, cancelRequestedAt, resultViewedAt, resumeThreadId: String?
    let logFile: String
    let progressPreview, reviewJobIds: [String]
    let finalMessage, groupId: String?
    let result: JobResult?
    let worktree: WorktreePayload?
    let cloud: CloudPayload?
    let review: ReviewPayload?
    let attempt: Int?

    init(_ record: JobRecord, progressPreview: [String], elapsedMs: Int64?) {
        (id, kind, backend, status, phase) = (record.id, record.kind, record.backend, record.status, record.phase)
        (title, summary, threadId, turnId, pid) = (
            record.title, record.summary, record.threadId, record.turnId, record.pid
        )
        (createdAt, startedAt, completedAt) = (record.createdAt, record.startedAt, record.completedAt)
        (updatedAt, sessionId, workspaceRoot, cwd) = (
            record.updatedAt, record.sessionId, record.workspaceRoot, record.cwd
        )
        (write, background, model, effort) = (record.write, record.background, record.model, record.effort)
        (timeoutSeconds, reason, errorMessage) = (record.timeoutSeconds, record.reason, record.errorMessage)
        (cancelRequestedAt, resultViewedAt) = (record.cancelRequestedAt, record.resultViewedAt)
        (resumeThreadId, logFile, result) = (record.resumeThreadId, record.logFile, record.result)
        (self.elapsedMs, self.progressPreview) = (elapsedMs, progressPreview)
        finalMessage = record.result?.finalMessage
        worktree = record.worktree.map(WorktreePayload.init)
        cloud = record.cloud.map(CloudPayload.init)
        review = record.review.map(ReviewPayload.init)
        (reviewJobIds, groupId, attempt) = (record.reviewJobIds ?? [], record.groupId, record.attempt)
    }
}

/// `worktree` of the job object: where the job's worktree is and what became of it.
package struct WorktreePayload: Encodable, Sendable {
    struct Snapshot: Encodable, Sendable {
        let commit, head: String
        let paths: [String]
        let clean: Bool
    }

    let repoRoot, path, branch, baseRef, baseCommit: String
    let snapshot: Snapshot?
    let state: WorktreeState
    let outcome, capturedCommit, diffStat: String?
    let changedPaths, ignoredPaths, conflictPaths: [String]
    let continuedBy, updatedAt: String?

    init(_ worktree: JobWorktree) {
        let info = worktree.info
        (repoRoot, path, branch, baseRef, baseCommit) = (
            info.repoRoot, info.path, info.branch, info.baseRef, info.baseCommit
        )
        snapshot = info.snapshot.map { Snapshot(commit: $0.commit, head: $0.head, paths: $0.paths, clean: $0.isClean) }
        (state, outcome, capturedCommit, diffStat) = (
            worktree.state, worktree.outcome, worktree.capturedCommit, worktree.diffStat
        )
        changedPaths = worktree.changedPaths ?? []
        ignoredPaths = worktree.ignoredPaths ?? []
        conflictPaths = worktree.conflictPaths ?? []
        (continuedBy, updatedAt) = (worktree.continuedBy, worktree.updatedAt)
    }
}

/// `cloud` of the job object: the Codex Cloud task a cloud job tracks, its stored fields
/// as they are, except `attemptDiffs`: `[]` until fetched, never null.
package struct CloudPayload: Encodable, Sendable {
    let cloud: JobCloud

    init(_ cloud: JobCloud) {
        var shown = cloud
        shown.attemptDiffs = cloud.attemptDiffs ?? []
        self.cloud = shown
    }

    package func encode(to encoder: any Encoder) throws { try cloud.encode(to: encoder) }
}

/// The review object (`review` of review jobs): scope, verdict and findings.
package struct ReviewPayload: Encodable, Sendable {
    struct Target: Encodable, Sendable {
        let kind: ReviewScope.Kind
        let label, root: String
        let baseRef, mergeBase, commit: String?
    }

    let mode: JobReview.Mode
    let target: Target
    let focus, verdict, summary: String?
    let findings: [JobReviewFinding]
    let nextSteps: [String]
    let rawOutput, parseError, reviewedJobId: String?

    init(_ review: JobReview) {
        let scope = review.scope
        mode = review.mode
        target = Target(
            kind: scope.kind, label: scope.label, root: scope.repoRoot, baseRef: scope.baseRef,
            mergeBase: scope.mergeBase, commit: scope.commit)
        (focus, verdict, summary) = (review.focus, review.verdict, review.summary)
        (findings, nextSteps) = (review.orderedFindings, review.nextSteps ?? [])
        (rawOutput, parseError, reviewedJobId) = (review.rawOutput, review.parseError, review.reviewedJobId)
    }
}

/// A payload with more fields: both encode into one JSON object (`job + keepPreview`,
/// `… plus waitTimedOut with --wait`). A nil `extra` adds nothing.
package struct Extended<Base: Encodable & Sendable, Extra: Encodable & Sendable>: Encodable, Sendable {
    let base: Base
    let extra: Extra?

    init(_ base: Base, _ extra: Extra?) {
        self.base = base
        self.extra = extra
    }

    package func encode(to encoder: any Encoder) throws {
        try base.encode(to: encoder)
        try extra?.encode(to: encoder)
    }
}
