import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// Everything a command may touch of the outside world, injected so tests can run
/// commands in-process with captured output.
public struct CompanionContext: Sendable {
    public var environment: [String: String]
    /// Empty when the process's working directory no longer exists (see `makeInvocation`).
    public var currentDirectory: String
    /// This executable, used to start detached workers.
    public var executablePath: String
    public var writeStdout: @Sendable (String) -> Void
    public var writeStderr: @Sendable (String) -> Void
    /// Standard input when it is not a terminal; nil otherwise.
    public var readStdin: @Sendable () -> [UInt8]?

    public init(
        environment: [String: String], currentDirectory: String, executablePath: String,
        writeStdout: @escaping @Sendable (String) -> Void, writeStderr: @escaping @Sendable (String) -> Void,
        readStdin: @escaping @Sendable () -> [UInt8]?
    ) {
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.executablePath = executablePath
        self.writeStdout = writeStdout
        self.writeStderr = writeStderr
        self.readStdin = readStdin
    }

    /// The real process: its environment, directory, streams and executable path.
    public static func live() -> CompanionContext {
        CompanionContext(
            environment: ProcessEnvironment.current(),
            currentDirectory: FileSystem.currentDirectory() ?? "",
            executablePath: SelfExecutable.path(),
            // A closed stdout or stderr (the reader went away) has nobody left to tell.
            writeStdout: { text in try? FileDescriptorIO.writeAll(1, Array(text.utf8)) },
            writeStderr: { text in try? FileDescriptorIO.writeAll(2, Array(text.utf8)) },
            readStdin: {
                if CurrentProcess.isTerminal(0) { return nil }
                return try? FileDescriptorIO.readAll(0)  // unreadable stdin reads as none
            }
        )
    }
}

package enum SelfExecutable {
    package static func path() -> String {
        #if os(Linux)
            if let resolved = FileSystem.realPath("/proc/self/exe") { return resolved }
        #endif
        let argv0 = CommandLine.arguments.first ?? "codex-companion"
        if argv0.contains("/") { return FileSystem.realPath(argv0) ?? argv0 }
        return Subprocess.resolve(argv0) ?? argv0
    }
}

/// What a command produced: a JSON payload for `--json`, Markdown otherwise.
public struct CommandOutput: Sendable {
    public var json: JSONValue
    public var markdown: String
    public var exitCode: Int32

    /// `payload` is the command's `--json` object: an `Encodable` type whose field names
    /// are the README's contract, encoded with every field present (null when unknown).
    package init(payload: some Encodable, markdown: String, exitCode: Int32 = ExitCode.success) {
        self.json = JSONValue.encoding(payload)
        self.markdown = markdown
        self.exitCode = exitCode
    }

    /// An answer with no payload of its own: hooks and the worker write their own output.
    package static func nothing(exitCode: Int32 = ExitCode.success) -> CommandOutput {
        CommandOutput(payload: JSONValue.null, markdown: "", exitCode: exitCode)
    }
}

/// A parsed command plus the resolved context it runs in.
public struct Invocation: Sendable {
    public var context: CompanionContext
    public var parsed: ParsedCommand
    /// `--cwd` resolved against the process's directory.
    public var cwd: String
    public var stateRoot: String
    public var sessionId: String?

    public var json: Bool { parsed.global.json }
    public var environment: [String: String] { context.environment }

    public var warn: WarningSink {
        let sink = context.writeStderr
        return { message in sink(Printable.neutralized(message) + "\n") }
    }

    /// One progress line on stderr; control characters from the model are neutralised.
    public func progress(_ line: String) { context.writeStderr(Printable.singleLine(line) + "\n") }

    public func lookup() -> JobLookup { JobLookup(stateRoot: stateRoot, warn: warn) }

    /// The store of the workspace containing `cwd`.
    public func workspaceStore() throws(StoreError) -> WorkspaceStore {
        try WorkspaceStore.open(stateRoot: stateRoot, workspaceRoot: Workspace.root(of: cwd), warn: warn)
    }

    /// The same store for a command that only reads: never creates its directory.
    public func workspaceStoreForReading() throws(StoreError) -> WorkspaceStore {
        try WorkspaceStore.openForReading(stateRoot: stateRoot, workspaceRoot: Workspace.root(of: cwd), warn: warn)
    }
}

public enum Workspace {
    /// The git top level containing `directory` (found by walking up to a `.git`
    /// entry, which also stops at linked worktrees and submodules), else `directory`.
    public static func root(of directory: String) -> String {
        var current = directory
        while true {
            if isGitEntry(current + "/.git") { return current }
            let parent = Path.dirname(current)
            if parent == current || parent.isEmpty { return directory }
            current = parent
        }
    }

    /// A `.git` directory with a HEAD, or a `.git` file pointing elsewhere ("gitdir: …").
    package static func isGitEntry(_ path: String) -> Bool {
        if FileSystem.isDirectory(path) { return FileSystem.exists(path + "/HEAD") }
        // Unreadable: not a repository entry.
        guard let head = (try? FileSystem.read(path, from: 0, limit: 8)) ?? nil else { return false }
        return head == Array("gitdir: ".utf8)
    }
}
