import CompanionSystem

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
    public func find(_ reference: String) throws(CompanionError) -> (WorkspaceStore, JobRecord) {
        guard JobID.isValidPrefix(reference) else {
            throw .usage("'\(Self.printable(reference))' is not a job id (ids look like task-mf3k2x9a-7q2c); run codex-companion status --all to list jobs")
        }
        var matches: [(WorkspaceStore, String)] = []
        for store in WorkspaceStore.all(stateRoot: stateRoot, warn: warn) {
            for id in store.ids() where id == reference || id.hasPrefix(reference) {
                if id == reference { matches = [(store, id)]; break }
                matches.append((store, id))
            }
            if matches.count == 1 && matches[0].1 == reference { break }
        }
        if matches.isEmpty {
            throw .failure("job-not-found", "no job \(reference) in \(stateRoot); run codex-companion status --all to list known jobs")
        }
        if matches.count > 1 {
            let names = matches.prefix(5).map(\.1).joined(separator: ", ")
            throw .failure("job-ambiguous", "'\(reference)' matches \(matches.count) jobs (\(names)); give more characters of the id, or run codex-companion status --all to list jobs")
        }
        let (store, id) = matches[0]
        guard let record = store.load(id) else {
            throw .failure("job-unreadable", "job \(id) could not be read (see the warning above); run codex-companion status --all to list the others")
        }
        return (store, record)
    }

    /// Every job of every workspace.
    public func all() -> [(WorkspaceStore, JobRecord)] {
        WorkspaceStore.all(stateRoot: stateRoot, warn: warn).flatMap { store in store.list().map { (store, $0) } }
    }

    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(40) {
            out += scalar.value < 32 || scalar.value == 127 ? "?" : String(scalar)
        }
        return text.unicodeScalars.count > 40 ? out + "…" : out
    }
}
