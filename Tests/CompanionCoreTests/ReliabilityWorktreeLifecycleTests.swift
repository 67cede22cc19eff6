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
    /// Worktree creation killed, prune racing jobs from another state directory, stale git locks.
    @Suite("Worktree lifecycle", .serialized)
    struct WorktreeLifecycle {
        static func script(_ sandbox: RelSandbox, sleepMs: Int = 0) throws -> String {
            var steps: [JSONValue] = sleepMs > 0 ? [["sleepMs": .int(Int64(sleepMs))]] : []
            steps += [FakeScript.writeFile("f.txt", "job work\n"), FakeScript.agentMessage("done")]
            return try sandbox.script("work-\(sleepMs)", FakeScript.turn(steps))
        }

        func codexBranches(_ sandbox: RelSandbox, _ repo: String) throws -> [String: String] {
            try sandbox.git.branches(withPrefix: "codex/", in: repo)
        }

        @Test(
            "task --worktree killed during creation: list shows it abandoned, prune removes it, nothing else changes",
            arguments: ["create.after-intent", "create.after-add"])
        func creationKilled(fault: String) throws {
            let sandbox = try RelSandbox("create")
            let repo = try sandbox.repository("repo")
            try sandbox.write(repo + "/README.md", "the user's edit\n")
            let fingerprint = sandbox.fingerprint(repo)
            let task = sandbox.companion(
                ["task", "--write", "--worktree", "--json", "edit"], cwd: repo,
                environment: ["CODEX_COMPANION_FAULT": fault, "FAKE_CODEX_SCRIPT": try Self.script(sandbox)])
            #expect(task.wasKilled, "\(task)")
            let inventory = try WorktreeOperations.inventory(repoRoot: repo, jobs: [:], git: sandbox.git)
            let entry = try #require(inventory.entries.first, "the creation intent is not visible")
            #expect(entry.creation == .abandoned && !entry.hasJob)
            let list = sandbox.companion(["worktree", "list", "--json"], cwd: repo)
            #expect(list.code == 0 && list.stdout.contains("\"creation\":\"abandoned\""), "\(list)")
            if fault == "create.after-add" {
                #expect(entry.locked && entry.directoryExists)
                // A half-made checkout: what made prune keep such worktrees forever.
                try FileSystem.remove(entry.path + "/a.txt")
            }
            let prune = sandbox.companion(["worktree", "prune", "--json"], cwd: repo)
            #expect(prune.code == 0, "\(prune)")
            #expect(!FileSystem.exists(entry.path) && !FileSystem.exists(repo + "/.worktrees"))
            #expect(try codexBranches(sandbox, repo).isEmpty)
            #expect(try sandbox.git.worktrees(in: repo).count == 1)
            #expect(try WorktreeOperations.creationIntents(in: repo, git: sandbox.git).isEmpty)
            #expect(sandbox.fingerprint(repo) == fingerprint)
            // And a new task with a worktree works.
            let again = sandbox.companion(
                ["task", "--write", "--worktree", "--json", "edit"], cwd: repo,
                environment: ["FAKE_CODEX_SCRIPT": try Self.script(sandbox)])
            #expect(again.code == 0, "\(again)")
        }

        @Test("prune from another state directory while a worktree job runs: the job's worktree and branch stay")
        func pruneWithAnotherStateDirectory() throws {
            let sandbox = try RelSandbox("prune")
            let repo = try sandbox.repository("repo")
            let other = try sandbox.directory("other-state")
            let task = sandbox.companion(
                ["task", "--write", "--worktree", "--background", "--json", "edit"], cwd: repo,
                environment: ["FAKE_CODEX_SCRIPT": try Self.script(sandbox, sleepMs: 2500)])
            #expect(task.code == 0, "\(task)")
            let id = try #require(task.json?["jobId"]?.stringValue)
            #expect(sandbox.waitForRecord(id) { $0.status == .running } != nil)
            for dryRun in [true, false] {
                let prune = sandbox.companion(
                    ["worktree", "prune", "--json"] + (dryRun ? ["--dry-run"] : []), cwd: repo,
                    environment: ["CODEX_COMPANION_STATE_DIR": other])
                #expect(prune.code == 0, "\(prune)")
                #expect(!prune.stdout.contains("\"removed\":[{"), "prune removed something: \(prune.stdout)")
            }
            #expect(FileSystem.isDirectory(repo + "/.worktrees/" + id))
            #expect(try codexBranches(sandbox, repo)["codex/" + id] != nil)
            let done = sandbox.waitForRecord(id) { !$0.status.isActive }
            #expect(done?.status == .completed && done?.worktree?.state == .ready, "\(String(describing: done))")
            let keep = sandbox.companion(["worktree-cleanup", id, "--action", "keep", "--json"], cwd: repo)
            #expect(keep.code == 0, "\(keep)")
            #expect(try sandbox.readText(repo + "/f.txt") == "job work\n")
        }

        @Test("8 worktree jobs created while prune runs in a loop from another state directory: none is broken")
        func creationsRacingPrune() throws {
            let sandbox = try RelSandbox("race")
            let repo = try sandbox.repository("repo")
            let other = try sandbox.directory("other-state")
            let script = try Self.script(sandbox, sleepMs: 300)
            var environment = sandbox.environment
            environment["FAKE_CODEX_SCRIPT"] = script
            let tasks = try (0..<8).map { number in
                try BackgroundProcess(
                    Rel.companion, ["task", "--write", "--worktree", "--background", "edit"], cwd: repo,
                    environment: environment, stderrPath: sandbox.base + "/task-\(number).err")
            }
            var prunes = 0
            while tasks.contains(where: \.isRunning) || prunes < 4 {
                let prune = sandbox.companion(
                    ["worktree", "prune", "--json"], cwd: repo, environment: ["CODEX_COMPANION_STATE_DIR": other])
                #expect(prune.code == 0, "\(prune)")
                prunes += 1
            }
            #expect(BackgroundProcess.waitAll(tasks, timeout: 60))
            for task in tasks { #expect(task.status == .exited(0), "\(task.stderrText)") }
            let ids = sandbox.allRecordPaths().map { Path.basename($0).replacingOccurrencesOfJSON() }
            #expect(ids.count == 8)
            for id in ids {
                let record = sandbox.waitForRecord(id, timeout: 60) { !$0.status.isActive }
                #expect(
                    record?.status == .completed && record?.worktree?.state == .ready,
                    "\(id): \(String(describing: record))")
                let shown = try? sandbox.gitText(["show", "codex/\(id):f.txt"], in: repo)
                #expect(shown == "job work", "job \(id)'s work is not on its branch")
            }
        }

        // MARK: git locks

        static func lockPath(_ job: WorktreeFaults.Job) throws -> String {
            let gitDirectory = try #require(try WorktreeOperations.worktreeGitDirectory(job.worktree.info))
            return gitDirectory + "/index.lock"
        }

        static func age(_ path: String, seconds: Int) {
            let then = timeval(tv_sec: time(nil) - seconds, tv_usec: 0)
            var times = [then, then]
            _ = utimes(path, &times)
        }

        @Test("a stale index.lock left by a killed git (a cancel during capture) no longer blocks branch and keep")
        func staleIndexLock() throws {
            for action in ["branch", "keep"] {
                let job = try WorktreeFaults.Job("lock")
                let lock = try Self.lockPath(job)
                try job.sandbox.write(lock, "")
                Self.age(lock, seconds: 30)
                let run = job.cleanup(action, cwd: job.repo)
                #expect(run.code == 0, "\(action): \(run)")
                #expect(!FileSystem.exists(lock))
                if action == "branch" { job.expectWorkOnBranch() } else { #expect(Rel.tree(job.repo) == job.applied) }
            }
        }

        @Test("an index.lock while a live process works in the worktree is never cleared")
        func liveIndexLock() throws {
            let job = try WorktreeFaults.Job("lock")
            let lock = try Self.lockPath(job)
            try job.sandbox.write(lock, "")
            Self.age(lock, seconds: 30)
            let holder = try BackgroundProcess(
                "/bin/sleep", ["30"], cwd: job.worktree.info.path, environment: job.sandbox.environment)
            defer { holder.kill() }
            let keep = job.cleanup("keep", cwd: job.repo)
            BadInput.expectRejected(keep, code: 1, mentioning: "index.lock", "keep with a live lock")
            #expect(keep.errorCode == "git-locked")
            #expect(FileSystem.exists(lock))
            #expect(Rel.tree(job.repo) == job.before)
            #expect(job.state == .ready)
            holder.kill()
            #expect(Rel.eventually(5) { !holder.isRunning })
            let again = job.cleanup("keep", cwd: job.repo)
            #expect(again.code == 0, "\(again)")
            #expect(Rel.tree(job.repo) == job.applied)
        }
    }
}

extension String {
    /// "<id>.json" → "<id>".
    fileprivate func replacingOccurrencesOfJSON() -> String { hasSuffix(".json") ? String(dropLast(5)) : self }
}
