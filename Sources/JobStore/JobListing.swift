import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees

/// The few fields `status` needs to list, filter and sort jobs without decoding every
/// record in full.
public struct JobSummary: Sendable, Equatable {
    public var id: String
    public var status: JobStatus
    public var sessionId: String?
    public var createdAt: String
    public var completedAt: String?
    public var updatedAt: String

    /// The key `status` sorts finished jobs by (newest first).
    public var finishedKey: String { completedAt ?? updatedAt }

    package init(_ record: JobRecord) {
        id = record.id
        status = record.status
        sessionId = record.sessionId
        createdAt = record.createdAt
        completedAt = record.completedAt
        updatedAt = record.updatedAt
    }

    package init?(_ value: JSONValue) {
        guard value["schemaVersion"]?.intValue == Int64(JobRecord.currentSchemaVersion),
            let id = value["id"]?.stringValue,
            let status = value["status"]?.stringValue.flatMap(JobStatus.init(rawValue:)),
            let createdAt = value["createdAt"]?.stringValue,
            let updatedAt = value["updatedAt"]?.stringValue
        else { return nil }
        self.id = id
        self.status = status
        self.sessionId = value["sessionId"]?.stringValue
        self.createdAt = createdAt
        self.completedAt = value["completedAt"]?.stringValue
        self.updatedAt = updatedAt
    }

    package var json: JSONValue {
        [
            "schemaVersion": .int(Int64(JobRecord.currentSchemaVersion)), "id": .string(id),
            "status": .string(status.rawValue),
            "sessionId": .optional(sessionId), "createdAt": .string(createdAt), "completedAt": .optional(completedAt),
            "updatedAt": .string(updatedAt),
        ]
    }
}

extension WorkspaceStore {
    /// A cache of job summaries keyed by each record file's identity (inode, size,
    /// mtime). The record files stay the truth: an entry is used only while its file is
    /// unchanged, and the cache is rebuilt from the records whenever it is missing or bad.
    package var listingCachePath: String { directory + "/listing-cache.json" }

    /// Summaries of every readable job in this workspace. Unreadable records are moved
    /// aside exactly as `list()` does.
    public func summaries() -> [JobSummary] {
        let ids = self.ids()
        let cached = loadListingCache()
        var entries: [String: JSONValue] = [:]
        var result: [JobSummary] = []
        var changed = cached.count != ids.count
        for id in ids {
            guard let identity = FileSystem.identity(recordPath(id)) else {
                changed = true
                continue
            }
            if let entry = cached[id], Self.matches(entry, identity),
                let summary = entry["summary"].flatMap(JobSummary.init)
            {
                entries[id] = entry
                result.append(summary)
                continue
            }
            changed = true
            let summary: JobSummary?
            // The quick path only: a record it cannot read is loaded (and reported) by `load`.
            if let bytes = (try? readRecordFile(id)) ?? nil, let value = JSONWire.parse(bytes),
                let quick = JobSummary(value), quick.id == id
            {
                summary = quick
            } else {
                summary = load(id).map(JobSummary.init)
            }
            guard let summary else { continue }
            // The identity taken before reading: if the file changed since, the entry
            // will not match next time and the record is read again.
            entries[id] = [
                "inode": .int(Int64(bitPattern: identity.inode)), "size": .int(identity.size),
                "mtime": .int(identity.modifiedNanoseconds), "summary": summary.json,
            ]
            result.append(summary)
        }
        if changed {
            let cache: JSONValue = ["schemaVersion": 1, "entries": .object(entries)]
            // A derived cache: when it cannot be written, the next listing reads the records again.
            try? AtomicFile.write(JSONWire.serialize(cache), to: listingCachePath)
        }
        return result
    }

    package func loadListingCache() -> [String: JSONValue] {
        // Missing or unreadable cache: every record is read, as on a first listing.
        guard let bytes = (try? FileSystem.read(listingCachePath)) ?? nil, let value = JSONWire.parse(bytes),
            value["schemaVersion"]?.intValue == 1, let entries = value["entries"]?.objectValue
        else { return [:] }
        return entries
    }

    package static func matches(_ entry: JSONValue, _ identity: FileSystem.Identity) -> Bool {
        entry["inode"]?.intValue == Int64(bitPattern: identity.inode) && entry["size"]?.intValue == identity.size
            && entry["mtime"]?.intValue == identity.modifiedNanoseconds
    }
}
