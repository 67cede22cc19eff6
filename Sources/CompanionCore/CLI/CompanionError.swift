import CompanionSystem

/// The one error type that reaches the user. Every case renders one sentence that
/// says what went wrong and what to do next, a stable code for `--json`, and an exit code.
public struct CompanionError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var exitCode: Int32

    public init(code: String, message: String, exitCode: Int32 = ExitCode.failure) {
        self.code = code
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }

    public static func usage(_ message: String) -> CompanionError {
        CompanionError(code: "usage", message: message, exitCode: ExitCode.usage)
    }

    public static func failure(_ code: String, _ message: String) -> CompanionError {
        CompanionError(code: code, message: message, exitCode: ExitCode.failure)
    }

    /// Wraps a lower-level error (system, git, JSON) into one line.
    public static func wrap(_ error: any Error, doing what: String) -> CompanionError {
        if let error = error as? CompanionError { return error }
        if let error = error as? GitError { return CompanionError(code: "git-failed", message: "\(what) failed: \(error)") }
        if let error = error as? SystemError { return CompanionError(code: "system-error", message: "\(what) failed: \(error)") }
        return CompanionError(code: "internal", message: "\(what) failed: \(error)")
    }
}

public enum ExitCode {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 64
}
