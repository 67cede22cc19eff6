import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `task`: create a job record, start the detached worker, and either print the job
/// id at once (`--background`) or follow the job until it ends (foreground).
///
/// Foreground tasks also run in a detached worker: if the caller is killed (Claude
/// Code's Bash time limit kills the whole process group), the work goes on and the
/// result stays reachable through `status` and `result`.
package enum TaskCommand {
    package static let defaultTimeoutSeconds = 1800

    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        if invocation.parsed.flag("--cloud") { return try CloudTaskCommand.run(invocation) }
        let parsed = invocation.parsed
        if parsed.value("--runs") != nil { return try TaskAttempts.run(invocation) }
        if !parsed.flag("--background") { ForegroundWaiter.prepare() }
        let resuming = parsed.flag("--resume-last") || parsed.flag("--resume") || parsed.value("--resume-thread") != nil
        var prompt = try readPrompt(invocation)
        if prompt == nil {
            guard resuming else {
                throw CompanionError.usage("no prompt: give the task as words, with --prompt-file <path>, or on stdin")
            }
            prompt = PromptText.continuePrompt
        }
        // Fail before anything is created when Codex is missing; the worker finds it again.
        _ = try CodexLocator.require(environment: invocation.environment)
        // Read first; the workspace's directory is created only once the task is accepted,
        // so a refused task (no repository, no commit, busy thread…) leaves no state behind.
        var store = try invocation.workspaceStoreForReading()
        var lifecycle = JobLifecycle(store: store)
        var existing = store.list()
        Retention.prune(store, records: existing, days: Retention.days(environment: invocation.environment))
        existing = existing.map(lifecycle.reconcile)

        let id = JobID.make()
        let (resumeThread, resumedFrom) = try pickThread(invocation, existing: existing, store: store)
        let placement = try placeWorktree(invocation, jobId: id, resumedFrom: resumedFrom, store: store)
        do {
            store = try invocation.workspaceStore()
        } catch {
            // The worktree was made for this call a moment ago and holds nothing yet: undo it, report the first error.
            if let info = placement.worktree?.info, placement.createdWorktree { try? WorktreeOperations.discard(info) }
            throw error
        }
        lifecycle = JobLifecycle(store: store)
        if let info = placement.worktree?.info, placement.createdWorktree {
            store.appendEvent("created", jobId: id, worktree: info, detail: baseDescription(info))
        }
        let record = makeRecord(
            invocation, id: id, prompt: prompt ?? "", store: store, placement: placement,
            resumeThread: resumeThread, resumedFrom: resumedFrom)
        try claim(record, prompt: prompt ?? "", lifecycle: lifecycle, placement: placement)
        if let previous = resumedFrom, previous.worktree != nil, let worktree = record.worktree {
            // The resumed worktree is this job's now: locked again, and the old job points here.
            do { try WorktreeOperations.lock(worktree.info, jobId: id) } catch {
                invocation.warn("warning: could not lock worktree \(worktree.info.path): \(error)")
            }
            do {
                try lifecycle.moveWorktree(previous.id, to: .continued) { old in
                    old.continuedBy = id
                    old.outcome = "continued by job \(id) in the same worktree"
                }
            } catch {
                invocation.warn("warning: could not mark job \(previous.id)'s worktree as continued: \(error)")
            }
        }
        store.appendLog(id, creationLine(record))
        let workerPID = try WorkerLauncher.start(
            jobId: id, lifecycle: lifecycle, executable: invocation.context.executablePath,
            environment: invocation.environment)
        if parsed.flag("--background") { return backgroundOutput(record, store: store) }
        return try ForegroundWaiter.follow(jobId: id, workerPID: workerPID, store: store, invocation: invocation)
    }

    /// `--timeout`, else `CODEX_COMPANION_JOB_TIMEOUT`, else the default.
    package static func timeoutSeconds(_ invocation: Invocation) -> Int {
        Int(invocation.parsed.value("--timeout") ?? "")
            ?? Int(invocation.environment["CODEX_COMPANION_JOB_TIMEOUT"] ?? "").flatMap { $0 > 0 ? $0 : nil }
            ?? defaultTimeoutSeconds
    }

    /// `--base <ref>`, else a snapshot of the user's working tree.
    package static func worktreeStart(_ parsed: ParsedCommand) -> WorktreeStart {
        parsed.value("--base").map { .ref($0) } ?? .workingTree
    }

    /// How a worktree started, for events and Markdown.
    package static func baseDescription(_ info: WorktreeInfo) -> String {
        guard let snapshot = info.snapshot else { return "base \(info.baseRef) \(info.baseCommit)" }
        if snapshot.isClean { return "base: your working tree, clean at HEAD \(snapshot.head)" }
        return
            "base: snapshot \(snapshot.commit) of your working tree (HEAD \(snapshot.head) + \(snapshot.paths.count) changed or untracked path\(snapshot.paths.count == 1 ? "" : "s"))"
    }

    /// The thread to continue, and the job it comes from.
    static func pickThread(
        _ invocation: Invocation, existing: [JobRecord], store: WorkspaceStore
    ) throws -> (String?, JobRecord?) {
        let parsed = invocation.parsed
        if let thread = parsed.value("--resume-thread") {
            return (thread, existing.filter { $0.threadId == thread }.max { $0.createdAt < $1.createdAt })
        }
        guard parsed.flag("--resume-last") || parsed.flag("--resume") else { return (nil, nil) }
        guard let candidate = ResumeCandidates.find(in: existing, sessionId: invocation.sessionId) else {
            throw CompanionError.failure(
                .noResumeCandidate,
                "there is no earlier Codex task thread in \(store.root) to resume; start a fresh task instead")
        }
        return (candidate.threadId, candidate)
    }

    /// Where the job runs: the resumed job's worktree while it exists, a new worktree, or
    /// the invocation's directory.
    struct Placement {
        var worktree: JobWorktree?
        var directory: String
        var createdWorktree: Bool
    }

    static func placeWorktree(
        _ invocation: Invocation, jobId id: String, resumedFrom: JobRecord?, store: WorkspaceStore
    ) throws -> Placement {
        if let previous = resumedFrom?.worktree, previous.state.awaitsDecision || previous.state == .continued,
            FileSystem.isDirectory(previous.info.path)
        {
            let worktree = JobWorktree(info: previous.info, state: .active, updatedAt: Timestamp.now())
            return Placement(worktree: worktree, directory: previous.info.path, createdWorktree: false)
        }
        guard invocation.parsed.flag("--worktree") else {
            return Placement(worktree: nil, directory: invocation.cwd, createdWorktree: false)
        }
        let info: WorktreeInfo
        do {
            info = try WorktreeOperations.create(
                fromDirectory: invocation.cwd, jobId: id, start: worktreeStart(invocation.parsed),
                git: GitClient(base: invocation.environment))
        } catch {
            throw CompanionError.wrap(error, doing: "creating the worktree")
        }
        let worktree = JobWorktree(info: info, state: .active, updatedAt: Timestamp.now())
        return Placement(worktree: worktree, directory: info.path, createdWorktree: true)
    }

    static func makeRecord(
        _ invocation: Invocation, id: String, prompt text: String, store: WorkspaceStore, placement: Placement,
        resumeThread: String?, resumedFrom: JobRecord?
    ) -> JobRecord {
        let parsed = invocation.parsed
        let timeout = timeoutSeconds(invocation)
        let now = Timestamp.now()
        return JobRecord(
            id: id, status: .queued, phase: .queued,
            title: PromptText.shorten(text, to: 72), summary: PromptText.shorten(text, to: 200),
            workspaceRoot: store.root, cwd: placement.directory, sessionId: invocation.sessionId,
            write: parsed.flag("--write"), background: parsed.flag("--background"),
            model: parsed.value("--model"), effort: parsed.value("--effort"),
            resumeThreadId: resumeThread, resumedFromJobId: resumedFrom?.id,
            createdAt: now, updatedAt: now, timeoutSeconds: timeout,
            logFile: store.logPath(id), promptFile: store.promptPath(id), worktree: placement.worktree)
    }

    /// Writes the prompt and the queued record (claiming the thread). On failure nothing
    /// of the job is left: the prompt file goes, and a worktree made for it is discarded
    /// (it holds no work yet).
    static func claim(_ record: JobRecord, prompt: String, lifecycle: JobLifecycle, placement: Placement) throws {
        let store = lifecycle.store
        do {
            try AtomicFile.write(Array(prompt.utf8), to: store.promptPath(record.id))
            try lifecycle.create(record)
        } catch {
            if let info = placement.worktree?.info, placement.createdWorktree {
                do { try WorktreeOperations.discard(info) } catch {
                    store.appendLog(record.id, "Could not remove the unused worktree \(info.path): \(error)")
                }
            }
            // Best effort: a stray prompt file without a record is ignored by every listing.
            try? FileSystem.remove(store.promptPath(record.id))
            if error is JobError || error is StoreError { throw error }
            throw StoreError.wrapping(error, in: store.directory)
        }
        // The record owns the new worktree now; until here a crash leaves an abandoned creation
        // that prune removes (no worker has started, so nothing ran in it).
        if let info = placement.worktree?.info, placement.createdWorktree {
            do { try WorktreeOperations.finishCreation(info) } catch {
                throw CompanionError.wrap(error, doing: "recording the worktree's creation")
            }
        }
    }

    static func creationLine(_ record: JobRecord) -> String {
        var details = [record.write ? "write" : "read-only"]
        if record.worktree != nil { details.append("worktree \(record.cwd)") }
        if let thread = record.resumeThreadId { details.append("resuming thread \(thread)") }
        return "Job created (\(details.joined(separator: ", ")))."
    }

    static func backgroundOutput(_ record: JobRecord, store: WorkspaceStore) -> CommandOutput {
        let id = record.id
        let continuing = record.resumeThreadId.map { " (continuing thread `\($0)`)" } ?? ""
        let markdown = """
            Started Codex job `\(id)` in the background\(continuing).
            - check: `codex-companion status \(id)` (add `--wait` to block until it ends)
            - result: `codex-companion result \(id)`
            - cancel: `codex-companion cancel \(id)`
            """
        return CommandOutput(payload: QueuedTaskPayload(record, workspaceRoot: store.root), markdown: markdown)
    }

    /// The prompt from the words, else --prompt-file, else piped stdin; nil when none.
    package static func readPrompt(_ invocation: Invocation) throws(CompanionError) -> String? {
        let words = invocation.parsed.positionals.joined(separator: " ")
        if let path = invocation.parsed.value("--prompt-file") {
            if !words.trimmingWhitespace().isEmpty {
                throw .usage("give the prompt either as words or with --prompt-file, not both")
            }
            let absolute = Path.absolute(path, relativeTo: invocation.context.currentDirectory)
            if FileSystem.isDirectory(absolute) {
                throw .usage("--prompt-file \(path) is a directory; pass a text file")
            }
            let bytes: [UInt8]?
            do { bytes = try FileSystem.read(absolute) } catch {
                throw .failure(.promptUnreadable, "cannot read --prompt-file \(path): \(error.reason)")
            }
            guard let bytes else { throw .usage("--prompt-file \(path): no such file") }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.trimmingWhitespace().isEmpty ? nil : text
        }
        if !words.trimmingWhitespace().isEmpty { return words }
        if let bytes = invocation.context.readStdin(), !bytes.isEmpty {
            let text = String(decoding: bytes, as: UTF8.self)
            return text.trimmingWhitespace().isEmpty ? nil : text
        }
        return nil
    }
}

extension String {
    package func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}

/// `task --background --json`: the queued job, its log and worktree.
package struct QueuedTaskPayload: Encodable, Sendable {
    let jobId: String
    let status = "queued"
    let title, summary, logFile, workspaceRoot: String
    /// The thread the job continues (`--resume-*`); null for a new thread.
    let threadId: String?
    let worktree: WorktreePayload?

    init(_ record: JobRecord, workspaceRoot: String) {
        (jobId, title, summary, logFile) = (record.id, record.title, record.summary, record.logFile)
        (self.workspaceRoot, threadId) = (workspaceRoot, record.resumeThreadId)
        worktree = record.worktree.map(WorktreePayload.init)
    }
}
