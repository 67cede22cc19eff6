import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `worktree-cleanup <job-id> --action keep|discard|branch`: the user's decision about
/// a worktree job. Serialized per job by a lock file, idempotent (a repeat reports the
/// recorded outcome), and it never removes the only copy of the work.
package enum WorktreeCleanupCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let action = invocation.parsed.value("--action")!
        let reference = invocation.parsed.positionals[0]
        if GroupID.isValid(reference) { return try GroupCleanup.run(invocation, groupId: reference, action: action) }
        let (store, found) = try invocation.lookup().find(reference)
        return try decide(found.id, action: action, store: store, invocation: invocation)
    }

    /// One job's decision, under its cleanup lock.
    package static func decide(_ id: String, action: String, store: WorkspaceStore, invocation: Invocation) throws
        -> CommandOutput
    {
        let lock: FileLock
        do { lock = try FileLock(exclusive: store.cleanupLockPath(id)) } catch {
            throw StoreError.wrapping(error, in: store.directory)
        }
        return try withExtendedLifetime(lock) {
            guard let loaded = store.load(id) else {
                throw CompanionError.failure(
                    .jobUnreadable, "job \(id) could not be read; run codex-companion status --all")
            }
            var record = Reconciler.reconcile(loaded, in: store)
            if record.cloud != nil {
                record = CloudJobs.refresh(record, store: store, invocation: invocation)
                if record.worktree == nil { throw CloudCleanup.nothingToDecide(record) }
            }
            guard var worktree = record.worktree else {
                throw CompanionError.failure(
                    .noWorktree, "job \(id) did not run in a worktree; there is nothing to keep or discard")
            }
            if record.status.isActive {
                throw CompanionError.failure(
                    .jobRunning,
                    "job \(id) is still \(record.status.rawValue); wait for it (codex-companion status \(id) --wait) or cancel it first"
                )
            }
            if !FileSystem.isDirectory(worktree.info.repoRoot) && worktree.state.awaitsDecision {
                worktree = try relocate(worktree, jobId: id, store: store, invocation: invocation)
            }
            switch worktree.state {
            case .kept, .discarded, .branched:
                return try repeatOutcome(record, worktree: worktree, action: action, store: store)
            case .continued:
                throw CompanionError.failure(
                    .worktreeContinued,
                    "job \(worktree.continuedBy ?? "a later job") continued in this worktree; decide on that job instead"
                )
            case .active:
                throw CompanionError.failure(.jobRunning, "the worktree of job \(id) is still in use")
            case .keeping:
                worktree = try recover(worktree, jobId: id, store: store)
            case .ready, .conflict:
                break
            }
            if worktree.state == .kept {
                return try repeatOutcome(store.load(id) ?? record, worktree: worktree, action: action, store: store)
            }
            if record.cloud != nil, action != "discard" {
                let fetched = try CloudCleanup.fetch(worktree, record: record, store: store, invocation: invocation)
                if let refusal = fetched.refusal { return refusal }
                worktree = fetched.worktree
            }
            // keep and branch commit whatever the worktree holds now before they remove
            // it (the branch stays the durable copy); discard throws it away on purpose.
            switch action {
            case "keep": return try keep(worktree, record: record, store: store, invocation: invocation)
            default: return try release(worktree, action: action, record: record, store: store)
            }
        }
    }

    /// The repository was moved after the job: with `--cwd <new place>` the job's worktree
    /// is re-attached there (git worktree repair); without it, say how.
    package static func relocate(_ worktree: JobWorktree, jobId: String, store: WorkspaceStore, invocation: Invocation)
        throws -> JobWorktree
    {
        var updated = worktree
        do {
            let git = try GitClient(base: invocation.environment)
            guard try git.branchExists(worktree.info.branch, in: invocation.cwd) else {
                throw CompanionError.failure(.repositoryMoved, "no branch \(worktree.info.branch) here")
            }
            updated.info = try WorktreeOperations.relocate(worktree.info, to: invocation.cwd, git: git)
        } catch {
            throw CompanionError.failure(
                .repositoryMoved,
                "the repository of job \(jobId) is no longer at \(worktree.info.repoRoot) and \(invocation.cwd) is not it; if you moved it, run this again with --cwd <its new location>. The work is still on branch \(worktree.info.branch)"
            )
        }
        updated.outcome = "repository moved from \(worktree.info.repoRoot) to \(updated.info.repoRoot)"
        store.appendEvent("relocated", jobId: jobId, worktree: updated.info, detail: updated.outcome)
        try save(updated, jobId: jobId, store: store)
        return updated
    }

    /// Records the worktree's new state and facts through the lifecycle owner, which
    /// refuses a transition the stored state does not allow (someone else decided first).
    package static func save(_ worktree: JobWorktree, jobId: String, store: WorkspaceStore) throws {
        try JobLifecycle(store: store).moveWorktree(jobId, to: worktree.state) { stored in
            let state = stored.state
            stored = worktree
            stored.state = state
        }
    }

    package static func recover(_ worktree: JobWorktree, jobId: String, store: WorkspaceStore) throws -> JobWorktree {
        var updated = worktree
        let outcome = try WorktreeOperations.recoverInterruptedKeep(
            worktree.info, backupDirectory: store.keepBackupDirectory(jobId))
        switch outcome {
        case .completed:
            updated.state = .kept
            updated.outcome = "an interrupted keep had already applied every change; cleaned up"
        case .notApplied:
            updated.state = .ready
            updated.outcome = "an interrupted keep had not changed anything yet"
        case .rolledBack(_, let left) where !left.isEmpty:
            updated.state = .ready
            updated.outcome =
                "an interrupted keep was undone except for paths changed after it stopped, left as they are: \(left.joined(separator: ", "))"
        case .rolledBack:
            updated.state = .ready
            updated.outcome = "an interrupted keep was rolled back; your files are as they were before it"
        }
        store.appendEvent("recovered", jobId: jobId, worktree: worktree.info, detail: updated.outcome)
        try save(updated, jobId: jobId, store: store)
        // Paths that are the user's now: say so and stop, rather than act on a tree they changed.
        if case .rolledBack(_, let left) = outcome, !left.isEmpty {
            throw CompanionError.wrap(
                GitError.keepInterrupted(paths: left, branch: worktree.info.branch), doing: "recovering the keep")
        }
        return updated
    }

    package static func keep(_ worktree: JobWorktree, record: JobRecord, store: WorkspaceStore, invocation: Invocation)
        throws -> CommandOutput
    {
        let id = record.id
        var updated = worktree
        let previousState = worktree.state
        updated.state = .keeping
        try save(updated, jobId: id, store: store)
        let outcome: KeepOutcome
        do {
            outcome = try WorktreeOperations.keep(
                worktree.info, jobId: id, backupDirectory: store.keepBackupDirectory(id))
        } catch {
            updated.state = previousState
            // If this save fails too, the record stays `keeping` and the next cleanup recovers it.
            try? save(updated, jobId: id, store: store)
            store.appendEvent("failed", jobId: id, worktree: worktree.info, detail: "keep: \(error)")
            throw CompanionError.wrap(error, doing: "keeping the changes")
        }
        switch outcome {
        case .nothingToApply:
            updated.state = .kept
            updated.conflictPaths = nil
            updated.outcome = "nothing to apply (the turn changed nothing); worktree and branch removed"
            try save(updated, jobId: id, store: store)
            store.appendEvent("kept", jobId: id, worktree: worktree.info, detail: "no changes")
            return output(store.load(id) ?? record, action: "keep", store: store, exitCode: ExitCode.success)
        case .applied(let stat, let staged, let paths):
            updated.state = .kept
            updated.conflictPaths = nil
            updated.outcome =
                paths.isEmpty
                ? "nothing to apply (the turn changed nothing); worktree and branch removed"
                : "applied \(paths.count) path(s) to \(worktree.info.repoRoot)\(staged ? " (staged)" : " (unstaged: the index did not allow staging)"); worktree and branch removed"
            if !stat.isEmpty { updated.diffStat = stat }
            try save(updated, jobId: id, store: store)
            store.appendEvent("kept", jobId: id, worktree: worktree.info, detail: updated.outcome)
            return output(store.load(id) ?? record, action: "keep", store: store, exitCode: ExitCode.success)
        case .conflict(let paths, let detail):
            updated.state = .conflict
            updated.conflictPaths = paths
            updated.outcome =
                "the changes do not apply cleanly to your working tree (\(PromptText.shorten(detail, to: 160))); nothing was changed"
            try save(updated, jobId: id, store: store)
            store.appendEvent("conflict", jobId: id, worktree: worktree.info, detail: paths.joined(separator: ", "))
            let repo = ShellWords.quote(worktree.info.repoRoot)
            let message =
                "the changes of job \(id) conflict with your working tree in \(paths.joined(separator: ", ")); nothing was changed and the work is safe on \(worktree.info.branch). Keep it as a branch (codex-companion worktree-cleanup \(id) --action branch --cwd \(repo)) and merge it yourself, or make those files match HEAD and run keep again"
            var out = output(
                store.load(id) ?? record, action: "keep", store: store, exitCode: ExitCode.failure,
                error: ErrorPayload(.conflict, message))
            out.markdown += "\n\n**Conflict:** " + message
            invocation.warn("codex-companion: " + message)
            return out
        }
    }

    /// `discard` (worktree and branch removed) or `branch` (worktree removed, branch kept).
    package static func release(_ worktree: JobWorktree, action: String, record: JobRecord, store: WorkspaceStore)
        throws -> CommandOutput
    {
        let info = worktree.info
        let discarding = action == "discard"
        let (state, event, outcome, doing): (WorktreeState, String, String, String) =
            discarding
            ? (
                .discarded, "discarded", "worktree and branch \(info.branch) removed; the changes are gone",
                "discarding the worktree"
            )
            : (
                .branched, "branched", "worktree removed; the changes stay on branch \(info.branch)",
                "keeping the branch"
            )
        return try settle(
            worktree, record: record, store: store, action: action, state: state, event: event, outcome: outcome,
            doing: doing
        ) {
            if discarding {
                try WorktreeOperations.discard(info)
                return nil
            }
            return try WorktreeOperations.keepAsBranch(info)
        }
    }

    /// Runs one git-side decision (which may report a fresh capture), then records its
    /// state, outcome and event. A failure
    /// is logged as a `failed` event and leaves the recorded state as it was.
    package static func settle(
        _ worktree: JobWorktree, record: JobRecord, store: WorkspaceStore, action: String, state: WorktreeState,
        event: String, outcome: String, doing: String, _ operation: () throws -> WorktreeCapture?
    ) throws -> CommandOutput {
        let capture: WorktreeCapture?
        do { capture = try operation() } catch {
            store.appendEvent("failed", jobId: record.id, worktree: worktree.info, detail: "\(action): \(error)")
            throw CompanionError.wrap(error, doing: doing)
        }
        var updated = worktree
        updated.state = state
        updated.outcome = outcome
        if let capture {
            updated.capturedCommit = capture.head
            updated.diffStat = capture.diffStat
            updated.changedPaths = capture.changedPaths
            updated.ignoredPaths = capture.ignoredPaths
        }
        try save(updated, jobId: record.id, store: store)
        store.appendEvent(event, jobId: record.id, worktree: worktree.info)
        return output(store.load(record.id) ?? record, action: action, store: store, exitCode: ExitCode.success)
    }

    package static func repeatOutcome(_ record: JobRecord, worktree: JobWorktree, action: String, store: WorkspaceStore)
        throws -> CommandOutput
    {
        let done = ["keep": WorktreeState.kept, "discard": .discarded, "branch": .branched][action]
        if worktree.state != done {
            throw CompanionError.failure(
                .alreadyDecided,
                "job \(record.id)'s worktree was already \(worktree.state.rawValue) (\(worktree.outcome ?? "")); it cannot be \(["keep": "kept", "discard": "discarded"][action] ?? "kept as a branch") now"
            )
        }
        var out = output(record, action: action, store: store, exitCode: ExitCode.success)
        out.markdown = "Already done: " + out.markdown
        return out
    }

    package static func output(
        _ record: JobRecord, action: String, store: WorkspaceStore, exitCode: Int32, error: ErrorPayload? = nil
    ) -> CommandOutput {
        let worktree = record.worktree!
        let instructions =
            worktree.state == .branched || worktree.state == .conflict
            ? WorktreeOperations.branchCommands(worktree.info) : []
        let payload = DecisionPayload(
            jobId: record.id, action: action, worktreeState: worktree.state, outcome: worktree.outcome,
            branch: worktree.info.branch, repoRoot: worktree.info.repoRoot, worktreePath: worktree.info.path,
            diffStat: worktree.diffStat, conflictPaths: worktree.conflictPaths ?? [], instructions: instructions,
            job: JobView.payload(record, store: store))
        var lines = ["Worktree of job `\(record.id)`: **\(worktree.state.rawValue)** — \(worktree.outcome ?? "")"]
        if let stat = worktree.diffStat, !stat.isEmpty { lines += ["", "```", stat.trimmingTrailingNewlines(), "```"] }
        if !instructions.isEmpty {
            lines += ["", "Branch `\(worktree.info.branch)`:"] + instructions.map { "- `\($0)`" }
        }
        return CommandOutput(
            payload: Extended(payload, error), markdown: lines.joined(separator: "\n"), exitCode: exitCode)
    }
}

/// `worktree-cleanup <job> --json`: the decision taken and where the worktree stands.
package struct DecisionPayload: Encodable, Sendable {
    let jobId, action: String
    let worktreeState: WorktreeState
    let outcome: String?
    let branch, repoRoot, worktreePath: String
    let diffStat: String?
    let conflictPaths, instructions: [String]
    let job: JobPayload
}

/// `worktree list|prune [--dry-run]`: companion worktrees of this repository and their orphans.
package enum WorktreeCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let repoRoot: String
        do { repoRoot = try GitClient(base: invocation.environment).topLevel(of: invocation.cwd) } catch {
            throw CompanionError.wrap(error, doing: "finding the repository")
        }
        var jobs: [String: WorktreeInfo] = [:]
        var records: [String: JobRecord] = [:]
        for (store, record) in invocation.lookup().all() {
            guard let worktree = record.worktree, worktree.info.repoRoot == repoRoot else { continue }
            let current = Reconciler.reconcile(record, in: store)
            records[record.id] = current
            if current.worktree?.state.awaitsDecision == true || current.worktree?.state == .continued {
                jobs[record.id] = worktree.info
            }
        }
        if invocation.parsed.positionals.first == "prune" {
            let dryRun = invocation.parsed.flag("--dry-run")
            let report: PruneReport
            do { report = try WorktreeOperations.prune(repoRoot: repoRoot, jobs: jobs, dryRun: dryRun) } catch {
                throw CompanionError.wrap(error, doing: "pruning worktrees")
            }
            let store: WorkspaceStore?
            do { store = dryRun ? nil : try invocation.workspaceStore() } catch {
                store = nil
                invocation.warn("codex-companion: pruned, but the events could not be recorded: \(error)")
            }
            if let store {
                for item in report.removed {
                    store.appendEvent(
                        WorktreeEvent(
                            event: "pruned", jobId: item.id ?? "-", worktree: item.kind == .branch ? nil : item.name,
                            branch: item.kind == .branch ? item.name : nil, detail: item.reason))
                }
            }
            return PruneRendering.output(report, repoRoot: repoRoot, dryRun: dryRun)
        }
        let inventory: WorktreeInventory
        do { inventory = try WorktreeOperations.inventory(repoRoot: repoRoot, jobs: jobs) } catch {
            throw CompanionError.wrap(error, doing: "listing worktrees")
        }
        return InventoryRendering.output(inventory, records: records, repoRoot: repoRoot)
    }
}
