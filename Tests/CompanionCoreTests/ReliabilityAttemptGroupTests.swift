import Testing

import CompanionSystem
import CompanionJSON
import GitWorktrees
import JobStore

extension Reliability {
    @Suite("Attempt groups", .serialized)
    struct AttemptGroups {
        /// A turn that writes work.txt, then takes `sleepMs` before its final message.
        static func slowWriter(_ sandbox: RelSandbox, sleepMs: Int) throws -> String {
            try sandbox.script(
                "slow-writer",
                FakeScript.turn([
                    FakeScript.writeFile("work.txt", "work in progress\n"), ["sleepMs": .int(Int64(sleepMs))],
                    FakeScript.agentMessage("Wrote work.txt.\nMore detail."),
                ]))
        }

        static func launch(_ sandbox: RelSandbox, repo: String, runs: Int, environment: [String: String]) throws
            -> (group: String, ids: [String])
        {
            let run = sandbox.companion(
                ["task", "--write", "--worktree", "--runs", "\(runs)", "--background", "--json", "write work.txt"],
                cwd: repo, environment: environment)
            try #require(run.code == 0, "\(run)")
            let json = try #require(run.json)
            let group = try #require(json["groupId"]?.stringValue)
            let ids = try #require(json["jobs"]?.arrayValue).compactMap { $0["jobId"]?.stringValue }
            try #require(ids.count == runs && GroupID.isValid(group))
            return (group, ids)
        }

        @Test("one attempt cancelled, the others finish; nothing of any attempt or of the user is lost")
        func cancelledAttemptLosesNothing() throws {
            let sandbox = try RelSandbox("attempts-cancel")
            let repo = try sandbox.repository("repo")
            try sandbox.write(repo + "/README.md", "hello, edited by the user\n")
            try sandbox.write(repo + "/scratch.txt", "untracked notes\n")
            let before = sandbox.fingerprint(repo)
            let environment = ["FAKE_CODEX_SCRIPT": try Self.slowWriter(sandbox, sleepMs: 2500)]
            let (group, ids) = try Self.launch(sandbox, repo: repo, runs: 3, environment: environment)
            try #require(sandbox.waitForRecord(ids[1]) { $0.status == .running && $0.threadId != nil } != nil)
            let cancel = sandbox.companion(["cancel", ids[1], "--json"], cwd: repo)
            #expect(cancel.code == 0, "\(cancel)")

            let waited = sandbox.companion(["status", group, "--wait", "--json"], cwd: repo, timeout: 60)
            #expect(waited.code == 0, "\(waited)")
            let jobs = try #require(waited.json?["jobs"]?.arrayValue)
            #expect(jobs.compactMap { $0["status"]?.stringValue } == ["completed", "cancelled", "completed"])
            #expect(jobs.allSatisfy { $0["groupId"]?.stringValue == group })
            #expect(sandbox.fingerprint(repo) == before)
            // The cancelled attempt's partial work is on its branch, awaiting a decision.
            let cancelled = try #require(sandbox.record(ids[1]))
            #expect(cancelled.worktree?.state == .ready && cancelled.worktree?.changedPaths == ["work.txt"])
            #expect(try sandbox.gitText(["show", "codex/\(ids[1]):work.txt"], in: repo) == "work in progress")

            let compared = sandbox.companion(["compare", group, "--json"], cwd: repo)
            let attempts = try #require(compared.json?["attempts"]?.arrayValue)
            #expect(attempts.compactMap { $0["filesChanged"]?.intValue } == [1, 1, 1])
            #expect(attempts.compactMap { $0["lastMessage"]?.stringValue }.first == "Wrote work.txt.")
            #expect(attempts.allSatisfy { $0["keepPreview"]?["clean"]?.boolValue == true })

            let kept = sandbox.companion(["worktree-cleanup", ids[0], "--action", "keep"], cwd: repo)
            #expect(kept.code == 0, "\(kept)")
            #expect(try FileSystem.read(repo + "/work.txt") == Array("work in progress\n".utf8))
            #expect(sandbox.record(ids[2])?.worktree?.state == .ready)
            #expect(FileSystem.isDirectory(repo + "/.worktrees/" + ids[2]))
            let afterKeep = sandbox.fingerprint(repo)
            let discarded = sandbox.companion(["worktree-cleanup", group, "--action", "discard", "--json"], cwd: repo)
            #expect(discarded.code == 0, "\(discarded)")
            #expect(discarded.json?["discarded"]?.arrayValue?.compactMap(\.stringValue) == [ids[1], ids[2]])
            #expect(sandbox.fingerprint(repo) == afterKeep)
            #expect(try sandbox.gitText(["branch", "--list", "codex/*"], in: repo) == "")
        }

        @Test("attempts beyond the parallel limit wait queued for a slot, then run")
        func parallelLimitQueuesAttempts() throws {
            let sandbox = try RelSandbox("attempts-limit")
            let repo = try sandbox.repository("repo")
            let environment = [
                "FAKE_CODEX_SCRIPT": try Self.slowWriter(sandbox, sleepMs: 300),
                "CODEX_COMPANION_PARALLEL_ATTEMPTS": "1",
            ]
            let (group, ids) = try Self.launch(sandbox, repo: repo, runs: 2, environment: environment)
            let waited = sandbox.companion(["status", group, "--wait", "--json"], cwd: repo, timeout: 60)
            #expect(waited.json?["status"]?.stringValue == "finished", "\(waited)")
            let records = ids.compactMap { sandbox.record($0) }
            try #require(records.count == 2 && records.allSatisfy { $0.status == .completed })
            let (first, second) =
                records[0].startedAt! < records[1].startedAt! ? (records[0], records[1]) : (records[1], records[0])
            #expect(second.startedAt! >= first.completedAt!)
            let log = String(
                decoding: try FileSystem.read(sandbox.storeDirectory(repo) + "/jobs/\(second.id).log") ?? [],
                as: UTF8.self)
            #expect(log.contains("Waiting for a free attempt slot"))
        }

        @Test("--runs and group ids: usage errors exit 64, an unknown group exits 1")
        func usageErrors() throws {
            let sandbox = try RelSandbox("attempts-usage")
            let repo = try sandbox.repository("repo")
            let before = sandbox.fingerprint(repo)
            for arguments in [
                ["task", "--write", "--worktree", "--runs", "1", "x"],
                ["task", "--write", "--worktree", "--runs", "9", "x"],
                ["task", "--write", "--worktree", "--runs", "two", "x"], ["task", "--write", "--runs", "3", "x"],
                ["task", "--write", "--worktree", "--runs", "2", "--resume-last", "x"],
                ["compare", "task-mx5s8duq-dssx"], ["compare"],
                ["compare", "group-mx5s8duq-rgcp", "--check-timeout", "5"],
                ["worktree-cleanup", "group-mx5s8duq-rgcp", "--action", "keep"],
            ] {
                let run = sandbox.companion(arguments + ["--json"], cwd: repo)
                #expect(run.code == 64, "\(arguments): \(run)")
                #expect(run.json?["error"]?["code"]?.stringValue == "usage", "\(arguments): \(run)")
            }
            for arguments in [["status", "group-mx5s8duq-rgcp"], ["compare", "group-mx5s8duq-rgcp"]] {
                let run = sandbox.companion(arguments, cwd: repo)
                #expect(run.code == 1, "\(arguments): \(run)")
            }
            #expect(sandbox.fingerprint(repo) == before)
            #expect(sandbox.allRecordPaths().isEmpty)
        }
    }
}
