import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `adversarial-review [--uncommitted | --base <ref> | --commit <sha>] [focus…]`: a
/// challenge review through `turn/start` with an output schema, as a read-only job. The
/// prompt describes the change: small diffs inline, larger ones by stat and file list
/// with the git commands Codex runs itself in its read-only sandbox.
package enum AdversarialReviewCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let parsed = invocation.parsed
        let selection = try ReviewLaunch.selection(parsed)
        let focus = ReviewLaunch.focus(parsed)
        let scope = try ReviewLaunch.scope(selection, invocation: invocation)
        if scope.isEmpty { return ReviewLaunch.nothingToReview(scope) }
        let prompt = try prompt(for: scope, focus: focus)
        let store = try invocation.workspaceStore()
        let review = JobReview(mode: .adversarial, scope: scope, focus: focus)
        return try ReviewLaunch.start(invocation, review: review, store: store, prompt: prompt)
    }

    /// The whole prompt for `scope` (also used by the Stop-hook gate).
    package static func prompt(for scope: ReviewScope, focus: String?) throws -> String {
        let material: ReviewMaterial
        do {
            material = try ReviewMaterial.collect(scope, git: try GitClient())
        } catch let error as GitError {
            throw CompanionError.failure(.gitFailed, "collecting the changes to review failed: \(error.description)")
        }
        return ReviewPrompts.adversarial(target: scope.label, focus: focus, material: material.text)
    }
}
