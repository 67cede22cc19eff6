import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `status [job-id] [--all] [--wait] [--timeout-ms <ms>]`
package enum StatusCommand {
    /// 100 s: a `status --wait` returns well inside Claude Code's 2-minute Bash limit.
    package static let defaultWaitMilliseconds = 100_000
    package static let recentLimit = 10

    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        if let reference = invocation.parsed.positionals.first {
            return try single(invocation, reference: reference)
        }
        return try overview(invocation)
    }

    package static func group(_ invocation: Invocation, groupId: String) throws -> CommandOutput {
        guard let (store, _) = invocation.lookup().findGroup(groupId) else {
            throw CompanionError.failure(
                .jobNotFound,
                "no attempts of group \(groupId) in \(invocation.stateRoot); run codex-companion status --all")
        }
        var deadline: Double? = nil
        if invocation.parsed.flag("--wait") {
            let limit = Int(invocation.parsed.value("--timeout-ms") ?? "") ?? defaultWaitMilliseconds
            deadline = MonotonicClock.now() + Double(limit) / 1000
        }
        let waited = GroupWaiter.wait(
            groupId: groupId, store: store, invocation: invocation, deadline: deadline ?? MonotonicClock.now())
        return AttemptGroupView.output(
            groupId: groupId, records: waited.records, store: store, invocation: invocation,
            waitTimedOut: deadline == nil ? nil : waited.timedOut)
    }

    package static func single(_ invocation: Invocation, reference: String) throws -> CommandOutput {
        if GroupID.isValid(reference) { return try group(invocation, groupId: reference) }
        let (store, found) = try invocation.lookup().find(reference)
        var record = Reconciler.reconcile(found, in: store)
        var waitTimedOut: Bool? = nil
        if record.cloud != nil {
            let limit = Int(invocation.parsed.value("--timeout-ms") ?? "") ?? defaultWaitMilliseconds
            let wait = invocation.parsed.flag("--wait") ? Double(limit) / 1000 : 0
            let polled = CloudJobs.wait(
                record, until: MonotonicClock.now() + wait, store: store, invocation: invocation)
            record = polled.record
            if invocation.parsed.flag("--wait") { waitTimedOut = polled.timedOut }
        } else if invocation.parsed.flag("--wait") {
            let limit = Int(invocation.parsed.value("--timeout-ms") ?? "") ?? defaultWaitMilliseconds
            let deadline = MonotonicClock.now() + Double(limit) / 1000
            waitTimedOut = false
            while record.status.isActive {
                if MonotonicClock.now() >= deadline {
                    waitTimedOut = true
                    break
                }
                sleepSeconds(min(0.1, max(0.005, deadline - MonotonicClock.now())))
                guard let next = store.load(record.id) else { break }
                record = Reconciler.reconcile(next, in: store)
            }
        }
        let preview = KeepPreviewView.compute(record, store: store, environment: invocation.environment)
        let payload = Extended(
            JobAndPreview(job: JobView.payload(record, store: store), keepPreview: preview),
            waitTimedOut.map(WaitTimedOut.init))
        return CommandOutput(
            payload: payload, markdown: markdown(record, store: store, waitTimedOut: waitTimedOut, preview: preview))
    }

    package static func markdown(
        _ record: JobRecord, store: WorkspaceStore, waitTimedOut: Bool?, preview: KeepPreview? = nil
    ) -> String {
        let now = WallClock.nowMilliseconds()
        var lines = ["## Codex job `\(record.id)`", "", JobView.bullet(record, now: now)]
        if let thread = record.threadId { lines.append("- thread: `\(thread)`") }
        if let group = record.groupId { lines.append("- attempt \(record.attempt ?? 0) of group `\(group)`") }
        if let info = record.worktree?.info { lines.append("- worktree " + TaskCommand.baseDescription(info)) }
        if let preview { lines.append("- \(preview.sentence)") }
        let preview = JobView.progressPreview(record.id, in: store)
        if !preview.isEmpty {
            lines += ["", "Recent progress:"]
            lines += preview.map { "> \($0)" }
        }
        lines.append("")
        if record.status.isActive {
            if waitTimedOut == true {
                lines.append(
                    "Still \(record.status.rawValue) after the wait; check again with `codex-companion status \(record.id) --wait`."
                )
            }
            lines.append("Cancel with `codex-companion cancel \(record.id)`.")
        } else {
            lines.append("See the result with `codex-companion result \(record.id)`.")
        }
        return lines.joined(separator: "\n")
    }

    package static func overview(_ invocation: Invocation) throws -> CommandOutput {
        let store = try invocation.workspaceStoreForReading()
        let showAll = invocation.parsed.flag("--all") || invocation.sessionId == nil
        // List from summaries; decode in full only the jobs that are shown or may need
        // reconciling (every active one).
        var summaries = store.summaries()
        if !showAll { summaries = summaries.filter { $0.sessionId == invocation.sessionId } }
        let active = summaries.filter { $0.status.isActive }.compactMap { store.load($0.id) }.map {
            CloudJobs.refresh(Reconciler.reconcile($0, in: store), store: store, invocation: invocation)
        }
        let running = active.filter { $0.status.isActive }.sorted { $0.createdAt > $1.createdAt }
        let candidates = summaries.filter { $0.status.isTerminal }.sorted { $0.finishedKey > $1.finishedKey }.prefix(
            recentLimit + 1)
        let finished = (active.filter { $0.status.isTerminal } + candidates.compactMap { store.load($0.id) })
            .sorted { ($0.completedAt ?? $0.updatedAt) > ($1.completedAt ?? $1.updatedAt) }
        let latest = finished.first
        let recent = Array(finished.dropFirst().prefix(recentLimit))
        let records = summaries
        // Records the migration could not move out of the plugin's old state dir stay
        // there, and are still listed here.
        let leftovers =
            StateMigration.legacyRoot(environment: invocation.environment).flatMap {
                // An old state dir that cannot be read holds nothing to list (setup reports it).
                try? WorkspaceStore.openForReading(stateRoot: $0, workspaceRoot: store.root, warn: invocation.warn)
            }?.list() ?? []

        let job = { JobView.payload($0, store: store) }
        let payload = StatusPayload(
            workspaceRoot: store.root, sessionId: invocation.sessionId, scope: showAll ? "all-sessions" : "session",
            running: running.map(job), latestFinished: latest.map(job), recent: recent.map(job),
            totalJobs: records.count, notMigrated: leftovers.map(job))

        let now = WallClock.nowMilliseconds()
        var lines = ["## Codex jobs — \(showAll ? "all sessions" : "this session") in `\(store.root)`", ""]
        if records.isEmpty {
            lines.append(
                "No jobs yet. Start one with `/codex:rescue <task>` (or `codex-companion task --background <task>`).")
        }
        if !running.isEmpty {
            lines.append("### Running")
            for record in running {
                lines.append(JobView.bullet(record, now: now))
                for line in JobView.progressPreview(record.id, in: store, lines: 3) { lines.append("  > \(line)") }
            }
            lines.append("")
        }
        if let latest {
            lines += [
                "### Latest finished", JobView.bullet(latest, now: now),
                "  - result: `codex-companion result \(latest.id)`", "",
            ]
        }
        if !recent.isEmpty {
            lines.append("### Recent")
            lines += recent.map { JobView.bullet($0, now: now) }
        }
        if !leftovers.isEmpty {
            lines += ["", "### Not migrated (still in the plugin's old state directory; `/codex:setup` says why)"]
            lines += leftovers.map { JobView.bullet($0, now: now) }
        }
        return CommandOutput(payload: payload, markdown: lines.joined(separator: "\n"))
    }
}

/// `status --json`: this session's (or every session's) jobs in the workspace.
package struct StatusPayload: Encodable, Sendable {
    let workspaceRoot: String
    let sessionId: String?
    /// `session` or `all-sessions`.
    let scope: String
    let running: [JobPayload]
    let latestFinished: JobPayload?
    let recent: [JobPayload]
    let totalJobs: Int
    let notMigrated: [JobPayload]
}

/// `status <id> --json`: one job and its keep preview.
package struct JobAndPreview: Encodable, Sendable {
    let job: JobPayload
    let keepPreview: KeepPreview?
}
