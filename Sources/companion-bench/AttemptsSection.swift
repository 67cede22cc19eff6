import CompanionSystem
import CompanionJSON
import GitWorktrees
import JobStore
import CompanionCLI

// MARK: - 7. snapshot, keep preview and best-of-N launch on a 10,000-file repository

/// What issue 15 adds, measured on the worktree section's generated 10,000-file repository
/// with a dirty user tree (the 100 benchmark files modified, 10 untracked files):
/// the working-tree snapshot a worktree starts from, the keep preview (cold and cached),
/// `status <id>` of a finished worktree job, and `task --runs 3` until it returns.
enum AttemptsSection {
    static let attempts = 3

    static func run(_ setup: BenchSetup, options: BenchOptions, results: BenchResults) throws {
        let runs = options.runs(default: 5)
        let repo = setup.root + "/attempts/repo"
        try Files.makeDirectories(repo)
        progress("  generating a repository of \(WorktreeSection.fileCount) files…")
        try WorktreeSection.generate(repo, setup: setup)
        try WorktreeSection.edit(repo)
        for index in 0..<10 { try Files.write(repo + "/untracked-\(index).txt", "new file \(index)\n") }
        let git = try setup.git()
        try snapshotRows(repo, git: git, runs: runs, setup: setup, results: results)
        let info = try previewRows(repo, git: git, runs: runs, setup: setup, results: results)
        try statusRow(repo, info: info, runs: runs, setup: setup, results: results)
        try launchRow(repo, runs: max(1, min(runs, 3)), setup: setup, results: results)
    }

    /// `snapshotWorkingTree` against the same git commands run by hand.
    static func snapshotRows(_ repo: String, git: GitClient, runs: Int, setup: BenchSetup, results: BenchResults)
        throws
    {
        let index = try git.gitPath("index", in: repo)
        let cases = [
            BenchCase(name: "companion") { _ in
                try timed { _ = try WorktreeOperations.snapshotWorkingTree(repoRoot: repo, label: "bench", git: git) }
            },
            BenchCase(name: "raw") { round in
                let scratch = setup.root + "/attempts/raw-index-\(round + 1)"
                let environment = ["GIT_INDEX_FILE": scratch]
                return try timed {
                    try ScratchDirectory.replaceFile(try FileSystem.read(index) ?? [], at: scratch)
                    try git.check(["add", "-A"], in: repo, environment: environment)
                    let tree = try git.text(["write-tree"], in: repo, environment: environment)
                    try git.check(
                        [
                            "-c", "user.name=b", "-c", "user.email=b@localhost", "commit-tree", tree, "-p", "HEAD",
                            "-m", "s",
                        ],
                        in: repo)
                    try FileSystem.remove(scratch)
                }
            },
        ]
        let samples = try interleave(cases, runs: runs, label: "snapshot")
        results.add(
            BenchRow(
                section: "attempts",
                name: "Snapshot of the working tree (100 modified + 10 untracked files, 10,000-file repo)",
                samples: samples["companion"]!,
                floorName: "same raw git (index copy, `add -A`, `write-tree`, `commit-tree`)",
                floor: samples["raw"]!, ratioStyle: "%"))
    }

    /// The keep preview of a worktree whose branch changes 100 files, cold (no cache) and
    /// cached, against `git diff --binary` + `git apply --check` run by hand.
    static func previewRows(_ repo: String, git: GitClient, runs: Int, setup: BenchSetup, results: BenchResults)
        throws -> WorktreeInfo
    {
        // As the product does by default: the worktree starts from the user's dirty tree, and
        // the branch changes the same 100 files again (so keep would apply cleanly).
        let info = try WorktreeOperations.create(
            fromDirectory: repo, jobId: "bench-preview", start: .workingTree, git: git)
        for index in WorktreeSection.changedIndexes {
            let path = info.path + "/" + WorktreeSection.relativePath(index)
            try Files.write(path, String(decoding: try FileSystem.read(path) ?? [], as: UTF8.self) + "// branch\n")
        }
        let head = try WorktreeOperations.capture(info, jobId: info.jobId, git: git).head
        let cache = setup.root + "/attempts/preview-cache"
        let patch = setup.root + "/attempts/raw.patch"
        var verdict: KeepPreview?
        let cases = [
            BenchCase(name: "cold") { _ in
                try FileSystem.remove(cache)
                return try timed { verdict = try WorktreeOperations.keepPreview(info, cacheFile: cache, git: git) }
            },
            BenchCase(name: "cached") { _ in
                try timed { _ = try WorktreeOperations.keepPreview(info, cacheFile: cache, git: git) }
            },
            BenchCase(name: "raw") { _ in
                try timed {
                    try git.check(["diff", "--binary", "--output=" + patch, info.baseCommit, head], in: repo)
                    _ = try git.run(["apply", "--check", patch], in: repo)
                }
            },
        ]
        let samples = try interleave(cases, runs: runs, label: "preview")
        let detail = verdict.map { $0.sentence } ?? ""
        results.add(
            BenchRow(
                section: "attempts", name: "Keep preview, cold (100 changed files vs a dirty 10,000-file tree)",
                samples: samples["cold"]!, floorName: "raw `diff --binary` + `apply --check`", floor: samples["raw"]!,
                ratioStyle: "%", detail: detail))
        results.add(
            BenchRow(
                section: "attempts", name: "Keep preview, cached (same trees, same user files)",
                samples: samples["cached"]!, floorName: "raw `diff --binary` + `apply --check`",
                floor: samples["raw"]!, ratioStyle: "%"))
        return info
    }

    /// `status <id> --json` of a finished worktree job (preview cached after the first call)
    /// against the same command for a finished job without a worktree.
    static func statusRow(_ repo: String, info: WorktreeInfo, runs: Int, setup: BenchSetup, results: BenchResults)
        throws
    {
        let stateDir = setup.root + "/attempts/state"
        let store = try WorkspaceStore.open(stateRoot: stateDir, workspaceRoot: repo, warn: { progress($0) })
        let now = Timestamp.now()
        var ids: [String] = []
        for withWorktree in [true, false] {
            let id = JobID.make()
            let record = JobRecord(
                id: id, status: .completed, phase: .done, title: "bench", summary: "bench", workspaceRoot: repo,
                cwd: withWorktree ? info.path : repo, sessionId: nil, write: true, background: true,
                createdAt: now, completedAt: now, updatedAt: now, timeoutSeconds: 60, reason: .completed,
                logFile: store.logPath(id), promptFile: store.promptPath(id),
                result: JobResult(finalMessage: "done", touchedFiles: [], reasoningSummary: [], commands: []),
                worktree: withWorktree ? JobWorktree(info: info, state: .ready, updatedAt: now) : nil)
            try store.create(record)
            ids.append(id)
        }
        let environment = setup.environment(["CODEX_COMPANION_STATE_DIR": stateDir])
        func request(_ id: String) -> SpawnRequest {
            SpawnRequest(
                executable: setup.companion, arguments: ["status", id, "--json"], environment: environment,
                directory: repo, grouping: .inherit)
        }
        let cases = [
            BenchCase(name: "worktree") { _ in
                let (ms, output) = try timedRun(request(ids[0]))
                let value = try? JSONCoding.decode(JSONValue.self, from: output.stdout)
                guard value?["keepPreview"]?["clean"]?.boolValue != nil else {
                    throw BenchFailure("status <id> --json has no keepPreview: \(output.stdoutText.prefix(300))")
                }
                return ms
            },
            BenchCase(name: "plain") { _ in try timedRun(request(ids[1])).ms },
        ]
        let samples = try interleave(cases, runs: runs, label: "status-preview")
        results.add(
            BenchRow(
                section: "attempts", name: "`status <id> --json` of a finished worktree job, with its keep preview",
                samples: samples["worktree"]!, floorName: "`status <id> --json` of a job without a worktree",
                floor: samples["plain"]!))
    }

    /// `task --write --worktree --runs 3 --background --json` until it returns (one
    /// snapshot, three worktrees of 10,000 files, three workers) against one attempt.
    static func launchRow(_ repo: String, runs: Int, setup: BenchSetup, results: BenchResults) throws {
        let stateDir = setup.root + "/attempts/launch-state"
        let environment = setup.environment([
            "CODEX_COMPANION_STATE_DIR": stateDir, "CODEX_COMPANION_CODEX": setup.fakeCodex,
            "FAKE_CODEX_SCRIPT": setup.repoRoot + "/Tests/Fixtures/fake-codex/success.json",
        ])
        func request(_ arguments: [String]) -> SpawnRequest {
            SpawnRequest(
                executable: setup.companion, arguments: arguments, environment: environment, directory: repo,
                grouping: .inherit)
        }
        /// Untimed: wait for the jobs, then discard their worktrees.
        func settle(_ reference: String) throws {
            _ = try Subprocess.run(request(["status", reference, "--wait", "--timeout-ms", "120000"]), timeout: 180)
            let discard = try Subprocess.run(request(["worktree-cleanup", reference, "--action", "discard"]))
            guard discard.status.isSuccess else { throw BenchFailure("discard \(reference): \(discard.stderrText)") }
        }
        let task = ["task", "--write", "--worktree", "--background", "--json"]
        let cases = [
            BenchCase(name: "group") { _ in
                let (ms, output) = try timedRun(request(task + ["--runs", "\(attempts)", "create hello.txt"]))
                guard let value = try? JSONCoding.decode(JSONValue.self, from: output.stdout),
                    let group = value["groupId"]?.stringValue
                else { throw BenchFailure("task --runs: \(output.status): \(output.stdoutText) \(output.stderrText)") }
                try settle(group)
                return ms
            },
            BenchCase(name: "single") { _ in
                let (ms, output) = try timedRun(request(task + ["create hello.txt"]))
                guard let value = try? JSONCoding.decode(JSONValue.self, from: output.stdout),
                    let id = value["jobId"]?.stringValue
                else { throw BenchFailure("task: \(output.status): \(output.stdoutText) \(output.stderrText)") }
                try settle(id)
                return ms
            },
        ]
        progress("  \(runs) rounds of task --runs \(attempts) vs one attempt (plus one warm-up each)…")
        let samples = try interleave(cases, runs: runs, label: "launch")
        results.add(
            BenchRow(
                section: "attempts",
                name: "`task --write --worktree --runs \(attempts) --background` until it returns, 10,000-file repo",
                samples: samples["group"]!, floorName: "one attempt (`task --write --worktree --background`)",
                floor: samples["single"]!))
    }
}
