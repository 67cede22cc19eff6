import CompanionSystem
import CompanionJSON

/// What a run asks of the thread once it is ready.
public enum TurnOperation: Sendable, Equatable {
    /// `turn/start` with the request's prompt. A non-nil `outputSchema` is sent as is and
    /// asks the model for JSON of that shape (Codex itself does not check the answer).
    case turn(outputSchema: JSONValue?)
    /// `review/start` with `delivery: "inline"`: Codex's built-in reviewer on this thread,
    /// with the thread's model, effort and sandbox. The request's prompt is not used.
    case review(ReviewTarget)

    public var isReview: Bool {
        if case .review = self { return true }
        return false
    }
}

/// What Codex's built-in reviewer looks at: the `target` of `review/start`.
///
/// Codex checks almost nothing (a clean tree still runs a model turn, an unknown branch or
/// sha is accepted), so callers resolve refs and make sure there is something to review first.
public enum ReviewTarget: Sendable, Equatable {
    /// Staged, unstaged and untracked changes.
    case uncommittedChanges
    /// The changes against a base branch (Codex finds the merge base itself).
    case baseBranch(String)
    /// The changes one commit introduced.
    case commit(sha: String, title: String?)
    /// Free instructions, sent to the reviewer verbatim.
    case custom(instructions: String)

    /// The `target` object of `review/start`.
    public var params: JSONValue {
        switch self {
        case .uncommittedChanges:
            return ["type": "uncommittedChanges"]
        case .baseBranch(let branch):
            return ["type": "baseBranch", "branch": .string(branch)]
        case .commit(let sha, let title):
            var object: [String: JSONValue] = ["type": "commit", "sha": .string(sha)]
            if let title, !title.isEmpty { object["title"] = .string(title) }
            return .object(object)
        case .custom(let instructions):
            return ["type": "custom", "instructions": .string(instructions)]
        }
    }
}

/// One finding of either kind of review, normalised (a review job keeps them in its record
/// as `JobReviewFinding`). Fields the kind does not have are nil: `priority` for adversarial
/// reviews, `severity` and `recommendation` for Codex's built-in reviewer.
public struct ReviewFinding: Sendable, Equatable, Codable {
    /// The title without a leading `[P0]`…`[P3]` tag (that is `priority`).
    public var title: String
    public var body: String
    /// The path as the reviewer gave it (absolute in 0.147); callers make it repo-relative.
    public var file: String?
    public var lineStart: Int?
    public var lineEnd: Int?
    /// 0 (most urgent) to 3; nil when the reviewer gave none.
    public var priority: Int?
    /// An adversarial review's `AdversarialReview.Severity`, by its raw value.
    public var severity: String?
    /// 0…1; nil when only the rendered text was available.
    public var confidence: Double?
    public var recommendation: String?
}

extension ReviewFinding {
    /// An adversarial review's finding in the common shape.
    public init(_ finding: AdversarialReview.Finding) {
        self.init(
            title: finding.title, body: finding.body, file: finding.file, lineStart: finding.lineStart,
            lineEnd: finding.lineEnd, severity: finding.severity.rawValue, confidence: finding.confidence,
            recommendation: finding.recommendation)
    }

    /// Most urgent first: severity critical…low, then priority 0…3, unknown last.
    public var urgency: Int {
        if let severity, let rank = AdversarialReview.Severity(rawValue: severity)?.rank { return rank }
        return priority ?? 9
    }

    /// `file:start` or `file:start-end`; nil without a file.
    public var location: String? {
        guard let file else { return nil }
        guard let start = lineStart else { return file }
        guard let end = lineEnd, end != start else { return "\(file):\(start)" }
        return "\(file):\(start)-\(end)"
    }
}

/// What Codex's built-in reviewer concluded.
public struct NativeReview: Sendable, Equatable, Codable {
    /// Where the structure came from.
    public enum Source: String, Sendable, Codable {
        /// The `review_output` Codex stored in the thread's rollout file: every field.
        case rollout
        /// Parsed back from the rendered review text: no confidence, no overall verdict.
        case renderedText = "rendered-text"
    }

    public var findings: [ReviewFinding]
    /// `patch is correct` / `patch is incorrect` as the model said it; nil when unknown.
    public var overallCorrectness: String?
    public var explanation: String
    public var overallConfidence: Double?
    public var source: Source
}
