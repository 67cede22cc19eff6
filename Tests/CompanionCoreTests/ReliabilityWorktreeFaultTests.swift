#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

extension Reliability {
    /// A worktree job's pieces removed or moved by hand, and a keep SIGKILLed half-way.
    @Suite("Worktree faults", .serialized)
    struct WorktreeFaults {
        static let edits: [(String, String)] = [
            ("a.txt", "a changed\n"), ("b.txt", "b changed\n"), ("new.txt", "new\n"), ("dir/sub.txt", "sub\n"),
        ]

        /// A repository with a finished `--write --worktree` job whose branch holds `edits`.
        struct Job {
            let sandbox: RelSandbox
            let repo: String
            let worktree: JobWorktree
            /// The user's tree before any keep, and what a full keep makes of it.
            let before: [String: String]
            let applied: [String: String]

            init(_ label: String) throws {
                sandbox = try RelSandbox(label)
                repo = try sandbox.repository("repo")
                // The user has work of their own in progress, on files the job does not touch.
                try sandbox.write(repo + "/README.md", "hello, edited by the user\n")
                try sandbox.write(repo + "/scratch.txt", "untracked notes\n")
                let script = try sandbox.script("edits", FakeScript.writing(WorktreeFaults.edits))
                let task = sandbox.companion(
                    ["task", "--write", "--worktree", "--json", "edit four files"], cwd: repo,
                    environment: ["FAKE_CODEX_SCRIPT": script])
                try #require(task.code == 0, "\(task)")
                let id = try #require(task.json?["jobId"]?.stringValue)
                worktree = try #require(sandbox.record(id)?.worktree)
                try #require(worktree.info.jobId == id, "the worktree is not named after the job")
                try #require(worktree.state == .ready && worktree.capturedCommit != nil)
                before = Rel.tree(repo)
                var applied = before
                for (path, content) in WorktreeFaults.edits { applied[path] = "file " + Rel.fnv(Array(content.utf8)) }
                applied["dir/"] = "dir"
                self.applied = applied
            }

            /// The job's id, which names its worktree (`.worktrees/<id>`) and branch.
            var id: String { worktree.info.jobId }

            func cleanup(_ action: String, cwd: String? = nil, fault: String? = nil) -> CLIRun {
                sandbox.companion(
                    ["worktree-cleanup", id, "--action", action, "--json"], cwd: cwd ?? sandbox.base,
                    environment: fault.map { ["CODEX_COMPANION_FAULT": $0] } ?? [:])
            }

            /// Runs `worktree-cleanup <action>` and expects it to succeed, leaving the user's tree
            /// as `tree` and (when given) the record's worktree in `state`.
            func expectCleanup(
                _ action: String, succeedsLeaving tree: [String: String], state expected: WorktreeState? = nil,
                sourceLocation: SourceLocation = #_sourceLocation
            ) {
                let run = cleanup(action)
                #expect(run.code == 0, "\(run)", sourceLocation: sourceLocation)
                #expect(Rel.tree(repo) == tree, sourceLocation: sourceLocation)
                if let expected { #expect(state == expected, sourceLocation: sourceLocation) }
            }

            var branchExists: Bool { (try? sandbox.git.branchExists(worktree.info.branch, in: repo)) ?? false }
            var state: WorktreeState? { sandbox.record(id)?.worktree?.state }

            /// The branch's tree still holds every edit (nothing lost).
            func expectWorkOnBranch(in repository: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
                for (path, content) in WorktreeFaults.edits {
                    let shown = try? sandbox.gitText(
                        ["show", "\(worktree.info.branch):\(path)"], in: repository ?? repo)
                    #expect(
                        shown.map { $0 + "\n" } == content, "\(path) missing from the branch",
                        sourceLocation: sourceLocation)
                }
            }
        }

        // MARK: deleted by hand

        @Test("worktree directory deleted by hand, then keep: applied from the branch")
        func deletedWorktreeThenKeep() throws {
            let job = try Job("wtdel")
            try FileSystem.removeTree(job.worktree.info.path)
            job.expectCleanup("keep", succeedsLeaving: job.applied, state: .kept)
        }

        @Test("worktree directory deleted by hand, then branch: the branch keeps the work")
        func deletedWorktreeThenBranch() throws {
            let job = try Job("wtdel")
            try FileSystem.removeTree(job.worktree.info.path)
            job.expectCleanup("branch", succeedsLeaving: job.before, state: .branched)
            #expect(job.branchExists)
            job.expectWorkOnBranch()
        }

        @Test("worktree directory deleted by hand, then discard: discarded, the user's tree untouched")
        func deletedWorktreeThenDiscard() throws {
            let job = try Job("wtdel")
            try FileSystem.removeTree(job.worktree.info.path)
            job.expectCleanup("discard", succeedsLeaving: job.before, state: .discarded)
            #expect(!job.branchExists)
            let worktrees = try job.sandbox.gitText(["worktree", "list", "--porcelain"], in: job.repo)
            #expect(!worktrees.contains(".worktrees/"), "a stale worktree entry is left: \(worktrees)")
        }

        @Test("branch deleted by hand while the worktree is there, then keep: applied from the worktree")
        func deletedBranchThenKeep() throws {
            let job = try Job("brdel")
            // `git branch -D` refuses a checked-out branch; the ref itself can still go.
            try job.sandbox.gitText(["update-ref", "-d", "refs/heads/" + job.worktree.info.branch], in: job.repo)
            job.expectCleanup("keep", succeedsLeaving: job.applied)
        }

        @Test("worktree and branch both deleted by hand: keep and branch fail clearly, the user's tree untouched")
        func deletedWorktreeAndBranch() throws {
            let job = try Job("alldel")
            try job.sandbox.gitText(["worktree", "remove", "--force", "--force", job.worktree.info.path], in: job.repo)
            try job.sandbox.gitText(["branch", "-D", job.worktree.info.branch], in: job.repo)
            let fingerprint = job.sandbox.fingerprint(job.repo)
            for action in ["keep", "branch"] {
                let run = job.cleanup(action)
                BadInput.expectRejected(run, code: 1, mentioning: job.worktree.info.branch, action)
                #expect(run.stderr.contains("gone"), "\(run.stderr)")
                #expect(job.sandbox.fingerprint(job.repo) == fingerprint)
                #expect(job.state == .ready, "the record must still say a decision is pending")
            }
        }

        // MARK: the repository moved

        @Test(
            "the repository moved after the job: keep, branch and discard fail clearly and lose nothing; moved back, keep works"
        )
        func repositoryMoved() throws {
            let job = try Job("moved")
            let moved = job.repo + "-renamed"
            try FileSystem.rename(job.repo, to: moved)
            let movedTree = Rel.tree(moved)
            for action in ["keep", "branch", "discard"] {
                let run = job.cleanup(action)
                BadInput.expectRejected(run, code: 1, mentioning: job.repo, "\(action) after a move")
                #expect(run.stderr.contains("moved"), "\(run.stderr)")
                #expect(Rel.tree(moved) == movedTree)
                #expect(job.state == .ready)
            }
            // Nothing lost: the branch and the worktree's files are in the moved repository.
            job.expectWorkOnBranch(in: moved)
            #expect(FileSystem.isDirectory(moved + "/.worktrees/" + job.id))

            try FileSystem.rename(moved, to: job.repo)
            job.expectCleanup("keep", succeedsLeaving: job.applied)
        }

        @Test("the repository moved: following the advice (--cwd <new location>) keeps the work")
        func repositoryMovedThenCwd() throws {
            let job = try Job("moved")
            let moved = job.repo + "-renamed"
            try FileSystem.rename(job.repo, to: moved)
            let run = job.cleanup("keep", cwd: moved)
            #expect(run.stderr.contains("--cwd") || run.code == 0, "\(run)")
            #expect(run.code == 0, "\(run)")
            // Kept: the work is in the user's tree (and the branch is gone, as after any keep);
            // otherwise it must still be on the branch. Either way nothing is lost.
            if Rel.tree(moved) == job.applied {
                #expect(!((try? job.sandbox.git.branchExists(job.worktree.info.branch, in: moved)) ?? true))
            } else {
                #expect(Rel.tree(moved) == job.before)
                job.expectWorkOnBranch(in: moved)
            }
        }

        // MARK: a keep killed half-way

        @Test(
            "keep SIGKILLed half-way through applying, then keep again: fully applied",
            arguments: ["keep.mid-apply", "keep.after-intent"])
        func keepKilledThenKeep(fault: String) throws {
            let job = try Job("keepkill")
            let killed = job.cleanup("keep", cwd: job.repo, fault: fault)
            #expect(killed.wasKilled, "\(killed)")
            #expect(job.state == .keeping)
            if fault == "keep.mid-apply" {
                #expect(
                    Rel.tree(job.repo) != job.before && Rel.tree(job.repo) != job.applied,
                    "the fault should leave a half-applied tree")
            }
            // Reads see the interrupted keep without touching anything.
            let status = job.sandbox.companion(["status", job.id, "--json"], cwd: job.repo)
            #expect(
                status.code == 0 && status.json?["job"]?["worktree"]?["state"]?.stringValue == "keeping", "\(status)")

            let keep = job.cleanup("keep", cwd: job.repo)
            #expect(keep.code == 0, "\(keep)")
            #expect(Rel.tree(job.repo) == job.applied, "the user's tree is not fully applied")
            #expect(job.state == .kept)
            #expect(!job.branchExists && !FileSystem.exists(job.worktree.info.path))
            #expect(!FileSystem.exists(job.sandbox.storeDirectory(job.repo) + "/jobs/" + job.id + ".keep-backup"))
            // The user's own staged state survived: README is still their edit, scratch.txt untracked.
            #expect(try job.sandbox.readText(job.repo + "/README.md") == "hello, edited by the user\n")
            let status2 = try job.sandbox.gitText(["status", "--porcelain", "--untracked-files=all"], in: job.repo)
            #expect(status2.contains("?? scratch.txt"), "\(status2)")
        }

        @Test(
            "keep SIGKILLed, then discard or branch: rolled back to the user's tree exactly",
            arguments: [("keep.mid-apply", "discard"), ("keep.after-intent", "discard"), ("keep.mid-apply", "branch")])
        func keepKilledThenOther(fault: String, action: String) throws {
            let job = try Job("keepkill")
            let fingerprint = job.sandbox.fingerprint(job.repo)
            let killed = job.cleanup("keep", cwd: job.repo, fault: fault)
            #expect(killed.wasKilled, "\(killed)")

            let run = job.cleanup(action, cwd: job.repo)
            #expect(run.code == 0, "\(run)")
            #expect(Rel.tree(job.repo) == job.before, "the interrupted keep was not rolled back")
            if action == "branch" {
                #expect(job.state == .branched)
                job.expectWorkOnBranch()
                #expect(job.sandbox.fingerprint(job.repo) == fingerprint, "index or refs differ after the rollback")
            } else {
                #expect(job.state == .discarded)
                #expect(!job.branchExists)
            }
            #expect(!FileSystem.exists(job.sandbox.storeDirectory(job.repo) + "/jobs/" + job.id + ".keep-backup"))
        }
    }
}
