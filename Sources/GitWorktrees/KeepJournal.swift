import CompanionSystem
import CompanionJSON

/// What is at one path of the user's tree, as a keep compares it: the kind, the permission
/// bits of a file, and the SHA-256 of a file's bytes or of a link's target.
package struct PathState: Codable, Equatable, Sendable, CustomStringConvertible {
    package enum Kind: String, Codable, Sendable { case absent, file, symlink, directory, other }

    package var kind: Kind
    package var mode: UInt32
    package var digest: String?

    package static let absent = PathState(kind: .absent, mode: 0, digest: nil)
    package static let directory = PathState(kind: .directory, mode: 0, digest: nil)

    package var exists: Bool { kind != .absent }

    package var description: String {
        switch kind {
        case .absent: return "absent"
        case .directory: return "directory"
        case .other: return "special file"
        case .file: return "file \(String(mode, radix: 8)) \(digest ?? "")"
        case .symlink: return "symlink \(digest ?? "")"
        }
    }

    /// The state at `path` (lstat: a link is not followed) and its bytes (a file's content
    /// or a link's target; nil for the other kinds).
    package static func read(_ path: String) throws -> (state: PathState, bytes: [UInt8]?) {
        guard let facts = FileEntries.inspect(path) else { return (.absent, nil) }
        switch facts.kind {
        case .file:
            guard let bytes = try FileSystem.read(path) else { return (.absent, nil) }
            return (PathState(kind: .file, mode: facts.mode & 0o777, digest: ContentHash.sha256(bytes)), bytes)
        case .symlink:
            let target = try FileEntries.readLink(path)
            return (PathState(kind: .symlink, mode: 0, digest: ContentHash.sha256(target)), target)
        case .directory:
            return (.directory, nil)
        case .other:
            return (PathState(kind: .other, mode: 0, digest: nil), nil)
        }
    }
}

/// The durable intent of one keep, written (fsynced) before anything in the user's tree or
/// index changes. `before` is what each path held when the keep checked it, `after` what the
/// keep writes there; the bytes of both live in `blobs/<digest>` beside it.
package struct KeepIntent: Codable, Equatable, Sendable {
    package struct Entry: Codable, Equatable, Sendable {
        /// Relative to the repository root.
        package var path: String
        package var before: PathState
        package var after: PathState
    }

    /// One index entry ("<mode> <object id>", stage 0), nil when the path is not in the index.
    package struct IndexEntry: Codable, Equatable, Sendable {
        package var path: String
        package var before: String?
        package var after: String?
    }

    package var version = 2
    package var operation = "keep"
    package var jobId: String
    package var repoRoot: String
    package var baseCommit: String
    package var branchHead: String
    package var staged: Bool
    package var stat: String
    package var entries: [Entry]
    /// Empty unless `staged`.
    package var index: [IndexEntry]
    /// Parent directories the keep creates, deepest first (removed again, when empty, on rollback).
    package var createdDirectories: [String]
}

/// How a rollback or a recovery ended for the paths of an intent.
package struct KeepSettlement: Equatable, Sendable {
    /// Paths that hold what they held before the keep (restored, or never written).
    package var restored: [String] = []
    /// Paths (and index entries) that changed after the keep wrote them or checked them:
    /// the user's now, left exactly as they are.
    package var leftToUser: [String] = []
}

/// The files of a keep journal: `<directory>/intent.json`, `blobs/`, `committed.json` (the
/// commit point, holding the outcome), plus the scratch copy used to compute `after`.
package enum KeepJournal {
    package static let intentName = "intent.json"
    package static let committedName = "committed.json"
    package static let blobsName = "blobs"
    package static let scratchName = "scratch"
    package static let scratchIndexName = "scratch.index"

    package static func blobPath(_ directory: String, _ digest: String) -> String {
        directory + "/" + blobsName + "/" + digest
    }

    /// Writes every blob, then the intent, each fsynced: once `intent.json` exists, every byte
    /// a rollback needs is durable.
    package static func write(_ intent: KeepIntent, blobs: [String: [UInt8]], to directory: String) throws {
        let blobDirectory = directory + "/" + blobsName
        try FileSystem.createDirectory(blobDirectory)
        for (digest, bytes) in blobs.sorted(by: { $0.key < $1.key }) {
            let path = blobPath(directory, digest)
            if let existing = try FileSystem.read(path), ContentHash.sha256(existing) == digest { continue }
            try FileSystem.remove(path)
            try FileEntries.writeNew(bytes, at: path, mode: 0o600)
        }
        FileEntries.syncDirectory(blobDirectory)
        try AtomicFile.write(try JSONCoding.encode(intent), to: directory + "/" + intentName)
    }

    package static func loadIntent(_ directory: String) throws -> KeepIntent? {
        guard let bytes = try FileSystem.read(directory + "/" + intentName) else { return nil }
        // The failure is reported right below, with what the journal held.
        guard let intent = try? JSONCoding.decode(KeepIntent.self, from: bytes), intent.version == 2 else {
            throw GitError.backupDamaged(backupDirectory: directory, reason: "its intent.json does not parse")
        }
        return intent
    }

    /// The bytes of a blob, checked against its name.
    package static func blob(_ directory: String, _ digest: String?) throws -> [UInt8] {
        guard let digest, let bytes = try FileSystem.read(blobPath(directory, digest)),
            ContentHash.sha256(bytes) == digest
        else {
            throw GitError.backupDamaged(
                backupDirectory: directory, reason: "the saved content \(digest ?? "?") is missing or damaged")
        }
        return bytes
    }

    /// The commit point: every path is written and staged.
    package static func markCommitted(_ outcome: KeepOutcome, in directory: String) throws {
        try AtomicFile.write(try JSONCoding.encode(outcome), to: directory + "/" + committedName)
    }

    package static func loadCommitted(_ directory: String) throws -> KeepOutcome? {
        guard let bytes = try FileSystem.read(directory + "/" + committedName) else { return nil }
        // As above: reported below.
        guard let outcome = try? JSONCoding.decode(KeepOutcome.self, from: bytes) else {
            // The commit point exists (it is written atomically), only its summary is unreadable.
            return .applied(stat: "", staged: false, paths: [])
        }
        return outcome
    }

    /// Removes the journal. The intent goes first (one unlink), so a crash part-way through
    /// can never leave a commit point missing beside a live intent.
    package static func remove(_ directory: String) throws {
        try FileSystem.remove(directory + "/" + intentName)
        FileEntries.syncDirectory(directory)
        try FileSystem.removeTree(directory)
    }
}
