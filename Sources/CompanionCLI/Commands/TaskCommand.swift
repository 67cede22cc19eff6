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
        let parsed = invocation.parsed
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
        let store = try invocation.workspaceStore()
        var existing = store.list()
        Retention.prune(store, records: existing, days: Retention.days(environment: invocation.environment))
        existing = Reconciler.reconcileAll(existing, in: store)

        let id = JobID.make()
        var resumeThread: String? = parsed.value("--resume-thread")
        var resumedFrom: JobRecord? = nil
        if let thread = resumeThread {
            resumedFrom = existing.filter { $0.threadId == thread }.max { $0.createdAt < $1.createdAt }
        } else if resuming {
            guard let candidate = ResumeCandidates.find(in: existing, sessionId: invocation.sessionId) else {
                throw CompanionError.failure(
                    .noResumeCandidate,
                    "there is no earlier Codex task thread in \(store.root) to resume; start a fresh task instead")
            }
            resumeThread = candidate.threadId
            resumedFrom = candidate
        }
        if let thread = resumeThread, let busy = existing.first(where: { $0.threadId == thread && $0.status.isActive })
        {
            throw CompanionError.failure(
                .threadBusy,
                "job \(busy.id) is still running on thread \(thread); wait for it (codex-companion status \(busy.id) --wait) or cancel it first"
            )
        }

        // Worktree: a new one, or the one of the job being resumed while it exists.
        var worktree: JobWorktree? = nil
        var runDirectory = invocation.cwd
        if let previous = resumedFrom?.worktree, previous.state.awaitsDecision || previous.state == .continued,
            FileSystem.isDirectory(previous.info.path)
        {
            do { try WorktreeOperations.lock(previous.info, jobId: id) } catch {
                invocation.warn("warning: could not lock worktree \(previous.info.path): \(error)")
            }
            worktree = JobWorktree(info: previous.info, state: .active, updatedAt: Timestamp.now())
            runDirectory = previous.info.path
        } else if parsed.flag("--worktree") {
            let info: WorktreeInfo
            do {
                info = try WorktreeOperations.create(
                    fromDirectory: invocation.cwd, jobId: id, baseRef: parsed.value("--base"))
            } catch {
                throw CompanionError.wrap(error, doing: "creating the worktree")
            }
            worktree = JobWorktree(info: info, state: .active, updatedAt: Timestamp.now())
            runDirectory = info.path
            store.appendEvent("created", jobId: id, worktree: info, detail: "base \(info.baseRef) \(info.baseCommit)")
        }

        let timeout =
            Int(parsed.value("--timeout") ?? "")
            ?? Int(invocation.environment["CODEX_COMPANION_JOB_TIMEOUT"] ?? "").flatMap { $0 > 0 ? $0 : nil }
            ?? defaultTimeoutSeconds
        let now = Timestamp.now()
        let text = prompt ?? ""
        let record = JobRecord(
            id: id, status: .queued, phase: .queued,
            title: PromptText.shorten(text, to: 72), summary: PromptText.shorten(text, to: 200),
            workspaceRoot: store.root, cwd: runDirectory, sessionId: invocation.sessionId,
            write: parsed.flag("--write"), background: parsed.flag("--background"),
            model: parsed.value("--model"), effort: parsed.value("--effort"),
            resumeThreadId: resumeThread, resumedFromJobId: resumedFrom?.id,
            createdAt: now, updatedAt: now, timeoutSeconds: timeout,
            logFile: store.logPath(id), promptFile: store.promptPath(id), worktree: worktree)
        do {
            try AtomicFile.write(Array(text.utf8), to: store.promptPath(id))
            try JobLifecycle(store: store).create(record)
        } catch {
            if let info = worktree?.info, resumedFrom?.worktree == nil { try? WorktreeOperations.discard(info) }
            try? FileSystem.remove(store.promptPath(id))
            throw StoreError.wrapping(error, in: store.directory)
        }
        if let previous = resumedFrom, previous.worktree != nil, worktree != nil {
            _ = try? store.update(previous.id) { old in
                old.worktree?.state = .continued
                old.worktree?.continuedBy = id
                old.worktree?.outcome = "continued by job \(id) in the same worktree"
            }
        }
        store.appendLog(
            id,
            "Job created (\(record.write ? "write" : "read-only")\(worktree != nil ? ", worktree \(runDirectory)" : "")\(resumeThread.map { ", resuming thread \($0)" } ?? ""))."
        )

        let workerPID = try WorkerLauncher.start(
            jobId: id, lifecycle: JobLifecycle(store: store), executable: invocation.context.executablePath,
            environment: invocation.environment)

        if parsed.flag("--background") {
            let json: JSONValue = [
                "jobId": .string(id), "status": "queued", "title": .string(record.title),
                "summary": .string(record.summary), "logFile": .string(record.logFile),
                "workspaceRoot": .string(store.root),
                "threadId": .optional(resumeThread),
                "worktree": worktree.map { JobView.worktreeJSON($0) } ?? .null,
            ]
            let markdown = """
                Started Codex job `\(id)` in the background\(resumeThread != nil ? " (continuing thread `\(resumeThread!)`)" : "").
                - check: `codex-companion status \(id)` (add `--wait` to block until it ends)
                - result: `codex-companion result \(id)`
                - cancel: `codex-companion cancel \(id)`
                """
            return CommandOutput(json: json, markdown: markdown)
        }
        return try ForegroundWaiter.follow(jobId: id, workerPID: workerPID, store: store, invocation: invocation)
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
