import CodexCloud
import CompanionJSON
import CompanionSystem
import GitWorktrees
import JobStore
import Jobs

/// Cloud jobs (backend `cloud`): a job record tracking one Codex Cloud task. There is no
/// worker process; every read path (`status`, `status --wait`, `result`, `worktree-cleanup`)
/// polls the service through the real `codex cloud` CLI, and the lifecycle owner
/// (`JobLifecycle.cloudObserved`) folds what it says into the record.
package enum CloudJobs {
    /// `CODEX_COMPANION_CLOUD_POLL_SECONDS` (default 5): the pause between polls while waiting.
    package static func pollInterval(_ environment: [String: String]) -> Double {
        Double(environment["CODEX_COMPANION_CLOUD_POLL_SECONDS"] ?? "").flatMap { $0 > 0 ? $0 : nil } ?? 5
    }

    /// A client for the Codex CLI (its version checked), running each call in the store's scratch area.
    package static func client(_ invocation: Invocation, store: WorkspaceStore) throws -> CloudClient {
        let codex = try CodexLocator.require(environment: invocation.environment)
        let timeout =
            Double(invocation.environment["CODEX_COMPANION_CLOUD_TIMEOUT"] ?? "").flatMap { $0 > 0 ? $0 : nil }
            ?? CloudClient.defaultTimeout
        do {
            return try CloudClient.connect(
                codex: codex, environment: invocation.environment, scratchRoot: store.directory + "/cloud-scratch",
                timeout: timeout)
        } catch {
            throw ErrorFunnel.report(for: error)
        }
    }

    /// Polls an active cloud job once and stores what changed. A failed poll leaves the job as
    /// it was (with `lastPollError`), warns, and is retried by the next read.
    /// - Parameter known: a client already made (its version checked) by the caller, if any.
    package static func refresh(
        _ record: JobRecord, store: WorkspaceStore, invocation: Invocation, client known: CloudClient? = nil
    ) -> JobRecord {
        guard let cloud = record.cloud, let taskId = cloud.taskId, record.status.isActive else { return record }
        let task: CloudTask
        do {
            task = try (known ?? client(invocation, store: store)).task(taskId)
        } catch {
            let message = ErrorFunnel.report(for: error).message
            invocation.warn("codex-companion: could not poll cloud task \(taskId): \(Printable.singleLine(message))")
            return JobLifecycle(store: store).cloudPollFailed(record.id, message: message) ?? record
        }
        let before = record.status
        let snapshot = CloudSnapshot(
            status: task.status.rawValue, title: task.title, filesChanged: task.summary.filesChanged,
            linesAdded: task.summary.linesAdded, linesRemoved: task.summary.linesRemoved,
            attemptTotal: task.attemptTotal)
        let result: JobRecord
        do {
            result = try JobLifecycle(store: store).cloudObserved(record.id, snapshot) ?? record
        } catch {
            // The service's answer is still shown; the record catches up on the next poll.
            invocation.warn("codex-companion: could not record cloud task \(taskId)'s state: \(error)")
            return record
        }
        if result.status != before {
            store.appendLog(record.id, "Cloud task \(taskId) is \(task.status.rawValue).")
        }
        return result
    }

    /// Polls until the job is terminal or `deadline` (monotonic seconds) passes.
    package static func wait(
        _ record: JobRecord, until deadline: Double, store: WorkspaceStore, invocation: Invocation
    ) -> (record: JobRecord, timedOut: Bool) {
        // One version check for the whole wait; without a client each poll reports the error itself.
        let known = record.status.isActive ? try? client(invocation, store: store) : nil
        var current = refresh(record, store: store, invocation: invocation, client: known)
        let interval = pollInterval(invocation.environment)
        while current.status.isActive {
            let left = deadline - MonotonicClock.now()
            if left <= 0 { return (current, true) }
            sleepSeconds(min(interval, left))
            current = refresh(store.load(record.id) ?? current, store: store, invocation: invocation, client: known)
        }
        return (current, false)
    }
}
