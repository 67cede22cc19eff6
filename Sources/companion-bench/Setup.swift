import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

/// Where everything is: the built binaries next to this executable, the checkout, and the
/// run's temporary directory.
struct BenchSetup {
    /// This executable (its real path), next to which codex-companion and fake-codex were built.
    let bench: String
    /// The codex-companion checkout (Package.swift, bin/, Tests/).
    let repoRoot: String
    /// This run's temporary directory (removed at the end unless --keep).
    let root: String
    /// The environment every child starts from: ours, minus anything that would point the
    /// companion at the user's state, session, binary or Codex.
    let baseEnvironment: [String: String]

    /// The directory holding companion-bench, codex-companion and fake-codex.
    var binDir: String { Path.dirname(bench) }
    var companion: String { binDir + "/codex-companion" }
    var fakeCodex: String { binDir + "/fake-codex" }

    static func make(_ options: BenchOptions) throws -> BenchSetup {
        let selfPath =
            FileSystem.realPath("/proc/self/exe")
            ?? FileSystem.realPath(CommandLine.arguments.first ?? "") ?? ""
        guard !selfPath.isEmpty else { throw BenchFailure("cannot tell where companion-bench is (no /proc/self/exe)") }
        let binDir = Path.dirname(selfPath)
        for name in ["codex-companion", "fake-codex"] where !FileSystem.isExecutable(binDir + "/" + name) {
            throw BenchFailure("\(binDir)/\(name) is missing: build every product first (swift build -c release)")
        }
        let repoRoot: String
        if let repo = options.repo {
            guard let real = FileSystem.realPath(repo), FileSystem.exists(real + "/Package.swift") else {
                throw BenchFailure("--repo \(repo) is not a codex-companion checkout (no Package.swift)")
            }
            repoRoot = real
        } else {
            var directory = binDir
            var found: String?
            while directory != "/" && !directory.isEmpty {
                if FileSystem.exists(directory + "/Package.swift")
                    && FileSystem.exists(directory + "/bin/codex-companion")
                {
                    found = directory
                    break
                }
                directory = Path.dirname(directory)
            }
            guard let found else {
                throw BenchFailure("cannot find the checkout above \(binDir); pass --repo <dir>")
            }
            repoRoot = found
        }
        var environment = ProcessEnvironment.current()
        for key in environment.keys where key.hasPrefix("CODEX_COMPANION_") || key.hasPrefix("FAKE_CODEX_") {
            environment[key] = nil
        }
        for key in ["CLAUDE_PLUGIN_DATA", "CLAUDE_ENV_FILE", "CLAUDE_PLUGIN_ROOT"] { environment[key] = nil }
        let root = try Files.temporaryDirectory(prefix: "companion-bench")
        environment["HOME"] = root + "/home"
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["XDG_CONFIG_HOME"] = root + "/home/.config"
        environment["XDG_STATE_HOME"] = root + "/home/.local/state"
        try Files.makeDirectories(root + "/home")
        return BenchSetup(bench: selfPath, repoRoot: repoRoot, root: root, baseEnvironment: environment)
    }

    func environment(_ extra: [String: String]) -> [String: String] {
        var environment = baseEnvironment
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// A git client with the benchmark's isolated HOME (no user or system config).
    func git() throws -> GitClient {
        try GitClient(base: baseEnvironment)
    }

    /// `git init` plus one commit of whatever is in `directory`.
    func commitAll(_ directory: String, message: String = "initial") throws {
        let git = try self.git()
        try git.check(["init", "-q", "-b", "main"], in: directory)
        try git.check(["add", "-A"], in: directory)
        try git.check(
            [
                "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false",
                "commit", "-q", "--no-verify", "-m", message,
            ], in: directory)
    }
}
