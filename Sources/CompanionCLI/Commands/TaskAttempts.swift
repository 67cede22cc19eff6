import CompanionSystem
import CompanionJSON
import GitWorktrees
import JobStore
import Jobs

/// `task --write --worktree --runs N`: N independent attempts of one task. Each attempt is
/// an ordinary job (record, prompt, log, detached worker, worktree on `codex/<job-id>`) that
/// carries the group id and its attempt number; all N start from the same base (one snapshot
/// of the user's working tree, or `--base`). Workers take an attempt slot before their turn,
/// (`Jobs.AttemptSlots`), so only so many attempts of a workspace run at once; the rest wait queued.
package enum TaskAttempts {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let parsed = invocation.parsed
        let count = Int(parsed.value("--runs") ?? "") ?? 0
        guard let prompt = try TaskCommand.readPrompt(invocation) else {
            throw CompanionError.usage("no prompt: give the task as words, with --prompt-file <path>, or on stdin")
        }
        _ = try CodexLocator.require(environment: invocation.environment)
        let store = try invocation.workspaceStore()
        let existing = store.list()
        Retention.prune(store, records: existing, days: Retention.days(environment: invocation.environment))
        _ = Reconciler.reconcileAll(existing, in: store)

        let groupId = GroupID.make()
        var ids: [String] = []
        while ids.count < count {
            let id = JobID.make()
            if !ids.contains(id) && !FileSystem.exists(store.recordPath(id)) { ids.append(id) }
        }
        let infos: [WorktreeInfo]
        do {
            infos = try WorktreeOperations.createAll(
                fromDirectory: invocation.cwd, jobIds: ids, start: TaskCommand.worktreeStart(parsed),
                git: GitClient(base: invocation.environment))
        } catch {
            throw CompanionError.wrap(error, doing: "creating the attempts' worktrees")
        }
        let lifecycle = JobLifecycle(store: store)
        let records = try createRecords(
            ids: ids, infos: infos, groupId: groupId, prompt: prompt, lifecycle: lifecycle, invocation: invocation)
        for record in records {
            try WorkerLauncher.start(
                jobId: record.id, lifecycle: lifecycle, executable: invocation.context.executablePath,
                environment: invocation.environment)
        }
        if parsed.flag("--background") {
            let limit = AttemptSlots.limit(environment: invocation.environment)
            return started(groupId: groupId, records: records, store: store, parallelLimit: limit)
        }
        let finished = GroupWaiter.wait(groupId: groupId, store: store, invocation: invocation, deadline: nil)
        return AttemptGroupView.output(
            groupId: groupId, records: finished.records, store: store, invocation: invocation)
    }

    /// Writes every attempt's prompt and queued record; all or nothing.
    package static func createRecords(
        ids: [String], infos: [WorktreeInfo], groupId: String, prompt: String, lifecycle: JobLifecycle,
        invocation: Invocation
    ) throws -> [JobRecord] {
        let parsed = invocation.parsed
        let store = lifecycle.store
        let now = Timestamp.now()
        var records: [JobRecord] = []
        for (index, (id, info)) in zip(ids, infos).enumerated() {
            var record = JobRecord(
                id: id, status: .queued, phase: .queued,
                title: PromptText.shorten(prompt, to: 72), summary: PromptText.shorten(prompt, to: 200),
                workspaceRoot: store.root, cwd: info.path, sessionId: invocation.sessionId, write: true,
                background: parsed.flag("--background"), model: parsed.value("--model"),
                effort: parsed.value("--effort"), createdAt: now, updatedAt: now,
                timeoutSeconds: TaskCommand.timeoutSeconds(invocation), logFile: store.logPath(id),
                promptFile: store.promptPath(id),
                worktree: JobWorktree(info: info, state: .active, updatedAt: now))
            record.groupId = groupId
            record.attempt = index + 1
            records.append(record)
        }
        do {
            for record in records {
                try AtomicFile.write(Array(prompt.utf8), to: store.promptPath(record.id))
                try lifecycle.create(record)
            }
        } catch {
            // Undo what this call made (empty worktrees, new records); the first error is the one reported.
            for record in records {
                try? FileSystem.remove(store.promptPath(record.id))
                try? FileSystem.remove(store.recordPath(record.id))
            }
            for info in infos { try? WorktreeOperations.discard(info) }
            throw StoreError.wrapping(error, in: store.directory)
        }
        // The records own the new worktrees now: their creations are over.
        for info in infos {
            do { try WorktreeOperations.finishCreation(info) } catch {
                throw CompanionError.wrap(error, doing: "recording the worktrees' creation")
            }
        }
        for record in records {
            let info = record.worktree!.info
            let label = "attempt \(record.attempt!) of \(records.count) in \(groupId)"
            store.appendEvent(
                "created", jobId: record.id, worktree: info, detail: "\(label); " + TaskCommand.baseDescription(info))
            store.appendLog(record.id, "Job created (write, worktree \(info.path), \(label)).")
        }
        return records
    }

    package static func started(groupId: String, records: [JobRecord], store: WorkspaceStore, parallelLimit: Int)
        -> CommandOutput
    {
        let base = records.first?.worktree.map { TaskCommand.baseDescription($0.info) } ?? ""
        var lines = ["Started \(records.count) attempts of one task as group `\(groupId)` (\(base)):"]
        lines += records.map {
            "- attempt \($0.attempt ?? 0): job `\($0.id)` on branch `\($0.worktree?.info.branch ?? "")`"
        }
        lines += [
            "", "- follow: `codex-companion status \(groupId) --wait`",
            "- compare: `codex-companion compare \(groupId) [--check \"<test command>\"]`",
            "- keep one: `codex-companion worktree-cleanup <job-id> --action keep`; discard the rest: `codex-companion worktree-cleanup \(groupId) --action discard`",
        ]
        let payload = StartedGroupPayload(
            groupId: groupId, workspaceRoot: store.root, jobs: records.map(StartedGroupPayload.Attempt.init),
            parallelLimit: parallelLimit, base: base)
        return CommandOutput(payload: payload, markdown: lines.joined(separator: "\n"))
    }
}

/// `task --runs N --background --json`: the group and each attempt's job, branch and log.
package struct StartedGroupPayload: Encodable, Sendable {
    struct Attempt: Encodable, Sendable {
        let jobId: String
        let attempt: Int
        let status: JobStatus
        let branch, worktreePath: String?
        let logFile: String

        init(_ record: JobRecord) {
            (jobId, attempt, status) = (record.id, record.attempt ?? 0, record.status)
            (branch, worktreePath) = (record.worktree?.info.branch, record.worktree?.info.path)
            logFile = record.logFile
        }
    }

    let groupId, workspaceRoot: String
    let jobs: [Attempt]
    let parallelLimit: Int
    let base: String
}

/// Waits for every attempt of a group to end (or a deadline), reconciling dead workers.
package enum GroupWaiter {
    package static func wait(
        groupId: String, store: WorkspaceStore, invocation: Invocation, deadline: Double?
    ) -> (records: [JobRecord], timedOut: Bool) {
        var reported: Set<String> = []
        while true {
            let records = members(groupId, store: store)
            for record in records where record.status.isTerminal && !reported.contains(record.id) {
                reported.insert(record.id)
                if deadline == nil {
                    invocation.warn("attempt \(record.attempt ?? 0) (\(record.id)) \(record.status.rawValue)")
                }
            }
            if records.allSatisfy({ $0.status.isTerminal }) { return (records, false) }
            if let deadline, MonotonicClock.now() >= deadline { return (records, true) }
            sleepSeconds(0.2)
        }
    }

    package static func members(_ groupId: String, store: WorkspaceStore) -> [JobRecord] {
        store.list().filter { $0.groupId == groupId }.map { Reconciler.reconcile($0, in: store) }
            .sorted { ($0.attempt ?? 0) < ($1.attempt ?? 0) }
    }
}
