#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
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

/// The built `codex-companion` binary end to end, with the built `fake-codex` as the
/// Codex CLI, in temp git repositories with an isolated state root. Every process a
/// test causes carries a unique marker in its environment; the test checks and kills
/// those (and only those) through /proc. Every wait is a poll with a deadline.
@Suite(.serialized) struct RuntimeIntegrationTests {

    // MARK: - 1. Foreground task

    @Test func foregroundWriteTaskPrintsResultAndRecordsIt() throws {
        let box = RISandbox(fixture: "success.json")
        defer { box.cleanUp() }

        let out = box.run(["task", "--write", "Create hello.txt"])
        #expect(out.code == 0, "\(out)")
        #expect(out.stdout.contains("Created hello.txt."), "\(out)")
        #expect(out.stderr.contains("[codex] "), "progress lines on stderr: \(out)")
        #expect(out.stderr.contains("Turn completed"), "\(out)")
        #expect(!out.stdout.contains("[codex] "), "progress must not go to stdout: \(out)")
        #expect(FileSystem.exists(box.repo + "/hello.txt"))

        let id = try #require(RIText.jobId(inMarkdown: out.stdout), "no job id in: \(out.stdout)")
        let job = try #require(box.job(id))
        #expect(job["status"] == "completed")
        #expect(job["reason"] == "completed")
        #expect(job["threadId"] == "thr_main")
        #expect(job["turnId"] == "turn_1")
        #expect(job["write"] == true)
        #expect(job["completedAt"]?.stringValue != nil)
        let touched = job["result"]?["touchedFiles"]?.arrayValue ?? []
        #expect(!touched.isEmpty, "touchedFiles: \(job["result"] ?? .null)")
        #expect(touched.contains { $0.stringValue?.hasSuffix("hello.txt") == true })

        let json = box.run(["task", "--write", "--json", "Create hello.txt"])
        #expect(json.code == 0, "\(json)")
        #expect(json.stdoutLines.count == 1, "exactly one JSON object on stdout: \(json)")
        let object = try #require(json.json?.objectValue, "stdout is not one JSON object: \(json)")
        #expect(object["jobId"]?.stringValue.map(JobID.isValid) == true)
        #expect(object["status"] == "completed")
        #expect(object["finalMessage"] == "Created hello.txt.")
        #expect(object["jobId"]?.stringValue != id)
    }

    // MARK: - 2. Background task, status --wait, result

    @Test func backgroundTaskWaitAndResult() throws {
        let box = RISandbox(fixture: "success.json")
        defer { box.cleanUp() }

        let launched = box.run(["task", "--background", "--json", "Create hello.txt"])
        #expect(launched.code == 0, "\(launched)")
        #expect(launched.stdoutLines.count == 1, "\(launched)")
        let payload = try #require(launched.json)
        let id = try #require(payload["jobId"]?.stringValue)
        #expect(JobID.isValid(id))
        #expect(payload["status"] == "queued")
        #expect(payload["title"]?.stringValue == "Create hello.txt")
        #expect(payload["summary"]?.stringValue == "Create hello.txt")
        let logFile = try #require(payload["logFile"]?.stringValue)
        #expect(logFile.hasPrefix(box.stateDir + "/"), "log file inside the state dir: \(logFile)")

        let waited = box.run(["status", id, "--wait", "--timeout-ms", "20000", "--json"], timeout: 60)
        #expect(waited.code == 0, "\(waited)")
        #expect(waited.json?["waitTimedOut"] == false, "\(waited)")
        #expect(waited.json?["job"]?["status"] == "completed", "\(waited)")
        #expect(waited.json?["job"]?["id"]?.stringValue == id)

        let result = box.run(["result", id])
        #expect(result.code == 0, "\(result)")
        #expect(result.stdout.contains("Created hello.txt."), "\(result)")

        let resultJSON = box.run(["result", id, "--json"])
        #expect(resultJSON.code == 0, "\(resultJSON)")
        let object = try #require(resultJSON.json?.objectValue, "\(resultJSON)")
        #expect(object["job"]?["id"]?.stringValue == id)
        #expect(object["job"]?["finalMessage"] == "Created hello.txt.")
        #expect(object["storedJob"]?["id"]?.stringValue == id)
        #expect(object["storedJob"]?["status"] == "completed")
        #expect(FileSystem.exists(logFile))
    }

    // MARK: - 3. Session scoping

    @Test func statusIsScopedToTheSession() throws {
        let box = RISandbox(fixture: "success.json")
        defer { box.cleanUp() }

        box.session = "session-a"
        let id = try #require(box.startBackground(["Create hello.txt"]))
        let ended = try #require(box.waitForEnd(id), "job did not end")
        #expect(ended["status"] == "completed")
        #expect(ended["sessionId"] == "session-a")

        let mine = box.run(["status", "--json"])
        #expect(mine.code == 0, "\(mine)")
        #expect(mine.json?["scope"] == "session")
        #expect(mine.json?.riJobIds.contains(id) == true, "\(mine)")

        box.session = "session-b"
        let other = box.run(["status", "--json"])
        #expect(other.code == 0, "\(other)")
        #expect(other.json?["scope"] == "session")
        #expect(other.json?.riJobIds.contains(id) == false, "\(other)")

        let all = box.run(["status", "--all", "--json"])
        #expect(all.code == 0, "\(all)")
        #expect(all.json?["scope"] == "all-sessions")
        #expect(all.json?.riJobIds.contains(id) == true, "\(all)")
    }

    // MARK: - 4. Lookup from anywhere, ambiguous / unknown / malformed ids

    @Test func lookupByIdAndPrefixFromAnotherDirectory() throws {
        let box = RISandbox(fixture: "success.json")
        defer { box.cleanUp() }

        let first = try #require(box.startBackground(["Create hello.txt"]))
        let second = try #require(box.startBackground(["Create hello.txt again"]))
        #expect(box.waitForEnd(first)?["status"] == "completed")
        #expect(box.waitForEnd(second)?["status"] == "completed")

        // Another directory, not a repository; with --state-dir instead of the variable.
        let elsewhere = box.directory("elsewhere")
        let noStateEnv: [String: String?] = ["CODEX_COMPANION_STATE_DIR": nil]
        let result = box.run(["result", first, "--state-dir", box.stateDir], cwd: elsewhere, env: noStateEnv)
        #expect(result.code == 0, "\(result)")
        #expect(result.stdout.contains("Created hello.txt."), "\(result)")
        let viaEnv = box.run(["result", second, "--json"], cwd: elsewhere)
        #expect(viaEnv.code == 0, "\(viaEnv)")
        #expect(viaEnv.json?["job"]?["id"]?.stringValue == second)

        let common = zip(first, second).prefix { $0 == $1 }.count
        let prefix = String(first.prefix(common + 1))
        #expect(prefix.count < first.count)
        let byPrefix = box.run(["status", prefix, "--json"], cwd: elsewhere)
        #expect(byPrefix.code == 0, "\(byPrefix)")
        #expect(byPrefix.json?["job"]?["id"]?.stringValue == first, "\(byPrefix)")

        // Ambiguous prefix and unknown id: exit 1, telling how to list the jobs.
        for arguments in [
            ["status", "task-"], ["result", "task-"], ["status", "task-zzzzzzzz-zzzz"],
            ["result", "task-zzzzzzzz-zzzz"],
        ] {
            let out = box.run(arguments, cwd: elsewhere)
            #expect(out.code == 1, "\(arguments): \(out)")
            #expect(out.stderr.contains("status --all"), "\(arguments) should say how to list jobs: \(out)")
            let json = box.run(arguments + ["--json"], cwd: elsewhere)
            #expect(json.code == 1, "\(arguments) --json: \(json)")
            #expect(json.json?["error"]?["message"]?.stringValue?.contains("status --all") == true, "\(json)")
            #expect(json.stdoutLines.count == 1, "\(json)")
        }
        #expect(box.run(["status", "task-", "--json"], cwd: elsewhere).json?["error"]?["code"] == "job-ambiguous")
        #expect(
            box.run(["status", "task-zzzzzzzz-zzzz", "--json"], cwd: elsewhere).json?["error"]?["code"]
                == "job-not-found")

        // Malformed ids are usage errors before they touch the file system.
        let long = String(repeating: "a", count: 10 * 1024)
        for command in ["status", "result", "cancel"] {
            for bad in ["../x", long, "task-1/../../x"] {
                let out = box.run([command, bad], cwd: elsewhere)
                #expect(out.code == 64, "\(command) \(bad.prefix(20)): \(out)")
                #expect(out.stderrLines.count == 1, "one line naming the problem: \(out)")
                #expect(out.stderr.utf8.count < 1024, "the message must not echo 10 kB: \(out.stderr.utf8.count) bytes")
            }
        }
    }

    // MARK: - 5. status --wait with a short timeout

    @Test func statusWaitTimesOutOnASlowJob() throws {
        let (box, id, _) = try RISandbox.withSlowJobInItsTurn()
        defer { box.cleanUp() }
        let out = box.run(["status", id, "--wait", "--timeout-ms", "300", "--json"], timeout: 30)
        #expect(out.code == 0, "\(out)")
        #expect(out.json?["waitTimedOut"] == true, "\(out)")
        #expect(out.json?["job"]?["status"] == "running", "\(out)")

        let markdown = box.run(["status", id, "--wait", "--timeout-ms", "100"])
        #expect(markdown.code == 0, "\(markdown)")
        #expect(markdown.stdout.contains("Still running"), "\(markdown)")
    }

    // MARK: - 6. Cancel

    @Test func cancelSlowJobLeavesNoProcess() throws {
        let (box, id, workerPID) = try RISandbox.withSlowJobInItsTurn()
        defer { box.cleanUp() }
        let workerStart = ProcessProbe.startTime(of: workerPID)
        #expect(workerStart != nil, "worker \(workerPID) not alive while running")
        let server = RIText.fakeCodexChild(of: workerPID)
        #expect(server != nil, "no fake-codex child under worker \(workerPID)")
        #expect(!box.markerProcesses().isEmpty)

        let out = box.run(["cancel", id, "--json"], timeout: 60)
        #expect(out.code == 0, "\(out)")
        #expect(out.json?["status"] == "cancelled", "\(out)")
        #expect(out.json?["processesLeft"] == [], "\(out)")
        #expect(out.json?["jobId"]?.stringValue == id)

        let job = try #require(box.job(id))
        #expect(job["status"] == "cancelled")
        #expect(job["reason"] == "cancelled")

        let left = box.waitNoMarkerProcesses(timeout: 5)
        #expect(left.isEmpty, "processes of the job still alive: \(RIText.describe(left))")
        #expect(!ProcessProbe.isAlive(workerPID, startTime: workerStart), "worker \(workerPID) still alive")
        if let server { #expect(!RIProc.isLive(server.pid) || ProcessProbe.startTime(of: server.pid) != server.start) }

        // A second cancel reports the recorded state and succeeds.
        let again = box.run(["cancel", id, "--json"])
        #expect(again.code == 0, "\(again)")
        #expect(again.json?["status"] == "cancelled")
    }

    @Test func cancelStubbornServerWithGrandchild() throws {
        // stubborn.json (ignores SIGTERM and stdin EOF, spawns a grandchild) plus: it
        // never answers turn/interrupt and its turn lasts, so cancel meets it mid-turn.
        let box = RISandbox.running(
            script: "stubborn-slow.json",
            """
            {
              "threadId": "thr_main", "turnId": "turn_1",
              "ignoreStdinEOF": true, "ignoreSIGTERM": true, "onInterrupt": "ignore",
              "steps": [
                {"spawnSleeper": 60},
                {"sleepMs": 30000},
                {"notify": "item/completed", "params": {"threadId": "{{threadId}}", "turnId": "{{turnId}}", "item": {"type": "agentMessage", "id": "msg_1", "text": "Too late.", "phase": "final_answer"}}}
              ],
              "turnStatus": "completed"
            }
            """)
        defer { box.cleanUp() }
        let (id, workerPID) = try box.startJobInItsTurn("stubborn")
        let sleeper = try #require(RIText.waitForSleeper(box), "fake-codex never noted its grandchild")
        #expect(RIProc.isLive(sleeper))

        let out = box.run(["cancel", id, "--json"], timeout: 90)
        #expect(out.code == 0, "\(out)")
        #expect(out.json?["status"] == "cancelled", "\(out)")
        #expect(out.json?["processesLeft"] == [], "\(out)")
        #expect(box.job(id)?["status"] == "cancelled")

        let left = box.waitNoMarkerProcesses(timeout: 5)
        #expect(left.isEmpty, "processes of the job still alive: \(RIText.describe(left))")
        #expect(!RIProc.isLive(sleeper), "grandchild /bin/sleep \(sleeper) survived the cancel")
        #expect(!RIProc.isLive(workerPID))
    }

    @Test func stubbornServerLeavesNothingAfterItsJobCompletes() throws {
        // The stock stubborn fixture finishes its turn at once, then ignores stdin EOF and
        // SIGTERM and leaves a 60 s grandchild: the worker's teardown must still end all.
        let box = RISandbox(fixture: "stubborn.json")
        defer { box.cleanUp() }
        let id = try #require(box.startBackground(["stubborn"]))
        let end = try #require(box.waitForEnd(id, timeout: 60))
        #expect(end["status"] == "completed", "\(end)")
        let left = box.waitNoMarkerProcesses(timeout: 10)
        #expect(left.isEmpty, "processes left after the job completed: \(RIText.describe(left))")
    }

    @Test func cancelWithoutIdNeedsASingleRunningJob() throws {
        let box = RISandbox(fixture: "slow.json")
        defer { box.cleanUp() }
        box.session = "cancel-session"

        let a = try #require(box.startBackground(["first slow job"]))
        let b = try #require(box.startBackground(["second slow job"]))
        #expect(box.waitForTurn(a) != nil)
        #expect(box.waitForTurn(b) != nil)

        let out = box.run(["cancel", "--json"])
        #expect(out.code == 1, "\(out)")
        let message = out.json?["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains(a) && message.contains(b), "must name both jobs: \(out)")
        #expect(box.job(a)?["status"] == "running")
        #expect(box.job(b)?["status"] == "running")

        // Another session has no running job: nothing to cancel there.
        let otherSession = box.run(["cancel"], env: ["CODEX_COMPANION_SESSION_ID": "someone-else"])
        #expect(otherSession.code == 1, "\(otherSession)")

        #expect(box.run(["cancel", a]).code == 0)
        // Now exactly one is running in the session: cancel without an id picks it.
        let only = box.run(["cancel", "--json"], timeout: 60)
        #expect(only.code == 0, "\(only)")
        #expect(only.json?["jobId"]?.stringValue == b, "\(only)")
        #expect(box.waitNoMarkerProcesses(timeout: 5).isEmpty)
    }

    @Test func cancelOfACompletedJobFails() throws {
        let box = RISandbox(fixture: "success.json")
        defer { box.cleanUp() }
        let id = try #require(box.startBackground(["Create hello.txt"]))
        #expect(box.waitForEnd(id)?["status"] == "completed")
        let out = box.run(["cancel", id, "--json"])
        #expect(out.code == 1, "\(out)")
        #expect(out.json?["error"]?["message"]?.stringValue?.contains(id) == true, "\(out)")
        #expect(box.job(id)?["status"] == "completed", "a finished job must stay completed")
    }

    // MARK: - 7. Worker death

    @Test func killedWorkerIsReportedAsWorkerDied() throws {
        let (box, id, workerPID) = try RISandbox.withSlowJobInItsTurn()
        defer { box.cleanUp() }
        #expect(
            RIProc.environment(workerPID).contains(RISandbox.markerName + "=" + box.marker),
            "pid \(workerPID) is not ours")

        kill(workerPID, SIGKILL)
        #expect(RIText.waitUntil(timeout: 5) { !RIProc.isLive(workerPID) }, "worker survived SIGKILL")

        let job = try #require(box.job(id))
        #expect(job["status"] == "failed", "\(job)")
        #expect(job["reason"] == "worker-died", "\(job)")
        #expect(job["errorMessage"]?.stringValue?.isEmpty == false)
        #expect(job["completedAt"]?.stringValue != nil)
        // The result command reports the failure with exit 1.
        let result = box.run(["result", id])
        #expect(result.code == 1, "\(result)")
        #expect(result.stdout.contains("worker-died"), "\(result)")
    }

    @Test func killedAppServerFailsTheJob() throws {
        let (box, id, workerPID) = try RISandbox.withSlowJobInItsTurn()
        defer { box.cleanUp() }
        let server = try #require(RIText.fakeCodexChild(of: workerPID), "no fake-codex child under worker \(workerPID)")

        kill(server.pid, SIGKILL)
        let end = try #require(box.waitForEnd(id, timeout: 20), "job did not end after its app-server was killed")
        #expect(end["status"] == "failed", "\(end)")
        #expect(end["reason"] == "worker-died", "\(end)")
        #expect(end["errorMessage"]?.stringValue?.contains("app-server") == true, "\(end)")
        #expect(end["threadId"] == "thr_main")
        #expect(box.waitNoMarkerProcesses(timeout: 5).isEmpty)
    }

    @Test func pidWithAnotherStartTimeIsAReusedPid() throws {
        let box = RISandbox(fixture: "slow.json")
        defer { box.cleanUp() }
        let store = try box.store()

        // A running job we control: its worker is alive, but the record now says it
        // started at another time (the pid was "reused").
        let (id, workerPID) = try box.startJobInItsTurn()
        let edited = try store.update(id) { record in
            record.pidStartTime = (record.pidStartTime ?? 0) + 987_654
        }
        #expect(edited?.pid == workerPID)
        let job = try #require(box.job(id))
        #expect(job["status"] == "failed", "\(job)")
        #expect(job["reason"] == "worker-died", "\(job)")
        #expect(RIProc.isLive(workerPID), "reconciliation must not kill a process it does not own")

        // A record written by hand whose pid belongs to an unrelated live process.
        let sleeper = try Subprocess.spawn(
            SpawnRequest(
                executable: "/bin/sleep", arguments: ["30"], environment: box.environment(),
                grouping: .newGroup, stdin: .null, stdout: .null, stderr: .null))
        defer {
            kill(sleeper.pid, SIGKILL)
            _ = Subprocess.wait(sleeper.pid)
        }
        let start = try #require(ProcessProbe.startTime(of: sleeper.pid))
        let handId = JobID.make()
        let now = Timestamp.now()
        let record = JobRecord(
            id: handId, status: .running, phase: .running, title: "by hand", summary: "by hand",
            workspaceRoot: box.repo, cwd: box.repo, sessionId: nil, write: false, background: true,
            pid: sleeper.pid, pidStartTime: start + 1, createdAt: now, startedAt: now, updatedAt: now,
            timeoutSeconds: 1800, logFile: store.logPath(handId), promptFile: store.promptPath(handId))
        try AtomicFile.write(try JSONCoding.encode(record, pretty: true) + [10], to: store.recordPath(handId))
        let hand = try #require(box.job(handId))
        #expect(hand["status"] == "failed", "\(hand)")
        #expect(hand["reason"] == "worker-died", "\(hand)")
        #expect(RIProc.isLive(sleeper.pid), "the unrelated process must be left alone")
    }

    // MARK: - 8. Timeout

    @Test func jobTimeoutFailsWithTimedOut() throws {
        let box = RISandbox(fixture: "no-turn-completed.json")
        defer { box.cleanUp() }
        let id = try #require(box.startBackground(["think forever"], options: ["--timeout", "2"]))
        let end = try #require(box.waitForEnd(id, timeout: 40), "a 2 s job did not end within 40 s")
        #expect(end["status"] == "failed", "\(end)")
        #expect(end["reason"] == "timed-out", "\(end)")
        #expect(end["timeoutSeconds"] == 2)

        // Foreground, with the slow fixture: exit 1 and the same reason.
        box.script = FakeCodex.fixture("slow.json")
        let out = box.run(["task", "--timeout", "2", "--json", "take your time"], timeout: 60)
        #expect(out.code == 1, "\(out)")
        #expect(out.json?["status"] == "failed", "\(out)")
        #expect(out.json?["reason"] == "timed-out", "\(out)")
        #expect(box.waitNoMarkerProcesses(timeout: 5).isEmpty)
    }

    // MARK: - 9. Failed turn

    @Test func failedTurnIsReportedWithCodexMessage() throws {
        let box = RISandbox(fixture: "failure.json")
        defer { box.cleanUp() }
        let expected = "We're currently experiencing high demand"

        let out = box.run(["task", "do the thing"])
        #expect(out.code == 1, "\(out)")
        #expect(out.stdout.contains(expected), "\(out)")

        let json = box.run(["task", "--json", "do the thing"])
        #expect(json.code == 1, "\(json)")
        #expect(json.stdoutLines.count == 1, "\(json)")
        #expect(json.json?["status"] == "failed")
        #expect(json.json?["reason"] == "turn-failed")
        let id = try #require(json.json?["jobId"]?.stringValue)
        let job = try #require(box.job(id))
        #expect(job["status"] == "failed")
        #expect(job["reason"] == "turn-failed")
        #expect(job["errorMessage"]?.stringValue?.contains(expected) == true, "\(job)")
        #expect(job["turnId"] == "turn_3")
    }

    // MARK: - 10. Resume

    @Test func resumeLastAndResumeThread() throws {
        let box = RISandbox(fixture: "success.json")
        defer { box.cleanUp() }

        let thread = try box.succeedingTask("Create hello.txt", reading: "threadId")
        #expect(thread == "thr_main")

        box.script = box.writeScript(
            "resume.json",
            """
            {
              "threadId": "thr_new", "turnId": "turn_9", "knownThreads": ["thr_main", "thr_other"],
              "steps": [
                {"notify": "item/completed", "params": {"threadId": "{{threadId}}", "turnId": "{{turnId}}", "item": {"type": "agentMessage", "id": "msg_1", "text": "Continued on {{threadId}}.", "phase": "final_answer"}}}
              ],
              "turnStatus": "completed"
            }
            """)

        let log1 = box.temp.file("resume-last.log")
        let resumed = box.run(["task", "--resume-last", "--json", "next"], env: ["FAKE_CODEX_LOG": log1])
        #expect(resumed.code == 0, "\(resumed)")
        #expect(resumed.json?["finalMessage"] == "Continued on thr_main.", "\(resumed)")
        let resumes = box.fakeRequests("thread/resume", log1)
        #expect(resumes.count == 1)
        #expect(resumes.first?["params"]?["threadId"] == .string(thread), "\(resumes)")
        #expect(box.fakeRequests("thread/start", log1).isEmpty)
        #expect(box.fakeRequests("turn/start", log1).first?["params"]?["input"]?[0]?["text"] == "next")
        let resumedId = try #require(resumed.json?["jobId"]?.stringValue)
        #expect(box.job(resumedId)?["resumeThreadId"] == .string(thread))

        let log2 = box.temp.file("resume-thread.log")
        let exact = box.run(
            ["task", "--resume-thread", "thr_other", "--json", "other next"], env: ["FAKE_CODEX_LOG": log2])
        #expect(exact.code == 0, "\(exact)")
        #expect(box.fakeRequests("thread/resume", log2).map { $0["params"]?["threadId"] } == [.string("thr_other")])
        let exactId = try #require(exact.json?["jobId"]?.stringValue)
        #expect(box.job(exactId)?["resumeThreadId"] == "thr_other")

        // Resuming with no prompt sends the continue prompt.
        let log3 = box.temp.file("resume-noprompt.log")
        let noPrompt = box.run(["task", "--resume-last", "--json"], env: ["FAKE_CODEX_LOG": log3])
        #expect(noPrompt.code == 0, "\(noPrompt)")
        #expect(
            box.fakeRequests("turn/start", log3).first?["params"]?["input"]?[0]?["text"]
                == .string(PromptText.continuePrompt))

        // Usage errors.
        let conflict = box.run(["task", "--resume-last", "--fresh", "x"])
        #expect(conflict.code == 64, "\(conflict)")
        #expect(conflict.stderrLines.count == 1, "\(conflict)")
        for empty in [["task"], ["task", ""], ["task", "--json"], ["task", "--write", "   "]] {
            let out = box.run(empty)
            #expect(out.code == 64, "\(empty): \(out)")
        }
        #expect(box.run(["task", "--json"]).json?["error"]?["code"] == "usage")

        // --resume-last with no earlier job anywhere in this workspace.
        let fresh = RISandbox(fixture: "resume.json")
        defer { fresh.cleanUp() }
        let none = fresh.run(["task", "--resume-last", "next"])
        #expect(none.code == 1, "\(none)")
        #expect(none.stderr.contains("no earlier"), "a clear message: \(none)")
        #expect(fresh.fakeMessages().isEmpty, "nothing may be started: \(fresh.fakeMessages())")
    }

    // MARK: - 11. Prompt sources

    @Test func promptFromFileStdinAndLargeFile() throws {
        let box = RISandbox(fixture: nil)
        defer { box.cleanUp() }

        let text = "Line one of the task.\nLine two with 'quotes', \"doubles\" and --flags.\n"
        box.temp.write("prompt.txt", text)
        let log1 = box.temp.file("file.log")
        let fromFile = box.run(
            ["task", "--json", "--prompt-file", box.temp.file("prompt.txt")], env: ["FAKE_CODEX_LOG": log1])
        #expect(fromFile.code == 0, "\(fromFile)")
        #expect(fromFile.json?["status"] == "completed")
        #expect(box.fakeRequests("turn/start", log1).first?["params"]?["input"]?[0]?["text"] == .string(text))

        // Relative to the working directory.
        let log1b = box.temp.file("relative.log")
        let relative = box.run(["task", "--json", "--prompt-file", "../prompt.txt"], env: ["FAKE_CODEX_LOG": log1b])
        #expect(relative.code == 0, "\(relative)")
        #expect(box.fakeRequests("turn/start", log1b).first?["params"]?["input"]?[0]?["text"] == .string(text))

        let missing = box.run(["task", "--prompt-file", box.temp.file("nope.txt")])
        #expect(missing.code == 64, "\(missing)")
        let directory = box.run(["task", "--prompt-file", box.temp.path])
        #expect(directory.code == 64, "\(directory)")

        let log2 = box.temp.file("stdin.log")
        let piped = box.run(["task", "--json"], env: ["FAKE_CODEX_LOG": log2], input: Array("Task from stdin\n".utf8))
        #expect(piped.code == 0, "\(piped)")
        #expect(
            box.fakeRequests("turn/start", log2).first?["params"]?["input"]?[0]?["text"]?.stringValue?.contains(
                "Task from stdin") == true)

        var big = ""
        let line = String(repeating: "abcdefghij", count: 9) + " big prompt line\n"
        while big.utf8.count < 5 * 1024 * 1024 { big += line }
        box.temp.write("big.txt", big)
        let log3 = box.temp.file("big.log")
        let large = box.run(
            ["task", "--json", "--prompt-file", box.temp.file("big.txt")], env: ["FAKE_CODEX_LOG": log3], timeout: 120)
        #expect(large.code == 0, "\(large)")
        #expect(large.json?["status"] == "completed", "\(large)")
        // Over Codex's input limit the prompt is handed over as the job's prompt file, which
        // holds all of it; turn/start names that file.
        let sent = box.fakeRequests("turn/start", log3).first?["params"]?["input"]?[0]?["text"]?.stringValue
        let logFile = try #require(large.json?["job"]?["logFile"]?.stringValue)
        let promptFile = String(logFile.dropLast(".log".count)) + ".prompt"
        #expect(sent?.contains(promptFile) == true, "\(sent ?? "nil")")
        #expect(try FileSystem.read(promptFile) == Array(big.utf8))
    }

    // MARK: - 12. Usage errors

    @Test func usageErrorsExit64() throws {
        let box = RISandbox(fixture: "success.json")
        defer { box.cleanUp() }

        let missingCwd = box.run(["task", "--cwd", box.temp.file("no-such-dir"), "x"])
        #expect(missingCwd.code == 64, "\(missingCwd)")
        #expect(missingCwd.stderrLines.count == 1, "\(missingCwd)")
        let missingCwdFirst = box.run(["-C", box.temp.file("no-such-dir"), "status", "--json"])
        #expect(missingCwdFirst.code == 64, "\(missingCwdFirst)")
        #expect(missingCwdFirst.json?["error"]?["code"] == "usage")

        let worktree = box.run(["task", "--worktree", "x"])
        #expect(worktree.code == 64, "\(worktree)")

        let unknown = box.run(["task", "--bogus", "--json", "x"])
        #expect(unknown.code == 64, "\(unknown)")
        #expect(unknown.stdoutLines.count == 1, "\(unknown)")
        #expect(unknown.json?["error"]?["code"] == "usage", "\(unknown)")
        #expect(unknown.json?["error"]?["message"]?.stringValue?.contains("--bogus") == true, "\(unknown)")
        #expect(unknown.stderrLines.count == 1, "\(unknown)")

        // A slash command passes everything as ONE argument.
        let oneArg = box.run(["task", "--bogus --json x"])
        #expect(oneArg.code == 64, "\(oneArg)")
        #expect(oneArg.json?["error"]?["code"] == "usage", "\(oneArg)")

        // None of these created a job.
        let all = box.run(["status", "--all", "--json"])
        #expect(all.json?["totalJobs"] == 0, "\(all)")
        #expect(box.fakeMessages().isEmpty)
    }

    // MARK: - 13. Hooks

    @Test func sessionStartHookIsIdempotent() throws {
        let box = RISandbox(fixture: nil)
        defer { box.cleanUp() }
        let other = "export OTHER_TOOL_HOME='/opt/other tool'"
        box.temp.write("claude.env", other + "\n")
        let envFile = box.temp.file("claude.env")
        let input = Array(
            #"{"session_id":"sess-0123","source":"startup","hook_event_name":"SessionStart","cwd":"/x"}"#.utf8)
        for _ in 0..<5 {
            let out = box.run(["hook", "session-start"], env: ["CLAUDE_ENV_FILE": envFile], input: input)
            #expect(out.code == 0, "\(out)")
            #expect(out.stdout.isEmpty, "\(out)")
        }
        let text = String(decoding: (try FileSystem.read(envFile)) ?? [], as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init)
        let sessionLines = lines.filter { $0.contains("CODEX_COMPANION_SESSION_ID=") }
        let stateLines = lines.filter { $0.contains("CODEX_COMPANION_STATE_DIR=") }
        #expect(sessionLines.count == 1, "\(text)")
        #expect(sessionLines.first?.contains("sess-0123") == true, "\(text)")
        #expect(stateLines.isEmpty, "SessionStart must not export a state dir of its own: \(text)")
        #expect(lines.filter { $0 == other }.count == 1, "the other tool's line must stay intact: \(text)")
        #expect(lines.count == 2, "\(text)")
    }

    @Test func sessionEndHookKeepsJobsRunning() throws {
        let box = RISandbox.running(
            script: "four-seconds.json",
            """
            {
              "threadId": "thr_main", "turnId": "turn_1",
              "steps": [
                {"sleepMs": 4000},
                {"notify": "item/completed", "params": {"threadId": "{{threadId}}", "turnId": "{{turnId}}", "item": {"type": "agentMessage", "id": "msg_1", "text": "Finished after the session ended.", "phase": "final_answer"}}}
              ],
              "turnStatus": "completed"
            }
            """)
        defer { box.cleanUp() }
        box.session = "sess-end-1"
        let id = try #require(box.startBackground(["outlive the session"]))
        let end = box.run(
            ["hook", "session-end"],
            input: Array(#"{"session_id":"sess-end-1","reason":"logout","hook_event_name":"SessionEnd"}"#.utf8))
        #expect(end.code == 0, "\(end)")
        let now = try #require(box.job(id))
        #expect(now["status"] == "running" || now["status"] == "queued", "\(now)")
        let done = try #require(box.waitForEnd(id, timeout: 30))
        #expect(done["status"] == "completed", "\(done)")
        #expect(done["finalMessage"] == "Finished after the session ended.")
    }

    @Test func preToolUseHookDecisions() throws {
        let box = RISandbox(fixture: nil)
        defer { box.cleanUp() }

        let deny = box.run(
            ["hook", "pre-tool-use"],
            input: Array(
                #"{"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"cd src && codex exec 'fix the bug'"}}"#
                    .utf8))
        #expect(deny.code == 0, "\(deny)")
        #expect(deny.stdoutLines.count == 1, "\(deny)")
        let decision = try #require(deny.json, "\(deny)")
        #expect(decision["hookSpecificOutput"]?["permissionDecision"] == "deny", "\(deny)")
        #expect(decision["hookSpecificOutput"]?["hookEventName"] == "PreToolUse")
        #expect(
            decision["hookSpecificOutput"]?["permissionDecisionReason"]?.stringValue?.contains("/codex:rescue") == true)

        let allow = box.run(
            ["hook", "pre-tool-use"],
            input: Array(
                #"{"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls -la codex-notes && grep -r codex ."}}"#
                    .utf8))
        #expect(allow.code == 0, "\(allow)")
        #expect(allow.stdout.isEmpty, "\(allow)")
        #expect(allow.stderr.isEmpty, "\(allow)")

        let garbage = box.run(["hook", "pre-tool-use"], input: Array("{not json at all\u{0}\u{1}".utf8))
        #expect(garbage.code == 0, "\(garbage)")
        #expect(garbage.stdout.isEmpty, "\(garbage)")
        #expect(garbage.stderrLines.count == 1, "\(garbage)")

        let empty = box.run(["hook", "pre-tool-use"])
        #expect(empty.code == 0, "\(empty)")
        #expect(empty.stdout.isEmpty, "\(empty)")
    }

    // MARK: - 14. Concurrent writers

    @Test func concurrentStoreWritersLoseNoUpdate() throws {
        let box = RISandbox(fixture: nil)
        defer { box.cleanUp() }
        #expect(FileSystem.isExecutable(RIBinaries.bench), "companion-bench not built at \(RIBinaries.bench)")
        let id = JobID.make()
        let writers = 8
        let updates = 100
        var children: [pid_t] = []
        for index in 0..<writers {
            let errFD = open(box.temp.file("writer-\(index).err"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            defer { if errFD >= 0 { close(errFD) } }
            let request = SpawnRequest(
                executable: RIBinaries.bench,
                arguments: [
                    "store-writer", "--state-dir", box.stateDir, "--workspace", box.repo, "--job", id,
                    "--updates", String(updates), "--tag", "w\(index)",
                ],
                environment: box.environment(), directory: box.repo, grouping: .newGroup,
                stdin: .null, stdout: .null, stderr: errFD >= 0 ? .descriptor(errFD) : .null)
            children.append(try Subprocess.spawn(request).pid)
        }
        var statuses: [pid_t: TerminationStatus] = [:]
        let deadline = MonotonicClock.now() + 120
        while statuses.count < children.count && MonotonicClock.now() < deadline {
            for pid in children where statuses[pid] == nil {
                if let status = Subprocess.poll(pid) { statuses[pid] = status }
            }
            sleepSeconds(0.02)
        }
        for pid in children where statuses[pid] == nil {
            kill(pid, SIGKILL)
            statuses[pid] = Subprocess.wait(pid)
        }
        for (index, pid) in children.enumerated() {
            let err = String(
                decoding: (try? FileSystem.read(box.temp.file("writer-\(index).err"))).flatMap { $0 } ?? [],
                as: UTF8.self)
            #expect(statuses[pid] == .exited(0), "writer \(index): \(String(describing: statuses[pid])) \(err)")
        }

        let store = try box.store()
        let bytes = try #require(try FileSystem.read(store.recordPath(id)))
        let record = try JSONCoding.decode(JobRecord.self, from: bytes)
        let files = record.result?.touchedFiles ?? []
        #expect(files.count == writers * updates, "lost updates: \(files.count) of \(writers * updates)")
        var expected: Set<String> = []
        for w in 0..<writers { for i in 0..<updates { expected.insert("w\(w)-\(i)") } }
        #expect(Set(files) == expected)
        // Each writer's updates are in its own order.
        for w in 0..<writers {
            let mine = files.filter { $0.hasPrefix("w\(w)-") }
            #expect(mine == (0..<updates).map { "w\(w)-\($0)" })
        }
        // And the binary reads the same record.
        let job = try #require(box.job(id))
        #expect(job["result"]?["touchedFiles"]?.arrayValue?.count == writers * updates)
        let quarantine = (try? FileSystem.list(store.quarantineDirectory)) ?? []
        #expect(quarantine.isEmpty, "nothing may be quarantined: \(quarantine)")
    }

    // MARK: - 15. Retention

    @Test func retentionDropsOnlyOldReadJobs() throws {
        let box = RISandbox(fixture: "success.json")
        defer { box.cleanUp() }

        let viewedId = try box.succeedingTask("old job whose result was shown", reading: "jobId")
        #expect(box.job(viewedId)?["resultViewedAt"]?.stringValue != nil, "a foreground task shows its result")

        let unreadId = try #require(box.startBackground(["old job nobody read"]))
        let unread = try #require(box.waitForEnd(unreadId))
        #expect(unread["status"] == "completed")
        #expect(unread["resultViewedAt"] == .null)

        let readLater = try #require(box.startBackground(["old job read with result"]))
        #expect(box.waitForEnd(readLater)?["status"] == "completed")
        #expect(box.run(["result", readLater]).code == 0)

        let store = try box.store()
        let old = Timestamp.format(milliseconds: WallClock.nowMilliseconds() - 8 * 86_400_000)
        for id in [viewedId, unreadId, readLater] {
            _ = try store.update(id) { $0.completedAt = old }
        }
        for id in [viewedId, unreadId, readLater] {
            #expect(FileSystem.exists(store.recordPath(id)))
            #expect(FileSystem.exists(store.logPath(id)))
            #expect(FileSystem.exists(store.promptPath(id)))
        }

        let next = try #require(box.startBackground(["a new task"]))
        for id in [viewedId, readLater] {
            #expect(!FileSystem.exists(store.recordPath(id)), "\(id) record should be gone")
            #expect(!FileSystem.exists(store.logPath(id)), "\(id) log should be gone")
            #expect(!FileSystem.exists(store.promptPath(id)), "\(id) prompt should be gone")
            #expect(box.run(["status", id]).code == 1)
        }
        #expect(FileSystem.exists(store.recordPath(unreadId)), "an unread job must stay")
        #expect(FileSystem.exists(store.logPath(unreadId)))
        #expect(FileSystem.exists(store.promptPath(unreadId)))
        #expect(box.job(unreadId)?["status"] == "completed")
        #expect(box.waitForEnd(next)?["status"] == "completed")
    }
}

// MARK: - Beyond the list: the caller going away, waits that see a death, subdirectories

extension RuntimeIntegrationTests {
    static let twoSecondScript = """
        {
          "threadId": "thr_main", "turnId": "turn_1",
          "steps": [
            {"sleepMs": 2000},
            {"notify": "item/completed", "params": {"threadId": "{{threadId}}", "turnId": "{{turnId}}", "item": {"type": "agentMessage", "id": "msg_1", "text": "Survived the caller.", "phase": "final_answer"}}}
          ],
          "turnStatus": "completed"
        }
        """

    @Test func foregroundCallerKilledWithItsGroupJobGoesOn() throws {
        // Claude Code's Bash tool kills the caller's whole process group at its time limit.
        let box = RISandbox.running(script: "two-seconds.json", Self.twoSecondScript)
        defer { box.cleanUp() }
        let caller = try box.spawn(["task", "survive the caller"], name: "caller")
        defer { caller.kill() }
        let id = try #require(box.waitForActiveJob(), "no job appeared")
        _ = Signals.sendToGroup(caller.pid, SIGKILL)
        let killed = try #require(caller.finish(timeout: 10))
        #expect(killed.code == 128 + SIGKILL)

        let end = try #require(box.waitForEnd(id, timeout: 30))
        #expect(end["status"] == "completed", "\(end)")
        let result = box.run(["result", id])
        #expect(result.code == 0, "\(result)")
        #expect(result.stdout.contains("Survived the caller."), "\(result)")
    }

    @Test func foregroundSIGTERMStopsWaitingButNotTheJob() throws {
        let box = RISandbox.running(script: "two-seconds.json", Self.twoSecondScript)
        defer { box.cleanUp() }
        let caller = try box.spawn(["task", "--json", "survive the caller"], name: "caller")
        defer { caller.kill() }
        let id = try #require(box.waitForActiveJob(), "no job appeared")
        kill(caller.pid, SIGTERM)
        let out = try #require(caller.finish(timeout: 10), "the foreground task did not stop waiting on SIGTERM")
        #expect(out.code != 0, "\(out)")
        #expect(out.json?["error"]?["message"]?.stringValue?.contains(id) == true, "tells which job goes on: \(out)")

        let end = try #require(box.waitForEnd(id, timeout: 30))
        #expect(end["status"] == "completed", "\(end)")
    }

    @Test func foregroundCtrlCCancelsTheJob() throws {
        let box = RISandbox(fixture: "slow.json")
        defer { box.cleanUp() }
        let caller = try box.spawn(["task", "--json", "take your time"], name: "caller")
        defer { caller.kill() }
        let id = try #require(box.waitForActiveJob(), "no job appeared")
        #expect(box.waitForTurn(id) != nil)
        kill(caller.pid, SIGINT)
        let out = try #require(caller.finish(timeout: 30), "the foreground task did not end after Ctrl-C")
        #expect(out.code == 1, "\(out)")
        #expect(out.json?["status"] == "cancelled", "\(out)")
        #expect(box.job(id)?["status"] == "cancelled")
        let left = box.waitNoMarkerProcesses(timeout: 5)
        #expect(left.isEmpty, "processes of the job still alive: \(RIText.describe(left))")
    }

    @Test func statusWaitEndsWhenTheWorkerDies() throws {
        let (box, id, workerPID) = try RISandbox.withSlowJobInItsTurn()
        defer { box.cleanUp() }
        let waiter = try box.spawn(["status", id, "--wait", "--timeout-ms", "60000", "--json"], name: "waiter")
        defer { waiter.kill() }
        sleepSeconds(0.3)
        kill(workerPID, SIGKILL)
        let out = try #require(waiter.finish(timeout: 20), "status --wait kept waiting on a dead worker")
        #expect(out.code == 0, "\(out)")
        #expect(out.json?["waitTimedOut"] == false, "\(out)")
        #expect(out.json?["job"]?["status"] == "failed", "\(out)")
        #expect(out.json?["job"]?["reason"] == "worker-died", "\(out)")
    }

    @Test func slowJobShowsInTheOverviewAndHasNoResultYet() throws {
        let (box, id, _) = try RISandbox.withSlowJobInItsTurn()
        defer { box.cleanUp() }
        let (job, met) = box.waitForJob(id, timeout: 10) { !($0["progressPreview"]?.arrayValue ?? []).isEmpty }
        #expect(met, "no progress preview: \(job ?? .null)")

        let overview = box.run(["status", "--json"])
        #expect(overview.code == 0, "\(overview)")
        let entry = try #require(
            overview.json?["running"]?.arrayValue?.first { $0["id"]?.stringValue == id }, "\(overview)")
        #expect(entry["status"] == "running")
        #expect(entry["elapsedMs"]?.intValue != nil)
        let preview = entry["progressPreview"]?.arrayValue ?? []
        #expect(!preview.isEmpty, "\(entry)")
        let markdown = box.run(["status"])
        #expect(markdown.stdout.contains(id), "\(markdown)")

        let result = box.run(["result", id, "--json"])
        #expect(result.code == 1, "\(result)")
        #expect(result.json?["error"]?["message"]?.stringValue?.contains("--wait") == true, "\(result)")
    }

    @Test func taskFromASubdirectoryBelongsToTheRepository() throws {
        let box = RISandbox(fixture: "success.json")
        defer { box.cleanUp() }
        let sub = box.repo + "/src/deep"
        try FileSystem.createDirectory(sub, mode: 0o755)
        let id = try #require(box.startBackground(["Create hello.txt"], cwd: sub))
        let end = try #require(box.waitForEnd(id))
        #expect(end["status"] == "completed")
        #expect(end["workspaceRoot"] == .string(box.repo))
        #expect(end["cwd"] == .string(sub))
        #expect(FileSystem.exists(sub + "/hello.txt"), "Codex ran in the subdirectory")
        let fromRoot = box.run(["status", "--json"])
        #expect(fromRoot.json?.riJobIds.contains(id) == true, "\(fromRoot)")
        #expect(box.fakeRequests("thread/start").first?["params"]?["cwd"] == .string(sub))
    }

    @Test func jobTimeoutFromTheEnvironment() throws {
        let box = RISandbox(fixture: "no-turn-completed.json")
        defer { box.cleanUp() }
        let id = try #require(box.startBackground(["think forever"], env: ["CODEX_COMPANION_JOB_TIMEOUT": "2"]))
        let end = try #require(box.waitForEnd(id, timeout: 40))
        #expect(end["status"] == "failed", "\(end)")
        #expect(end["reason"] == "timed-out", "\(end)")
        #expect(end["timeoutSeconds"] == 2)
    }
}

/// Small text and process helpers for the runtime integration tests.
enum RIText {
    /// The job id in a result's Markdown ("Job `task-…` · completed").
    static func jobId(inMarkdown text: String) -> String? {
        guard let range = text.firstRange(of: "Job `task-") else { return nil }
        let start = text.index(range.upperBound, offsetBy: -5)
        guard let end = text[start...].firstIndex(of: "`") else { return nil }
        return String(text[start..<end])
    }

    static func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.now() + timeout
        while !condition() {
            if MonotonicClock.now() >= deadline { return false }
            sleepSeconds(0.05)
        }
        return true
    }

    /// The fake-codex process that is a child of `worker` (waits a little for it).
    static func fakeCodexChild(of worker: pid_t) -> (pid: pid_t, start: Int64?)? {
        let binary = FileSystem.realPath(Binaries.fakeCodex) ?? Binaries.fakeCodex
        var found: pid_t? = nil
        _ = waitUntil(timeout: 5) {
            found = RIProc.children(of: worker).first { RIProc.executable($0) == binary }
            return found != nil
        }
        return found.map { ($0, ProcessProbe.startTime(of: $0)) }
    }

    /// The pid of the /bin/sleep that fake-codex noted in its log.
    static func waitForSleeper(_ box: RISandbox) -> pid_t? {
        var pid: pid_t? = nil
        _ = waitUntil(timeout: 10) {
            pid = box.fakeMessages().first { $0["fake"] == "childSpawned" }?["pid"]?.intValue.map { pid_t($0) }
            return pid != nil
        }
        return pid
    }

    static func describe(_ pids: [pid_t]) -> String {
        pids.map { pid in
            let cmd =
                (try? FileSystem.read("/proc/\(pid)/cmdline")).flatMap { $0 }
                .map { String(decoding: $0.map { $0 == 0 ? 32 : $0 }, as: UTF8.self) } ?? "?"
            return "\(pid) [\(cmd)]"
        }.joined(separator: ", ")
    }
}
