import CompanionSystem
import JobStore

/// How many attempts of `task --runs` run at once in one workspace: flock'd slot files in
/// the workspace's state directory (released by the kernel when a worker dies, so a crash
/// never leaks a slot). A worker of an attempt holds one from before its turn to its exit.
public enum AttemptSlots {
    /// `CODEX_COMPANION_PARALLEL_ATTEMPTS`, else twice the processors (a turn mostly waits
    /// on the model), from 2 to 8.
    public static func limit(environment: [String: String]) -> Int {
        if let value = environment["CODEX_COMPANION_PARALLEL_ATTEMPTS"].flatMap({ Int($0) }), value > 0 {
            return min(value, 8)
        }
        return min(8, max(2, 2 * MachineFacts.processorCount))
    }

    /// Waits (queued) for a free slot of the job's workspace; nil when the job was cancelled
    /// or ended meanwhile (the lifecycle then settles it as usual).
    public static func wait(for jobId: String, lifecycle: JobLifecycle, environment: [String: String]) -> FileLock? {
        let store = lifecycle.store
        let limit = limit(environment: environment)
        // If it cannot be made, no slot lock opens and the job waits, queued, until cancelled.
        try? FileSystem.createDirectory(store.attemptSlotsDirectory, mode: 0o700)
        var announced = false
        while true {
            for slot in 0..<limit {
                // A slot that cannot be locked is busy.
                if let lock = try? FileLock.attempt(store.attemptSlotsDirectory + "/\(slot).lock") { return lock }
            }
            guard let record = store.load(jobId), record.status.isActive, record.cancelRequestedAt == nil else {
                return nil
            }
            if !announced {
                store.appendLog(jobId, "Waiting for a free attempt slot (at most \(limit) attempts run at once).")
                announced = true
            }
            sleepSeconds(0.2)
        }
    }
}
