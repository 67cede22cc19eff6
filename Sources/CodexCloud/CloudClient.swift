import CompanionJSON
import CompanionSystem

/// Drives the real `codex cloud` CLI. Every call runs with argv (never a shell), in a fresh
/// scratch directory as its working directory (the CLI appends an `error.log` to its cwd, and
/// must never look at the user's repository), in its own process group, and with a timeout.
/// A client exists only after the CLI's version was checked: nothing it prints is parsed before.
public struct CloudClient: Sendable {
    /// The `major.minor` whose `codex cloud` output this module reads.
    public static let supportedVersion = "0.147"
    public static let defaultTimeout: Double = 120

    public let codex: String
    /// The environment every `codex` call gets (see `childEnvironment`).
    public let environment: [String: String]
    /// Where each call's scratch directory is made (and removed afterwards).
    public let scratchRoot: String
    public var timeout: Double
    /// What `codex --version` printed, e.g. `0.147.0`.
    public let version: String

    /// Checks the version of `codex` and returns a client for it.
    /// - Throws: `CloudError.spawnFailed`, `.unsupportedVersion`, `.timedOut`.
    public static func connect(
        codex: String, environment: [String: String], scratchRoot: String, timeout: Double = defaultTimeout
    ) throws(CloudError) -> CloudClient {
        let base = CloudClient(
            codex: codex, environment: childEnvironment(environment), scratchRoot: scratchRoot, timeout: timeout,
            version: "")
        let output = try base.run(["--version"], label: "codex --version")
        let found = String(decoding: output.stdout, as: UTF8.self).trimmingWhitespace()
        guard output.status.isSuccess, let version = parseVersion(found) else {
            throw .unsupportedVersion(found: found.isEmpty ? "nothing" : found, supported: supportedVersion + ".x")
        }
        guard version == supportedVersion || version.hasPrefix(supportedVersion + ".") else {
            throw .unsupportedVersion(found: found, supported: supportedVersion + ".x")
        }
        return CloudClient(
            codex: codex, environment: base.environment, scratchRoot: scratchRoot, timeout: timeout,
            version: version)
    }

    init(codex: String, environment: [String: String], scratchRoot: String, timeout: Double, version: String) {
        self.codex = codex
        self.environment = environment
        self.scratchRoot = scratchRoot
        self.timeout = timeout
        self.version = version
    }

    /// `codex-cli 0.147.0` → `0.147.0`; nil for anything else.
    static func parseVersion(_ text: String) -> String? {
        let words = text.split(separator: " ")
        guard words.count == 2, words[0] == "codex-cli" else { return nil }
        let version = String(words[1])
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return version
    }

    /// The caller's environment minus what would change the CLI's output or what it sends:
    /// `RUST_BACKTRACE` appends stack traces to every error, and `CODEX_STARTING_DIFF` would
    /// silently send a local diff along with a task.
    static func childEnvironment(_ base: [String: String]) -> [String: String] {
        var environment = base
        for key in ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE", "CODEX_STARTING_DIFF"] { environment[key] = nil }
        environment["NO_COLOR"] = "1"
        return environment
    }

    /// Runs `codex <arguments>` in a fresh scratch directory, which is removed afterwards.
    func run(_ arguments: [String], input: [UInt8]? = nil, label: String) throws(CloudError) -> ProcessOutput {
        let scratch = try makeScratch()
        // Our own empty scratch cwd.
        defer { try? FileSystem.removeTree(scratch) }
        let request = SpawnRequest(
            executable: codex, arguments: arguments, environment: environment, directory: scratch,
            grouping: .newGroup)
        let started = MonotonicClock.now()
        let output: ProcessOutput
        do {
            output = try Subprocess.run(request, input: input, timeout: timeout)
        } catch {
            throw .spawnFailed(executable: codex, reason: error.description)
        }
        if case .signalled = output.status, MonotonicClock.now() - started >= timeout {
            throw .timedOut(command: label, seconds: timeout)
        }
        return output
    }

    private func makeScratch() throws(CloudError) -> String {
        do throws(SystemError) {
            try FileSystem.createDirectory(scratchRoot)
        } catch {
            if !FileSystem.isDirectory(scratchRoot) {
                throw .scratchUnavailable(path: scratchRoot, reason: error.reason)
            }
        }
        var lastReason = "no attempt made"
        for _ in 0..<8 {
            let name = "cloud-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let path = Path.join(scratchRoot, name)
            if FileSystem.exists(path) { continue }
            do throws(SystemError) {
                try FileSystem.createDirectory(path)
                return path
            } catch {
                lastReason = error.reason
            }
        }
        throw .scratchUnavailable(path: scratchRoot, reason: lastReason)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
