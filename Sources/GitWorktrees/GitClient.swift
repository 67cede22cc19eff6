import CompanionSystem
import CompanionJSON
import ShellGuard

/// An operation that leaves a repository half-way, during which nothing may be applied to it.
public enum GitOperation: String, Codable, Sendable, Equatable, CaseIterable {
    case merge
    case rebase
    case applyMailbox = "am"
    case cherryPick = "cherry-pick"
    case revert
    case sequence
    case bisect

    /// How the user would name it in a sentence.
    public var displayName: String {
        switch self {
        case .merge: return "a merge"
        case .rebase: return "a rebase"
        case .applyMailbox: return "a rebase or `git am`"
        case .cherryPick: return "a cherry-pick"
        case .revert: return "a revert"
        case .sequence: return "a cherry-pick or revert sequence"
        case .bisect: return "a bisect"
        }
    }

    /// The command that finishes or abandons it.
    public var wayOut: String {
        switch self {
        case .merge: return "git merge --continue or git merge --abort"
        case .rebase: return "git rebase --continue or git rebase --abort"
        case .applyMailbox: return "git rebase --continue / git am --continue, or their --abort"
        case .cherryPick: return "git cherry-pick --continue or git cherry-pick --abort"
        case .revert: return "git revert --continue or git revert --abort"
        case .sequence: return "git cherry-pick --continue / git revert --continue, or their --abort"
        case .bisect: return "git bisect reset"
        }
    }
}

/// The facts of one git invocation that did not succeed.
public struct GitCommandFailure: Sendable, Equatable, CustomStringConvertible {
    public var arguments: [String]
    public var status: TerminationStatus
    public var stderr: String

    public init(arguments: [String], status: TerminationStatus, stderr: String) {
        self.arguments = arguments
        self.status = status
        self.stderr = stderr
    }

    /// argv, shell-quoted, for messages.
    public var commandLine: String { arguments.map(ShellWords.quote).joined(separator: " ") }

    public var description: String {
        let what = stderr.isEmpty ? "" : ": \(stderr)"
        return "`\(commandLine)` ended with \(status)\(what)"
    }
}

/// Everything that can go wrong in the git layer. Each case renders one plain sentence
/// (`message`) and what to do about it (`remedy`).
public enum GitError: Error, Sendable, Equatable, CustomStringConvertible {
    case gitNotFound
    case spawnFailed(arguments: [String], reason: String)
    /// git ran and failed (non-zero exit, or killed by a signal: never treated as success).
    case commandFailed(GitCommandFailure)
    case notARepository(directory: String)
    case noCommits(repoRoot: String)
    case unknownRevision(ref: String, repoRoot: String)
    case operationInProgress(GitOperation, repoRoot: String)
    case invalidJobId(String)
    case worktreePathExists(path: String)
    case branchExists(branch: String, repoRoot: String)
    case repositoryMissing(repoRoot: String)
    case workMissing(branch: String, path: String)
    case branchMissing(branch: String, repoRoot: String)
    case worktreeLeftBranch(path: String, branch: String)
    case notACompanionWorktree(path: String)
    case unsupportedPathEncoding(path: String)
    case backupDamaged(backupDirectory: String, reason: String)
    case applyFailed(repoRoot: String, detail: String)
    case cleanupFailed(repoRoot: String, detail: String)
    /// A path changed while a keep ran: the keep undid its own writes and stopped.
    /// `leftToUser` are paths (and entries set aside) it did not touch because they are the user's.
    case keepPathChanged(paths: [String], leftToUser: [String], branch: String)
    /// An interrupted keep was undone except for these paths, which changed after it stopped.
    case keepInterrupted(paths: [String], branch: String)
    /// A git lock file in a worktree is held by a live process.
    case gitLockHeld(path: String)
    /// No `--base` was given, the tree is clean, and no default branch could be found.
    case noDefaultBranch(repoRoot: String)
    /// `ref` and HEAD share no history, so there is no merge base to compare against.
    case noMergeBase(ref: String, repoRoot: String)

    public var message: String {
        switch self {
        case .gitNotFound:
            return "git was not found on PATH."
        case .spawnFailed(let arguments, let reason):
            return "Could not start `\(arguments.map(ShellWords.quote).joined(separator: " "))`: \(reason)."
        case .commandFailed(let failure):
            if case .signalled(let signal) = failure.status {
                return "`\(failure.commandLine)` was killed by signal \(signal)."
            }
            let detail = failure.stderr.isEmpty ? "" : ": \(Self.firstLines(failure.stderr))"
            return "`\(failure.commandLine)` failed (\(failure.status))\(detail)"
        case .notARepository(let directory):
            return "\(directory) is not inside a git working tree."
        case .noCommits(let repoRoot):
            return "The repository at \(repoRoot) has no commit yet, so there is nothing to base a worktree on."
        case .unknownRevision(let ref, let repoRoot):
            return "'\(ref)' does not name a commit in \(repoRoot)."
        case .operationInProgress(let operation, let repoRoot):
            return "The repository at \(repoRoot) is in the middle of \(operation.displayName); nothing was changed."
        case .invalidJobId(let id):
            return "'\(id)' cannot be used as a worktree or branch name."
        case .worktreePathExists(let path):
            return "\(path) already exists."
        case .branchExists(let branch, let repoRoot):
            return "The branch \(branch) already exists in \(repoRoot)."
        case .repositoryMissing(let repoRoot):
            return "The repository \(repoRoot) is gone or is no longer a git working tree (was it moved?)."
        case .workMissing(let branch, let path):
            return "Both the worktree \(path) and the branch \(branch) are gone, so there is nothing left to keep."
        case .branchMissing(let branch, let repoRoot):
            return "The branch \(branch) does not exist in \(repoRoot)."
        case .worktreeLeftBranch(let path, let branch):
            return "The worktree \(path) is no longer on \(branch), and its commits have diverged from it."
        case .notACompanionWorktree(let path):
            return "\(path) is not a codex-companion worktree (expected <repo>/.worktrees/<job-id> on codex/<job-id>)."
        case .unsupportedPathEncoding(let path):
            return
                "The change touches a file whose name is not valid UTF-8 (\(path)); it cannot be backed up safely, so nothing was applied."
        case .backupDamaged(let backupDirectory, let reason):
            return "The keep backup in \(backupDirectory) cannot be used: \(reason)."
        case .applyFailed(let repoRoot, let detail):
            return "Applying the changes to \(repoRoot) failed and was rolled back: \(Self.firstLines(detail))"
        case .cleanupFailed(let repoRoot, let detail):
            return
                "The changes were applied to \(repoRoot), but removing the worktree or the branch failed: \(Self.firstLines(detail))"
        case .keepPathChanged(let paths, let left, _):
            let kept =
                left.isEmpty
                ? "" : "; left exactly as they are now, because they are yours: \(left.joined(separator: ", "))"
            return
                "\(paths.joined(separator: ", ")) changed while the keep was running, so it stopped and undid its own writes\(kept)."
        case .keepInterrupted(let paths, _):
            return
                "An interrupted keep was undone, except for \(paths.joined(separator: ", ")), which changed after it stopped and are left exactly as they are now."
        case .gitLockHeld(let path):
            return "\(path) is held by a running git process."
        case .noDefaultBranch(let repoRoot):
            return
                "There are no uncommitted changes in \(repoRoot), and no default branch (origin/HEAD, main, master, trunk) to compare the current branch with."
        case .noMergeBase(let ref, let repoRoot):
            return "'\(ref)' and HEAD share no history in \(repoRoot), so there is no merge base to review against."
        }
    }

    public var remedy: String {
        switch self {
        case .gitNotFound, .spawnFailed:
            return "Install git or put it on PATH, then run the command again."
        case .commandFailed:
            return "Fix the problem git reports, then run the command again."
        case .notARepository:
            return "Run it from inside a git repository, or pass --cwd <repo>."
        case .noCommits:
            return "Make a first commit (git commit --allow-empty -m init), then try again."
        case .unknownRevision:
            return "Name a branch, tag or commit that exists (git log --oneline shows some)."
        case .operationInProgress(let operation, _):
            return "Finish or abort it first (\(operation.wayOut)), then run the command again."
        case .invalidJobId:
            return "Use a job id made of letters, digits, '.', '_' and '-'."
        case .worktreePathExists:
            return "Remove it or run `codex-companion worktree prune`, then try again."
        case .branchExists:
            return "Delete the branch (git branch -D) or choose another job, then try again."
        case .repositoryMissing:
            return "Pass --cwd with the repository's current location."
        case .workMissing:
            return "Nothing can be recovered by the companion; discard the job's worktree record."
        case .branchMissing:
            return "Check `git branch --list 'codex/*'`; the work may have been deleted by hand."
        case .worktreeLeftBranch:
            return
                "Inspect the worktree with git log, move its work onto the branch by hand, then run the cleanup again."
        case .notACompanionWorktree:
            return "Clean it up by hand with git worktree remove and git branch -D."
        case .unsupportedPathEncoding:
            return "Use --action branch and merge the branch by hand."
        case .backupDamaged:
            return
                "Compare the repository with the branch by hand (git status, git diff); the branch still has the work."
        case .applyFailed:
            return "The worktree and branch were kept; resolve by hand or use --action branch."
        case .cleanupFailed:
            return "Run the same cleanup again to finish; the applied changes stay in place."
        case .keepPathChanged(_, _, let branch):
            return "Finish your edits, then run keep again; the work is still on \(branch)."
        case .keepInterrupted(let paths, let branch):
            var files: [String] = []
            for path in paths.map({ GitText.dropSuffix($0, " (staged)") }) where !files.contains(path) {
                files.append(path)
            }
            let names = files.map(ShellWords.quote).joined(separator: " ")
            return
                "Check them (git diff -- \(names)), then run the command again; the work is still on \(branch)."
        case .gitLockHeld:
            return "Wait for it to finish, then run the command again."
        case .noDefaultBranch:
            return "Pass --base <ref> or --commit <sha> to say what to review."
        case .noMergeBase:
            return "Pass --base with a branch that shares history with HEAD, or --commit <sha>."
        }
    }

    public var description: String { "\(message) \(remedy)" }

    /// The failed command's details, when there are any.
    public var failure: GitCommandFailure? {
        if case .commandFailed(let failure) = self { return failure }
        return nil
    }

    package static func firstLines(_ text: String, limit: Int = 6) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        var result = lines.prefix(limit).joined(separator: "\n")
        if lines.count > limit { result += "\n… (\(lines.count - limit) more lines)" }
        return result
    }
}

/// Runs git. Always with an argv array (never a shell), always `git -C <dir>` (never a
/// change of directory), with a C locale and no terminal prompts. A git killed by a
/// signal is an error; a non-zero exit is returned to the caller by `run` and thrown
/// by `check`/`text`, because only the caller knows what an exit status means.
public struct GitClient: Sendable {
    public let executable: String
    /// The environment every git gets (this process's, minus variables that would point
    /// git at another repository, plus the fixed settings and the overrides).
    public let environment: [String: String]
    /// Seconds after which one git is killed (nil: no limit).
    public var timeout: Double?

    /// Variables that relocate the repository git works on; `-C` must be the only source.
    package static let repositoryVariables: Set<String> = [
        "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_PREFIX", "GIT_NAMESPACE",
        "GIT_QUARANTINE_PATH", "GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS", "GIT_NOGLOB_PATHSPECS",
        "GIT_ICASE_PATHSPECS", "GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS",
    ]

    /// - Parameters:
    ///   - executable: git to run; nil finds `git` on PATH.
    ///   - base: the environment to start from; nil uses this process's.
    ///   - overrides: set last (tests use it for HOME and GIT_CONFIG_NOSYSTEM).
    public init(
        executable: String? = nil, base: [String: String]? = nil,
        overrides: [String: String] = [:], timeout: Double? = nil
    ) throws {
        var environment = base ?? ProcessEnvironment.current()
        guard let resolved = Subprocess.resolve(executable ?? "git", path: environment["PATH"]) else {
            throw GitError.gitNotFound
        }
        for key in Self.repositoryVariables { environment[key] = nil }
        environment["LC_ALL"] = "C"
        environment["LANGUAGE"] = nil
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_ASKPASS"] = nil
        environment["SSH_ASKPASS"] = nil
        environment["GIT_EDITOR"] = ":"
        environment["GIT_SEQUENCE_EDITOR"] = nil
        environment["GIT_PAGER"] = "cat"
        for (key, value) in overrides { environment[key] = value }
        self.executable = resolved
        self.environment = environment
        self.timeout = timeout
    }

    /// The spawn request for one git invocation (pure: build and inspect without running).
    public func request(
        _ arguments: [String], in directory: String?, reading: Bool = false,
        environment extra: [String: String] = [:]
    ) -> SpawnRequest {
        var environment = self.environment
        if reading { environment["GIT_OPTIONAL_LOCKS"] = "0" }
        for (key, value) in extra { environment[key] = value }
        let argv = (directory.map { ["-C", $0] } ?? []) + arguments
        // git is a short-lived helper: it stays in our process group, so a kill of the
        // companion's group also ends a git it was running.
        return SpawnRequest(executable: executable, arguments: argv, environment: environment, grouping: .inherit)
    }

    /// Runs git and returns its output whatever the exit status.
    /// - Throws: `GitError.spawnFailed` when git cannot start, `.commandFailed` when a signal killed it.
    public func run(
        _ arguments: [String], in directory: String?, reading: Bool = false,
        environment extra: [String: String] = [:], input: [UInt8]? = nil
    ) throws -> ProcessOutput {
        let request = request(arguments, in: directory, reading: reading, environment: extra)
        let output: ProcessOutput
        do {
            output = try Subprocess.run(request, input: input, timeout: timeout)
        } catch {
            throw GitError.spawnFailed(arguments: ["git"] + request.arguments, reason: error.description)
        }
        if case .signalled = output.status {
            throw GitError.commandFailed(Self.failure(request, output))
        }
        return output
    }

    /// Runs git and throws unless it exited 0.
    @discardableResult
    public func check(
        _ arguments: [String], in directory: String?, reading: Bool = false,
        environment extra: [String: String] = [:], input: [UInt8]? = nil
    ) throws -> ProcessOutput {
        let output = try run(arguments, in: directory, reading: reading, environment: extra, input: input)
        guard output.status.isSuccess else {
            throw GitError.commandFailed(Self.failure(request(arguments, in: directory), output))
        }
        return output
    }

    /// Runs git, throws unless it exited 0, and returns stdout without its final newline.
    public func text(
        _ arguments: [String], in directory: String?, reading: Bool = false,
        environment extra: [String: String] = [:]
    ) throws -> String {
        let output = try check(arguments, in: directory, reading: reading, environment: extra)
        return Self.dropFinalNewline(output.stdout)
    }

    package static func failure(_ request: SpawnRequest, _ output: ProcessOutput) -> GitCommandFailure {
        GitCommandFailure(
            arguments: ["git"] + request.arguments, status: output.status,
            stderr: GitText.trim(output.stderrText))
    }

    /// stdout as text without the one newline git ends a single value with (a value may
    /// itself contain newlines, so nothing else is trimmed).
    package static func dropFinalNewline(_ bytes: [UInt8]) -> String {
        var bytes = bytes[...]
        if bytes.last == 0x0A { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

// MARK: - Repository questions

extension GitClient {
    /// The top level of the working tree containing `directory`.
    /// - Throws: `GitError.notARepository` outside a working tree (and in a bare repository).
    public func topLevel(of directory: String) throws -> String {
        guard FileSystem.isDirectory(directory) else { throw GitError.notARepository(directory: directory) }
        let output = try run(["rev-parse", "--show-toplevel"], in: directory, reading: true)
        let top = Self.dropFinalNewline(output.stdout)
        guard output.status.isSuccess, !top.isEmpty else { throw GitError.notARepository(directory: directory) }
        return top
    }

    /// Whether HEAD points at a commit (false in a repository with no commit yet).
    public func hasCommit(in directory: String) throws -> Bool {
        try run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], in: directory, reading: true).status.isSuccess
    }

    /// The commit `ref` names, or nil when it names none.
    public func commit(of ref: String, in directory: String) throws -> String? {
        let output = try run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}"], in: directory, reading: true)
        guard output.status.isSuccess else { return nil }
        let id = Self.dropFinalNewline(output.stdout)
        return id.isEmpty ? nil : id
    }

    /// `git rev-parse --git-path <name>` made absolute: where git itself reads `name`
    /// (the common directory for info/exclude, the worktree's own for MERGE_HEAD…).
    public func gitPath(_ name: String, in directory: String) throws -> String {
        let path = try text(["rev-parse", "--path-format=absolute", "--git-path", name], in: directory, reading: true)
        return Path.absolute(path, relativeTo: directory)
    }

    /// Several git paths in one call; falls back to one call each when a path contains a newline.
    package func gitPaths(_ names: [String], in directory: String) throws -> [String] {
        let output = try check(
            ["rev-parse", "--path-format=absolute"] + names.flatMap { ["--git-path", $0] }, in: directory, reading: true
        )
        if let lines = Self.lines(output.stdout, count: names.count) {
            return lines.map { Path.absolute($0, relativeTo: directory) }
        }
        return try names.map { try gitPath($0, in: directory) }
    }

    /// The top level of `directory`'s working tree and the absolute path of `gitPath` in one call.
    package func topLevelAndGitPath(_ name: String, of directory: String) throws -> (topLevel: String, path: String) {
        guard FileSystem.isDirectory(directory) else { throw GitError.notARepository(directory: directory) }
        let output = try run(
            ["rev-parse", "--show-toplevel", "--path-format=absolute", "--git-path", name], in: directory, reading: true
        )
        guard output.status.isSuccess else { throw GitError.notARepository(directory: directory) }
        if let lines = Self.lines(output.stdout, count: 2), !lines[0].isEmpty { return (lines[0], lines[1]) }
        return (try topLevel(of: directory), try gitPath(name, in: directory))
    }

    /// stdout as exactly `count` lines, or nil (a value held a newline, or git printed something else).
    package static func lines(_ stdout: [UInt8], count: Int) -> [String]? {
        let lines = dropFinalNewline(stdout).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return lines.count == count ? lines : nil
    }

    /// The git-path files whose presence means an operation is under way.
    package static let operationProbes: [(name: String, operation: GitOperation)] = [
        ("rebase-merge", .rebase), ("rebase-apply", .applyMailbox), ("MERGE_HEAD", .merge),
        ("CHERRY_PICK_HEAD", .cherryPick), ("REVERT_HEAD", .revert), ("sequencer", .sequence),
        ("BISECT_LOG", .bisect),
    ]

    /// The operation the working tree at `directory` is in the middle of, if any.
    public func operationInProgress(in directory: String) throws -> GitOperation? {
        Self.operation(probing: try gitPaths(Self.operationProbes.map(\.name), in: directory))
    }

    /// Which operation the resolved `operationProbes` paths show (same order).
    package static func operation(probing paths: [String]) -> GitOperation? {
        for (path, probe) in zip(paths, operationProbes) where FileSystem.exists(path) {
            if probe.operation == .applyMailbox, FileSystem.exists(path + "/rebasing") { return .rebase }
            return probe.operation
        }
        return nil
    }

    /// Whether the local branch `name` (without refs/heads/) exists.
    public func branchExists(_ name: String, in directory: String) throws -> Bool {
        try commit(of: "refs/heads/" + name, in: directory) != nil
    }

    /// Deletes a local branch; a missing branch is not an error.
    public func deleteBranch(_ name: String, in directory: String, force: Bool = true) throws {
        let arguments = ["branch", force ? "-D" : "-d", "--", name]
        let output = try run(arguments, in: directory)
        if output.status.isSuccess || output.stderrText.contains("not found") { return }
        throw GitError.commandFailed(Self.failure(request(arguments, in: directory), output))
    }

    /// Whether `ancestor` is reachable from `descendant`.
    public func isAncestor(_ ancestor: String, of descendant: String, in directory: String) throws -> Bool {
        let output = try run(["merge-base", "--is-ancestor", ancestor, descendant], in: directory, reading: true)
        switch output.status {
        case .exited(0): return true
        case .exited(1): return false
        default:
            throw GitError.commandFailed(
                Self.failure(request(["merge-base", "--is-ancestor", ancestor, descendant], in: directory), output))
        }
    }

    /// The best common ancestor of two commits, or nil when they share none.
    public func mergeBase(_ a: String, _ b: String, in directory: String) throws -> String? {
        let output = try run(["merge-base", a, b], in: directory, reading: true)
        guard output.status.isSuccess else { return nil }
        return Self.dropFinalNewline(output.stdout)
    }

    /// Every worktree of the repository (`git worktree list --porcelain -z`).
    public func worktrees(in directory: String) throws -> [GitWorktreeEntry] {
        GitWorktreeEntry.parse(
            try check(["worktree", "list", "--porcelain", "-z"], in: directory, reading: true).stdout)
    }

    /// Local branch names (without refs/heads/) under `prefix` (e.g. "codex/").
    public func branches(withPrefix prefix: String, in directory: String) throws -> [String: String] {
        let output = try check(
            ["for-each-ref", "--format=%(objectname) %(refname)%00", "refs/heads/" + prefix], in: directory,
            reading: true)
        var result: [String: String] = [:]
        for record in NULFields.split(output.stdout) {
            // Each record is "<id> <ref>\0\n" (for-each-ref ends every line with a newline).
            let line = GitText.trim(String(decoding: record, as: UTF8.self))
            guard let space = line.firstIndex(of: " ") else { continue }
            let name = GitText.dropPrefix(String(line[line.index(after: space)...]), "refs/heads/")
            result[name] = String(line[..<space])
        }
        return result
    }

    /// Changes between two commits (`git diff --raw -z --no-renames`) and the human diff stat
    /// (`git diff --stat`, trimmed; "" when nothing changed), from one git run.
    /// - Parameter withStat: false skips the stat (and its cost); `stat` is then "".
    public func diffSummary(
        from base: String, to head: String, in directory: String, withStat: Bool = true
    ) throws -> (changes: [GitChange], stat: String) {
        let output = try check(
            ["-c", "core.quotepath=false", "diff", "--raw", "-z"] + (withStat ? ["--stat"] : []) + [
                "--no-renames", "--no-abbrev", "--no-color", "--no-ext-diff", "--no-relative",
                "--ignore-submodules=none",
                base, head, "--",
            ],
            in: directory, reading: true)
        let parsed = GitChange.parseRaw(output.stdout)
        return (parsed.changes, GitText.trim(String(decoding: parsed.rest, as: UTF8.self)))
    }
}

/// One entry of `git worktree list --porcelain -z`.
public struct GitWorktreeEntry: Sendable, Equatable {
    public var path: String
    public var head: String?
    /// Full ref name (refs/heads/…), nil when detached or bare.
    public var branch: String?
    public var isBare = false
    public var isDetached = false
    /// nil when not locked; "" when locked without a reason.
    public var lockReason: String?
    /// nil when git does not consider it prunable.
    public var prunableReason: String?

    public var isLocked: Bool { lockReason != nil }

    public init(path: String) { self.path = path }

    /// Parses NUL-terminated attribute lines, records separated by an empty field.
    public static func parse(_ bytes: [UInt8]) -> [GitWorktreeEntry] {
        var result: [GitWorktreeEntry] = []
        var current: GitWorktreeEntry?
        for field in NULFields.split(bytes, keepEmpty: true) {
            let line = String(decoding: field, as: UTF8.self)
            if line.isEmpty {
                if let entry = current { result.append(entry) }
                current = nil
                continue
            }
            let (key, value) = GitText.splitOnce(line, " ")
            if key == "worktree" {
                if let entry = current { result.append(entry) }
                current = GitWorktreeEntry(path: value ?? "")
                continue
            }
            guard current != nil else { continue }
            switch key {
            case "HEAD": current?.head = value
            case "branch": current?.branch = value
            case "bare": current?.isBare = true
            case "detached": current?.isDetached = true
            case "locked": current?.lockReason = value ?? ""
            case "prunable": current?.prunableReason = value ?? ""
            default: break
            }
        }
        if let entry = current { result.append(entry) }
        return result
    }
}

/// One changed path between two trees (`git diff --raw -z --no-renames`).
public struct GitChange: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case added = "A"
        case deleted = "D"
        case modified = "M"
        case typeChanged = "T"
        case unmerged = "U"
        case unknown = "X"
    }
    public var kind: Kind
    public var oldMode: String
    public var newMode: String
    public var path: String
    /// The path's bytes exactly as git gave them.
    public var rawPath: [UInt8]

    /// Whether the path's bytes are valid UTF-8 (so `path` names the same file).
    public var hasFaithfulPath: Bool { Array(path.utf8) == rawPath }

    /// Parses `--raw -z` records (":<modes> <ids> <letter>\0<path>\0" each) from the start
    /// of `bytes`; returns them and whatever follows (e.g. a `--stat` block).
    package static func parseRaw(_ bytes: [UInt8]) -> (changes: [GitChange], rest: ArraySlice<UInt8>) {
        var result: [GitChange] = []
        var index = bytes.startIndex
        while index < bytes.endIndex, bytes[index] == UInt8(ascii: ":"),
            let metaEnd = bytes[index...].firstIndex(of: 0),
            let pathEnd = bytes[(metaEnd + 1)...].firstIndex(of: 0)
        {
            let meta = String(decoding: bytes[(index + 1)..<metaEnd], as: UTF8.self)
            let raw = Array(bytes[(metaEnd + 1)..<pathEnd])
            index = pathEnd + 1
            let parts = meta.split(separator: " ")
            guard parts.count >= 5, let letter = parts[4].first else { continue }
            result.append(
                GitChange(
                    kind: Kind(rawValue: String(letter)) ?? .unknown, oldMode: String(parts[0]),
                    newMode: String(parts[1]),
                    path: String(decoding: raw, as: UTF8.self), rawPath: raw))
        }
        return (result, bytes[index...])
    }
}

/// Splitting of `-z` output.
package enum NULFields {
    /// Fields ended by NUL. Without `keepEmpty`, empty fields are dropped.
    package static func split(_ bytes: [UInt8], keepEmpty: Bool = false) -> [ArraySlice<UInt8>] {
        var fields: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        for index in bytes.indices where bytes[index] == 0 {
            let field = bytes[start..<index]
            if keepEmpty || !field.isEmpty { fields.append(field) }
            start = index + 1
        }
        if start < bytes.endIndex { fields.append(bytes[start...]) }
        return fields
    }
}

/// Small text helpers of the git layer (namespaced, so they cannot clash with others' extensions).
package enum GitText {
    package static func trim(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }

    package static func splitOnce(_ text: String, _ separator: Character) -> (String, String?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (String(text[..<index]), String(text[text.index(after: index)...]))
    }

    package static func dropPrefix(_ text: String, _ prefix: String) -> String {
        text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
    }

    package static func dropSuffix(_ text: String, _ suffix: String) -> String {
        text.hasSuffix(suffix) ? String(text.dropLast(suffix.count)) : text
    }

    package static func replacingAll(_ text: String, _ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return text }
        var result = ""
        var rest = text[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
