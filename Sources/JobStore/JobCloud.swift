/// A job run on Codex Cloud (backend `cloud`): the remote task it tracks and what the
/// companion last saw of it. The work itself stays on the service until a decision
/// (`worktree-cleanup`) fetches one attempt's diff and commits it on `codex/<job-id>`.
public struct JobCloud: Codable, Sendable, Equatable {
    /// One attempt's diff as fetched for a decision or a result.
    public struct Attempt: Codable, Sendable, Equatable {
        public var attempt: Int
        public var filesChanged: Int
        public var linesAdded: Int
        public var linesRemoved: Int

        public init(attempt: Int, filesChanged: Int, linesAdded: Int, linesRemoved: Int) {
            self.attempt = attempt
            self.filesChanged = filesChanged
            self.linesAdded = linesAdded
            self.linesRemoved = linesRemoved
        }
    }

    /// nil until `codex cloud exec` answered (and for good when it failed).
    public var taskId: String?
    public var url: String?
    /// The repository the diff is for, and the commit it is based on: the pushed copy of
    /// the branch at submission (what the cloud checks out), else the local branch.
    public var repoRoot: String
    public var baseRef: String
    public var baseCommit: String
    /// What `--env` named (an id or a label).
    public var environment: String
    /// The branch the cloud checks out (sent explicitly with every submission).
    public var branch: String
    public var attempts: Int
    /// The service's status word: pending, ready, applied or error.
    public var remoteStatus: String
    public var remoteTitle: String?
    public var filesChanged: Int?
    public var linesAdded: Int?
    public var linesRemoved: Int?
    /// How many attempts the service reports.
    public var attemptTotal: Int?
    /// Per-attempt stats, filled by `result` and by decisions.
    public var attemptDiffs: [Attempt]?
    /// The attempt whose diff is (or will be) committed on the job branch.
    public var chosenAttempt: Int?
    /// Codes of the branch checks that warned at submission (`no-upstream`, …).
    public var branchWarnings: [String]
    public var lastPolledAt: String?
    /// The last error met while polling (the job keeps its state; the next poll retries).
    public var lastPollError: String?

    public init(
        taskId: String?, url: String?, repoRoot: String, baseRef: String, baseCommit: String, environment: String,
        branch: String, attempts: Int, remoteStatus: String, branchWarnings: [String]
    ) {
        self.taskId = taskId
        self.url = url
        self.repoRoot = repoRoot
        self.baseRef = baseRef
        self.baseCommit = baseCommit
        self.environment = environment
        self.branch = branch
        self.attempts = attempts
        self.remoteStatus = remoteStatus
        self.branchWarnings = branchWarnings
    }
}

/// What one poll of the service said about a cloud task (the status word is the service's:
/// pending, ready, applied or error).
public struct CloudSnapshot: Sendable, Equatable {
    public var status: String
    public var title: String
    public var filesChanged: Int
    public var linesAdded: Int
    public var linesRemoved: Int
    public var attemptTotal: Int

    public init(
        status: String, title: String, filesChanged: Int, linesAdded: Int, linesRemoved: Int, attemptTotal: Int
    ) {
        self.status = status
        self.title = title
        self.filesChanged = filesChanged
        self.linesAdded = linesAdded
        self.linesRemoved = linesRemoved
        self.attemptTotal = attemptTotal
    }

    public var isPending: Bool { status == "pending" }
    public var isError: Bool { status == "error" }
    public var statLine: String {
        "\(filesChanged) file\(filesChanged == 1 ? "" : "s") changed, +\(linesAdded)/-\(linesRemoved)"
    }
}
