import CodexCloud
import CompanionSystem
import GitWorktrees
import JobStore
import Jobs

/// The stable codes of `{"error": {"code": …}}`. Wrappers match on these, never on text.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    case usage
    case stateUnwritable = "state-unwritable"
    case jobExists = "job-exists"
    case jobNotFound = "job-not-found"
    case jobAmbiguous = "job-ambiguous"
    case jobUnreadable = "job-unreadable"
    case jobRunning = "job-running"
    case jobFinished = "job-finished"
    case noWorktree = "no-worktree"
    case worktreeContinued = "worktree-continued"
    case repositoryMoved = "repository-moved"
    case alreadyDecided = "already-decided"
    case noResumeCandidate = "no-resume-candidate"
    case threadBusy = "thread-busy"
    case spawnFailed = "spawn-failed"
    case processesLeft = "processes-left"
    case detached
    case promptUnreadable = "prompt-unreadable"
    case promptTooLarge = "prompt-too-large"
    case workspaceMissing = "workspace-missing"
    case codexNotFound = "codex-not-found"
    case notLoggedIn = "not-logged-in"
    case gitFailed = "git-failed"
    case keepConflict = "keep-conflict"
    /// A keep whose changes conflict with the user's tree: the `error` beside the
    /// `worktree-cleanup` payload (exit 1); nothing was changed.
    case conflict
    case keepRefused = "keep-refused"
    case keepInterrupted = "keep-interrupted"
    case gitLocked = "git-locked"
    case systemError = "system-error"
    case codexVersionUnsupported = "codex-version-unsupported"
    case chatGPTLoginRequired = "chatgpt-login-required"
    case cloudEnvironmentUnknown = "cloud-environment-unknown"
    case cloudUnreachable = "cloud-unreachable"
    case cloudServiceError = "cloud-service-error"
    case cloudTaskNotFound = "cloud-task-not-found"
    case cloudTaskFailed = "cloud-task-failed"
    case cloudNoDiff = "cloud-no-diff"
    case cloudTimedOut = "cloud-timed-out"
    case cloudFailed = "cloud-failed"
    /// A well-formed request that a cloud job cannot honour (`compare --check`): exit 2.
    case unsupportedForCloud = "unsupported-for-cloud"
    case `internal`
}

/// An error as the user sees it: one sentence with the way out, a stable code for
/// `--json`, and an exit code.
public struct CompanionError: Error, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var exitCode: Int32

    public init(code: ErrorCode, message: String, exitCode: Int32 = ExitCode.failure) {
        self.code = code
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }

    public static func usage(_ message: String) -> CompanionError {
        CompanionError(code: .usage, message: message, exitCode: ExitCode.usage)
    }

    /// A valid request a cloud job cannot honour: code `unsupported-for-cloud`, exit 2.
    public static func unsupportedForCloud(_ message: String) -> CompanionError {
        CompanionError(code: .unsupportedForCloud, message: message, exitCode: ExitCode.unsupported)
    }

    public static func failure(_ code: ErrorCode, _ message: String) -> CompanionError {
        CompanionError(code: code, message: message, exitCode: ExitCode.failure)
    }

    /// A lower-level failure while doing `what`, through the funnel.
    public static func wrap(_ error: any Error, doing what: String) -> CompanionError {
        switch error {
        case let error as GitError: return .failure(ErrorFunnel.code(for: error), "\(what) failed: \(error)")
        case let error as SystemError: return .failure(.systemError, "\(what) failed: \(error)")
        case is CompanionError, is StoreError, is JobError, is CloudError: return ErrorFunnel.report(for: error)
        default: return .failure(.internal, "\(what) failed: \(error)")
        }
    }
}

public enum ExitCode {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 64
    /// The request is valid but does not apply to this kind of job (`unsupported-for-cloud`).
    public static let unsupported: Int32 = 2
}

/// The one place where an error of any module becomes what the user sees.
public enum ErrorFunnel {
    public static func report(for error: any Error) -> CompanionError {
        switch error {
        case let error as CompanionError: return error
        case let error as StoreError: return report(for: error)
        case let error as JobError: return report(for: error)
        case let error as CloudError: return report(for: error)
        case let error as GitError: return .failure(code(for: error), error.message)
        case let error as SystemError: return .failure(.systemError, "the command failed: \(error)")
        default: return .failure(.internal, "the command failed: \(error)")
        }
    }

    /// Refusals that protect the user's files have their own codes; other git failures share one.
    static func code(for error: GitError) -> ErrorCode {
        switch error {
        case .keepPathChanged: return .keepRefused
        case .keepInterrupted: return .keepInterrupted
        case .gitLockHeld: return .gitLocked
        default: return .gitFailed
        }
    }

    static func report(for error: StoreError) -> CompanionError {
        let message = error.description
        switch error {
        case .unwritable: return .failure(.stateUnwritable, message)
        case .jobExists: return .failure(.jobExists, message)
        case .malformedReference: return .usage(message)
        case .notFound: return .failure(.jobNotFound, message)
        case .ambiguous: return .failure(.jobAmbiguous, message)
        case .unreadable, .quarantined, .vanished: return .failure(.jobUnreadable, message)
        }
    }

    static func report(for error: JobError) -> CompanionError {
        let message = error.description
        switch error {
        case .codexNotFound: return .failure(.codexNotFound, message)
        case .workerSpawnFailed: return .failure(.spawnFailed, message)
        case .threadBusy: return .failure(.threadBusy, message)
        case .noWorktree: return .failure(.noWorktree, message)
        case .illegalWorktreeTransition: return .failure(.alreadyDecided, message)
        }
    }

    static func report(for error: CloudError) -> CompanionError {
        let message = Printable.singleLine(error.description)
        switch error {
        case .unsupportedVersion: return .failure(.codexVersionUnsupported, message)
        case .notSignedInWithChatGPT: return .failure(.chatGPTLoginRequired, message)
        case .unknownEnvironment, .ambiguousEnvironment, .noEnvironments:
            return .failure(.cloudEnvironmentUnknown, message)
        case .serviceUnreachable: return .failure(.cloudUnreachable, message)
        case .serviceError: return .failure(.cloudServiceError, message)
        case .taskNotFound: return .failure(.cloudTaskNotFound, message)
        case .taskFailed: return .failure(.cloudTaskFailed, message)
        case .noDiff, .attemptUnavailable: return .failure(.cloudNoDiff, message)
        case .timedOut: return .failure(.cloudTimedOut, message)
        case .spawnFailed: return .failure(.spawnFailed, message)
        case .commandFailed, .unparsableOutput, .scratchUnavailable: return .failure(.cloudFailed, message)
        }
    }
}

/// `{"error": {code, message}}`: the error object of a `--json` answer, alone (any
/// failure) or beside a payload (a conflicting keep).
package struct ErrorPayload: Encodable, Sendable {
    package struct Body: Encodable, Sendable {
        let code: ErrorCode
        let message: String
    }

    let error: Body

    package init(_ code: ErrorCode, _ message: String) { error = Body(code: code, message: message) }
}
