import CompanionSystem
import CompanionJSON
/// Everything needed to run one Codex turn through `codex app-server`.
public struct TurnRequest: Sendable, Equatable {
    /// Absolute path of the `codex` executable, already resolved.
    public var codexExecutable: String
    /// Arguments after the executable; normally `["app-server"]`.
    public var codexArguments: [String]
    /// The app-server's environment; nil inherits ours.
    public var environment: [String: String]?
    /// The thread's working directory (workspace root or worktree). The app-server starts there too.
    public var cwd: String
    public var prompt: String
    /// `workspace-write` sandbox when true, `read-only` otherwise.
    public var write: Bool
    /// A model id, or the alias `spark` (see `TurnRunner.mapModel`); nil keeps Codex's default.
    public var model: String?
    /// Reasoning effort, forwarded as is; nil keeps Codex's default.
    public var effort: String?
    /// Resume this persisted thread (`thread/resume`) instead of starting one.
    public var resumeThreadId: String?
    /// Wall-clock limit for the whole run, from spawn to the end of the turn.
    public var timeoutSeconds: Double
    /// Sent as `clientInfo.version` in `initialize`.
    public var clientVersion: String
    /// How long `initialize`, `thread/start|resume` and `turn/start` may go unanswered.
    public var requestTimeoutSeconds: Double
    /// How long to wait for `turn/completed` after sending `turn/interrupt`.
    public var interruptWaitSeconds: Double
    /// A lock file held from the app-server's spawn until its thread is ready, so that
    /// app-servers sharing one CODEX_HOME start one at a time (on first use, concurrent
    /// start-ups race to create Codex's state database). nil: no lock.
    public var startupLockPath: String?

    /// The most text Codex accepts in one input (observed with 0.147.0); a longer prompt
    /// is handed over as a file (see `TurnRunner.turnStartParams`).
    public static let maximumInputCharacters = 1_048_576
    /// A turn with the prompt (the default) or a review with Codex's built-in reviewer.
    public var operation: TurnOperation
    /// Start the thread without a rollout file (nothing to resume later).
    public var ephemeral: Bool = false

    public init(
        codexExecutable: String, codexArguments: [String] = ["app-server"], environment: [String: String]? = nil,
        cwd: String, prompt: String, write: Bool = false, model: String? = nil, effort: String? = nil,
        resumeThreadId: String? = nil, timeoutSeconds: Double = 1800, clientVersion: String,
        requestTimeoutSeconds: Double = 60, interruptWaitSeconds: Double = 3,
        operation: TurnOperation = .turn(outputSchema: nil)
    ) {
        self.codexExecutable = codexExecutable
        self.codexArguments = codexArguments
        self.environment = environment
        self.cwd = cwd
        self.prompt = prompt
        self.write = write
        self.model = model
        self.effort = effort
        self.resumeThreadId = resumeThreadId
        self.timeoutSeconds = timeoutSeconds
        self.clientVersion = clientVersion
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.interruptWaitSeconds = interruptWaitSeconds
        self.operation = operation
    }
}

/// Receives what happens during a turn, synchronously on the runner's thread.
/// Callbacks must return quickly: the event loop waits for them.
public protocol TurnObserver: AnyObject {
    /// The app-server was spawned; `pid` leads its own process group.
    func appServerStarted(pid: Int32)
    /// `thread/start` or `thread/resume` answered.
    func threadReady(threadId: String, resumed: Bool)
    /// `turn/start` answered; the turn is running.
    func turnStarted(turnId: String)
    /// One folded, human-readable line. `phase` is one of starting, running, editing,
    /// verifying, investigating, finalizing, failed; nil leaves the phase unchanged.
    func progress(_ line: String, phase: String?)
}

public enum TurnEndStatus: String, Sendable, Codable, Equatable {
    case completed
    case failed
    case interrupted
    case timedOut = "timed-out"
}

/// A `commandExecution` item as it completed.
public struct CommandRecord: Sendable, Codable, Equatable {
    /// The full shell line Codex ran (for example `/bin/bash -lc ls`).
    public var command: String
    public var exitCode: Int?
    /// `completed`, `failed` or `declined`.
    public var status: String

    public init(command: String, exitCode: Int?, status: String) {
        self.command = command
        self.exitCode = exitCode
        self.status = status
    }
}

/// Why a turn failed, when the cause is ours to name (not Codex's own turn error).
public enum TurnFailure: String, Sendable, Codable, Equatable {
    /// `account/read` says Codex has no login and its provider needs one.
    case notLoggedIn
    /// The app-server process exited or closed its output before the turn ended.
    case appServerExited
    /// The app-server sent one line over the 64 MiB limit.
    case oversizedLine
}

/// How a turn ended and what it produced.
public struct TurnOutcome: Sendable, Equatable {
    public var status: TurnEndStatus
    /// Set when the turn failed for a reason of the connection rather than the model.
    public var failure: TurnFailure?
    public var threadId: String?
    public var turnId: String?
    /// The last non-empty `agentMessage` text of the root thread (never a subagent's).
    public var finalMessage: String?
    /// Paths (absolute, as Codex reports them) from completed `fileChange` items, first-seen order.
    public var touchedFiles: [String] = []
    /// Reasoning summaries, whitespace-collapsed, de-duplicated, in order.
    public var reasoningSummary: [String] = []
    public var commands: [CommandRecord] = []
    /// Why the turn failed or was cut short. Codex's own message for a failed turn;
    /// "codex app-server exited unexpectedly (exit N): <stderr tail>" when it died;
    /// "Codex did not finish within N seconds" for a timeout; nil for success and for
    /// an interrupt that was asked for.
    public var errorMessage: String?
    /// How the app-server process ended, e.g. "exit 0", "signal 9"; nil if it never started.
    public var appServerExit: String?
    /// For a review: the rendered review (`exitedReviewMode.review`), as Codex wrote it.
    public var reviewText: String?
    /// For a completed review: its findings, from the rollout file, else parsed from `reviewText`.
    public var review: NativeReview?
    /// The thread's rollout file (`thread.path`); nil for an ephemeral thread.
    public var threadPath: String?
}

/// Whether Codex can make model requests, from `account/read` and `config/read`.
public struct AccountStatus: Sendable, Codable, Equatable {
    public var loggedIn: Bool
    /// One sentence for humans.
    public var detail: String
    /// The configured model provider's name (or id) when one is set; nil for the default.
    public var provider: String?

    public init(loggedIn: Bool, detail: String, provider: String? = nil) {
        self.loggedIn = loggedIn
        self.detail = detail
        self.provider = provider
    }
}
