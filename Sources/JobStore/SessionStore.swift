import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees

/// Session bookkeeping written by the hooks: when a Claude Code session started and ended.
public struct SessionRecord: Codable, Sendable, Equatable {
    public var schemaVersion = 1
    public var sessionId: String
    public var startedAt: String?
    public var endedAt: String?
    public var endReason: String?
    public var lastSource: String?
    public var cwd: String?
    /// How often the Stop-hook review gate blocked in this session (it stops at a cap).
    public var reviewGateBlocks: Int?
}

public enum SessionStore {
    /// Session ids become file names: keep them to a safe alphabet.
    public static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.utf8.allSatisfy { c in
                (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 || c == 46
            } && !id.hasPrefix(".")
    }

    public static func path(stateRoot: String, sessionId: String) -> String {
        stateRoot + "/sessions/" + sessionId + ".json"
    }

    /// The session's record as stored; nil when there is none or it does not parse.
    public static func load(stateRoot: String, sessionId: String) -> SessionRecord? {
        guard isValid(sessionId),
            let bytes = (try? FileSystem.read(path(stateRoot: stateRoot, sessionId: sessionId))) ?? nil
        else { return nil }
        // As documented: a record that does not parse reads as none (update moves it aside).
        return try? JSONCoding.decode(SessionRecord.self, from: bytes)
    }

    /// Read-modify-write of one session record under the sessions lock.
    public static func update(
        stateRoot: String, sessionId: String, warn: WarningSink = { _ in }, _ body: (inout SessionRecord) -> Void
    ) throws {
        let directory = stateRoot + "/sessions"
        try FileSystem.createDirectory(directory)
        try withExclusiveLock(directory + "/sessions.lock") { () throws -> Void in
            let file = path(stateRoot: stateRoot, sessionId: sessionId)
            // Unreadable bytes are moved aside below, never overwritten.
            let bytes = (try? FileSystem.read(file)) ?? nil
            var record = bytes.flatMap { try? JSONCoding.decode(SessionRecord.self, from: $0) }
            if bytes != nil && record == nil {
                // Never silently replace what we cannot read: move it aside first.
                let aside = file + ".\(WallClock.nowMilliseconds()).bad"
                try FileSystem.rename(file, to: aside)  // if it cannot be moved, it is not replaced either
                warn("warning: \(file) could not be read; moved it to \(aside) and started a new session record")
            }
            if record == nil { record = SessionRecord(sessionId: sessionId) }
            var updated = record!
            body(&updated)
            try AtomicFile.write(try JSONCoding.encode(updated, pretty: true) + [10], to: file)
        }
    }
}
