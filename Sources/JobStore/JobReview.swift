import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees

/// A review job's request and, once it ended, what the review found (kept in the record).
public struct JobReview: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        /// Codex's built-in reviewer (`review/start`).
        case native = "review"
        /// A challenge review through `turn/start` with an output schema.
        case adversarial = "adversarial-review"
    }

    public var mode: Mode
    public var scope: ReviewScope
    /// The user's focus text, verbatim.
    public var focus: String?
    /// `review --job`: the worktree job whose changes are reviewed.
    public var reviewedJobId: String?
    /// `approve` or `needs-attention`; nil until the review produced a usable answer.
    public var verdict: String?
    public var summary: String?
    public var findings: [JobReviewFinding]?
    public var nextSteps: [String]?
    /// The model's answer exactly as it came (the rendered review for the built-in reviewer).
    public var rawOutput: String?
    /// Why the answer was not usable (adversarial output that breaks the schema).
    public var parseError: String?

    public init(mode: Mode, scope: ReviewScope, focus: String?, reviewedJobId: String? = nil) {
        self.mode = mode
        self.scope = scope
        self.focus = focus
        self.reviewedJobId = reviewedJobId
    }
}

/// One finding of either kind of review. Fields the kind does not have are nil
/// (`priority` for adversarial reviews, `severity` and `recommendation` for the built-in one).
public struct JobReviewFinding: Codable, Sendable, Equatable {
    public var title: String
    public var body: String
    /// Relative to the repository root (or the reviewed worktree's root).
    public var file: String?
    public var lineStart: Int?
    public var lineEnd: Int?
    public var priority: Int?
    public var severity: String?
    public var confidence: Double?
    public var recommendation: String?

    public init(
        title: String, body: String, file: String?, lineStart: Int?, lineEnd: Int?, priority: Int? = nil,
        severity: String? = nil, confidence: Double?, recommendation: String? = nil
    ) {
        self.title = title
        self.body = body
        self.file = file
        self.lineStart = lineStart
        self.lineEnd = lineEnd
        self.priority = priority
        self.severity = severity
        self.confidence = confidence
        self.recommendation = recommendation
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

extension JobReview {
    /// Fills in the built-in reviewer's answer.
    public mutating func record(native review: NativeReview, rendered: String?) {
        rawOutput = rendered
        summary = review.explanation
        findings = review.findings.map { finding in
            JobReviewFinding(
                title: finding.title, body: finding.body, file: finding.file.map(relative),
                lineStart: finding.lineStart,
                lineEnd: finding.lineEnd, priority: finding.priority, confidence: finding.confidence)
        }
        switch review.overallCorrectness?.lowercased() {
        case "patch is correct"?: verdict = "approve"
        case "patch is incorrect"?: verdict = "needs-attention"
        default: verdict = review.findings.isEmpty ? "approve" : "needs-attention"
        }
    }

    /// Fills in an adversarial review's validated answer.
    public mutating func record(adversarial review: AdversarialReview, raw: String?) {
        rawOutput = raw
        verdict = review.verdict.rawValue
        summary = review.summary
        nextSteps = review.nextSteps
        findings = review.findings.map { finding in
            JobReviewFinding(
                title: finding.title, body: finding.body, file: relative(finding.file), lineStart: finding.lineStart,
                lineEnd: finding.lineEnd, severity: finding.severity.rawValue, confidence: finding.confidence,
                recommendation: finding.recommendation)
        }
    }

    /// A path inside the reviewed root made relative to it; others unchanged.
    public func relative(_ path: String) -> String {
        let root = scope.repoRoot.hasSuffix("/") ? scope.repoRoot : scope.repoRoot + "/"
        if path.hasPrefix(root) { return String(path.dropFirst(root.count)) }
        if path.hasPrefix("./") { return String(path.dropFirst(2)) }
        return path
    }

    /// The findings, most urgent first (stable within one urgency).
    public var orderedFindings: [JobReviewFinding] {
        (findings ?? []).enumerated().sorted { ($0.element.urgency, $0.offset) < ($1.element.urgency, $1.offset) }
            .map(\.element)
    }
}
