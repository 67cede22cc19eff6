import CodexCloud
import CompanionJSON
import CompanionSystem
import GitWorktrees
import JobStore
import Jobs

/// `task --cloud --env <id|label> [--attempts 1-4] [--branch <name>] [--background] prompt`:
/// submits the task to Codex Cloud with `codex cloud exec` and records a job of backend
/// `cloud`. The cloud builds from the branch as pushed, so whatever the local state holds
/// that is not pushed is named on stderr before anything is submitted.
package enum CloudTaskCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let parsed = invocation.parsed
        try validate(parsed)
        guard let prompt = try TaskCommand.readPrompt(invocation) else {
            throw CompanionError.usage("no prompt: give the task as words, with --prompt-file <path>, or on stdin")
        }
        let environment = parsed.value("--env")!
        let attempts = Int(parsed.value("--attempts") ?? "1")!
        let git: GitClient
        let repoRoot: String
        let publication: BranchPublication
        do {
            git = try GitClient(base: invocation.environment)
            repoRoot = try git.topLevel(of: invocation.cwd)
            publication = try git.publication(of: invocation.cwd, requested: parsed.value("--branch"))
        } catch {
            throw CompanionError.wrap(error, doing: "checking the branch for the cloud")
        }
        guard let branch = publication.branch else {
            throw CompanionError.usage("HEAD is detached: pass --branch <name> with a branch the cloud can check out")
        }
        for gap in publication.gaps {
            invocation.warn("codex-companion: warning: \(Printable.singleLine(gap.sentence))")
        }
        let base = try baseCommit(publication, branch: branch, repoRoot: repoRoot, git: git)
        let store = try invocation.workspaceStore()
        let client = try CloudJobs.client(invocation, store: store)
        let id = JobID.make()
        let record = newRecord(
            id: id, prompt: prompt, store: store, invocation: invocation,
            cloud: JobCloud(
                taskId: nil, url: nil, repoRoot: repoRoot, baseRef: base.ref, baseCommit: base.commit,
                environment: environment, branch: branch, attempts: attempts, remoteStatus: "pending",
                branchWarnings: publication.gaps.map(\.code)))
        do {
            try AtomicFile.write(Array(prompt.utf8), to: store.promptPath(id))
            try JobLifecycle(store: store).create(record)
        } catch {
            try? FileSystem.remove(store.promptPath(id))  // the prompt of a job that was never recorded
            throw StoreError.wrapping(error, in: store.directory)
        }
        store.appendLog(
            id, "Submitting to Codex Cloud (environment \(environment), branch \(branch), \(attempts) attempt(s)).")
        let submitted = try submit(
            CloudTaskRequest(environment: environment, branch: branch, attempts: attempts, prompt: prompt),
            jobId: id, client: client, store: store)
        if parsed.flag("--background") {
            return backgroundOutput(submitted, publication: publication, store: store)
        }
        return try foreground(submitted, store: store, invocation: invocation)
    }

    /// Options that mean nothing for a cloud task are usage errors, not silently ignored.
    package static func validate(_ parsed: ParsedCommand) throws(CompanionError) {
        for flag in ["--worktree", "--resume-last", "--resume", "--fresh", "--write"] where parsed.flag(flag) {
            throw .usage("\(flag) does not apply to --cloud (a cloud task always works on its own copy of the branch)")
        }
        for option in ["--base", "--resume-thread", "--model", "--effort"] where parsed.value(option) != nil {
            throw .usage("\(option) does not apply to --cloud")
        }
        guard let environment = parsed.value("--env"), !environment.trimmingWhitespace().isEmpty else {
            throw .usage("--cloud needs --env <id|label>: the Codex Cloud environment to run in")
        }
        if let attempts = parsed.value("--attempts") {
            guard let count = Int(attempts), CloudTaskRequest.attemptRange.contains(count) else {
                throw .usage("--attempts must be a number from 1 to 4, not \(Printable.clipped(attempts))")
            }
        }
        if let branch = parsed.value("--branch"), branch.isEmpty || branch.hasPrefix("-") {
            throw .usage("--branch needs a branch name")
        }
    }

    /// The commit the cloud's diff is based on: the pushed copy of the branch when there is
    /// one (what the cloud checks out), else the local branch.
    package static func baseCommit(
        _ publication: BranchPublication, branch: String, repoRoot: String, git: GitClient
    ) throws -> (ref: String, commit: String) {
        let candidates = [publication.upstream.map { "refs/remotes/" + $0 }, "refs/heads/" + branch, "HEAD"]
        for case let ref? in candidates {
            if let commit = try? git.commit(of: ref, in: repoRoot) {  // a ref that does not resolve: try the next
                return (ref == "HEAD" ? "HEAD" : (publication.upstream ?? branch), commit)
            }
        }
        throw CompanionError.failure(.gitFailed, "no commit to base the cloud task on in \(repoRoot)")
    }

    package static func newRecord(
        id: String, prompt: String, store: WorkspaceStore, invocation: Invocation, cloud: JobCloud
    ) -> JobRecord {
        let now = Timestamp.now()
        return JobRecord(
            id: id, status: .queued, phase: .queued, title: PromptText.shorten(prompt, to: 72),
            summary: PromptText.shorten(prompt, to: 200), workspaceRoot: store.root, cwd: invocation.cwd,
            sessionId: invocation.sessionId, write: true, background: invocation.parsed.flag("--background"),
            createdAt: now, updatedAt: now,
            timeoutSeconds: Int(invocation.parsed.value("--timeout") ?? "") ?? TaskCommand.defaultTimeoutSeconds,
            logFile: store.logPath(id), promptFile: store.promptPath(id),
            cloud: cloud)
    }

    /// `codex cloud exec`; the job fails with `submit-failed` (and its record stays) when it is refused.
    package static func submit(
        _ request: CloudTaskRequest, jobId: String, client: CloudClient, store: WorkspaceStore
    ) throws -> JobRecord {
        let submission: CloudSubmission
        do {
            submission = try client.exec(request)
        } catch {
            let report = ErrorFunnel.report(for: error)
            JobLifecycle(store: store).cloudSubmitFailed(jobId, message: report.message)
            store.appendLog(jobId, "Submission failed: \(report.message)")
            throw report
        }
        store.appendLog(jobId, "Cloud task \(submission.taskId) created: \(submission.url)")
        let updated = try JobLifecycle(store: store).cloudSubmitted(
            jobId, taskId: submission.taskId, url: submission.url)
        guard let updated else { throw StoreError.notFound(reference: jobId, stateRoot: store.directory) }
        return updated
    }

    package static func backgroundOutput(
        _ record: JobRecord, publication: BranchPublication, store: WorkspaceStore
    ) -> CommandOutput {
        var lines = [
            "Submitted Codex Cloud job `\(record.id)` (task \(record.cloud?.url ?? "?")) on branch `\(record.cloud?.branch ?? "?")`."
        ]
        lines += publication.gaps.map { "- **warning:** \($0.sentence)" }
        lines += [
            "- check: `codex-companion status \(record.id)` (add `--wait` to block until it ends)",
            "- result: `codex-companion result \(record.id)`",
            "- decide: `codex-companion worktree-cleanup \(record.id) --action keep|discard|branch`",
        ]
        let payload = SubmittedCloudPayload(record, workspaceRoot: store.root, gaps: publication.gaps)
        return CommandOutput(payload: payload, markdown: lines.joined(separator: "\n"))
    }

    /// Waits for the task (up to the job's timeout), then reports like `status <id>`; exit 1 unless completed.
    package static func foreground(_ record: JobRecord, store: WorkspaceStore, invocation: Invocation) throws
        -> CommandOutput
    {
        invocation.progress("codex-companion: cloud task \(record.cloud?.url ?? "") submitted; waiting for it")
        let deadline = MonotonicClock.now() + Double(record.timeoutSeconds)
        let (finished, timedOut) = CloudJobs.wait(record, until: deadline, store: store, invocation: invocation)
        let payload = FinishedCloudPayload(
            jobId: finished.id, status: finished.status, job: JobView.payload(finished, store: store),
            waitTimedOut: timedOut)
        var out = CommandOutput(
            payload: payload, markdown: StatusCommand.markdown(finished, store: store, waitTimedOut: timedOut))
        out.exitCode = finished.status == .completed ? ExitCode.success : ExitCode.failure
        return out
    }
}

/// `task --cloud --background --json`: the submitted job, its task, and the branch warnings.
package struct SubmittedCloudPayload: Encodable, Sendable {
    struct Warning: Encodable, Sendable {
        let code, message: String
    }

    let jobId: String
    let status: JobStatus
    let backend = JobBackend.cloud
    let title, summary, logFile, workspaceRoot: String
    let threadId: String? = nil
    let worktree: WorktreePayload? = nil
    let cloud: CloudPayload?
    let branchWarnings: [Warning]

    init(_ record: JobRecord, workspaceRoot: String, gaps: [BranchPublication.Gap]) {
        (jobId, status, title, summary) = (record.id, record.status, record.title, record.summary)
        (logFile, self.workspaceRoot, cloud) = (record.logFile, workspaceRoot, record.cloud.map(CloudPayload.init))
        branchWarnings = gaps.map { Warning(code: $0.code, message: $0.sentence) }
    }
}

/// `task --cloud --json` in the foreground: the job once the task ended (or the wait did).
package struct FinishedCloudPayload: Encodable, Sendable {
    let jobId: String
    let status: JobStatus
    let job: JobPayload
    let waitTimedOut: Bool
}
