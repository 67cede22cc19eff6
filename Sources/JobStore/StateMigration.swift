import CompanionSystem
import CompanionJSON

/// Moves job state from the plugin's old private state dir (`$CLAUDE_PLUGIN_DATA/state`)
/// into the one state root that terminal and plugin share. Record by record, under both
/// workspaces' locks: a record is moved only when the destination has none of that id,
/// so nothing is overwritten; one that cannot be moved stays where it was and is
/// reported, never deleted.
public enum StateMigration {
    public struct Report: Sendable, Equatable {
        public var moved: [String] = []
        /// "<path>: <why>" for every record left in the old directory.
        public var left: [String] = []
        public var isEmpty: Bool { moved.isEmpty && left.isEmpty }
        public init() {}
    }

    /// The state dir older plugin versions used, when the environment names one.
    public static func legacyRoot(environment: [String: String]) -> String? {
        if let data = environment["CLAUDE_PLUGIN_DATA"], data.hasPrefix("/") { return data + "/state" }
        if let runtime = environment["CODEX_COMPANION_RUNTIME_DIR"], runtime.hasPrefix("/") {
            return Path.dirname(runtime) + "/state"
        }
        return nil
    }

    public static func migrate(from legacy: String, to root: String, warn: @escaping WarningSink) -> Report {
        var report = Report()
        let legacyReal = FileSystem.realPath(legacy) ?? legacy
        guard FileSystem.isDirectory(legacy), legacyReal != (FileSystem.realPath(root) ?? root) else { return report }
        for old in WorkspaceStore.all(stateRoot: legacy, warn: warn) {
            migrateWorkspace(old, to: root, warn: warn, report: &report)
        }
        migrateSessions(from: legacy, to: root, report: &report)
        return report
    }

    private static func migrateWorkspace(
        _ old: WorkspaceStore, to root: String, warn: @escaping WarningSink, report: inout Report
    ) {
        let ids = old.ids()
        guard !ids.isEmpty else { return }
        let new: WorkspaceStore
        do {
            new = try WorkspaceStore.open(stateRoot: root, workspaceRoot: old.root, warn: warn)
        } catch {
            report.left += ids.map { "\(old.recordPath($0)): \(error)" }
            return
        }
        var moved: [String] = []
        var left: [String] = []
        do {
            try old.withLock { _ in
                try new.withLock { locked in
                    for id in ids {
                        if let why = moveRecord(id, from: old, to: new, locked: locked) {
                            left.append("\(old.recordPath(id)): \(why)")
                        } else {
                            moved.append(id)
                        }
                    }
                }
            }
        } catch {
            left += ids.filter { !moved.contains($0) }.map { "\(old.recordPath($0)): \(error)" }
        }
        report.moved += moved
        report.left += left
        // Events are moved only once appended here; if either step fails they stay in the old place.
        if FileSystem.exists(old.eventsPath), let events = (try? FileSystem.read(old.eventsPath)) ?? nil,
            !events.isEmpty
        {
            if (try? FileSystem.append(events, to: new.eventsPath)) != nil { try? FileSystem.remove(old.eventsPath) }
        }
        // Derived data: rebuilt from the records whenever it is missing.
        try? FileSystem.remove(old.directory + "/listing-cache.json")
    }

    /// Nil when moved; else why it stayed.
    private static func moveRecord(
        _ id: String, from old: WorkspaceStore, to new: WorkspaceStore, locked: LockedWorkspace
    ) -> String? {
        if FileSystem.exists(new.recordPath(id)) {
            return "a job with this id already exists in \(new.directory); kept both"
        }
        guard var record = (try? old.withLock { try $0.load(id) }) ?? nil else { return "the record does not parse" }
        // Side files first: a crash half-way leaves the record (and so the job) in the old place.
        for (from, to) in [
            (old.logPath(id), new.logPath(id)), (old.promptPath(id), new.promptPath(id)),
            (old.keepBackupDirectory(id), new.keepBackupDirectory(id)),
        ]
        where FileSystem.exists(from) && !FileSystem.exists(to) {
            do { try FileSystem.rename(from, to: to) } catch { return "could not move \(from): \(error)" }
        }
        record.logFile = new.logPath(id)
        record.promptFile = new.promptPath(id)
        do {
            try locked.create(record)
        } catch {
            return "could not write \(new.recordPath(id)): \(error)"
        }
        // Copied already: an old copy that cannot be removed is seen as "already exists" next
        // time and kept (status lists it as not migrated), so nothing is lost.
        try? FileSystem.remove(old.recordPath(id))
        try? FileSystem.remove(old.cleanupLockPath(id))
        return nil
    }

    private static func migrateSessions(from legacy: String, to root: String, report: inout Report) {
        let oldDir = legacy + "/sessions"
        let newDir = root + "/sessions"
        // Session records are bookkeeping (SessionStart writes them again): moved when possible.
        guard let names = try? FileSystem.list(oldDir), !names.isEmpty else { return }
        try? FileSystem.createDirectory(newDir)
        for name in names where name.hasSuffix(".json") && !FileSystem.exists(newDir + "/" + name) {
            try? FileSystem.rename(oldDir + "/" + name, to: newDir + "/" + name)
        }
    }
}
