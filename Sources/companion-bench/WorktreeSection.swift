import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

// MARK: - 5. worktree create + capture + keep on a 10,000-file repository

/// The companion's worktree lifecycle (library calls, in-process) against the same work
/// done with plain git commands, on one generated repository of 10,000 files. Both paths
/// put their worktree under `.worktrees/`, change the same 100 files, and leave the
/// changes staged in the user's tree; the repository is reset between runs (untimed).
enum WorktreeSection {
    static let modules = 20
    static let groups = 10
    static let filesPerGroup = 50
    static var fileCount: Int { modules * groups * filesPerGroup }
    static let changedEvery = 100

    static func relativePath(_ index: Int) -> String {
        let module = index / (groups * filesPerGroup)
        let group = (index / filesPerGroup) % groups
        let file = index % filesPerGroup
        return "Sources/Module\(pad(module, 2))/Group\(group)/File\(pad(file, 3)).swift"
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        var text = String(value)
        while text.count < width { text = "0" + text }
        return text
    }

    static func content(_ index: Int) -> String {
        """
        // File \(index) of the generated benchmark repository.
        struct Generated\(index) {
            var value = \(index)
            func doubled() -> Int { value * 2 }
            func describe() -> String { "generated \\(value)" }
        }

        """
    }

    static let changedIndexes: [Int] = stride(from: 0, to: fileCount, by: changedEvery).map {
        $0 + ($0 / changedEvery) % 37
    }

    /// Changes the same 100 files (spread over every module) below `directory`.
    static func edit(_ directory: String) throws {
        for index in changedIndexes {
            try Files.write(
                directory + "/" + relativePath(index),
                content(index) + "// changed by the benchmark task\nlet touched\(index) = true\n")
        }
    }

    static func generate(_ repo: String, setup: BenchSetup) throws {
        for index in 0..<fileCount {
            let path = repo + "/" + relativePath(index)
            if index % filesPerGroup == 0 { try Files.makeDirectories(Path.dirname(path)) }
            try Files.write(path, content(index))
        }
        try Files.write(repo + "/README.md", "generated repository for the worktree benchmark\n")
        try setup.commitAll(repo)
    }

    struct Phases {
        var create = 0.0, edit = 0.0, capture = 0.0, keep = 0.0
        var total: Double { create + edit + capture + keep }
    }

    /// The generated repository and what every round needs to work on it. Everything lives
    /// in `<root>/wt`: the repository, the companion's keep backups, raw git's patches.
    struct Context {
        var setup: BenchSetup
        var git: GitClient
        /// The repository's commit, which every round starts from.
        var base = ""

        var directory: String { setup.root + "/wt" }
        var repo: String { directory + "/repo" }
        var backups: String { directory + "/backups" }
        /// How many paths a round leaves staged in the user's tree.
        var expected: Int { changedIndexes.count }
    }

    static func run(_ setup: BenchSetup, options: BenchOptions, results: BenchResults) throws {
        let runs = options.runs(default: 5)
        let context = try prepare(setup)

        var companion: [Phases] = []
        var raw: [Phases] = []

        let companionCase = BenchCase(name: "companion") { round in
            let phases = try companionRound(context, round: round)
            if round >= 0 { companion.append(phases) }
            return phases.total
        }

        let rawCase = BenchCase(name: "raw") { round in
            let phases = try rawRound(context, round: round)
            if round >= 0 { raw.append(phases) }
            return phases.total
        }

        progress("  \(runs) rounds of companion vs raw git (plus one warm-up each)…")
        _ = try interleave([companionCase, rawCase], runs: runs, label: "worktree")
        report(companion: companion, raw: raw, results: results)
    }

    /// Generates the repository (timed, for the progress line only) and opens git on it.
    static func prepare(_ setup: BenchSetup) throws -> Context {
        var context = Context(setup: setup, git: try setup.git())
        try Files.makeDirectories(context.repo)
        try Files.makeDirectories(context.backups)
        progress("  generating a repository of \(fileCount) files…")
        let generation = try timed { try generate(context.repo, setup: setup) }
        progress("  generated in \(Format.ms(generation))")
        context.base = try context.git.text(["rev-parse", "HEAD"], in: context.repo)
        return context
    }

    /// Puts the repository back to its commit, and checks no worktree or branch was left.
    static func reset(_ context: Context) throws {
        let git = context.git
        let repo = context.repo
        try git.check(["reset", "-q", "--hard", "HEAD"], in: repo)
        try git.check(["clean", "-fdq"], in: repo)
        let worktrees = try git.text(["worktree", "list", "--porcelain"], in: repo)
        let branches = try git.text(["branch", "--list", "codex/*"], in: repo)
        guard worktrees.split(separator: "\n").filter({ $0.hasPrefix("worktree ") }).count == 1, branches.isEmpty
        else {
            throw BenchFailure("worktree benchmark left worktrees or branches behind:\n\(worktrees)\n\(branches)")
        }
    }

    /// The user's tree now has exactly the 100 changes, staged.
    static func checkApplied(_ context: Context, _ label: String) throws {
        let staged = try context.git.text(["diff", "--cached", "--name-only"], in: context.repo)
        let count = staged.split(separator: "\n").count
        let expected = context.expected
        guard count == expected else { throw BenchFailure("\(label): \(count) staged paths, expected \(expected)") }
    }

    /// One round through the companion's library calls; resets the repository after.
    static func companionRound(_ context: Context, round: Int) throws -> Phases {
        let git = context.git
        let (repo, backups) = (context.repo, context.backups)
        let id = "bench-c\(round + 1)"
        var phases = Phases()
        var info: WorktreeInfo?
        phases.create = try timed {
            info = try WorktreeOperations.create(fromDirectory: repo, jobId: id, baseRef: nil, git: git)
        }
        phases.edit = try timed { try edit(info!.path) }
        phases.capture = try timed { _ = try WorktreeOperations.capture(info!, jobId: id, git: git) }
        var outcome: KeepOutcome?
        phases.keep = try timed {
            outcome = try WorktreeOperations.keep(info!, jobId: id, backupDirectory: backups + "/" + id, git: git)
        }
        guard case .applied(_, true, let paths)? = outcome, paths.count == context.expected else {
            throw BenchFailure("companion keep: unexpected outcome \(String(describing: outcome))")
        }
        try checkApplied(context, "companion")
        try reset(context)
        return phases
    }

    /// One round of the same work in plain git commands; resets the repository after.
    static func rawRound(_ context: Context, round: Int) throws -> Phases {
        let repo = context.repo
        let base = context.base
        let id = "bench-r\(round + 1)"
        let branch = "codex/" + id
        let path = repo + "/.worktrees/" + id
        let patch = context.directory + "/" + id + ".patch"
        func g(_ arguments: [String], in directory: String = repo) throws {
            try context.git.check(arguments, in: directory)
        }
        var phases = Phases()
        phases.create = try timed {
            try g(["worktree", "add", "-q", "-b", branch, path, base])
            try g(["worktree", "lock", path])
        }
        phases.edit = try timed { try edit(path) }
        phases.capture = try timed {
            try g(["add", "-A"], in: path)
            try g(
                [
                    "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-q", "-m",
                    "capture " + id,
                ], in: path)
        }
        phases.keep = try timed {
            try g(["diff", "--binary", "--output=" + patch, base, branch])
            try g(["apply", "--check", "--index", patch])
            try g(["apply", "--index", patch])
            // Locked worktrees need the force twice (the companion unlocks, then removes).
            try g(["worktree", "remove", "--force", "--force", path])
            try g(["branch", "-D", "-q", branch])
        }
        try checkApplied(context, "raw git")
        try FileSystem.remove(patch)
        try reset(context)
        return phases
    }

    /// The total row against raw git, then one row per timed phase.
    static func report(companion: [Phases], raw: [Phases], results: BenchResults) {
        let companionTotal = companion.map(\.total)
        let rawTotal = raw.map(\.total)
        var total = BenchRow(
            section: "worktree",
            name: "Worktree create → change 100 files → capture → keep, \(fileCount)-file repo (in-process)",
            samples: companionTotal, floorName: "same raw git commands", floor: rawTotal, ratioStyle: "%",
            target: "≤ 110% of raw git")
        total.met = (total.ratio ?? .infinity) <= 1.10
        results.add(total)
        for (name, pick) in [
            ("create (companion: `create`; git: `worktree add -b` + `lock`)", { (p: Phases) in p.create }),
            ("capture (companion: `capture`; git: `add -A` + `commit`)", { (p: Phases) in p.capture }),
            (
                "keep (companion: `keep`; git: `diff --binary` + `apply --check --index` + `apply --index` + `worktree remove` + `branch -D`)",
                { (p: Phases) in p.keep }
            ),
        ] {
            results.add(
                BenchRow(
                    section: "worktree", name: "  … " + name, samples: companion.map(pick), floorName: "raw git",
                    floor: raw.map(pick), ratioStyle: "%"))
        }
    }
}
