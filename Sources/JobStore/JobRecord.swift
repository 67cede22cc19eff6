import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees

/// The lifecycle states of a job.
public enum JobStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, completed, failed, cancelled

    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }
    public var isActive: Bool { !isTerminal }
}

/// Where a job is in its life. `status` is the coarse view; the phase says what the
/// running turn is doing. Only the lifecycle owner (`Jobs.JobLifecycle`) moves it.
public enum JobPhase: String, Codable, Sendable, CaseIterable {
    case queued, starting, running, investigating, editing, verifying, finalizing
    case done, failed, cancelled

    public var isTerminal: Bool { self == .done || self == .failed || self == .cancelled }

    /// The phases a turn reports while it works; any of them may follow another.
    public var isWorking: Bool {
        switch self {
        case .running, .investigating, .editing, .verifying, .finalizing: return true
        default: return false
        }
    }

    /// Whether the lifecycle may move a job from this phase to `next`. A phase never moves
    /// back to `queued` or `starting` once the turn runs, and a terminal phase is final.
    public func canMove(to next: JobPhase) -> Bool {
        switch self {
        case .queued: return next != .queued
        case .starting: return next != .queued && next != .starting
        case .running, .investigating, .editing, .verifying, .finalizing: return next.isWorking || next.isTerminal
        case .done, .failed, .cancelled: return false
        }
    }
}

/// Why a job ended the way it did (`reason` in records and JSON).
public enum JobEndReason: String, Codable, Sendable, CaseIterable {
    case completed
    case turnFailed = "turn-failed"
    case workerDied = "worker-died"
    case timedOut = "timed-out"
    case cancelled
    case spawnFailed = "spawn-failed"
    /// The job finished but its final record could not be written (a full disk): the
    /// answer was kept in `jobs/<id>.answer` and recovered from there.
    case finalWriteFailed = "final-write-failed"
    /// A Codex Cloud task ended in error on the service.
    case cloudTaskFailed = "cloud-task-failed"
    /// `codex cloud exec` refused or failed: no cloud task was created.
    case submitFailed = "submit-failed"
    /// The model's answer is not what the job asked for (an adversarial review that breaks its schema).
    case invalidOutput = "invalid-output"
}

/// Where a job's turn runs: a Codex app-server on this machine, or a Codex Cloud task.
public enum JobBackend: String, Codable, Sendable, CaseIterable {
    case local
    case cloud
}

/// What kind of work a job is.
public enum JobKind: String, Codable, Sendable, CaseIterable {
    case task
    /// Codex's built-in reviewer (`review/start`), read-only.
    case review
    /// A challenge review through `turn/start` with an output schema, read-only.
    case adversarialReview = "adversarial-review"
}

/// What a finished turn produced.
public struct JobResult: Codable, Sendable, Equatable {
    public var finalMessage: String?
    public var touchedFiles: [String]
    public var reasoningSummary: [String]
    public var commands: [CommandRecord]

    public init(finalMessage: String?, touchedFiles: [String], reasoningSummary: [String], commands: [CommandRecord]) {
        self.finalMessage = finalMessage
        self.touchedFiles = touchedFiles
        self.reasoningSummary = reasoningSummary
        self.commands = commands
    }
}

/// Where a worktree job's changes stand.
public enum WorktreeState: String, Codable, Sendable {
    /// The turn is running in the worktree.
    case active
    /// The turn ended and its changes are committed on the branch: waiting for a decision.
    case ready
    /// A keep is being applied (a crash here is recovered by the next command).
    case keeping
    case kept, discarded, branched
    /// A keep did not apply cleanly; worktree and branch are still there.
    case conflict
    /// A later job (resume) continues in this worktree; decide on that job instead.
    case continued

    /// Whether the lifecycle may move a worktree from this state to `next`. A decided
    /// worktree (kept, discarded, branched, continued) never changes again; a keep that
    /// conflicted may be decided again; an interrupted keep is settled from `keeping`.
    public func canMove(to next: WorktreeState) -> Bool {
        switch (self, next) {
        case (.active, .ready), (.active, .continued): return true
        case (.ready, .keeping), (.ready, .discarded), (.ready, .branched), (.ready, .continued): return true
        case (.keeping, .kept), (.keeping, .conflict), (.keeping, .ready), (.keeping, .keeping): return true
        case (.conflict, .keeping), (.conflict, .discarded), (.conflict, .branched), (.conflict, .continued):
            return true
        default: return false
        }
    }

    /// Still holds work nobody decided about.
    public var awaitsDecision: Bool {
        switch self {
        case .active, .ready, .keeping, .conflict: return true
        case .kept, .discarded, .branched, .continued: return false
        }
    }
}

/// A job's worktree: where it is and what happened to it.
public struct JobWorktree: Codable, Sendable, Equatable {
    public var info: WorktreeInfo
    public var state: WorktreeState
    public var outcome: String?
    public var capturedCommit: String?
    public var diffStat: String?
    public var changedPaths: [String]?
    public var ignoredPaths: [String]?
    public var conflictPaths: [String]?
    public var continuedBy: String?
    public var updatedAt: String?

    public init(
        info: WorktreeInfo, state: WorktreeState, outcome: String? = nil, capturedCommit: String? = nil,
        diffStat: String? = nil, changedPaths: [String]? = nil, ignoredPaths: [String]? = nil,
        conflictPaths: [String]? = nil, continuedBy: String? = nil, updatedAt: String? = nil
    ) {
        self.info = info
        self.state = state
        self.outcome = outcome
        self.capturedCommit = capturedCommit
        self.diffStat = diffStat
        self.changedPaths = changedPaths
        self.ignoredPaths = ignoredPaths
        self.conflictPaths = conflictPaths
        self.continuedBy = continuedBy
        self.updatedAt = updatedAt
    }
}

/// One job, as stored in `jobs/<id>.json`. Field names follow the reference plugin's
/// where it has them, so wrappers written for it keep working.
public struct JobRecord: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int = JobRecord.currentSchemaVersion
    public var id: String
    public var kind: JobKind = .task
    public var status: JobStatus
    public var phase: JobPhase
    public var title: String
    public var summary: String
    public var workspaceRoot: String
    public var cwd: String
    public var sessionId: String?
    public var write: Bool
    public var background: Bool
    public var model: String?
    public var effort: String?
    public var resumeThreadId: String?
    public var resumedFromJobId: String?
    public var threadId: String?
    public var turnId: String?
    public var pid: Int32?
    public var pidStartTime: Int64?
    public var appServerPid: Int32?
    public var createdAt: String
    public var startedAt: String?
    public var completedAt: String?
    public var updatedAt: String
    public var timeoutSeconds: Int
    public var reason: JobEndReason?
    public var errorMessage: String?
    public var cancelRequestedAt: String?
    public var resultViewedAt: String?
    public var logFile: String
    public var promptFile: String
    public var result: JobResult?
    public var worktree: JobWorktree?
    /// Set for jobs of backend `cloud` (absent in older records, which are all local).
    public var cloud: JobCloud?

    /// `local` (a Codex app-server on this machine) or `cloud` (a Codex Cloud task).
    public var backend: JobBackend { cloud == nil ? .local : .cloud }
    /// Review jobs (kind `review` or `adversarial-review`): what is reviewed and the findings.
    public var review: JobReview?
    /// Review jobs that looked at this job's worktree changes (`review --job`), oldest first.
    public var reviewJobIds: [String]?
    /// The group of best-of-N attempts this job is one of (`task --runs N`); nil otherwise.
    public var groupId: String?
    /// This job's number in its group, 1…N.
    public var attempt: Int?

    public var isTerminal: Bool { status.isTerminal }

    public init(
        id: String, status: JobStatus, phase: JobPhase, title: String, summary: String,
        workspaceRoot: String, cwd: String, sessionId: String?, write: Bool, background: Bool,
        model: String? = nil, effort: String? = nil, resumeThreadId: String? = nil, resumedFromJobId: String? = nil,
        threadId: String? = nil, turnId: String? = nil, pid: Int32? = nil, pidStartTime: Int64? = nil,
        appServerPid: Int32? = nil, createdAt: String, startedAt: String? = nil, completedAt: String? = nil,
        updatedAt: String, timeoutSeconds: Int, reason: JobEndReason? = nil, errorMessage: String? = nil,
        cancelRequestedAt: String? = nil, resultViewedAt: String? = nil, logFile: String, promptFile: String,
        result: JobResult? = nil, worktree: JobWorktree? = nil, cloud: JobCloud? = nil
    ) {
        self.id = id
        self.status = status
        self.phase = phase
        self.title = title
        self.summary = summary
        self.workspaceRoot = workspaceRoot
        self.cwd = cwd
        self.sessionId = sessionId
        self.write = write
        self.background = background
        self.model = model
        self.effort = effort
        self.resumeThreadId = resumeThreadId
        self.resumedFromJobId = resumedFromJobId
        self.threadId = threadId
        self.turnId = turnId
        self.pid = pid
        self.pidStartTime = pidStartTime
        self.appServerPid = appServerPid
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.updatedAt = updatedAt
        self.timeoutSeconds = timeoutSeconds
        self.reason = reason
        self.errorMessage = errorMessage
        self.cancelRequestedAt = cancelRequestedAt
        self.resultViewedAt = resultViewedAt
        self.logFile = logFile
        self.promptFile = promptFile
        self.result = result
        self.worktree = worktree
        self.cloud = cloud
    }
}

/// Group ids of best-of-N attempts: `group-<base36 milliseconds>-<4 base36 characters>`.
public enum GroupID {
    public static func make(milliseconds: Int64 = WallClock.nowMilliseconds()) -> String {
        "group-" + JobID.make(milliseconds: milliseconds).dropFirst("task-".count)
    }

    /// True for ids of this format (checked before an id is looked up).
    public static func isValid(_ id: String) -> Bool {
        id.hasPrefix("group-") && JobID.isValid("task-" + id.dropFirst("group-".count))
    }
}

/// Job ids: `task-<base36 milliseconds>-<4 base36 characters>`, lower case.
public enum JobID {
    public static func make(milliseconds: Int64 = WallClock.nowMilliseconds()) -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        var random = ""
        for _ in 0..<4 { random.append(alphabet[Int.random(in: 0..<36)]) }
        return "task-" + String(milliseconds, radix: 36) + "-" + random
    }

    /// True for ids of our own format (used before an id touches the file system).
    public static func isValid(_ id: String) -> Bool {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "task", (6...14).contains(parts[1].count), parts[2].count == 4 else {
            return false
        }
        return (parts[1] + parts[2]).utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) }
    }

    /// True for a string that may be the start of an id: only id characters, at most id length.
    public static func isValidPrefix(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 24 else { return false }
        return text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || $0 == 45 }
    }
}
