import CompanionJSON
import CompanionSystem
import JobStore

/// A job's end as the worker saw it, saved in `jobs/<id>.answer` before the record says
/// the job ended. When the final record write fails (a full disk), the reconciler
/// finishes the job from this file, so the answer is never lost.
public struct JobAnswer: Codable, Sendable, Equatable {
    public var status: JobStatus
    public var reason: JobEndReason
    public var errorMessage: String?
    public var result: JobResult?
    public var threadId: String?
    public var turnId: String?

    init(ending: JobLifecycle.Ending, result: JobResult?, threadId: String?, turnId: String?) {
        switch ending {
        case .completed:
            (status, reason, errorMessage) = (.completed, .completed, nil)
        case .failed(let why, let message):
            (status, reason, errorMessage) = (.failed, why, message)
        case .cancelled(let message):
            (status, reason, errorMessage) = (.cancelled, .cancelled, message)
        }
        self.result = result
        self.threadId = threadId
        self.turnId = turnId
    }

    var ending: JobLifecycle.Ending {
        switch status {
        case .completed: return .completed
        case .cancelled: return .cancelled(errorMessage ?? "Cancelled.")
        default: return .failed(reason, errorMessage ?? "The job failed.")
        }
    }

    /// Puts this end into `record`. A terminal state already stored stands; the result,
    /// thread and worktree are filled in where missing.
    func apply(
        to record: inout JobRecord, worktree: JobWorktree?, end: (inout JobRecord, JobLifecycle.Ending) -> Void
    ) {
        if let worktree { record.worktree = worktree }
        if record.status.isTerminal {
            if record.result == nil { record.result = result }
            if record.threadId == nil { record.threadId = threadId }
            return
        }
        record.threadId = threadId ?? record.threadId
        record.turnId = turnId ?? record.turnId
        record.result = result
        end(&record, ending)
    }
}

/// The answer file of a job: reserved when the worker starts (while the disk has room),
/// overwritten in place when the job ends.
public enum JobAnswerFile {
    /// Space reserved per job; an answer larger than this needs new space to be written.
    public static let reservedBytes = 256 * 1024

    public static func path(for id: String, in store: WorkspaceStore) -> String {
        store.jobsDirectory + "/" + id + ".answer"
    }

    public static func reserve(for id: String, in store: WorkspaceStore) throws {
        try FileSystem.reserve(path(for: id, in: store), bytes: reservedBytes)
    }

    static func write(_ answer: JobAnswer, for id: String, in store: WorkspaceStore) throws {
        let bytes = try JSONCoding.encode(answer) + [10]
        let target = path(for: id, in: store)
        if FileSystem.exists(target) {
            try FileSystem.overwrite(target, with: bytes)
        } else {
            try AtomicFile.write(bytes, to: target)
        }
    }

    /// The saved answer, nil when there is none (or only the reserved zeros).
    public static func read(for id: String, in store: WorkspaceStore) -> JobAnswer? {
        // As documented: no readable answer means the record alone tells the job's end.
        guard let bytes = (try? FileSystem.read(path(for: id, in: store))) ?? nil,
            let first = bytes.first, first == UInt8(ascii: "{")
        else { return nil }
        return try? JSONCoding.decode(JobAnswer.self, from: bytes)
    }
}
