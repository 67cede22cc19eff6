#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees

/// Receives warnings (moved-aside files and the like) for stderr.
public typealias WarningSink = @Sendable (String) -> Void

/// The jobs of one workspace. Every change goes through `update` or `create`, which
/// hold the workspace's flock for a short read-modify-write and replace the record
/// file atomically. Readers take no lock: renames make every read see a whole file.
public struct WorkspaceStore: Sendable {
    public static let schemaVersion = 1

    public let stateRoot: String
    /// The workspace: the git top level, or the directory the job was started in.
    public let root: String
    public let directory: String
    public let warn: WarningSink

    public var jobsDirectory: String { directory + "/jobs" }
    public var lockPath: String { directory + "/store.lock" }
    public var eventsPath: String { directory + "/events.jsonl" }
    public var quarantineDirectory: String { directory + "/quarantine" }

    public func recordPath(_ id: String) -> String { jobsDirectory + "/" + id + ".json" }
    public func logPath(_ id: String) -> String { jobsDirectory + "/" + id + ".log" }
    public func promptPath(_ id: String) -> String { jobsDirectory + "/" + id + ".prompt" }
    public func cleanupLockPath(_ id: String) -> String { jobsDirectory + "/" + id + ".cleanup.lock" }
    public func keepBackupDirectory(_ id: String) -> String { jobsDirectory + "/" + id + ".keep-backup" }
    /// The cached keep preview (derived data: rebuilt when missing or stale).
    public func keepPreviewPath(_ id: String) -> String { jobsDirectory + "/" + id + ".keep-preview" }
    /// The output of the last `compare --check` run in the job's worktree.
    public func checkOutputPath(_ id: String) -> String { jobsDirectory + "/" + id + ".check-output" }
    /// Slots that bound how many attempts of `task --runs` run at once (flocks).
    public var attemptSlotsDirectory: String { directory + "/attempt-slots" }

    public static func workspacesDirectory(stateRoot: String) -> String { stateRoot + "/workspaces" }

    public static func directoryName(for root: String) -> String {
        var name = ""
        for scalar in Path.basename(root).unicodeScalars.prefix(40) {
            let ok =
                (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "-" || scalar == "_" || scalar == "."
            name.unicodeScalars.append(ok ? scalar : "_")
        }
        if name.isEmpty || name.hasPrefix(".") { name = "ws" + name }
        return name + "-" + StableHash.hex(root)
    }

    /// Opens (creating if needed) the store of the workspace at `root`.
    /// - Throws: `CompanionError` naming the directory when it cannot be created or written.
    public static func open(stateRoot: String, workspaceRoot root: String, warn: @escaping WarningSink)
        throws(StoreError) -> WorkspaceStore
    {
        let directory = workspacesDirectory(stateRoot: stateRoot) + "/" + directoryName(for: root)
        let store = WorkspaceStore(stateRoot: stateRoot, root: root, directory: directory, warn: warn)
        do {
            try FileSystem.createDirectory(store.jobsDirectory)
            if !FileSystem.exists(store.markerPath) {
                try store.writeMarker()
            } else if readMarker(store.markerPath) == nil {
                try store.withLock { _ in try store.repairMarker() }
            }
        } catch {
            throw StoreError.wrapping(error, in: directory)
        }
        return store
    }

    /// The store of the workspace at `root` for a command that only reads: when no job
    /// was ever started there, a store over the missing directory (it lists nothing)
    /// instead of creating one.
    public static func openForReading(stateRoot: String, workspaceRoot root: String, warn: @escaping WarningSink)
        throws(StoreError) -> WorkspaceStore
    {
        let directory = workspacesDirectory(stateRoot: stateRoot) + "/" + directoryName(for: root)
        guard FileSystem.isDirectory(directory) else {
            return WorkspaceStore(stateRoot: stateRoot, root: root, directory: directory, warn: warn)
        }
        return try open(stateRoot: stateRoot, workspaceRoot: root, warn: warn)
    }

    /// Every workspace store under a state root (for lookups by id from any directory).
    public static func all(stateRoot: String, warn: @escaping WarningSink) -> [WorkspaceStore] {
        let base = workspacesDirectory(stateRoot: stateRoot)
        let names = Self.listing(base, warn: warn)
        var stores: [WorkspaceStore] = []
        for name in names.sorted() {
            let directory = base + "/" + name
            guard FileSystem.isDirectory(directory) else { continue }
            let markerPath = directory + "/" + markerName
            if let marker = readMarker(markerPath) {
                stores.append(WorkspaceStore(stateRoot: stateRoot, root: marker.root, directory: directory, warn: warn))
                continue
            }
            var store = WorkspaceStore(stateRoot: stateRoot, root: directory, directory: directory, warn: warn)
            if FileSystem.exists(markerPath) {
                // Unreadable: every record names the workspace, so the marker can be rebuilt.
                if let root = store.rootFromRecords() {
                    store = WorkspaceStore(stateRoot: stateRoot, root: root, directory: directory, warn: warn)
                    // Listing goes on; a repair that fails now is retried by the next writer.
                    _ = try? store.withLock { _ in try store.repairMarker() }
                } else {
                    // As above: quarantine warns itself; a busy lock leaves it for the next call.
                    _ = try? store.withLock { _ in store.quarantineMarkerIfStillBad() }
                }
            }
            stores.append(store)
        }
        return stores
    }

    package static let markerName = "workspace.json"
    package var markerPath: String { directory + "/" + Self.markerName }

    /// The workspace marker, nil when it is missing or does not parse.
    package static func readMarker(_ path: String) -> WorkspaceMarker? {
        guard let bytes = (try? FileSystem.read(path)) ?? nil else { return nil }
        return try? JSONCoding.decode(WorkspaceMarker.self, from: bytes)
    }

    package func writeMarker() throws {
        let marker = WorkspaceMarker(schemaVersion: Self.schemaVersion, root: root)
        try AtomicFile.write(try JSONCoding.encode(marker, pretty: true) + [10], to: markerPath)
    }

    /// Must be called with the lock held: moves an unreadable marker aside (with a warning)
    /// and writes a fresh one for `root`.
    package func repairMarker() throws {
        guard quarantineMarkerIfStillBad() else { return }
        try writeMarker()
    }

    /// Must be called with the lock held. True when the marker was unreadable and moved aside.
    @discardableResult
    package func quarantineMarkerIfStillBad() -> Bool {
        guard FileSystem.exists(markerPath), Self.readMarker(markerPath) == nil else { return false }
        // Only picks the wording of the quarantine warning.
        let bytes = ((try? FileSystem.read(markerPath)) ?? nil) ?? []
        quarantine(markerPath, because: bytes.isEmpty ? "it is empty" : "it is not a valid workspace marker")
        return !FileSystem.exists(markerPath)
    }

    /// The workspace root named by the first readable record here.
    package func rootFromRecords() -> String? {
        for id in ids() {
            // Any one readable record names the root; unreadable ones are skipped, not touched.
            if let bytes = (try? readRecordFile(id)) ?? nil, let record = decode(bytes, expectedID: id) {
                return record.workspaceRoot
            }
        }
        return nil
    }

    /// The names in a directory of the store. A missing directory is empty; one that
    /// cannot be read is reported (naming it and the fix) and counts as empty.
    static func listing(_ directory: String, warn: WarningSink) -> [String] {
        do {
            return try FileSystem.list(directory)  // a missing directory lists as empty
        } catch {
            warn("warning: cannot list \(directory) (\(error.reason)); fix its permissions to see the jobs in it")
            return []
        }
    }

    /// Lock paths this thread holds, so that a nested `withLock` on the same workspace
    /// runs its body under the lock already held instead of waiting for itself (flock
    /// is per open file: a second open of the same lock file would block forever).
    @TaskLocal static var heldLocks: Set<String> = []

    /// Runs `body` while holding this workspace's exclusive lock. The body gets the
    /// locked view: every read-modify-write goes through it. Reentrant on one thread.
    public func withLock<T>(_ body: (LockedWorkspace) throws -> T) throws -> T {
        let locked = LockedWorkspace(store: self)
        if Self.heldLocks.contains(lockPath) { return try body(locked) }
        let lock: FileLock
        do { lock = try FileLock(exclusive: lockPath) } catch { throw StoreError.wrapping(error, in: directory) }
        return try withExtendedLifetime(lock) {
            try Self.$heldLocks.withValue(Self.heldLocks.union([lockPath])) { try body(locked) }
        }
    }

    /// Reads one record without the lock (renames make every read whole). nil when it
    /// does not exist. A file that does not parse is moved aside under the lock, after
    /// checking again, with a warning; one that cannot be read (permissions) stays where
    /// it is, with a warning that names it and the fix.
    public func load(_ id: String) -> JobRecord? {
        do {
            return try loadOrThrow(id)
        } catch {
            warn("warning: \(error.description)")
            return nil
        }
    }

    /// Like `load`, but a record that exists and cannot be read is an error, for
    /// lookups by id that must say why.
    public func loadOrThrow(_ id: String) throws(StoreError) -> JobRecord? {
        guard let bytes = try readRecordFile(id) else { return nil }
        if let record = decode(bytes, expectedID: id) { return record }
        // Ignoring a lock failure here is safe: the record stays where it is and the
        // next reader tries to move it aside again.
        _ = try? withLock { $0.quarantineIfStillBad(id) }
        return nil
    }

    /// The bytes of a record file, nil when it does not exist. Only a regular file is
    /// opened: reading a FIFO would block forever (also for root, whom permissions do
    /// not stop), and a directory or a planted link is no record.
    package func readRecordFile(_ id: String) throws(StoreError) -> [UInt8]? {
        let path = recordPath(id)
        if let facts = FileEntries.inspect(path), facts.kind != .file {
            let what =
                facts.kind == .directory
                ? "a directory" : facts.kind == .symlink ? "a symbolic link" : "a FIFO or device"
            throw .unreadable(id: id, path: path, detail: "(it is \(what), not a regular file)")
        }
        do {
            return try FileSystem.read(path)
        } catch {
            throw .unreadable(id: id, path: path, detail: "(\(error.reason))")
        }
    }

    /// nil when the bytes are not a record of this id and schema (the caller quarantines).
    package func decode(_ bytes: [UInt8], expectedID: String) -> JobRecord? {
        guard let record = try? JSONCoding.decode(JobRecord.self, from: bytes),
            record.schemaVersion == JobRecord.currentSchemaVersion,
            record.id == expectedID
        else { return nil }
        return record
    }

    package func describeProblem(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "it is empty" }
        // Not JSON at all is itself the description (below).
        if let value = try? JSONCoding.decode(JSONValue.self, from: bytes) {
            if let version = value["schemaVersion"]?.intValue, version != Int64(JobRecord.currentSchemaVersion) {
                return
                    "it has schema version \(version), this codex-companion reads version \(JobRecord.currentSchemaVersion)"
            }
            return "it is JSON but not a job record"
        }
        return "it is not valid JSON (truncated or corrupt)"
    }

    /// Moves a file into quarantine/ and warns, naming both paths.
    package func quarantine(_ path: String, because problem: String) {
        do {
            try FileSystem.createDirectory(quarantineDirectory)
            let target = quarantineDirectory + "/" + Path.basename(path) + ".\(WallClock.nowMilliseconds()).bad"
            try FileSystem.rename(path, to: target)
            warn("warning: \(path) could not be read (\(problem)); moved it to \(target). Other jobs are unaffected.")
        } catch {
            warn("warning: \(path) could not be read (\(problem)) and could not be moved aside: \(error)")
        }
    }

    /// Stores a new record. Fails if the id exists.
    public func create(_ record: JobRecord) throws {
        try withLock { try $0.create(record) }
    }

    /// The one way to change a job: lock, re-read, apply `body`, write atomically.
    /// Returns the record as written, or nil when the job does not exist (or was unreadable).
    @discardableResult
    public func update(_ id: String, _ body: (inout JobRecord) throws -> Void) throws -> JobRecord? {
        try withLock { try $0.update(id, body) }
    }

    /// Every readable record in this workspace (unreadable ones are moved aside).
    public func list() -> [JobRecord] {
        let names = Self.listing(jobsDirectory, warn: warn)
        var records: [JobRecord] = []
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let id = String(name.dropLast(5))
            guard JobID.isValid(id) else { continue }
            if let record = load(id) { records.append(record) }
        }
        return records
    }

    /// Job ids present in this workspace (by file name, without reading them).
    public func ids() -> [String] {
        let names = Self.listing(jobsDirectory, warn: warn)
        return names.compactMap { name in
            guard name.hasSuffix(".json"), !name.hasPrefix(".") else { return nil }
            let id = String(name.dropLast(5))
            return JobID.isValid(id) ? id : nil
        }
    }

    /// Removes one job's files (record, log, prompt, locks) and nothing else.
    /// Removal is best effort and the record goes last: a file left behind is never listed
    /// as a job, and the next prune tries again.
    public func removeFiles(of id: String) {
        let answer = jobsDirectory + "/" + id + ".answer"
        for path in [
            logPath(id), promptPath(id), cleanupLockPath(id), answer, keepPreviewPath(id), checkOutputPath(id),
        ] {
            // Best effort, as documented above: the record goes last and the next prune retries.
            try? FileSystem.remove(path)
        }
        try? FileSystem.removeTree(keepBackupDirectory(id))
        try? FileSystem.remove(recordPath(id))
    }

    /// Appends one line to a job's progress log.
    public func appendLog(_ id: String, _ line: String) {
        let stamp = Timestamp.now()
        // The log is for reading progress; the record holds the state. A failed append
        // (full disk, a planted symlink refused by O_NOFOLLOW) must not stop the job.
        try? FileSystem.append(Array("[\(stamp)] \(line)\n".utf8), to: logPath(id))
    }
}

package struct WorkspaceMarker: Codable {
    package var schemaVersion: Int
    package var root: String
}

/// The store as seen by the holder of its lock: reads and writes here never take the
/// lock again. Only `WorkspaceStore.withLock` makes one.
public struct LockedWorkspace {
    public let store: WorkspaceStore

    /// The current record, re-read under the lock. nil when absent; a record that does
    /// not parse is moved aside first.
    public func load(_ id: String) throws(StoreError) -> JobRecord? {
        guard let bytes = try store.readRecordFile(id) else { return nil }
        if let record = store.decode(bytes, expectedID: id) { return record }
        quarantineIfStillBad(id)
        return nil
    }

    /// Writes a record atomically.
    public func save(_ record: JobRecord) throws(StoreError) {
        do {
            let bytes = try JSONCoding.encode(record, pretty: true) + [10]
            try AtomicFile.write(bytes, to: store.recordPath(record.id))
        } catch {
            throw StoreError.wrapping(error, in: store.directory)
        }
    }

    public func create(_ record: JobRecord) throws(StoreError) {
        if FileSystem.exists(store.recordPath(record.id)) { throw .jobExists(record.id) }
        try save(record)
    }

    @discardableResult
    public func update(_ id: String, _ body: (inout JobRecord) throws -> Void) throws -> JobRecord? {
        guard var record = try load(id) else { return nil }
        let before = record
        try body(&record)
        if record == before { return record }
        record.updatedAt = Timestamp.now()
        try save(record)
        return record
    }

    /// Moves a record that (still) does not parse into quarantine.
    public func quarantineIfStillBad(_ id: String) {
        let path = store.recordPath(id)
        // A record that is gone, or parses now, is left alone.
        guard let bytes = (try? store.readRecordFile(id)) ?? nil, store.decode(bytes, expectedID: id) == nil else {
            return
        }
        store.quarantine(path, because: store.describeProblem(bytes))
    }

    /// Removes one job's files (record, log, prompt, locks) and nothing else.
    public func removeFiles(of id: String) {
        store.removeFiles(of: id)
    }
}
