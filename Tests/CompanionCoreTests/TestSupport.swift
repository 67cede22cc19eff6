#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
@testable import CompanionSystem
@testable import CompanionJSON
@testable import ShellGuard
@testable import CodexAppServer
@testable import GitWorktrees
@testable import JobStore
@testable import Jobs
@testable import CompanionCLI

/// A temporary directory removed when the test ends.
final class TempDir {
    let path: String

    init(_ label: String = "cc") {
        var template = Array("/tmp/companion-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = FileSystem.realPath(String(cString: made!)) ?? String(cString: made!)
    }

    deinit { try? FileSystem.removeTree(path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) {
        let target = file(name)
        try? FileSystem.createDirectory(Path.dirname(target))
        try? AtomicFile.write(Array(text.utf8), to: target)
    }
}

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

/// Paths of the package's built executables (next to the test bundle).
enum Binaries {
    static let directory: String = {
        let argv0 = CommandLine.arguments.first ?? ""
        var candidates: [String] = []
        if let real = FileSystem.realPath(argv0) { candidates.append(Path.dirname(real)) }
        let root = Path.dirname(Path.dirname(Path.dirname(#filePath)))
        candidates += [root + "/.build/debug", root + "/.build/release"]
        for dir in candidates {
            var probe = dir
            for _ in 0..<4 {
                if FileSystem.isExecutable(probe + "/codex-companion") { return probe }
                probe = Path.dirname(probe)
            }
        }
        return root + "/.build/debug"
    }()

    static var companion: String { directory + "/codex-companion" }
    static var fakeCodex: String { directory + "/fake-codex" }

    /// Runs a built binary with a clean environment plus `environment`.
    static func run(
        _ executable: String, _ arguments: [String], cwd: String, environment: [String: String] = [:],
        input: [UInt8]? = nil, timeout: Double = 60
    ) -> ProcessOutput {
        var env = [
            "PATH": ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin", "HOME": cwd, "GIT_CONFIG_NOSYSTEM": "1",
        ]
        for (key, value) in environment { env[key] = value }
        let request = SpawnRequest(
            executable: executable, arguments: arguments, environment: env, directory: cwd, grouping: .newGroup)
        do {
            return try Subprocess.run(request, input: input, timeout: timeout)
        } catch {
            return ProcessOutput(status: .exited(127), stdout: [], stderr: Array("\(error)".utf8))
        }
    }
}

extension JSONValue {
    static func parse(_ text: String) -> JSONValue? {
        try? JSONCoding.decode(JSONValue.self, from: text)
    }
}
