import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// Starting a review job from the command line (shared by both review subcommands).
package enum ReviewLaunch {
    /// The selection the target flags ask for. Usage errors for conflicting flags.
    package static func selection(_ parsed: ParsedCommand) throws(CompanionError) -> ReviewSelection {
        var chosen: [(String, ReviewSelection)] = []
        if parsed.flag("--uncommitted") { chosen.append(("--uncommitted", .uncommitted)) }
        if let base = parsed.value("--base") { chosen.append(("--base", .base(base))) }
        if let commit = parsed.value("--commit") { chosen.append(("--commit", .commit(commit))) }
        if parsed.value("--job") != nil { chosen.append(("--job", .automatic)) }
        if chosen.count > 1 {
            throw .usage("\(chosen.map(\.0).joined(separator: " and ")) cannot be combined; choose one thing to review")
        }
        for (flag, value) in [("--base", parsed.value("--base")), ("--commit", parsed.value("--commit"))] {
            if let value, value.isEmpty || value.hasPrefix("-") || value.contains("..") {
                throw .usage("\(flag) needs one branch, tag or commit, not '\(Printable.clipped(value))'")
            }
        }
        return chosen.first?.1 ?? .automatic
    }

    /// Resolves the scope, or throws the reason in the funnel's terms.
    package static func scope(_ selection: ReviewSelection, invocation: Invocation) throws -> ReviewScope {
        do {
            return try ReviewScopes.resolve(selection, in: invocation.cwd, git: try GitClient())
        } catch let error as GitError {
            throw CompanionError.failure(.gitFailed, error.description)
        }
    }

    /// Creates the job and starts its worker; follows it unless `--background`.
    package static func start(
        _ invocation: Invocation, review: JobReview, store: WorkspaceStore, prompt: String
    ) throws -> CommandOutput {
        _ = try CodexLocator.require(environment: invocation.environment)
        let parsed = invocation.parsed
        let id = JobID.make()
        let now = Timestamp.now()
        let title = (review.mode == .native ? "Review: " : "Adversarial review: ") + review.scope.label
        var record = JobRecord(
            id: id, status: .queued, phase: .queued, title: PromptText.shorten(title, to: 72),
            summary: PromptText.shorten(title + (review.focus.map { " — " + $0 } ?? ""), to: 200),
            workspaceRoot: store.root, cwd: review.scope.repoRoot, sessionId: invocation.sessionId, write: false,
            background: parsed.flag("--background"), model: parsed.value("--model"), effort: parsed.value("--effort"),
            createdAt: now, updatedAt: now, timeoutSeconds: timeout(invocation), logFile: store.logPath(id),
            promptFile: store.promptPath(id))
        record.kind = review.mode == .native ? JobKind.review : JobKind.adversarialReview
        record.review = review
        let lifecycle = JobLifecycle(store: store)
        do {
            try AtomicFile.write(Array(prompt.utf8), to: store.promptPath(id))
            try lifecycle.create(record)
        } catch {
            throw StoreError.wrapping(error, in: store.directory)
        }
        store.appendLog(id, "Review job created (\(review.mode.rawValue), read-only): \(review.scope.label).")
        let workerPID = try WorkerLauncher.start(
            jobId: id, lifecycle: lifecycle, executable: invocation.context.executablePath,
            environment: invocation.environment)
        guard parsed.flag("--background") else {
            return try ForegroundWaiter.follow(jobId: id, workerPID: workerPID, store: store, invocation: invocation)
        }
        let markdown = """
            Started Codex \(review.mode.rawValue) `\(id)` in the background (\(review.scope.label)).
            - check: `codex-companion status \(id)` (add `--wait` to block until it ends)
            - result: `codex-companion result \(id)`
            - cancel: `codex-companion cancel \(id)`
            """
        let payload = QueuedReviewPayload(
            jobId: id, kind: record.kind, title: record.title, logFile: record.logFile, workspaceRoot: store.root)
        return CommandOutput(payload: payload, markdown: markdown)
    }

    /// Nothing to review: a clear message, no job, no Codex turn.
    package static func nothingToReview(_ scope: ReviewScope) -> CommandOutput {
        let message = "Nothing to review in \(scope.repoRoot): \(scope.label) — no changes. Codex was not started."
        return CommandOutput(payload: NothingToReviewPayload(message: message), markdown: message)
    }

    package static func timeout(_ invocation: Invocation) -> Int {
        Int(invocation.parsed.value("--timeout") ?? "")
            ?? Int(invocation.environment["CODEX_COMPANION_JOB_TIMEOUT"] ?? "").flatMap { $0 > 0 ? $0 : nil }
            ?? TaskCommand.defaultTimeoutSeconds
    }

    /// The focus text from the words after the options (verbatim, joined by spaces).
    package static func focus(_ parsed: ParsedCommand) -> String? {
        let words = parsed.positionals.joined(separator: " ")
        return words.trimmingWhitespace().isEmpty ? nil : words
    }
}

/// `review --background --json`: the queued review job (its `review` is null until it ends).
package struct QueuedReviewPayload: Encodable, Sendable {
    let jobId: String
    let status = "queued"
    let kind: JobKind
    let title, logFile, workspaceRoot: String
    let review: ReviewPayload? = nil
}

/// `review --json` with nothing to review: no job was made and Codex was not started.
package struct NothingToReviewPayload: Encodable, Sendable {
    let jobId: String? = nil
    let status = "nothing-to-review"
    let review: ReviewPayload? = nil
    let message: String
}
