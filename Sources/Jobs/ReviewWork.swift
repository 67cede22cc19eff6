import CompanionSystem
import CodexAppServer
import GitWorktrees
import JobStore

/// What the worker does differently for review jobs (kinds `review` and
/// `adversarial-review`): the operation it asks of the thread, and how the answer
/// becomes the job's review. They otherwise run exactly like tasks, always read-only.
public enum ReviewWork {
    /// What the worker asks of the thread for `record`.
    public static func operation(for record: JobRecord) -> TurnOperation {
        guard let review = record.review else { return .turn(outputSchema: nil) }
        switch review.mode {
        case .adversarial: return .turn(outputSchema: AdversarialSchema.outputSchema)
        case .native: return .review(target(review))
        }
    }

    /// The `review/start` target. Focus text, and a worktree job's base (a bare sha), go
    /// as custom instructions that describe the same target in words.
    public static func target(_ review: JobReview) -> ReviewTarget {
        let scope = review.scope
        let focus = review.focus.flatMap { ProgressText.trim($0).isEmpty ? nil : $0 }
        let words: String
        switch scope.kind {
        case .uncommitted:
            guard focus != nil else { return .uncommittedChanges }
            words = ReviewPrompts.uncommittedScope()
        case .base:
            let ref = scope.baseRef ?? "HEAD"
            if focus == nil && review.reviewedJobId == nil { return .baseBranch(ref) }
            words = ReviewPrompts.baseScope(ref: ref, mergeBase: scope.mergeBase ?? ref)
        case .commit:
            let sha = scope.commit ?? "HEAD"
            guard focus != nil else { return .commit(sha: sha, title: scope.commitTitle) }
            words = ReviewPrompts.commitScope(sha: sha, title: scope.commitTitle)
        }
        return .custom(
            instructions: focus.map { ReviewPrompts.nativeInstructions(scope: words, focus: $0) }
                ?? words + " Report prioritized, actionable findings.")
    }

    /// The job's review after the turn, and the ending it gives the job: an adversarial
    /// answer that breaks the schema fails the job (`invalid-output`) and keeps the raw text.
    public static func settle(_ record: JobRecord, outcome: TurnOutcome, ending: JobLifecycle.Ending)
        -> (review: JobReview?, ending: JobLifecycle.Ending)
    {
        guard var review = record.review else { return (nil, ending) }
        switch review.mode {
        case .native:
            let rendered = outcome.reviewText ?? outcome.finalMessage
            review.rawOutput = rendered
            guard ending == .completed else { return (review, ending) }
            review.record(
                native: outcome.review ?? NativeReviewReader.fromRenderedText(rendered ?? ""), rendered: rendered)
            return (review, ending)
        case .adversarial:
            review.rawOutput = outcome.finalMessage
            guard ending == .completed else { return (review, ending) }
            do {
                review.record(adversarial: try AdversarialSchema.parse(outcome.finalMessage), raw: outcome.finalMessage)
                return (review, ending)
            } catch {
                review.parseError = error.description
                let message =
                    "Codex's adversarial review is unusable: \(error.description). The raw answer is kept in the result."
                return (review, .failed(.invalidOutput, message))
            }
        }
    }
}
