import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees

/// Drops old finished jobs: only terminal ones whose result was shown, whose
/// worktree awaits no decision, and that finished longer ago than the retention age.
public enum Retention {
    public static let defaultDays = 7

    public static func days(environment: [String: String]) -> Int {
        if let text = environment["CODEX_COMPANION_RETENTION_DAYS"], let value = Int(text), value >= 0 { return value }
        return defaultDays
    }

    public static func isExpired(_ record: JobRecord, now: Int64, days: Int) -> Bool {
        guard record.status.isTerminal, record.resultViewedAt != nil else { return false }
        if let worktree = record.worktree, worktree.state.awaitsDecision { return false }
        guard let completed = record.completedAt.flatMap(Timestamp.milliseconds) else { return false }
        return now - completed > Int64(days) * 86_400_000
    }

    /// Removes expired jobs of one workspace. Returns the removed ids.
    @discardableResult
    public static func prune(_ store: WorkspaceStore, records: [JobRecord], days: Int) -> [String] {
        let now = WallClock.nowMilliseconds()
        var removed: [String] = []
        for record in records where isExpired(record, now: now, days: days) {
            // A job whose removal fails (lock or unreadable record) is kept for the next prune.
            let gone: Bool =
                (try? store.withLock { locked -> Bool in
                    guard let current = try locked.load(record.id), isExpired(current, now: now, days: days) else {
                        return false
                    }
                    locked.removeFiles(of: record.id)
                    return true
                }) ?? false
            if gone { removed.append(record.id) }
        }
        AtomicFile.sweepTemporaries(in: store.jobsDirectory)
        return removed
    }
}
