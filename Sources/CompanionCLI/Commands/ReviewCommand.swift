import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `review [--uncommitted | --base <ref> | --commit <sha> | --job <id>] [focus…]`: Codex's
/// built-in reviewer (`review/start`) as a tracked, read-only job. Without a target flag it
/// reviews the uncommitted changes when there are any, else the current branch against
/// its merge base with the default branch. `--job` reviews a finished worktree job's
/// branch against its base, before the user keeps it.
package enum ReviewCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let parsed = invocation.parsed
        let selection = try ReviewLaunch.selection(parsed)
        let focus = ReviewLaunch.focus(parsed)
        if let reference = parsed.value("--job") { return try reviewJob(reference, focus: focus, invocation) }
        let scope = try ReviewLaunch.scope(selection, invocation: invocation)
        if scope.isEmpty { return ReviewLaunch.nothingToReview(scope) }
        let store = try invocation.workspaceStore()
        let review = JobReview(mode: .native, scope: scope, focus: focus)
        return try ReviewLaunch.start(invocation, review: review, store: store, prompt: scope.label)
    }

    /// Reviews the changes a worktree job left on its branch; the job's record lists the review.
    private static func reviewJob(_ reference: String, focus: String?, _ invocation: Invocation) throws
        -> CommandOutput
    {
        let (store, found) = try invocation.lookup().find(reference)
        let job = Reconciler.reconcile(found, in: store)
        guard job.status.isTerminal else {
            throw CompanionError.failure(
                .jobRunning,
                "job \(job.id) is still \(job.status.rawValue); review it once it ended (codex-companion status \(job.id) --wait)"
            )
        }
        guard let worktree = job.worktree else {
            throw CompanionError.failure(
                .noWorktree, "job \(job.id) did not run in a worktree; review its changes with review --uncommitted")
        }
        guard worktree.state.awaitsDecision, FileSystem.isDirectory(worktree.info.path) else {
            throw CompanionError.failure(
                .alreadyDecided,
                "job \(job.id)'s worktree is \(worktree.state.rawValue) and its directory is gone; review \(worktree.info.branch) with review --base instead"
            )
        }
        let scope: ReviewScope
        do {
            scope = try ReviewScopes.worktreeJob(worktree.info, git: try GitClient())
        } catch let error as GitError {
            throw CompanionError.failure(.gitFailed, error.description)
        }
        if scope.isEmpty { return ReviewLaunch.nothingToReview(scope) }
        let review = JobReview(mode: .native, scope: scope, focus: focus, reviewedJobId: job.id)
        let output = try ReviewLaunch.start(invocation, review: review, store: store, prompt: scope.label)
        if let reviewId = output.json["jobId"]?.stringValue {
            _ = try store.update(job.id) { record in
                record.reviewJobIds = (record.reviewJobIds ?? []) + [reviewId]
            }
        }
        return output
    }
}
