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

@Suite("Permission model and shared state")
struct PermissionAndStateTests {
    static let root = "/home/u/.claude/plugins/cache/codex-companion/codex/0.1.0"

    @Test func allowsOnlyPlainReadOnlyCalls() {
        let allowed = [
            "codex-companion status",
            "codex-companion status --json",
            "codex-companion status task-mx5r8q8x-x5wa --wait --timeout-ms 90000 --json",
            "codex-companion status --all",
            "codex-companion result task-mx5r8q8x-x5wa",
            "\"\(Self.root)/bin/codex-companion\" result task-abc --json",
            "\(Self.root)/bin/codex-companion status",
            "  codex-companion result  ",
        ]
        for command in allowed {
            #expect(ReadOnlyCompanionCall.matches(command, pluginRoot: Self.root), "\(command)")
        }
        let refused = [
            "codex-companion task --background --json 'fix it'",
            "codex-companion cancel task-abc",
            "codex-companion worktree-cleanup task-abc --action discard",
            "codex-companion status; rm -rf ~",
            "codex-companion status && touch x",
            "codex-companion status | sh",
            "codex-companion status > /etc/passwd",
            "codex-companion status $(touch x)",
            "codex-companion status `touch x`",
            "codex-companion status\ntouch x",
            "codex-companion result 'x'",
            "codex-companion status --state-dir /tmp/elsewhere",
            "codex-companion status --cwd /",
            "codex-companion status --timeout-ms 9e9",
            "codex-companion result a b",
            "FOO=1 codex-companion status",
            "/tmp/evil/bin/codex-companion status",
            "\"/tmp/evil/bin/codex-companion\" status",
            "\"\(Self.root)/bin/codex-companion\"x status",
            "codex-companion",
            "codex-companion status *",
            "codex status",
        ]
        for command in refused {
            #expect(!ReadOnlyCompanionCall.matches(command, pluginRoot: Self.root), "\(command)")
        }
        #expect(!ReadOnlyCompanionCall.matches("\"\(Self.root)/bin/codex-companion\" status", pluginRoot: nil))
    }

    private func hookInput(_ command: String) -> [UInt8] {
        let payload: JSONValue = [
            "tool_name": "Bash", "hook_event_name": "PreToolUse",
            "tool_input": ["command": .string(command), "description": "x"],
        ]
        return (try? JSONCoding.encode(payload)) ?? []
    }

    @Test func hookAllowsReadOnlyCallsAndStaysSilentOnTask() throws {
        let allow = PreToolUseHook.evaluate(input: hookInput("codex-companion status --json"), pluginRoot: Self.root)
        let value = try #require(allow.stdout.flatMap { JSONWire.parse(Array($0.utf8)) })
        #expect(value["hookSpecificOutput"]?["permissionDecision"]?.stringValue == "allow")
        #expect(value["hookSpecificOutput"]?["hookEventName"]?.stringValue == "PreToolUse")
        let task = PreToolUseHook.evaluate(
            input: hookInput("codex-companion task --write 'fix it'"), pluginRoot: Self.root)
        #expect(task.stdout == nil, "a task must be left to Claude Code's permission check")
        let chained = PreToolUseHook.evaluate(
            input: hookInput("codex-companion status; codex exec x"), pluginRoot: Self.root)
        #expect(chained.stdout?.contains("\"deny\"") == true)
    }

    @Test func stateRootIgnoresThePluginDataFolder() {
        let env = ["HOME": "/home/u", "CLAUDE_PLUGIN_DATA": "/home/u/.claude/plugins/data/codex-inline"]
        #if os(Linux)
            #expect(
                StateRoot.resolve(explicit: nil, environment: env, cwd: "/") == "/home/u/.local/state/codex-companion")
        #endif
        #expect(StateMigration.legacyRoot(environment: env) == "/home/u/.claude/plugins/data/codex-inline/state")
        #expect(StateMigration.legacyRoot(environment: ["CODEX_COMPANION_RUNTIME_DIR": "/d/runtime"]) == "/d/state")
    }

    @Test func sessionIdFallsBackToClaudeCodesVariable() {
        let temp = TempDir("session")
        let run = TestCLI.run(
            ["status", "--json", "--state-dir", temp.file("state")], cwd: temp.path,
            environment: ["CLAUDE_CODE_SESSION_ID": "claude-sess-1"])
        #expect(run.code == 0, "\(run)")
        #expect(JSONValue.parse(run.stdout)?["sessionId"]?.stringValue == "claude-sess-1", "\(run.stdout)")
        let own = TestCLI.run(
            ["status", "--json", "--state-dir", temp.file("state")], cwd: temp.path,
            environment: ["CLAUDE_CODE_SESSION_ID": "claude-sess-1", "CODEX_COMPANION_SESSION_ID": "mine"])
        #expect(JSONValue.parse(own.stdout)?["sessionId"]?.stringValue == "mine", "\(own.stdout)")
        #expect(!FileSystem.exists(temp.file("state") + "/workspaces"), "a read created workspace state")
    }

    private func record(_ id: String, store: WorkspaceStore) -> JobRecord {
        JobRecord(
            id: id, status: .completed, phase: .done, title: "t", summary: "s", workspaceRoot: store.root,
            cwd: store.root, sessionId: "s1", write: false, background: true, createdAt: Timestamp.now(),
            updatedAt: Timestamp.now(), timeoutSeconds: 60, logFile: store.logPath(id), promptFile: store.promptPath(id)
        )
    }

    @Test func migrationMovesRecordsWithoutOverwritingOrDropping() throws {
        let temp = TempDir("migrate")
        let legacy = temp.file("data/state")
        let shared = temp.file("shared")
        let workspace = temp.file("repo")
        try FileSystem.createDirectory(workspace)
        let old = try WorkspaceStore.open(stateRoot: legacy, workspaceRoot: workspace, warn: { _ in })
        try old.withLock { locked in
            try locked.create(record("task-mx5r8q8x-aaaa", store: old))
            try locked.create(record("task-mx5r8q8x-bbbb", store: old))
        }
        old.appendLog("task-mx5r8q8x-aaaa", "hello from the old place")
        let new = try WorkspaceStore.open(stateRoot: shared, workspaceRoot: workspace, warn: { _ in })
        var clash = record("task-mx5r8q8x-bbbb", store: new)
        clash.title = "the one already in the shared dir"
        try new.withLock { try $0.create(clash) }

        let report = StateMigration.migrate(from: legacy, to: shared, warn: { _ in })
        #expect(report.moved == ["task-mx5r8q8x-aaaa"])
        #expect(report.left.count == 1 && report.left[0].contains("task-mx5r8q8x-bbbb"), "\(report)")
        #expect(new.load("task-mx5r8q8x-aaaa")?.logFile == new.logPath("task-mx5r8q8x-aaaa"))
        #expect(FileSystem.exists(new.logPath("task-mx5r8q8x-aaaa")))
        #expect(new.load("task-mx5r8q8x-bbbb")?.title == "the one already in the shared dir", "overwritten")
        #expect(old.load("task-mx5r8q8x-bbbb") != nil, "a record that could not move must stay")
        #expect(old.load("task-mx5r8q8x-aaaa") == nil)
        // The one left behind is still listed.
        let listed = TestCLI.run(
            ["status", "--all", "--json", "--state-dir", shared], cwd: workspace,
            environment: ["CLAUDE_PLUGIN_DATA": temp.file("data")])
        let left = JSONValue.parse(listed.stdout)?["notMigrated"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
        #expect(left == ["task-mx5r8q8x-bbbb"], "\(listed.stdout)")
        // Running it again changes nothing.
        #expect(StateMigration.migrate(from: legacy, to: shared, warn: { _ in }).moved.isEmpty)
    }

    @Test func workspaceChangesSeeFilesWrittenByShellCommands() throws {
        let temp = TempDir("changes")
        let repo = temp.path
        let git = try GitClient(overrides: ["HOME": repo, "GIT_CONFIG_NOSYSTEM": "1"])
        try git.check(["init", "-q", "-b", "main"], in: repo)
        temp.write("kept.txt", "a\n")
        temp.write("dirty.txt", "1\n")
        try git.check(["add", "."], in: repo)
        try git.check(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], in: repo)
        temp.write("dirty.txt", "2\n")
        let before = try #require(WorkspaceChanges.snapshot(of: repo, git: git))
        temp.write("new.txt", "made by a shell command\n")
        temp.write("dirty.txt", "3, longer\n")
        let after = try #require(WorkspaceChanges.snapshot(of: repo, git: git))
        #expect(after.changed(since: before) == [repo + "/dirty.txt", repo + "/new.txt"])
    }
}
