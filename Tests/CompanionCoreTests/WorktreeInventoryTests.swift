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

@Suite("Worktree inventory and prune")
struct WorktreeInventoryTests {
    /// One repository with: a job's worktree (known), a clean orphan worktree whose branch
    /// has no changes, a dirty orphan worktree, an orphan branch with unmerged work, an
    /// orphan branch already merged into HEAD, and a job whose worktree vanished.
    struct Fixture {
        let sandbox: GitSandbox
        let repo: String
        let job: WorktreeInfo
        let cleanOrphan: WorktreeInfo
        let dirtyOrphan: WorktreeInfo
        let committedOrphan: WorktreeInfo
        let vanished: WorktreeInfo

        init() throws {
            sandbox = try GitSandbox()
            repo = try sandbox.makeRepository(files: ["f.txt": Array("f\n".utf8)])
            let git = sandbox.git
            job = try WorktreeOperations.create(fromDirectory: repo, jobId: "job", baseRef: nil, git: git)
            try sandbox.write(job.path + "/f.txt", "job work\n")
            try WorktreeOperations.capture(job, jobId: "job", git: git)

            cleanOrphan = try WorktreeOperations.create(fromDirectory: repo, jobId: "clean", baseRef: nil, git: git)

            dirtyOrphan = try WorktreeOperations.create(fromDirectory: repo, jobId: "dirty", baseRef: nil, git: git)
            try sandbox.write(dirtyOrphan.path + "/wip.txt", "uncommitted\n")

            // An orphan worktree whose work is committed on its branch: the directory can go,
            // the branch must stay.
            committedOrphan = try WorktreeOperations.create(
                fromDirectory: repo, jobId: "committed", baseRef: nil, git: git)
            try sandbox.write(committedOrphan.path + "/c.txt", "committed\n")
            try WorktreeOperations.capture(committedOrphan, jobId: "committed", git: git)

            try sandbox.run(["branch", "codex/unmerged"], in: repo)
            try sandbox.run(["checkout", "--quiet", "codex/unmerged"], in: repo)
            try sandbox.write(repo + "/u.txt", "unmerged\n")
            try sandbox.commitAll(repo, "unmerged")
            try sandbox.run(["checkout", "--quiet", "main"], in: repo)

            try sandbox.run(["branch", "codex/merged"], in: repo)
            try sandbox.run(["checkout", "--quiet", "codex/merged"], in: repo)
            try sandbox.write(repo + "/m.txt", "merged\n")
            try sandbox.commitAll(repo, "merged")
            try sandbox.run(["checkout", "--quiet", "main"], in: repo)
            try sandbox.run(["merge", "--quiet", "--ff-only", "codex/merged"], in: repo)

            vanished = try WorktreeOperations.create(fromDirectory: repo, jobId: "vanished", baseRef: nil, git: git)
            try sandbox.write(vanished.path + "/v.txt", "v\n")
            try WorktreeOperations.capture(vanished, jobId: "vanished", git: git)
            try FileSystem.removeTree(vanished.path)
            // Every job's record took its worktree over, and the orphans' jobs (of another state
            // directory, or deleted) finished: their workers unlocked them after the capture.
            for info in [job, cleanOrphan, dirtyOrphan, committedOrphan, vanished] {
                try WorktreeOperations.finishCreation(info, git: git)
            }
            for info in [cleanOrphan, dirtyOrphan, committedOrphan] { try WorktreeOperations.unlock(info, git: git) }
        }

        var jobs: [String: WorktreeInfo] { ["job": job, "vanished": vanished] }
    }

    @Test func findsEveryWorktreeAndEveryOrphan() throws {
        let f = try Fixture()
        let inventory = try WorktreeOperations.inventory(repoRoot: f.repo, jobs: f.jobs, git: f.sandbox.git)
        let byId = Dictionary(uniqueKeysWithValues: inventory.entries.map { ($0.id, $0) })
        #expect(Set(byId.keys) == ["job", "clean", "dirty", "committed", "unmerged", "merged", "vanished"])

        let job = try #require(byId["job"])
        #expect(job.kind == .active && job.hasJob && job.registered && job.locked && job.branch == "codex/job")
        #expect(job.changedPaths == ["f.txt"] && !job.hasUncommittedChanges && !job.changesExistElsewhere)
        #expect(job.diffStat.contains("1 file changed"))

        #expect(byId["clean"]?.kind == .orphanDirectory)
        #expect(byId["clean"]?.hasUncommittedChanges == false && byId["clean"]?.changesExistElsewhere == true)
        #expect(byId["dirty"]?.kind == .orphanDirectory && byId["dirty"]?.hasUncommittedChanges == true)
        #expect(byId["committed"]?.changedPaths == ["c.txt"] && byId["committed"]?.changesExistElsewhere == false)
        #expect(byId["unmerged"]?.kind == .orphanBranch && byId["unmerged"]?.changedPaths == ["u.txt"])
        #expect(byId["unmerged"]?.changesExistElsewhere == false)
        #expect(byId["merged"]?.kind == .orphanBranch && byId["merged"]?.changesExistElsewhere == true)
        let vanished = try #require(byId["vanished"])
        #expect(vanished.kind == .vanished && !vanished.directoryExists && vanished.changedPaths == ["v.txt"])
        #expect(inventory.orphans.count == 6)
    }

    @Test func aDryRunRemovesNothing() throws {
        let f = try Fixture()
        let before = try f.sandbox.run(["for-each-ref", "--format=%(refname)"], in: f.repo)
        let report = try WorktreeOperations.prune(repoRoot: f.repo, jobs: f.jobs, dryRun: true, git: f.sandbox.git)
        #expect(report.dryRun)
        #expect(
            Set(report.removed.map(\.name)) == [
                f.cleanOrphan.path, "codex/clean", f.committedOrphan.path, "codex/merged",
            ])
        #expect(try f.sandbox.run(["for-each-ref", "--format=%(refname)"], in: f.repo) == before)
        #expect(FileSystem.isDirectory(f.cleanOrphan.path) && FileSystem.isDirectory(f.committedOrphan.path))
    }

    @Test func pruneRemovesOnlyWhatExistsElsewhere() throws {
        let f = try Fixture()
        let report = try WorktreeOperations.prune(repoRoot: f.repo, jobs: f.jobs, dryRun: false, git: f.sandbox.git)
        let removed = Set(report.removed.map(\.name))
        #expect(removed == [f.cleanOrphan.path, "codex/clean", f.committedOrphan.path, "codex/merged"])
        let kept = Dictionary(report.kept.map { ($0.name, $0.reason) }, uniquingKeysWith: { a, _ in a })
        #expect(kept[f.dirtyOrphan.path]?.contains("uncommitted") == true)
        #expect(kept["codex/dirty"] != nil)
        #expect(kept["codex/committed"]?.contains("not merged") == true)
        #expect(kept["codex/unmerged"]?.contains("not merged") == true)
        #expect(kept[f.job.path]?.contains("belongs to job job") == true)
        #expect(kept["codex/job"] != nil && kept["codex/vanished"] != nil)

        let git = f.sandbox.git
        #expect(!FileSystem.exists(f.cleanOrphan.path) && !FileSystem.exists(f.committedOrphan.path))
        #expect(try !git.branchExists("codex/clean", in: f.repo) && !git.branchExists("codex/merged", in: f.repo))
        #expect(try git.branchExists("codex/committed", in: f.repo) && git.branchExists("codex/unmerged", in: f.repo))
        #expect(try git.branchExists("codex/job", in: f.repo) && git.branchExists("codex/vanished", in: f.repo))
        #expect(try f.sandbox.read(f.dirtyOrphan.path + "/wip.txt") == "uncommitted\n")
        #expect(try f.sandbox.read(f.job.path + "/f.txt") == "job work\n")
        #expect(
            try git.check(["cat-file", "blob", "codex/committed:c.txt"], in: f.repo).stdout == Array("committed\n".utf8)
        )
        #expect(try f.sandbox.status(f.repo) == "")

        // Running it again removes nothing more.
        let again = try WorktreeOperations.prune(repoRoot: f.repo, jobs: f.jobs, dryRun: false, git: git)
        #expect(again.removed.isEmpty)
    }

    @Test func aPlainDirectoryWithFilesIsNeverRemoved() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        _ = try WorktreeOperations.create(fromDirectory: repo, jobId: "seed", baseRef: nil, git: sandbox.git)
        try sandbox.write(repo + "/.worktrees/stray/notes.txt", "precious\n")
        try FileSystem.createDirectory(repo + "/.worktrees/empty", mode: 0o755)
        let report = try WorktreeOperations.prune(repoRoot: repo, jobs: [:], dryRun: false, git: sandbox.git)
        #expect(try sandbox.read(repo + "/.worktrees/stray/notes.txt") == "precious\n")
        #expect(
            report.kept.contains { $0.name == repo + "/.worktrees/stray" && $0.reason.contains("not a git worktree") })
        #expect(report.removed.contains { $0.name == repo + "/.worktrees/empty" })
        #expect(!FileSystem.exists(repo + "/.worktrees/empty"))
    }
}
