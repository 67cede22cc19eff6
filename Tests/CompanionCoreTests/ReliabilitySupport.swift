#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
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

/// The fault-injection suites (docs/RELIABILITY.md). They drive the built binaries
/// (`codex-companion`, `companion-bench`, `fake-codex`) and real git, one test at a time:
/// they start detached workers, SIGKILL processes and fill the disk, so they never run
/// beside each other.
@Suite("Reliability", .serialized)
struct Reliability {}

// MARK: - running the binaries

/// One finished run of a binary.
struct CLIRun: CustomStringConvertible {
    var status: TerminationStatus
    var stdout: String
    var stderr: String

    /// The exit code, nil when the process was killed by a signal.
    var code: Int32? { if case .exited(let code) = status { return code } else { return nil } }
    var json: JSONValue? { JSONValue.parse(stdout) }
    var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    var errorCode: String? { json?["error"]?["code"]?.stringValue }
    var wasKilled: Bool { status == .signalled(SIGKILL) }

    var description: String { "\(status)\nstdout: \(stdout.prefix(1500))\nstderr: \(stderr.prefix(1500))" }
}

/// A process started in the background (its own process group), with its stderr in a file.
final class BackgroundProcess {
    let pid: pid_t
    let stderrPath: String?
    private(set) var status: TerminationStatus?

    init(
        _ executable: String, _ arguments: [String], cwd: String, environment: [String: String],
        stderrPath: String? = nil
    ) throws {
        var fd: Int32 = -1
        if let stderrPath { fd = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        defer { if fd >= 0 { close(fd) } }
        let request = SpawnRequest(
            executable: executable, arguments: arguments, environment: environment, directory: cwd,
            grouping: .newGroup, stdin: .null, stdout: .null, stderr: fd >= 0 ? .descriptor(fd) : .null)
        pid = try Subprocess.spawn(request).pid
        self.stderrPath = stderrPath
    }

    /// Reaps the process if it ended.
    @discardableResult
    func poll() -> TerminationStatus? {
        if status == nil { status = Subprocess.poll(pid) }
        return status
    }

    var isRunning: Bool { poll() == nil }

    /// SIGKILL to its whole process group (only while it is ours and unreaped).
    func kill() {
        if poll() == nil { _ = Signals.sendToGroup(pid, SIGKILL) }
    }

    var stderrText: String {
        guard let stderrPath, let bytes = try? FileSystem.read(stderrPath) else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Waits (bounded) for every process to end; kills the stragglers. True when all ended in time.
    @discardableResult
    static func waitAll(_ processes: [BackgroundProcess], timeout: Double) -> Bool {
        let deadline = MonotonicClock.now() + timeout
        while processes.contains(where: \.isRunning) {
            if MonotonicClock.now() > deadline {
                for process in processes { process.kill() }
                for process in processes where process.status == nil { _ = Rel.eventually(5) { !process.isRunning } }
                return false
            }
            sleepSeconds(0.01)
        }
        return true
    }
}

enum Rel {
    static var companion: String { Binaries.companion }
    static var bench: String { Binaries.directory + "/companion-bench" }
    static var fakeCodex: String { Binaries.directory + "/fake-codex" }
    static func fixture(_ name: String) -> String { FakeCodex.fixture(name) }

    @discardableResult
    static func eventually(_ timeout: Double, interval: Double = 0.02, _ condition: () -> Bool) -> Bool {
        CompanionTestSupport.eventually(timeout, interval: interval, condition)
    }

    /// A scratch directory whose ancestors hold no `.git` entry (the workspace of a plain
    /// directory is found by walking up to one, and git would find an enclosing repository).
    static let scratchBase: String = {
        var candidates: [String] = []
        if let tmp = ProcessEnvironment.value("TMPDIR"), !tmp.isEmpty { candidates.append(tmp) }
        candidates += ["/tmp", "/var/tmp", "/dev/shm"]
        for candidate in candidates {
            guard let real = FileSystem.realPath(candidate), FileSystem.isDirectory(real) else { continue }
            if !hasGitAncestor(real) { return real }
        }
        return FileSystem.realPath("/tmp") ?? "/tmp"
    }()

    /// A tmpfs for tests whose point is contention, not durability (fsync there is free).
    static let fastBase: String = {
        if let shm = FileSystem.realPath("/dev/shm"), FileSystem.isDirectory(shm), !hasGitAncestor(shm),
            access(shm, W_OK) == 0
        {
            return shm
        }
        return scratchBase
    }()

    static func hasGitAncestor(_ path: String) -> Bool {
        var current = path
        while true {
            if FileSystem.exists(current + "/.git") { return true }
            let parent = Path.dirname(current)
            if parent == current || parent.isEmpty { return false }
            current = parent
        }
    }

    static func fnv(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16) + "/\(bytes.count)"
    }

    /// Every file under `directory` (except `skip` at the top) → kind, mode and content hash.
    static func tree(_ directory: String, skip: Set<String> = [".git", ".worktrees"]) -> [String: String] {
        var result: [String: String] = [:]
        func walk(_ relative: String) {
            let absolute = relative.isEmpty ? directory : directory + "/" + relative
            for name in (try? FileSystem.list(absolute)) ?? [] {
                if relative.isEmpty && skip.contains(name) { continue }
                let child = relative.isEmpty ? name : relative + "/" + name
                guard let facts = FileEntries.inspect(directory + "/" + child) else { continue }
                switch facts.kind {
                case .directory:
                    result[child + "/"] = "dir"
                    walk(child)
                case .symlink:
                    result[child] = "link " + fnv((try? FileEntries.readLink(directory + "/" + child)) ?? [])
                default:
                    result[child] = "file " + fnv(((try? FileSystem.read(directory + "/" + child)) ?? nil) ?? [])
                }
            }
        }
        walk("")
        return result
    }

    /// Every path under `directory`, relative, sorted (directories end in "/").
    static func fileList(_ directory: String) -> [String] {
        tree(directory, skip: []).keys.sorted()
    }

    /// Reads a record file as it is on disk, without any of the store's repairs.
    static func readRecord(_ path: String) -> JobRecord? {
        guard let bytes = try? FileSystem.read(path) else { return nil }
        return try? JSONCoding.decode(JobRecord.self, from: bytes)
    }

    /// The ids a `status --json` overview shows (running, latest finished, recent).
    static func listedIDs(_ json: JSONValue?) -> Set<String> {
        guard let json else { return [] }
        var ids: Set<String> = []
        for job in (json["running"]?.arrayValue ?? []) + (json["recent"]?.arrayValue ?? []) {
            if let id = job["id"]?.stringValue { ids.insert(id) }
        }
        if let id = json["latestFinished"]?["id"]?.stringValue { ids.insert(id) }
        return ids
    }
}

// MARK: - the sandbox

/// A private directory with a state root, a HOME with a git identity, and runners for the
/// binaries. On release it kills whatever jobs it left running and removes everything.
final class RelSandbox {
    let base: String
    let home: String
    let state: String
    let git: GitClient
    /// Paths made immutable (chattr +i) or read-only by a test; restored before removal.
    var lockedPaths: [String] = []

    init(_ label: String, fast: Bool = false, stateName: String = "state") throws {
        let parent = fast ? Rel.fastBase : Rel.scratchBase
        var template = Array("\(parent)/companion-rel-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { throw SystemError.current("mkdtemp", path: parent) }
        base = FileSystem.realPath(String(cString: made)) ?? String(cString: made)
        home = base + "/home"
        state = base + "/" + stateName
        try FileSystem.createDirectory(home, mode: 0o755)
        git = try GitClient(overrides: [
            "HOME": home, "XDG_CONFIG_HOME": home + "/.config", "GIT_CONFIG_NOSYSTEM": "1",
        ])
        try AtomicFile.write(
            Array("[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n".utf8),
            to: home + "/.gitconfig", mode: 0o644)
    }

    deinit {
        for path in lockedPaths.reversed() { RelReadOnly.unlock(path) }
        killLeftoverJobs()
        try? FileSystem.removeTree(base)
    }

    /// SIGKILLs the process tree of every job still active under the state root.
    func killLeftoverJobs() {
        for path in allRecordPaths() {
            guard let record = Rel.readRecord(path), record.status.isActive else { continue }
            let tree = ProcessTree.snapshot(
                workerPID: record.pid, workerStartTime: record.pidStartTime, appServerPID: record.appServerPid)
            tree.signal(SIGKILL)
            _ = tree.waitForExit(seconds: 2)
        }
    }

    func allRecordPaths() -> [String] {
        var paths: [String] = []
        let workspaces = WorkspaceStore.workspacesDirectory(stateRoot: state)
        for name in (try? FileSystem.list(workspaces)) ?? [] {
            let jobs = workspaces + "/" + name + "/jobs"
            for file in (try? FileSystem.list(jobs)) ?? [] where file.hasSuffix(".json") && !file.hasPrefix(".") {
                paths.append(jobs + "/" + file)
            }
        }
        return paths
    }

    /// A new directory `base/name` (parents included), resolved.
    func directory(_ name: String) throws -> String {
        let path = base + "/" + name
        try FileSystem.createDirectory(path, mode: 0o755)
        return FileSystem.realPath(path) ?? path
    }

    /// A new sandbox labelled `label` and its workspace directory `base/ws`.
    static func withWorkspace(_ label: String) throws -> (sandbox: RelSandbox, workspace: String) {
        let sandbox = try RelSandbox(label)
        return (sandbox, try sandbox.directory("ws"))
    }

    /// A new workspace directory `base/ws` holding one job written by store-writer with
    /// `updates` entries tagged `tag`; returns the workspace and the job's id.
    func workspaceWithJob(
        updates: Int = 1, tag: String = "ok", sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (workspace: String, id: String) {
        let workspace = try directory("ws")
        let id = JobID.make()
        let run = storeWriter(workspace: workspace, job: id, updates: updates, tag: tag)
        try #require(run.code == 0, "\(run)", sourceLocation: sourceLocation)
        return (workspace, id)
    }

    /// Runs a foreground `task --json <prompt>` in `cwd`; returns its job id (required).
    func taskJobId(_ prompt: String, cwd: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let run = companion(["task", "--json", prompt], cwd: cwd)
        return try #require(run.json?["jobId"]?.stringValue, "\(run)", sourceLocation: sourceLocation)
    }

    /// Makes `path` read-only (the test fails when it cannot) until this sandbox is released.
    func lockReadOnly(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(RelReadOnly.lock(path), sourceLocation: sourceLocation)
        lockedPaths.append(path)
    }

    func write(_ path: String, _ bytes: [UInt8]) throws {
        try FileSystem.createDirectory(Path.dirname(path), mode: 0o755)
        try AtomicFile.write(bytes, to: path, mode: 0o644)
    }

    func write(_ path: String, _ text: String) throws { try write(path, Array(text.utf8)) }

    /// A repository at `base/name` with `files` committed on main (none: no commit).
    func repository(_ name: String, files: [String: String] = ["README.md": "hello\n", "a.txt": "a\n", "b.txt": "b\n"])
        throws -> String
    {
        let path = try directory(name)
        try git.check(["init", "--quiet", path], in: nil)
        for (file, text) in files { try write(path + "/" + file, text) }
        if !files.isEmpty {
            try git.check(["add", "-A"], in: path)
            try git.check(["commit", "--quiet", "-m", "initial"], in: path)
        }
        return path
    }

    @discardableResult
    func gitText(_ arguments: [String], in directory: String) throws -> String {
        try git.text(arguments, in: directory)
    }

    /// What the user would notice of a repository: status (with ignored files), the index,
    /// refs, HEAD, the main worktree, and every file's bytes. The companion's own worktrees
    /// and `codex/` branches are left out: a `--worktree` task is asked to make those.
    func fingerprint(_ repo: String) -> String {
        func run(_ arguments: [String]) -> (status: String, lines: [String]) {
            guard let output = try? git.run(arguments, in: repo, reading: true) else { return ("failed", []) }
            let text = output.stdoutText
            let separator = text.contains("\0") ? "\0" : "\n"
            return ("\(output.status)", text.components(separator))
        }
        var parts: [String] = []
        let status = run(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored"])
        parts.append(
            "status \(status.status) " + status.lines.filter { !$0.contains(".worktrees/") }.joined(separator: "|"))
        let index = run(["ls-files", "--stage", "-z"])
        parts.append("index \(index.status) " + index.lines.joined(separator: "|"))
        let refs = run(["for-each-ref", "--format=%(refname) %(objectname)"])
        parts.append(
            "refs \(refs.status) " + refs.lines.filter { !$0.hasPrefix("refs/heads/codex/") }.joined(separator: "|"))
        let head = run(["rev-parse", "HEAD"])
        let symbolic = run(["symbolic-ref", "-q", "HEAD"])
        parts.append("head \(head.status) \(head.lines) \(symbolic.status) \(symbolic.lines)")
        let worktrees = run(["worktree", "list", "--porcelain", "-z"])
        parts.append("main worktree " + (worktrees.lines.split(separator: "").first ?? []).joined(separator: "|"))
        let tree = Rel.tree(repo)
        parts += tree.keys.sorted().map { "\($0) \(tree[$0]!)" }
        return parts.joined(separator: "\n")
    }

    var environment: [String: String] {
        [
            "HOME": home, "XDG_CONFIG_HOME": home + "/.config", "GIT_CONFIG_NOSYSTEM": "1",
            "CODEX_COMPANION_CODEX": Rel.fakeCodex, "CODEX_COMPANION_STATE_DIR": state,
        ]
    }

    /// Runs `codex-companion` to completion (killed after `timeout` seconds).
    func companion(
        _ arguments: [String], cwd: String, environment extra: [String: String] = [:],
        input: [UInt8]? = nil, timeout: Double = 60
    ) -> CLIRun {
        var env = environment
        for (key, value) in extra { env[key] = value }
        let output = Binaries.run(Rel.companion, arguments, cwd: cwd, environment: env, input: input, timeout: timeout)
        return CLIRun(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
    }

    /// Runs `companion-bench store-writer` to completion.
    func storeWriter(
        workspace: String, job: String, updates: Int, tag: String, fault: String? = nil,
        stateDir: String? = nil, timeout: Double = 60
    ) -> CLIRun {
        var env = environment
        if let fault { env["CODEX_COMPANION_FAULT"] = fault }
        let output = Binaries.run(
            Rel.bench,
            [
                "store-writer", "--state-dir", stateDir ?? state, "--workspace", workspace, "--job", job,
                "--updates", String(updates), "--tag", tag,
            ], cwd: base, environment: env, timeout: timeout)
        return CLIRun(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
    }

    /// Starts `companion-bench store-writer` in the background.
    func startStoreWriter(
        workspace: String, job: String, updates: Int, tag: String, delayMs: Int = 0,
        stateDir: String? = nil
    ) throws -> BackgroundProcess {
        var env = environment
        env["PATH"] = ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin"
        var arguments = [
            "store-writer", "--state-dir", stateDir ?? state, "--workspace", workspace, "--job", job,
            "--updates", String(updates), "--tag", tag,
        ]
        if delayMs > 0 { arguments += ["--delay-ms", String(delayMs)] }
        return try BackgroundProcess(
            Rel.bench, arguments, cwd: base, environment: env, stderrPath: base + "/writer-\(tag).err")
    }

    /// Writes a fake-codex script and returns its path.
    func script(_ name: String, _ value: JSONValue) throws -> String {
        let path = base + "/scripts/" + name + ".json"
        try write(path, try JSONCoding.encode(value))
        return path
    }

    // MARK: the store as it is on disk

    func storeDirectory(_ workspace: String) -> String {
        WorkspaceStore.workspacesDirectory(stateRoot: state) + "/" + WorkspaceStore.directoryName(for: workspace)
    }

    func recordPath(_ workspace: String, _ id: String) -> String { storeDirectory(workspace) + "/jobs/" + id + ".json" }

    func record(_ workspace: String, _ id: String) -> JobRecord? { Rel.readRecord(recordPath(workspace, id)) }

    /// The record of `id` in whichever workspace holds it.
    func record(_ id: String) -> JobRecord? {
        allRecordPaths().first { Path.basename($0) == id + ".json" }.flatMap(Rel.readRecord)
    }

    func quarantined(_ workspace: String) -> [String] {
        (try? FileSystem.list(storeDirectory(workspace) + "/quarantine")) ?? []
    }

    /// Opens the workspace's store in-process (for setting up records the binaries then read).
    func store(_ workspace: String) throws -> WorkspaceStore {
        try WorkspaceStore.open(stateRoot: state, workspaceRoot: workspace, warn: { _ in })
    }

    /// Whether nobody holds the workspace's store lock right now.
    func lockIsFree(_ workspace: String) -> Bool {
        guard let lock = try? FileLock.attempt(storeDirectory(workspace) + "/store.lock") else { return false }
        return withExtendedLifetime(lock) { true }
    }

    /// Waits until the job's record satisfies `condition` (bounded).
    @discardableResult
    func waitForRecord(_ id: String, timeout: Double = 30, _ condition: (JobRecord) -> Bool) -> JobRecord? {
        var last: JobRecord?
        let ok = Rel.eventually(timeout, interval: 0.03) {
            last = record(id)
            return last.map(condition) ?? false
        }
        return ok ? last : nil
    }
}

/// A finished job record made in-process, for tests that need one in a given shape.
enum RelRecords {
    static func make(
        _ store: WorkspaceStore, id: String = JobID.make(), status: JobStatus = .completed,
        pid: Int32? = nil, startTime: Int64? = nil, touched: [String] = []
    ) -> JobRecord {
        let now = Timestamp.now()
        return JobRecord(
            id: id, status: status,
            phase: status == .completed ? .done : (JobPhase(rawValue: status.rawValue) ?? .done), title: "reliability",
            summary: "reliability",
            workspaceRoot: store.root, cwd: store.root, sessionId: nil, write: false, background: true,
            pid: pid, pidStartTime: startTime, createdAt: now, startedAt: status == .queued ? nil : now,
            completedAt: status.isTerminal ? now : nil, updatedAt: now, timeoutSeconds: 1800,
            reason: status == .completed ? JobEndReason.completed : nil,
            logFile: store.logPath(id), promptFile: store.promptPath(id),
            result: status.isTerminal
                ? JobResult(finalMessage: "done", touchedFiles: touched, reasoningSummary: [], commands: []) : nil)
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only where a directory can be made unwritable for this process.
    static var needsReadOnlyDirectories: Self {
        .enabled(if: RelReadOnly.available, "cannot make a directory read-only here (root without chattr +i support)")
    }
}

/// Making a directory unwritable even for root: `chattr +i` (immutable) when running as
/// root, where permission bits are not enforced; chmod 0555 otherwise.
enum RelReadOnly {
    static let isRoot = geteuid() == 0

    /// Whether this machine can make a directory unwritable for us at all (probed once).
    static let available: Bool = {
        guard let probe = try? RelSandbox("probe") else { return false }
        guard let dir = try? probe.directory("ro") else { return false }
        guard lock(dir) else { return false }
        probe.lockedPaths.append(dir)
        let fd = open(dir + "/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        return fd < 0
    }()

    static func lock(_ path: String) -> Bool {
        if !isRoot { return chmod(path, 0o555) == 0 }
        guard let chattr = Subprocess.resolve("chattr", path: ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin")
        else { return false }
        let output = try? Subprocess.run(SpawnRequest(executable: chattr, arguments: ["+i", path]), timeout: 10)
        return output?.status.isSuccess ?? false
    }

    static func unlock(_ path: String) {
        if !isRoot {
            _ = chmod(path, 0o755)
            return
        }
        guard let chattr = Subprocess.resolve("chattr", path: ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin")
        else { return }
        _ = try? Subprocess.run(SpawnRequest(executable: chattr, arguments: ["-i", path]), timeout: 10)
    }
}

/// fake-codex script pieces.
enum FakeScript {
    static func agentMessage(_ text: String) -> JSONValue {
        [
            "notify": "item/completed",
            "params": [
                "threadId": "{{threadId}}", "turnId": "{{turnId}}",
                "item": ["type": "agentMessage", "id": "msg_final", "text": .string(text), "phase": "final_answer"],
            ],
        ]
    }

    static func reasoning(_ text: String) -> JSONValue {
        [
            "notify": "item/completed",
            "params": [
                "threadId": "{{threadId}}", "turnId": "{{turnId}}",
                "item": ["type": "reasoning", "id": "rs_1", "summary": [.string(text)], "content": []],
            ],
        ]
    }

    static func writeFile(_ path: String, _ content: String) -> JSONValue {
        ["writeFile": .string(path), "content": .string(content)]
    }

    static func turn(_ steps: [JSONValue], status: String = "completed", extra: [String: JSONValue] = [:]) -> JSONValue
    {
        var object: [String: JSONValue] = [
            "threadId": "thr_rel", "turnId": "turn_1", "steps": .array(steps), "turnStatus": .string(status),
        ]
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    /// A turn that writes `files` into its cwd and then completes.
    static func writing(_ files: [(String, String)], message: String = "Edited the files.") -> JSONValue {
        turn(files.map { writeFile($0.0, $0.1) } + [agentMessage(message)])
    }
}

extension String {
    /// Splits on a multi-character separator (no Foundation here).
    func components(_ separator: String) -> [String] {
        var result: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            result.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        result.append(String(rest))
        return result
    }
}
