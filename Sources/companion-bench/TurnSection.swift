// A development tool, not part of the product: it calls libc directly for timing
// and fixtures. The product's targets reach libc only through CompanionSystem.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

// MARK: - 6. one scripted task turn: the companion against a minimal app-server client

/// `codex-companion task --write "create hello.txt"` in the foreground (wall time of the
/// whole command) against the same turn driven in-process by `TurnRunner.run`, the
/// thinnest client of `codex app-server` we have (spawn, initialize, thread/start,
/// turn/start, wait for turn/completed). With the real Codex CLI the model is the
/// scripted mock of the Responses API from Tests/e2e/, on a loopback port; without it,
/// both sides run against fake-codex and the output says so.
enum TurnSection {
    static let prompt = "create hello.txt"

    /// The mock's script: one shell call that writes hello.txt, then the final answer.
    static let script = """
        {
          "rules": [
            {
              "name": "hello",
              "match": "hello.txt",
              "steps": [
                {"reasoning": "I will create hello.txt with the shell.", "shell": "printf 'hello from mock\\\\n' > hello.txt"},
                {"message": "Created hello.txt."}
              ]
            }
          ],
          "fallback_message": "ok from mock"
        }

        """

    /// `CODEX_COMPANION_BENCH_CODEX`, else `codex` on PATH, else the copy `.ci/run`
    /// installs into the repository's `.ci-work/venv`.
    static func locateCodex(repoRoot: String) -> String? {
        if let explicit = ProcessEnvironment.value("CODEX_COMPANION_BENCH_CODEX"), !explicit.isEmpty {
            return Subprocess.resolve(explicit).flatMap { FileSystem.realPath($0) ?? $0 }
        }
        if let onPath = Subprocess.resolve("codex") { return onPath }
        let venv = repoRoot + "/.ci-work/venv/bin/codex"
        return FileSystem.isExecutable(venv) ? venv : nil
    }

    final class QuietObserver: TurnObserver {
        func appServerStarted(pid: Int32) {}
        func threadReady(threadId: String, resumed: Bool) {}
        func turnStarted(turnId: String) {}
        func progress(_ line: String, phase: String?) {}
    }

    /// A running mock model server, stopped by its pid.
    struct Mock {
        var pid: pid_t
        var port: Int

        func stop() {
            _ = Signals.send(pid, SIGTERM)
            let deadline = MonotonicClock.now() + 5
            while MonotonicClock.now() < deadline {
                if Subprocess.poll(pid) != nil { return }
                sleepSeconds(0.02)
            }
            _ = Signals.send(pid, SIGKILL)
            _ = Subprocess.wait(pid)
        }
    }

    static func startMock(python: String, mock: String, directory: String, environment: [String: String]) throws -> Mock
    {
        let portFile = directory + "/port"
        let outputPath = directory + "/mock-output.log"
        let outputFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard outputFD >= 0 else { throw SystemError.current("open", path: outputPath) }
        defer { close(outputFD) }
        let child = try Subprocess.spawn(
            SpawnRequest(
                executable: python,
                arguments: [
                    mock, "--port", "0", "--port-file", portFile, "--script", directory + "/script.json",
                    "--log", directory + "/requests.jsonl", "--no-bodies", "--max-lifetime", "1800",
                ],
                environment: environment, directory: directory, grouping: .newGroup,
                stdin: .null, stdout: .descriptor(outputFD), stderr: .descriptor(outputFD)))
        let deadline = MonotonicClock.now() + 20
        while MonotonicClock.now() < deadline {
            if let bytes = try? FileSystem.read(portFile),
                let port = Int(String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }), port > 0
            {
                return Mock(pid: child.pid, port: port)
            }
            if let status = Subprocess.poll(child.pid) {
                let output =
                    (try? FileSystem.read(outputPath)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? ""
                throw BenchFailure("the mock model server exited (\(status)): \(output.suffix(800))")
            }
            sleepSeconds(0.02)
        }
        Mock(pid: child.pid, port: 0).stop()
        throw BenchFailure("the mock model server did not report its port within 20 s")
    }

    static func run(_ setup: BenchSetup, options: BenchOptions, results: BenchResults) throws {
        let runs = options.runs(default: 10)
        let directory = setup.root + "/turn"
        let repo = directory + "/repo"
        try prepareWorkspace(setup, directory: directory, repo: repo)

        let mockScript = setup.repoRoot + "/Tests/e2e/mock_responses.py"
        let python = Subprocess.resolve("python3")
        var codex = locateCodex(repoRoot: setup.repoRoot)
        let reason = fallbackReason(codex: codex, scripts: [mockScript, codexHomeScript(mockScript)], python: python)
        if reason != nil { codex = nil }

        // The environment of the codex side, as Tests/e2e/ builds it: CODEX_HOME outside
        // TMPDIR (Codex refuses to set up its sandbox helper under the temp directory).
        var extra = [
            "HOME": directory + "/home",
            "TMPDIR": directory + "/tmp",
            "CODEX_COMPANION_STATE_DIR": directory + "/state",
            "LC_ALL": "C.UTF-8",
        ]
        var mock: Mock?
        defer { mock?.stop() }
        let side: (executable: String, label: String)
        if let codex, let python {
            side = try useRealCodex(
                codex, python: python, mockScript: mockScript, directory: directory, setup: setup,
                extra: &extra, mock: &mock, results: results)
        } else {
            side = useFakeCodex(setup, fallbackReason: reason, extra: &extra, results: results)
        }
        let environment = scrubbed(setup.environment(extra))
        let hello = repo + "/hello.txt"

        let cases = [
            floorCase(executable: side.executable, environment: environment, repo: repo, hello: hello),
            companionCase(setup, environment: environment, repo: repo, hello: hello),
        ]
        let samples = try interleave(cases, runs: runs, label: "turn")
        let values = samples["companion"]!
        let floor = samples["floor"]!
        results.add(
            BenchRow(
                section: "turn", name: "One `task --write \"create hello.txt\"` turn, foreground (\(side.label))",
                samples: values,
                floorName: "`TurnRunner.run` in-process (minimal app-server client)", floor: floor))
    }

    /// The directories of both sides and a committed repository to work in.
    static func prepareWorkspace(_ setup: BenchSetup, directory: String, repo: String) throws {
        for path in [directory + "/home", directory + "/codex-home", directory + "/tmp", directory + "/state", repo] {
            try Files.makeDirectories(path)
        }
        try Files.write(repo + "/README.md", "turn benchmark workspace\n")
        try setup.commitAll(repo)
    }

    /// Tests/e2e/codex_home.py, beside the mock: it writes the CODEX_HOME of the e2e suites.
    static func codexHomeScript(_ mockScript: String) -> String {
        Path.dirname(mockScript) + "/codex_home.py"
    }

    /// Why the real Codex CLI with the mock model cannot be used, or nil when it can.
    static func fallbackReason(codex: String?, scripts: [String], python: String?) -> String? {
        if codex == nil {
            return "no Codex CLI found (CODEX_COMPANION_BENCH_CODEX, codex on PATH, .ci-work/venv/bin/codex)"
        } else if let missing = scripts.first(where: { !FileSystem.exists($0) }) {
            return "\(missing) is missing"
        } else if python == nil {
            return "python3 is not on PATH (the mock model server needs it)"
        }
        return nil
    }

    /// Starts the mock model server into `mock` and points a private CODEX_HOME at it.
    static func useRealCodex(
        _ codex: String, python: String, mockScript: String, directory: String, setup: BenchSetup,
        extra: inout [String: String], mock: inout Mock?, results: BenchResults
    ) throws -> (executable: String, label: String) {
        try Files.write(directory + "/script.json", script)
        mock = try startMock(
            python: python, mock: mockScript, directory: directory, environment: setup.baseEnvironment)
        // config.toml (the "mock" provider on the mock's port) and a dummy auth.json, as the
        // Claude Code suite writes them (Tests/claude-e2e/run_claude.py).
        try mustRun(
            python,
            [
                "-B", codexHomeScript(mockScript), directory + "/codex-home", "--port", String(mock!.port),
                "--sandbox", "workspace-write", "--stream-idle-timeout-ms", "120000",
            ], environment: setup.baseEnvironment)
        extra["CODEX_HOME"] = directory + "/codex-home"
        extra["CODEX_MOCK_API_KEY"] = "mock-key"
        extra["PATH"] = Path.dirname(codex) + ":" + (setup.baseEnvironment["PATH"] ?? "/usr/bin:/bin")
        extra["CODEX_COMPANION_CODEX"] = codex
        let version = (try? mustRun(codex, ["--version"], environment: setup.environment(extra)).stdoutText) ?? "?"
        let label = "real \(version.filter { $0 != "\n" }) + mock model"
        let sandbox =
            Subprocess.resolve("bwrap", path: extra["PATH"]) != nil ? "bubblewrap sandbox" : "NO bwrap on PATH"
        results.note(
            "turn: \(label) (\(mockScript.hasPrefix(setup.repoRoot) ? "Tests/e2e/mock_responses.py" : mockScript), port \(mock!.port)), \(sandbox), CODEX_HOME outside TMPDIR"
        )
        return (codex, label)
    }

    /// Both sides run against fake-codex's success script; the output says so.
    static func useFakeCodex(
        _ setup: BenchSetup, fallbackReason: String?, extra: inout [String: String], results: BenchResults
    ) -> (executable: String, label: String) {
        let script = setup.repoRoot + "/Tests/Fixtures/fake-codex/success.json"
        extra["CODEX_COMPANION_CODEX"] = setup.fakeCodex
        extra["FAKE_CODEX_SCRIPT"] = script
        results.note(
            "turn: FELL BACK TO fake-codex: \(fallbackReason ?? "?"); the figures measure the companion against a scripted stand-in, not the real Codex CLI"
        )
        return (setup.fakeCodex, "fake-codex")
    }

    /// `environment` without the variables that could send either side elsewhere.
    static func scrubbed(_ environment: [String: String]) -> [String: String] {
        var environment = environment
        for key in [
            "OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_COMPANION_APP_SERVER_ENDPOINT",
            "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy",
        ] {
            environment[key] = nil
        }
        return environment
    }

    /// The whole `task --write` command, which must leave hello.txt behind.
    static func companionCase(_ setup: BenchSetup, environment: [String: String], repo: String, hello: String)
        -> BenchCase
    {
        BenchCase(name: "companion") { _ in
            try FileSystem.remove(hello)
            let request = SpawnRequest(
                executable: setup.companion, arguments: ["task", "--write", prompt], environment: environment,
                directory: repo, grouping: .inherit)
            let (ms, output) = try timedRun(request)
            guard output.status.isSuccess, FileSystem.exists(hello) else {
                throw BenchFailure(
                    "companion task: \(output.status), hello.txt \(FileSystem.exists(hello) ? "exists" : "missing"): \(output.stdoutText.suffix(400)) \(output.stderrText.suffix(800))"
                )
            }
            return ms
        }
    }

    /// The same turn through `TurnRunner.run` in-process, which must leave hello.txt behind.
    static func floorCase(executable: String, environment: [String: String], repo: String, hello: String)
        -> BenchCase
    {
        BenchCase(name: "floor") { _ in
            try FileSystem.remove(hello)
            let request = TurnRequest(
                codexExecutable: executable, environment: environment, cwd: repo, prompt: prompt, write: true,
                timeoutSeconds: 300, clientVersion: "companion-bench")
            var outcome: TurnOutcome?
            let ms = timed { outcome = TurnRunner.run(request, observer: QuietObserver(), stopFD: nil) }
            guard outcome?.status == .completed, FileSystem.exists(hello) else {
                throw BenchFailure(
                    "TurnRunner: \(outcome?.status.rawValue ?? "?") \(outcome?.errorMessage ?? ""), hello.txt \(FileSystem.exists(hello) ? "exists" : "missing")"
                )
            }
            return ms
        }
    }
}
