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

/// One finding of either kind of review, as a review job's record keeps it (its file made
/// relative to the reviewed root).
public typealias JobReviewFinding = ReviewFinding

extension JobReview {
    /// Fills in the built-in reviewer's answer.
    public mutating func record(native review: NativeReview, rendered: String?) {
        rawOutput = rendered
        summary = review.explanation
        findings = review.findings.map(relativeFile)
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
        findings = review.findings.map { relativeFile(ReviewFinding($0)) }
    }

    /// `finding` with its file made relative to the reviewed root.
    private func relativeFile(_ finding: ReviewFinding) -> ReviewFinding {
        var finding = finding
        finding.file = finding.file.map(relative)
        return finding
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
