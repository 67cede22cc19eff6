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

@Suite struct ArgumentParserTests {
    func parse(_ arguments: [String]) throws -> ParsedCommand {
        try ArgumentParser.parse(arguments, commands: CommandRegistry.all)
    }

    @Test func slashCommandTextArrivesAsOneArgumentAndIsSplit() throws {
        let parsed = try parse([
            "task", "--state-dir", "/s", "--background", "--json", "--write --model spark fix the 'flaky test'",
        ])
        #expect(parsed.flag("--write"))
        #expect(parsed.flag("--background"))
        #expect(parsed.global.json)
        #expect(parsed.global.stateDir == "/s")
        #expect(parsed.value("--model") == "spark")
        #expect(parsed.positionals == ["fix", "the", "flaky test"])
    }

    @Test func anUnbalancedApostropheStaysLiteral() throws {
        let parsed = try parse(["task", "don't break Bob's build"])
        #expect(parsed.positionals.joined(separator: " ") == "don't break Bob's build")
    }

    @Test func doubleDashPassesTextVerbatim() throws {
        let parsed = try parse(["task", "--write", "--", "--explain 'this'"])
        #expect(parsed.positionals == ["--explain 'this'"])
    }

    @Test func taskTextAfterTheFirstWordIsText() throws {
        let parsed = try parse(["task", "explain", "what", "--verbose", "does"])
        #expect(parsed.positionals == ["explain", "what", "--verbose", "does"])
        #expect(parsed.flags.isEmpty)
    }

    @Test(arguments: [
        ["task", "--bogus", "x"],
        ["status", "--wat"],
        ["task", "--model"],
        ["frobnicate"],
        ["status", "a", "b"],
        ["setup", "extra"],
        ["task", "--write=yes", "x"],
    ])
    func usageErrorsExit64(arguments: [String]) {
        let error = CompanionCLI.check(arguments: arguments)
        #expect(error?.exitCode == 64)
        #expect(error?.code == .usage)
    }

    @Test(arguments: [
        (["task", "--resume-last", "--fresh", "x"], "cannot be combined"),
        (["task", "--resume-thread", "t1", "--resume-last"], "cannot be combined"),
        (["task", "--worktree", "x"], "--worktree needs --write"),
        (["task", "--write", "--base", "main", "x"], "--base only applies"),
        (["task", "--effort", "extreme", "x"], "--effort extreme"),
        (["task", "--timeout", "0", "x"], "--timeout"),
        (["status", "--wait"], "--wait needs a job id"),
        (["status", "../etc/passwd"], "not a job id"),
        (["result", "task/../../x"], "not a job id"),
        (["worktree-cleanup", "task-abc", "--action", "merge"], "not one of keep"),
        (["worktree-cleanup", "--action", "keep"], "needs a job id"),
        (["worktree", "destroy"], "list' or 'prune"),
        (["hook", "post-tool-use"], "pre-tool-use"),
    ])
    func conflictingOrInvalidValuesNameTheProblem(arguments: [String], expected: String) {
        let error = CompanionCLI.check(arguments: arguments)
        #expect(error?.exitCode == 64)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error")")
    }

    @Test func aLongOrNulIdIsRejectedBeforeTouchingTheFileSystem() {
        #expect(CompanionCLI.check(arguments: ["status", String(repeating: "a", count: 10_000)])?.exitCode == 64)
        #expect(CompanionCLI.check(arguments: ["status", "task-\u{0}x"])?.exitCode == 64)
        // An empty slash-command argument means "no id": cancel this session's only job.
        #expect(CompanionCLI.check(arguments: ["cancel", ""]) == nil)
    }

    @Test func globalOptionsWorkBeforeAndAfterTheSubcommand() throws {
        let before = try parse(["--json", "-C", "/tmp", "status"])
        #expect(before.global.json && before.global.cwd == "/tmp")
        let after = try parse(["status", "--cwd=/x", "--json"])
        #expect(after.global.json && after.global.cwd == "/x")
    }

    @Test func shellWordsHandleQuotesAndEscapes() {
        #expect(ShellWords.split(#"a "b c" 'd e' f\ g "h\"i""#) == ["a", "b c", "d e", "f g", #"h"i"#])
        #expect(ShellWords.split("a 'b") == nil)
        #expect(ShellWords.split("don't 'quote me' it's") == ["don't", "quote me", "it's"])
        #expect(ShellWords.split("") == [])
        #expect(ShellWords.quote("it's") == #"'it'\''s'"#)
        #expect(ShellWords.quote("/plain/path") == "/plain/path")
    }
}
