import CompanionSystem
import CompanionJSON

// What `compare` reports per attempt: the size of base→branch, and a check command run
// inside the attempt's worktree.

/// Lines and files of base→branch (`git diff --numstat`).
public struct DiffTotals: Codable, Sendable, Equatable {
    public var filesChanged: Int
    public var linesAdded: Int
    public var linesRemoved: Int
    /// Files git counts no lines for (binary).
    public var binaryFiles: Int
}

/// How a check command ended in one attempt's worktree.
public struct CheckRun: Codable, Sendable, Equatable {
    public var command: String
    /// Exited 0 within the time limit.
    public var passed: Bool
    /// nil when a signal ended it (or the time limit did).
    public var exitCode: Int32?
    public var timedOut: Bool
    public var durationMs: Int
    /// stdout, then stderr, in full (the last 4 MiB when longer).
    public var outputFile: String?
    /// The last lines of the output.
    public var outputTail: [String]
    /// Paths the command changed or created in the worktree (reset afterwards: the attempt's
    /// work is on its branch, and keep must not pick up build products).
    public var leftovers: [String]
}

extension WorktreeOperations {
    /// Files and lines of base→branch.
    public static func diffTotals(_ info: WorktreeInfo, git: GitClient? = nil) throws -> DiffTotals {
        let git = try git ?? GitClient()
        guard let head = try git.commit(of: "refs/heads/" + info.branch, in: info.repoRoot) else {
            throw GitError.branchMissing(branch: info.branch, repoRoot: info.repoRoot)
        }
        let output = try git.check(
            [
                "diff", "--numstat", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", "--no-relative",
                "--ignore-submodules=none", info.baseCommit, head, "--",
            ], in: info.repoRoot, reading: true)
        var totals = DiffTotals(filesChanged: 0, linesAdded: 0, linesRemoved: 0, binaryFiles: 0)
        // Each record is "<added>\t<removed>\t<path>\0"; a binary file has "-" for both counts.
        for record in NULFields.split(output.stdout) {
            let fields = record.split(separator: UInt8(ascii: "\t"), maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            totals.filesChanged += 1
            let added = Int(String(decoding: fields[0], as: UTF8.self))
            let removed = Int(String(decoding: fields[1], as: UTF8.self))
            if let added, let removed {
                totals.linesAdded += added
                totals.linesRemoved += removed
            } else {
                totals.binaryFiles += 1
            }
        }
        return totals
    }

    /// Runs `command` with `/bin/sh -c` in the job's worktree, in its own process group (the
    /// whole group is killed at `timeout` seconds), stdin from /dev/null, pipes drained while
    /// it runs. The worktree is captured first, so the branch holds the attempt's work, and
    /// put back to the branch head afterwards (ignored files stay).
    public static func runCheck(
        _ command: String, in info: WorktreeInfo, timeout: Double, outputFile: String?, git: GitClient? = nil
    ) throws -> CheckRun {
        let git = try git ?? GitClient()
        try capture(info, jobId: info.jobId, git: git)
        guard case .onBranch = try checkoutState(info, git: git) else {
            throw GitError.worktreeLeftBranch(path: info.path, branch: info.branch)
        }
        var environment = ProcessEnvironment.current()
        for key in GitClient.repositoryVariables { environment[key] = nil }
        let request = SpawnRequest(
            executable: "/bin/sh", arguments: ["-c", command], environment: environment, directory: info.path,
            grouping: .newGroup)
        let started = MonotonicClock.now()
        let output: ProcessOutput
        do {
            output = try Subprocess.run(request, timeout: timeout)
        } catch {
            throw GitError.spawnFailed(arguments: ["/bin/sh", "-c", command], reason: error.description)
        }
        let duration = Int((MonotonicClock.now() - started) * 1000)
        var text = output.stdout + output.stderr
        if text.count > 4 << 20 { text = Array(text.suffix(4 << 20)) }
        if let outputFile { try ScratchDirectory.replaceFile(text, at: outputFile) }
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n").suffix(20).map(String.init)
        var exitCode: Int32?
        if case .exited(let code) = output.status, !output.timedOut { exitCode = code }
        let leftovers = try resetWorktree(info, git: git)
        return CheckRun(
            command: command, passed: exitCode == 0, exitCode: exitCode, timedOut: output.timedOut,
            durationMs: duration, outputFile: outputFile, outputTail: lines, leftovers: leftovers)
    }

    /// Puts the job's worktree back to its branch head (tracked files restored, new
    /// not-ignored files removed) and returns what had changed. Only for a worktree whose
    /// work was just captured on the branch.
    package static func resetWorktree(_ info: WorktreeInfo, git: GitClient) throws -> [String] {
        let status = try git.check(
            ["-c", "core.quotepath=false", "status", "--porcelain=v1", "-z", "--untracked-files=all"], in: info.path,
            reading: true)
        let paths = NULFields.split(status.stdout).compactMap { record -> String? in
            record.count > 3 ? String(decoding: record.dropFirst(3), as: UTF8.self) : nil
        }
        if paths.isEmpty { return [] }
        try git.check(["reset", "--hard", "--quiet", "HEAD"], in: info.path)
        try git.check(["clean", "-fdq"], in: info.path)
        return paths
    }
}
