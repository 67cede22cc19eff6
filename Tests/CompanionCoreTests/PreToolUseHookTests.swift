import CompanionTestSupport
import Testing

import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

@Suite("PreToolUseHook")
struct PreToolUseHookTests {
    private func input(tool: String = "Bash", command: JSONValue?) -> [UInt8] {
        var toolInput: [String: JSONValue] = ["description": "run it"]
        if let command { toolInput["command"] = command }
        let payload: JSONValue = [
            "session_id": "s-1",
            "hook_event_name": "PreToolUse",
            "cwd": "/tmp",
            "tool_name": .string(tool),
            "tool_input": .object(toolInput),
        ]
        return (try? JSONCoding.encode(payload)) ?? []
    }

    @Test func deniesWithTheDocumentedShape() throws {
        let outcome = PreToolUseHook.evaluate(input: input(command: "cd repo && codex exec 'fix it'"))
        #expect(outcome.exitCode == 0)
        #expect(outcome.stderr == nil)
        let stdout = try #require(outcome.stdout)
        #expect(stdout.hasPrefix("{"))
        let value = try JSONCoding.decode(JSONValue.self, from: stdout)
        let top = try #require(value.objectValue)
        #expect(Array(top.keys) == ["hookSpecificOutput"])
        let specific = try #require(top["hookSpecificOutput"]?.objectValue)
        #expect(Set(specific.keys) == ["hookEventName", "permissionDecision", "permissionDecisionReason"])
        #expect(specific["hookEventName"] == "PreToolUse")
        #expect(specific["permissionDecision"] == "deny")
        let reason = try #require(specific["permissionDecisionReason"]?.stringValue)
        #expect(reason.contains("codex exec"))
        #expect(reason.contains("/codex:rescue"))
        #expect(reason.contains("/codex:status"))
        #expect(reason.contains("/codex:result"))
        #expect(!reason.contains("\n"))
    }

    @Test func allowsSilently() {
        let outcome = PreToolUseHook.evaluate(input: input(command: "git commit -m 'fix codex bug'"))
        #expect(outcome == PreToolUseHook.Outcome(stdout: nil, stderr: nil, exitCode: 0))
    }

    @Test(arguments: ["not json", "", "[1,2]", "{\"tool_input\":{\"command\":\"codex\"}}", "{\"tool_name\":"])
    func malformedInputIsAllowedWithOneStderrLine(_ text: String) throws {
        let outcome = PreToolUseHook.evaluate(input: Array(text.utf8))
        #expect(outcome.exitCode == 0)
        #expect(outcome.stdout == nil)
        let stderr = try #require(outcome.stderr)
        #expect(stderr.hasSuffix("\n"))
        #expect(stderr.dropLast().contains("\n") == false)
    }

    @Test func otherToolsAreAllowedWithoutOutput() {
        let outcome = PreToolUseHook.evaluate(input: input(tool: "Read", command: "codex exec"))
        #expect(outcome == PreToolUseHook.Outcome(stdout: nil, stderr: nil, exitCode: 0))
    }

    @Test(arguments: [nil, JSONValue.int(3), JSONValue.array(["codex"])])
    func missingOrOddCommandIsAllowed(_ command: JSONValue?) {
        let outcome = PreToolUseHook.evaluate(input: input(command: command))
        #expect(outcome.exitCode == 0)
        #expect(outcome.stdout == nil)
    }

    @Test func oneMegabyteCommandTerminates() {
        var generator = SplitMix64(seed: 42)
        let pieces = [
            "$(", "`", "'", "\"", "(", "{ ", ";", "codex ", "<<EOF\n", "\\", "${", "a b ", "|", "\n", ")", "}",
            "$((", "<(", "case x in ", "if ", "do ", "bash -c ", "eval ",
        ]
        var command = ""
        while command.utf8.count < 1_000_000 {
            command += pieces[Int(generator.next() % UInt64(pieces.count))]
        }
        let outcome = PreToolUseHook.evaluate(input: input(command: .string(command)))
        #expect(outcome.exitCode == 0)
    }

    @Test func oneMegabyteHarmlessCommandIsAllowed() {
        let command =
            "cat > big.txt <<'EOF'\n" + String(repeating: "codex exec is just text here\n", count: 36_000) + "EOF"
        #expect(command.utf8.count > 1_000_000)
        let outcome = PreToolUseHook.evaluate(input: input(command: .string(command)))
        #expect(outcome == PreToolUseHook.Outcome(stdout: nil, stderr: nil, exitCode: 0))
    }
}
