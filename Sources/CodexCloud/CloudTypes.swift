import CompanionJSON

/// A task's state on the service, as `codex cloud list --json` names it.
public enum CloudTaskStatus: String, Sendable, Codable, Equatable, CaseIterable {
    case pending
    case ready
    case applied
    case error

    /// Whether the task will not change any more on its own.
    public var isFinal: Bool { self != .pending }
}

/// Files and line counts of a task's (first attempt's) diff.
public struct CloudDiffSummary: Sendable, Codable, Equatable {
    public var filesChanged: Int
    public var linesAdded: Int
    public var linesRemoved: Int

    public init(filesChanged: Int, linesAdded: Int, linesRemoved: Int) {
        self.filesChanged = filesChanged
        self.linesAdded = linesAdded
        self.linesRemoved = linesRemoved
    }
}

/// One task as `codex cloud list --json` describes it. Encoded with the companion's own
/// (camelCase) field names; decoded from the CLI through `CloudListWire`.
public struct CloudTask: Sendable, Codable, Equatable {
    public var id: String
    public var url: String?
    public var title: String
    public var status: CloudTaskStatus
    public var updatedAt: String?
    public var environmentId: String?
    public var environmentLabel: String?
    public var summary: CloudDiffSummary
    public var isReview: Bool
    public var attemptTotal: Int
}

/// One page of `codex cloud list --json`.
public struct CloudTaskPage: Sendable, Equatable {
    public var tasks: [CloudTask]
    public var cursor: String?
}

/// What `codex cloud exec` answered: the task id and its URL.
public struct CloudSubmission: Sendable, Codable, Equatable {
    public var taskId: String
    public var url: String
}

/// What to submit with `codex cloud exec`.
public struct CloudTaskRequest: Sendable, Equatable {
    /// An environment id or label (the CLI matches ids first, then labels ignoring case).
    public var environment: String
    /// The branch the cloud checks out; always sent explicitly.
    public var branch: String
    /// 1–4 attempts (best-of-N on the service).
    public var attempts: Int
    public var prompt: String

    public init(environment: String, branch: String, attempts: Int = 1, prompt: String) {
        self.environment = environment
        self.branch = branch
        self.attempts = attempts
        self.prompt = prompt
    }

    public static let attemptRange = 1...4
}

/// The diff of one attempt, as `codex cloud diff --attempt N` printed it.
public struct CloudAttemptDiff: Sendable, Equatable {
    /// The CLI's attempt number (1-based; attempts without a diff are not numbered).
    public var attempt: Int
    /// The raw unified diff, exactly as printed.
    public var diff: [UInt8]
    public var stat: CloudDiffSummary
}

/// The JSON `codex cloud list --json` prints (codex-cli 0.147): snake_case, loose.
struct CloudListWire: Decodable {
    struct Summary: Decodable {
        var files_changed: Int?
        var lines_added: Int?
        var lines_removed: Int?
    }

    struct Task: Decodable {
        var id: String
        var url: String?
        var title: String?
        var status: String
        var updated_at: String?
        var environment_id: String?
        var environment_label: String?
        var summary: Summary?
        var is_review: Bool?
        var attempt_total: Int?
    }

    var tasks: [Task]
    var cursor: String?

    func page() throws(CloudError) -> CloudTaskPage {
        var result: [CloudTask] = []
        for task in tasks {
            guard let status = CloudTaskStatus(rawValue: task.status) else {
                throw .unparsableOutput(command: "codex cloud list --json", detail: "unknown status \(task.status)")
            }
            let summary = CloudDiffSummary(
                filesChanged: task.summary?.files_changed ?? 0, linesAdded: task.summary?.lines_added ?? 0,
                linesRemoved: task.summary?.lines_removed ?? 0)
            result.append(
                CloudTask(
                    id: task.id, url: task.url, title: task.title ?? "", status: status, updatedAt: task.updated_at,
                    environmentId: task.environment_id, environmentLabel: task.environment_label, summary: summary,
                    isReview: task.is_review ?? false, attemptTotal: max(task.attempt_total ?? 1, 1)))
        }
        return CloudTaskPage(tasks: result, cursor: cursor)
    }

    static func decode(_ bytes: [UInt8]) throws(CloudError) -> CloudTaskPage {
        let wire: CloudListWire
        do {
            wire = try JSONCoding.decode(CloudListWire.self, from: bytes)
        } catch {
            throw .unparsableOutput(command: "codex cloud list --json", detail: "\(error)")
        }
        return try wire.page()
    }
}

/// Counts a unified diff's files and lines the way `git diff --stat` does for text.
public enum DiffStatCounter {
    public static func summary(of diff: [UInt8]) -> CloudDiffSummary {
        var files = 0
        var added = 0
        var removed = 0
        var inHunk = false
        for line in diff.split(separator: 0x0A, omittingEmptySubsequences: false) {
            if line.starts(with: Array("diff --git ".utf8)) {
                files += 1
                inHunk = false
            } else if line.starts(with: Array("@@".utf8)) {
                inHunk = true
            } else if inHunk, line.first == UInt8(ascii: "+") {
                added += 1
            } else if inHunk, line.first == UInt8(ascii: "-") {
                removed += 1
            }
        }
        return CloudDiffSummary(filesChanged: files, linesAdded: added, linesRemoved: removed)
    }
}
