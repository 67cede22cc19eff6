import CompanionSystem

/// What can go wrong in the job store. The CLI's error funnel turns each case into a
/// code for `--json`, an exit code and the sentence below.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The state directory cannot be created or written (permissions, full disk).
    case unwritable(directory: String, detail: String)
    /// A new job's id is already taken.
    case jobExists(String)
    /// A job reference that cannot be an id (checked before it touches the file system).
    case malformedReference(String)
    case notFound(reference: String, stateRoot: String)
    case ambiguous(reference: String, matches: [String], count: Int)
    /// The record exists but cannot be read; `path` names the file.
    case unreadable(id: String, path: String, detail: String)
    /// The record did not parse and was moved into `quarantine/` (a warning named it).
    case quarantined(id: String, directory: String)
    /// The record went away while the command worked on it.
    case vanished(id: String)

    public var description: String {
        switch self {
        case .unwritable(let directory, let detail):
            return "cannot write job state in \(directory) (\(detail)); free disk space or fix its permissions, "
                + "or choose another with --state-dir"
        case .jobExists(let id):
            return "job \(id) already exists"
        case .malformedReference(let text):
            return "'\(Printable.clipped(text))' is not a job id (ids look like task-mf3k2x9a-7q2c); "
                + "run codex-companion status --all to list jobs"
        case .notFound(let reference, let stateRoot):
            return "no job \(reference) in \(stateRoot); run codex-companion status --all to list known jobs"
        case .ambiguous(let reference, let matches, let count):
            return "'\(reference)' matches \(count) jobs (\(matches.joined(separator: ", "))); give more characters "
                + "of the id, or run codex-companion status --all to list jobs"
        case .quarantined(let id, let directory):
            return "job \(id) was corrupt and has been moved to \(directory) (the warning above names the file); "
                + "run codex-companion status --all to list the other jobs"
        case .vanished(let id):
            return "the record of job \(id) disappeared while this command ran; run codex-companion status --all "
                + "to see where the job stands"
        case .unreadable(let id, let path, let detail):
            return "job \(id) could not be read: \(path) \(detail); fix the file's permissions or move it aside, "
                + "then run codex-companion status --all to list the others"
        }
    }

    /// Wraps a lower-level failure while writing in `directory`.
    public static func wrapping(_ error: any Error, in directory: String) -> StoreError {
        if let error = error as? StoreError { return error }
        return .unwritable(directory: directory, detail: "\(error)")
    }
}
