import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore

/// How a review job's findings are shown in the Markdown (`ReviewPayload` is the `review`
/// object of `--json` payloads) of `review`, `adversarial-review` and `result`.
package enum ReviewView {
    /// The findings, most urgent first, each with `file:line`; nil when the job has no
    /// usable review (the generic failure text applies then).
    package static func markdown(_ record: JobRecord) -> [String]? {
        guard let review = record.review, record.status == .completed, let verdict = review.verdict else { return nil }
        let kind = review.mode == .native ? "Codex review" : "Codex adversarial review"
        var lines = ["## \(kind): \(Printable.singleLine(review.scope.label))", ""]
        lines.append("**Verdict: \(verdict)** — " + Printable.neutralized(review.summary ?? ""))
        let findings = review.orderedFindings
        if findings.isEmpty { lines += ["", "No findings."] }
        for (index, finding) in findings.enumerated() {
            let tag = finding.severity ?? finding.priority.map { "P\($0)" } ?? "—"
            let location = finding.location.map { " — `\(Printable.singleLine($0))`" } ?? ""
            lines += ["", "\(index + 1). [\(tag)] \(Printable.singleLine(finding.title))\(location)"]
            lines += indented(Printable.neutralized(finding.body))
            if let fix = finding.recommendation, !fix.isEmpty {
                lines += indented("Recommendation: " + Printable.neutralized(fix))
            }
        }
        if let steps = review.nextSteps, !steps.isEmpty {
            lines += ["", "Next steps:"] + steps.map { "- " + Printable.singleLine($0) }
        }
        if let reviewed = review.reviewedJobId {
            lines += [
                "",
                "Reviewed the worktree of job `\(reviewed)`; decide with `codex-companion worktree-cleanup \(reviewed) --action keep|discard|branch`.",
            ]
        }
        return lines
    }

    private static func indented(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "   " + $0 }
    }

    /// For a worktree job that was reviewed: which review jobs looked at it.
    package static func reviewedBy(_ record: JobRecord) -> [String] {
        guard let ids = record.reviewJobIds, !ids.isEmpty else { return [] }
        return ["", "Reviewed by: " + ids.map { "`\($0)` (`codex-companion result \($0)`)" }.joined(separator: ", ")]
    }
}
