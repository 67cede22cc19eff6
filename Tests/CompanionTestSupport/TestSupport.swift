#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CompanionJSON
import CompanionSystem

// Shared by every test target: temporary directories, the package's built binaries, a
// runner for them, git fixtures, polling, and a deterministic generator.

/// A temporary directory, removed when the value goes away (or by `remove()`).
public final class TempDir: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "cc") {
        var template = Array("/tmp/companion-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        let name = String(cString: made!)
        path = FileSystem.realPath(name) ?? name
    }

    deinit { remove() }

    public func remove() {
        // Cleaning up a temp directory may fail when a test left a read-only tree; the
        // next run uses a new name.
        try? FileSystem.removeTree(path)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name` (creating parent directories) and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) -> String {
        let target = file(name)
        try? FileSystem.createDirectory(Path.dirname(target))
        try? AtomicFile.write(Array(text.utf8), to: target)
        return target
    }
}

/// Paths of the package's built executables (next to the test bundle).
public enum Binaries {
    public static let directory: String = {
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

    public static var companion: String { directory + "/codex-companion" }
    public static var fakeCodex: String { directory + "/fake-codex" }
    public static var bench: String { directory + "/companion-bench" }

    /// Runs a built binary with a clean environment plus `environment`.
    public static func run(
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

/// Real git repositories for tests.
public enum GitFixture {
    /// `git init` in `path` (created if needed).
    public static func makeRepo(_ path: String) {
        try? FileSystem.createDirectory(path, mode: 0o755)
        let git = Subprocess.resolve("git") ?? "/usr/bin/git"
        let out = Binaries.run(git, ["init", "-q", "."], cwd: path)
        precondition(out.status.isSuccess, "git init failed in \(path): \(out.stderrText)")
    }
}

/// Test data kept as files under Tests/Fixtures.
public enum TestFixtures {
    /// Tests/Fixtures, found from this file's path (Tests/CompanionTestSupport/TestSupport.swift).
    public static let directory = Path.dirname(Path.dirname(#filePath)) + "/Fixtures"

    /// The JSON in Tests/Fixtures/`name`. A missing or malformed file stops the run: data that
    /// loaded as nothing would leave its tests checking nothing.
    public static func json(_ name: String) -> JSONValue {
        let path = directory + "/" + name
        guard let bytes = (try? FileSystem.read(path)) ?? nil,
            let value = try? JSONCoding.decode(JSONValue.self, from: bytes)
        else { preconditionFailure("test fixture \(path) is missing or is not JSON") }
        return value
    }
}

/// Polls `condition` every `interval` seconds for at most `timeout` seconds.
@discardableResult
public func eventually(_ timeout: Double, interval: Double = 0.02, _ condition: () -> Bool) -> Bool {
    let deadline = MonotonicClock.now() + timeout
    while true {
        if condition() { return true }
        if MonotonicClock.now() > deadline { return false }
        sleepSeconds(interval)
    }
}

/// Deterministic generator for test inputs.
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension JSONValue {
    /// Parses JSON text; nil when it is not JSON.
    public static func parse(_ text: String) -> JSONValue? {
        try? JSONCoding.decode(JSONValue.self, from: text)
    }
}
