import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees

/// Finds jobs by id or unique prefix across every workspace of a state root, so
/// `status`, `result` and `cancel` work from any directory.
public struct JobLookup: Sendable {
    public let stateRoot: String
    public let warn: WarningSink

    public init(stateRoot: String, warn: @escaping WarningSink) {
        self.stateRoot = stateRoot
        self.warn = warn
    }

    /// - Throws: usage error for a malformed id; failure for unknown or ambiguous ones.
    public func find(_ reference: String) throws(StoreError) -> (WorkspaceStore, JobRecord) {
        guard JobID.isValidPrefix(reference) else {
            throw .malformedReference(reference)
        }
        var matches: [(WorkspaceStore, String)] = []
        for store in WorkspaceStore.all(stateRoot: stateRoot, warn: warn) {
            for id in store.ids() where id == reference || id.hasPrefix(reference) {
                if id == reference {
                    matches = [(store, id)]
                    break
                }
                matches.append((store, id))
            }
            if matches.count == 1 && matches[0].1 == reference { break }
        }
        if matches.isEmpty {
            throw .notFound(reference: reference, stateRoot: stateRoot)
        }
        if matches.count > 1 {
            throw .ambiguous(reference: reference, matches: matches.prefix(5).map(\.1), count: matches.count)
        }
        let (store, id) = matches[0]
        guard let record = try store.loadOrThrow(id) else {
            throw .quarantined(id: id, directory: store.quarantineDirectory)
        }
        return (store, record)
    }

    /// The jobs of a group of attempts (`task --runs N`), by attempt number; nil when no
    /// workspace has a job of that group.
    public func findGroup(_ groupId: String) -> (WorkspaceStore, [JobRecord])? {
        guard GroupID.isValid(groupId) else { return nil }
        for store in WorkspaceStore.all(stateRoot: stateRoot, warn: warn) {
            let members = store.list().filter { $0.groupId == groupId }
            if !members.isEmpty { return (store, members.sorted { ($0.attempt ?? 0) < ($1.attempt ?? 0) }) }
        }
        return nil
    }

    /// Every job of every workspace.
    public func all() -> [(WorkspaceStore, JobRecord)] {
        WorkspaceStore.all(stateRoot: stateRoot, warn: warn).flatMap { store in store.list().map { (store, $0) } }
    }
}
