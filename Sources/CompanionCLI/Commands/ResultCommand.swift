import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `result [job-id]`: the final message, files touched, reasoning, how to resume.
package enum ResultCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        var (store, record) = try resolve(invocation)
        if record.cloud != nil {
            record = CloudJobs.refresh(record, store: store, invocation: invocation)
            record = CloudDecisions.withAttemptStats(record, store: store, invocation: invocation)
        }
        guard record.status.isTerminal else {
            throw CompanionError.failure(
                .jobRunning,
                "job \(record.id) is still \(record.status.rawValue); wait with codex-companion status \(record.id) --wait, then ask for the result again"
            )
        }
        // Marking the result as seen is bookkeeping: if the store refuses, the result is still shown.
        let shown =
            (try? store.update(record.id) { current in
                if current.resultViewedAt == nil { current.resultViewedAt = Timestamp.now() }
            }).flatMap { $0 } ?? record
        let preview = KeepPreviewView.compute(shown, store: store, environment: invocation.environment)
        let payload = ResultPayload(
            job: JobView.payload(shown, store: store), storedJob: JSONValue.from(shown), keepPreview: preview)
        let exit = shown.status == .completed ? ExitCode.success : ExitCode.failure
        return CommandOutput(payload: payload, markdown: markdown(shown, preview: preview), exitCode: exit)
    }

    /// The job named on the command line, else this session's newest finished job.
    package static func resolve(_ invocation: Invocation) throws -> (WorkspaceStore, JobRecord) {
        if let reference = invocation.parsed.positionals.first {
            let (store, record) = try invocation.lookup().find(reference)
            return (store, Reconciler.reconcile(record, in: store))
        }
        let store = try invocation.workspaceStoreForReading()
        let records = Reconciler.reconcileAll(store.list(), in: store)
            .filter { invocation.sessionId == nil || $0.sessionId == invocation.sessionId }
            .filter { $0.status.isTerminal }
            .sorted { ($0.completedAt ?? "") > ($1.completedAt ?? "") }
        guard let newest = records.first else {
            throw CompanionError.failure(
                .jobNotFound,
                "no finished job in this session for \(store.root); `/codex:status --all` (or `codex-companion status "
                    + "--all` in a terminal) lists the jobs of every session, and `/codex:result <job-id>` shows any of them"
            )
        }
        return (store, newest)
    }

    package static func markdown(_ record: JobRecord, preview: KeepPreview? = nil) -> String {
        var lines: [String] = []
        if let review = ReviewView.markdown(record) {
            lines = review
        } else {
            lines = statusLines(record)
        }
        if let reasoning = record.result?.reasoningSummary, !reasoning.isEmpty {
            lines += ["", "Reasoning summary:"]
            lines += reasoning.prefix(8).map { "- \($0)" }
        }
        lines += CloudDecisions.resultLines(record)
        if let worktree = record.worktree {
            lines += ["", record.cloud == nil ? "## Worktree" : "## Decision"]
            lines += WorktreeText.summary(worktree, jobId: record.id, preview: preview)
        }
        lines += ReviewView.reviewedBy(record)
        lines.append("")
        lines.append("Job `\(record.id)` · \(record.status.rawValue)")
        if let thread = record.threadId {
            lines.append("Codex session ID: `\(thread)`")
            lines.append(
                "Resume in Codex: `codex resume \(thread)` · continue here: `/codex:rescue --resume-thread \(thread) <next step>`"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// The final message or the failure, and the files touched.
    private static func statusLines(_ record: JobRecord) -> [String] {
        var lines: [String] = []
        switch record.status {
        case .completed:
            lines.append(
                Printable.neutralized(record.result?.finalMessage ?? "(Codex finished without a final message.)"))
        case .failed:
            lines.append(
                "**Codex job failed** (\(record.reason?.rawValue ?? "failed")): \(record.errorMessage ?? "no message")")
            if let message = record.result?.finalMessage { lines += ["", "Last message from Codex:", "", message] }
        case .cancelled:
            lines.append("**Codex job cancelled.** \(record.errorMessage ?? "")")
            if let message = record.result?.finalMessage { lines += ["", "Last message from Codex:", "", message] }
        case .queued, .running:
            break
        }
        if let files = record.result?.touchedFiles, !files.isEmpty {
            lines += ["", "Files touched:"]
            lines += files.map { "- `\($0)`" }
        }
        return lines
    }
}

/// Text shown for a job's worktree: where it stands and the exact commands to decide.
package enum WorktreeText {
    package static func summary(_ worktree: JobWorktree, jobId: String, preview: KeepPreview? = nil) -> [String] {
        var lines = [
            "- branch `\(worktree.info.branch)` from `\(worktree.info.baseRef)` (\(String(worktree.info.baseCommit.prefix(12)))) · state **\(worktree.state.rawValue)**"
        ]
        if let snapshot = worktree.info.snapshot, !snapshot.isClean {
            lines[0] =
                "- branch `\(worktree.info.branch)` from a snapshot of your working tree (`\(String(snapshot.commit.prefix(12)))`: HEAD `\(String(snapshot.head.prefix(12)))` + \(snapshot.paths.count) uncommitted or untracked path(s); keep applies only Codex's changes after it) · state **\(worktree.state.rawValue)**"
        }
        if let preview { lines.append("- \(preview.sentence)") }
        if let outcome = worktree.outcome { lines.append("- \(outcome)") }
        if let stat = worktree.diffStat, !stat.isEmpty {
            lines += ["", "```", stat.trimmingTrailingNewlines(), "```"]
        } else if worktree.state.awaitsDecision {
            lines.append("- no changes")
        }
        if let ignored = worktree.ignoredPaths, !ignored.isEmpty {
            lines.append(
                "- not captured (ignored by git): " + ignored.prefix(10).map { "`\($0)`" }.joined(separator: ", "))
        }
        if let conflicts = worktree.conflictPaths, !conflicts.isEmpty, worktree.state == .conflict {
            lines.append("- conflicting paths: " + conflicts.map { "`\($0)`" }.joined(separator: ", "))
        }
        if worktree.state.awaitsDecision && worktree.state != .active {
            let repo = ShellWords.quote(worktree.info.repoRoot)
            lines += [
                "",
                "Decide (nothing is lost until you discard):",
                "- keep (apply to your working tree): `codex-companion worktree-cleanup \(jobId) --action keep --cwd \(repo)`",
                "- keep as branch `\(worktree.info.branch)`: `codex-companion worktree-cleanup \(jobId) --action branch --cwd \(repo)`",
                "- discard: `codex-companion worktree-cleanup \(jobId) --action discard --cwd \(repo)`",
            ]
        }
        return lines
    }
}

extension String {
    package func trimmingTrailingNewlines() -> String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

/// `result --json`: the job object, the record exactly as stored (its nil fields left
/// out, as in `jobs/<id>.json`), and the keep preview.
package struct ResultPayload: Encodable, Sendable {
    let job: JobPayload
    let storedJob: JSONValue
    let keepPreview: KeepPreview?
}
