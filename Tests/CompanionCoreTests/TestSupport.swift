import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

/// Captured output of an in-process CLI run.
final class Captured: @unchecked Sendable {
    // Written only from the single thread that runs the command under test.
    var stdout = ""
    var stderr = ""
}

enum TestCLI {
    /// Runs the CLI in-process with captured output.
    static func run(_ arguments: [String], cwd: String, environment: [String: String] = [:], stdin: [UInt8]? = nil) -> (
        code: Int32, stdout: String, stderr: String
    ) {
        let captured = Captured()
        var env = ["HOME": cwd, "PATH": ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin"]
        for (key, value) in environment { env[key] = value }
        let context = CompanionContext(
            environment: env, currentDirectory: cwd, executablePath: Binaries.companion,
            writeStdout: { captured.stdout += $0 }, writeStderr: { captured.stderr += $0 },
            readStdin: { stdin })
        let code = CompanionCLI.run(arguments: arguments, context: context)
        return (code, captured.stdout, captured.stderr)
    }
}
