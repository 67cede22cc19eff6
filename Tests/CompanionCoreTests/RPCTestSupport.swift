import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

/// Where the built `fake-codex` and its fixture scripts are.
enum FakeCodex {
    /// The binary beside the test bundle (the build products directory), else
    /// `<package root>/.build/debug/fake-codex`.
    static let binary: String = {
        if let first = CommandLine.arguments.first, let resolved = FileSystem.realPath(first) {
            // On macOS the bundle is a directory (…/X.xctest/Contents/MacOS/X): use its parent.
            var parts = resolved.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if let bundle = parts.firstIndex(where: { $0.hasSuffix(".xctest") }) { parts = Array(parts[...bundle]) }
            let directory = Path.dirname(parts.joined(separator: "/"))
            let candidate = Path.join(directory, "fake-codex")
            if FileSystem.isExecutable(candidate) { return candidate }
        }
        return Path.join(packageRoot, ".build/debug/fake-codex")
    }()

    /// Derived from this file's path: <root>/Tests/CompanionCoreTests/RPCTestSupport.swift.
    static let packageRoot: String = Path.dirname(Path.dirname(Path.dirname(#filePath)))

    static func fixture(_ name: String) -> String {
        Path.join(packageRoot, "Tests/Fixtures/fake-codex", name)
    }
}

/// Records everything a run reports; can act on events (to write a stop byte).
final class RecordingObserver: TurnObserver {
    var pid: Int32?
    var threads: [(id: String, resumed: Bool)] = []
    var turnIds: [String] = []
    var lines: [(line: String, phase: String?)] = []
    var onTurnStarted: (() -> Void)?
    var onAppServerStarted: (() -> Void)?

    func appServerStarted(pid: Int32) {
        self.pid = pid
        onAppServerStarted?()
    }

    func threadReady(threadId: String, resumed: Bool) {
        threads.append((threadId, resumed))
    }

    func turnStarted(turnId: String) {
        turnIds.append(turnId)
        onTurnStarted?()
    }

    func progress(_ line: String, phase: String?) {
        lines.append((line, phase))
    }

    var text: [String] { lines.map(\.line) }
}

/// One `TurnRunner.run` against the fake, with what it left behind.
struct FakeRun {
    var outcome: TurnOutcome
    var observer: RecordingObserver
    /// Every message the fake received, in order (malformed lines omitted).
    var received: [JSONValue]
    /// The fake's own notes (`{"fake": …}`).
    var notes: [JSONValue]
    /// Kept alive with the run: the directory goes when `cleanUp()` is called or the run is dropped.
    var temp: TempDir
    var directory: String { temp.path }

    func cleanUp() {
        temp.remove()
    }

    func requests(_ method: String) -> [JSONValue] {
        received.filter { $0["method"]?.stringValue == method }
    }

    /// The client's answer to the fake's server request with this id.
    func answer(toServerRequest id: Int64) -> JSONValue? {
        received.first { $0["method"] == nil && $0["id"]?.intValue == id }
    }
}

enum FakeRunner {
    /// Runs a turn against fake-codex with `fixture` (nil: its built-in default script).
    static func run(
        fixture: String?, prompt: String = "Create hello.txt", environment extra: [String: String] = [:],
        observer: RecordingObserver = RecordingObserver(), stopFD: Int32? = nil,
        configure: (inout TurnRequest) -> Void = { _ in }
    ) -> FakeRun {
        let directory = TempDir("rpc")
        let logPath = Path.join(directory.path, "fake-codex.log")
        var environment = ProcessEnvironment.current()
        environment["FAKE_CODEX_LOG"] = logPath
        if let fixture {
            environment["FAKE_CODEX_SCRIPT"] = FakeCodex.fixture(fixture)
        } else {
            environment["FAKE_CODEX_SCRIPT"] = nil
        }
        for (key, value) in extra { environment[key] = value }
        var request = TurnRequest(
            codexExecutable: FakeCodex.binary, environment: environment, cwd: directory.path, prompt: prompt,
            timeoutSeconds: 60, clientVersion: "9.9.9-test")
        configure(&request)
        let outcome = TurnRunner.run(request, observer: observer, stopFD: stopFD)
        var received: [JSONValue] = []
        var notes: [JSONValue] = []
        let bytes = (try? FileSystem.read(logPath)) ?? nil
        for line in (bytes ?? []).split(separator: 0x0A) {
            guard let value = try? JSONCoding.decode(JSONValue.self, from: Array(line)) else { continue }
            if value["fake"] != nil { notes.append(value) } else { received.append(value) }
        }
        return FakeRun(
            outcome: outcome, observer: observer, received: received, notes: notes, temp: directory)
    }
}

/// Nothing of the fake's process group may be left after a run.
func expectNoProcessLeft(_ run: FakeRun, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let pid = run.observer.pid else {
        Issue.record("the app-server never started", sourceLocation: sourceLocation)
        return
    }
    #expect(ProcessProbe.startTime(of: pid) == nil, "app-server \(pid) is still alive", sourceLocation: sourceLocation)
    #expect(
        ProcessProbe.members(ofGroup: pid).isEmpty, "process group \(pid) still has members",
        sourceLocation: sourceLocation)
    for note in run.notes where note["fake"]?.stringValue == "childSpawned" {
        if let child = note["pid"]?.intValue {
            #expect(
                ProcessProbe.startTime(of: Int32(child)) == nil, "grandchild \(child) is still alive",
                sourceLocation: sourceLocation)
        }
    }
}

extension FakeRunner {
    /// Runs a turn as `run` does and hands it to `check`; then expects nothing of the fake's
    /// process group left (`expectNoProcessLeft`) and removes the run's files.
    static func check(
        fixture: String?, prompt: String = "Create hello.txt", observer: RecordingObserver = RecordingObserver(),
        stopFD: Int32? = nil, configure: (inout TurnRequest) -> Void = { _ in },
        sourceLocation: SourceLocation = #_sourceLocation, then check: (FakeRun) throws -> Void
    ) rethrows {
        let run = run(fixture: fixture, prompt: prompt, observer: observer, stopFD: stopFD, configure: configure)
        defer { run.cleanUp() }
        try check(run)
        expectNoProcessLeft(run, sourceLocation: sourceLocation)
    }
}
