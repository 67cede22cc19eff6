#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import GitWorktrees
import JobStore
import CompanionCLI

extension Reliability {
    /// A keep killed at each named step of its journal, then the user edits, stages and
    /// creates files before the next command: the user's work is never reverted or deleted.
    @Suite("Keep journal", .serialized)
    struct KeepJournalFaults {
        typealias Job = WorktreeFaults.Job

        /// What the "user" does after the crash, and the tree that must result from it.
        static let userA = "a, the user's own edit after the crash\n"
        static let userNew = "new.txt, the user's own file\n"

        static func userWork(_ job: Job) throws {
            try job.sandbox.write(job.repo + "/a.txt", userA)
            try job.sandbox.gitText(["add", "a.txt"], in: job.repo)
            try job.sandbox.write(job.repo + "/new.txt", userNew)
            try job.sandbox.write(job.repo + "/mine.txt", "created by the user\n")
        }

        /// The job's `before` tree with the user's work on top.
        static func expectedTree(_ job: Job) -> [String: String] {
            var tree = job.before
            tree["a.txt"] = "file " + Rel.fnv(Array(userA.utf8))
            tree["new.txt"] = "file " + Rel.fnv(Array(userNew.utf8))
            tree["mine.txt"] = "file " + Rel.fnv(Array("created by the user\n".utf8))
            return tree
        }

        static func stagedBlob(_ job: Job, _ path: String) -> String? {
            try? job.sandbox.gitText(["show", ":" + path], in: job.repo)
        }

        @Test(
            "keep killed at a named step, the user edits, stages and creates files, then keep/discard/branch: nothing of theirs is reverted",
            arguments: [
                "keep.after-intent", "keep.path-written-1", "keep.mid-apply", "keep.path-written-3",
                "keep.before-commit-point",
            ], ["keep", "discard", "branch"])
        func killedThenUserEditsThenAction(fault: String, action: String) throws {
            let job = try Job("journal")
            let killed = job.cleanup("keep", cwd: job.repo, fault: fault)
            #expect(killed.wasKilled, "\(killed)")
            #expect(job.state == .keeping)
            try Self.userWork(job)

            let run = job.cleanup(action, cwd: job.repo)
            // a.txt is the user's now (and so, unless the keep never wrote it, is new.txt):
            // the command refuses, naming it, with the way out.
            BadInput.expectRejected(run, code: 1, mentioning: "a.txt", "\(action) after \(fault)")
            #expect(run.stderr.contains("git diff") && run.stderr.contains(job.worktree.info.branch), "\(run.stderr)")
            #expect(run.errorCode == "keep-interrupted", "\(run.stdout)")
            // Byte for byte: the user's edits and their new files, and everything else as it was.
            #expect(Rel.tree(job.repo) == Self.expectedTree(job))
            #expect(Self.stagedBlob(job, "a.txt").map { $0 + "\n" } == Self.userA)
            #expect(Self.stagedBlob(job, "b.txt") == "b", "the keep's staging of b.txt was not undone")
            // No record lost: the work is still on the branch and the job still awaits a decision.
            job.expectWorkOnBranch()
            #expect(job.state == .ready)
            #expect(!FileSystem.exists(job.sandbox.storeDirectory(job.repo) + "/jobs/" + job.id + ".keep-backup"))

            // The way out works: running the command again does what was asked (keep now
            // conflicts on the user's a.txt and changes nothing; discard and branch go through).
            let again = job.cleanup(action, cwd: job.repo)
            #expect(again.code == (action == "keep" ? 1 : 0), "\(again)")
            #expect(Rel.tree(job.repo) == Self.expectedTree(job))
            if action == "branch" { job.expectWorkOnBranch() }
        }

        @Test("keep killed after its commit point, the user edits: the next keep finishes, the edit stays")
        func killedAfterCommitPoint() throws {
            let job = try Job("journal")
            let killed = job.cleanup("keep", cwd: job.repo, fault: "keep.after-commit-point")
            #expect(killed.wasKilled, "\(killed)")
            #expect(Rel.tree(job.repo) == job.applied)
            try job.sandbox.write(job.repo + "/b.txt", "b, edited after the crash\n")
            let keep = job.cleanup("keep", cwd: job.repo)
            #expect(keep.code == 0, "\(keep)")
            var expected = job.applied
            expected["b.txt"] = "file " + Rel.fnv(Array("b, edited after the crash\n".utf8))
            #expect(Rel.tree(job.repo) == expected)
            #expect(job.state == .kept && !job.branchExists)
        }

        /// The user's file changes between keep's check and its write (in-process, so the edit
        /// lands exactly after the keep's first write): the keep undoes only its own writes.
        @Test("a file edited while keep runs is never overwritten; a file created meanwhile is never deleted")
        func editDuringKeep() throws {
            let s = try KeepScenario(jobId: "race")
            try s.sandbox.write(s.repo + "/other.txt", "the user's unrelated edit\n")
            let git = s.sandbox.git
            guard
                case .ready(let plan) = try WorktreeOperations.prepareKeep(
                    s.info, jobId: "race", backupDirectory: s.backup, indexPath: try git.gitPath("index", in: s.repo),
                    git: git),
                case .ready(let intent, let blobs) = try WorktreeOperations.makeIntent(
                    plan, jobId: "race", directory: s.backup, git: git)
            else {
                Issue.record("the keep did not get ready")
                return
            }
            try KeepJournal.write(intent, blobs: blobs, to: s.backup)
            let steps = KeepTransfer(intent: intent, directory: s.backup).applySteps()
            let first = intent.entries[steps[0].number].path
            let untouched = intent.entries.map(\.path).filter {
                $0 != first && $0 != "gone.txt" && $0 != "new/file.txt"
            }
            let raced = try #require(untouched.first)
            var thrown: (any Error)?
            do {
                try WorktreeOperations.applyIntent(intent, info: s.info, directory: s.backup, git: git) { count in
                    guard count == 1 else { return }
                    try s.sandbox.write(s.repo + "/" + raced, "edited by the user while keep ran\n")
                    try s.sandbox.write(s.repo + "/new/file.txt", "created by the user while keep ran\n")
                }
            } catch { thrown = error }
            guard case .keepPathChanged(let changed, _, _)? = thrown as? GitError else {
                Issue.record("expected keepPathChanged, got \(String(describing: thrown))")
                return
            }
            #expect(changed.contains(raced) || changed.contains("new/file.txt"), "\(changed)")
            let report = ErrorFunnel.report(for: thrown!)
            #expect(report.code == .keepRefused && report.exitCode == 1)
            #expect(report.message.contains("changed while the keep was running"), "\(report.message)")
            #expect(try s.sandbox.read(s.repo + "/" + raced) == "edited by the user while keep ran\n")
            #expect(try s.sandbox.read(s.repo + "/new/file.txt") == "created by the user while keep ran\n")
            #expect(try s.sandbox.read(s.repo + "/other.txt") == "the user's unrelated edit\n")
            // The keep's own first write is undone; the rest were never made.
            #expect(try FileSystem.exists(s.repo + "/gone.txt") && s.sandbox.read(s.repo + "/gone.txt") == "gone\n")
            #expect(try !(s.sandbox.read(s.repo + "/a.txt") ?? "").contains("changed by codex"))
            #expect(try s.sandbox.run(["diff", "--cached", "--name-only"], in: s.repo) == "")
            #expect(!FileSystem.exists(s.backup))
            try s.expectWorktreeAndBranchKept()
        }
    }
}
