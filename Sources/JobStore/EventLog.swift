import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees

/// One worktree lifecycle step, appended to the workspace's `events.jsonl`.
public struct WorktreeEvent: Codable, Sendable, Equatable {
    public var schemaVersion = 1
    public var time: String
    public var event: String
    public var jobId: String
    public var worktree: String?
    public var branch: String?
    public var detail: String?

    public init(event: String, jobId: String, worktree: String?, branch: String?, detail: String? = nil) {
        self.time = Timestamp.now()
        self.event = event
        self.jobId = jobId
        self.worktree = worktree
        self.branch = branch
        self.detail = detail
    }
}

extension WorkspaceStore {
    /// Appends an event with one O_APPEND write (whole lines even with concurrent writers).
    public func appendEvent(_ event: WorktreeEvent) {
        // An event of strings always encodes; there is nothing to report if it did not.
        guard let bytes = try? JSONCoding.encode(event) else { return }
        var line = bytes + [10]
        // A line torn by a crash mid-append has no newline: start on a fresh line, or this
        // event would be glued to it and lost with it.
        if let size = FileSystem.size(eventsPath), size > 0,
            // Unreadable last byte: no extra newline; a failing append is reported below.
            let last = (try? FileSystem.read(eventsPath, from: size - 1, limit: 1)) ?? nil, last != [10]
        {
            line = [10] + line
        }
        do {
            try FileSystem.append(line, to: eventsPath)
        } catch {
            warn("warning: could not append to \(eventsPath): \(error)")
        }
    }

    /// Appends a lifecycle event for a job's worktree.
    public func appendEvent(_ event: String, jobId: String, worktree: WorktreeInfo, detail: String? = nil) {
        appendEvent(
            WorktreeEvent(event: event, jobId: jobId, worktree: worktree.path, branch: worktree.branch, detail: detail))
    }

    /// The newest `limit` events, oldest first. Lines that do not parse are skipped.
    public func readEvents(limit: Int) -> (events: [WorktreeEvent], skipped: Int) {
        let bytes: [UInt8]
        do {
            guard let read = try FileSystem.read(eventsPath) else { return ([], 0) }  // no events yet
            bytes = read
        } catch {
            warn("warning: could not read \(eventsPath): \(error)")
            return ([], 0)
        }
        var events: [WorktreeEvent] = []
        var skipped = 0
        for line in bytes.split(separator: 10) where !line.isEmpty {
            if let event = try? JSONCoding.decode(WorktreeEvent.self, from: Array(line)) {
                events.append(event)
            } else {
                skipped += 1
            }
        }
        return (Array(events.suffix(limit)), skipped)
    }
}
