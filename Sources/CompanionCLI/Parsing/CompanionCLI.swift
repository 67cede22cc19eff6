import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// The entry point: parses argv, runs one subcommand, and funnels every error to
/// one line on stderr (and an error object on stdout with `--json`) plus an exit code.
public enum CompanionCLI {
    public static func run(arguments: [String], context: CompanionContext) -> Int32 {
        let wantsJSON =
            arguments.contains("--json")
            || (arguments.count >= 2 && ShellWords.splitLeniently(arguments.last ?? "").contains("--json"))
        let parsed: ParsedCommand
        do {
            parsed = try ArgumentParser.parse(arguments, commands: CommandRegistry.all)
        } catch {
            return report(error, json: wantsJSON, context: context)
        }
        if parsed.global.version && parsed.name.isEmpty {
            context.writeStdout(
                parsed.global.json
                    ? "{\"version\":\"\(CommandRegistry.version)\"}\n" : "codex-companion \(CommandRegistry.version)\n")
            return ExitCode.success
        }
        if parsed.global.help {
            let text = parsed.name.isEmpty ? CommandRegistry.helpText() : CommandRegistry.helpText(for: parsed.spec)
            context.writeStdout(text)
            return ExitCode.success
        }
        if parsed.global.parseOnly {
            let output = CommandOutput(
                payload: describe(parsed),
                markdown: "arguments are valid for \(parsed.name.isEmpty ? "codex-companion" : parsed.name)")
            return emit(output, json: parsed.global.json, context: context)
        }
        do {
            let invocation = try makeInvocation(parsed, context: context)
            try Validation.check(parsed)
            let output = try dispatch(invocation)
            return emit(output, json: parsed.global.json, context: context)
        } catch {
            return report(error, json: parsed.global.json, context: context)
        }
    }

    /// Parses and validates without running anything (the markdown consistency check).
    public static func check(arguments: [String]) -> CompanionError? {
        do {
            let parsed = try ArgumentParser.parse(arguments, commands: CommandRegistry.all)
            try Validation.check(parsed)
            return nil
        } catch {
            return error
        }
    }

    package static func makeInvocation(_ parsed: ParsedCommand, context: CompanionContext) throws(CompanionError)
        -> Invocation
    {
        var cwd = context.currentDirectory
        let needsDirectory = parsed.name != "hook" && !(parsed.global.cwd?.hasPrefix("/") ?? false)
        if cwd.isEmpty || !FileSystem.isDirectory(cwd), needsDirectory {
            // Never fall back to another directory: Codex would run (and write) there.
            throw .failure(
                .workspaceMissing,
                "the current directory no longer exists (deleted or moved) or cannot be read; "
                    + "cd to your project (or pass --cwd <dir>) and run the command again")
        }
        if let requested = parsed.global.cwd {
            let absolute = Path.absolute(requested, relativeTo: context.currentDirectory)
            guard FileSystem.isDirectory(absolute) else {
                throw .usage("--cwd \(requested): no such directory; pass an existing directory")
            }
            cwd = FileSystem.realPath(absolute) ?? absolute
        }
        let stateRoot = StateRoot.resolve(
            explicit: parsed.global.stateDir, environment: context.environment, cwd: context.currentDirectory)
        // SessionStart exports CODEX_COMPANION_SESSION_ID; Claude Code itself puts
        // CLAUDE_CODE_SESSION_ID in every Bash call's environment (the same id).
        let session = ["CODEX_COMPANION_SESSION_ID", "CLAUDE_CODE_SESSION_ID"].lazy
            .compactMap { context.environment[$0] }.first { !$0.isEmpty }
        return Invocation(context: context, parsed: parsed, cwd: cwd, stateRoot: stateRoot, sessionId: session)
    }

    package static func dispatch(_ invocation: Invocation) throws -> CommandOutput {
        switch invocation.parsed.name {
        case "setup": return try SetupCommand.run(invocation)
        case "task": return try TaskCommand.run(invocation)
        case "review": return try ReviewCommand.run(invocation)
        case "adversarial-review": return try AdversarialReviewCommand.run(invocation)
        case "task-worker": return try TaskWorkerCommand.run(invocation)
        case "status": return try StatusCommand.run(invocation)
        case "result": return try ResultCommand.run(invocation)
        case "cancel": return try CancelCommand.run(invocation)
        case "task-resume-candidate": return try ResumeCandidateCommand.run(invocation)
        case "worktree-cleanup": return try WorktreeCleanupCommand.run(invocation)
        case "worktree": return try WorktreeCommand.run(invocation)
        case "events": return try EventsCommand.run(invocation)
        case "compare": return try CompareCommand.run(invocation)
        case "hook": return try HookCommand.run(invocation)
        default:
            throw CompanionError.usage("unknown subcommand '\(invocation.parsed.name)'; run codex-companion --help")
        }
    }

    /// `--parse-only --json`: the command, its options and its positionals as parsed.
    package struct ParsedPayload: Encodable, Sendable {
        let command: String
        let options: [String: JSONValue]
        let positionals: [String]
    }

    package static func describe(_ parsed: ParsedCommand) -> ParsedPayload {
        var options: [String: JSONValue] = [:]
        for (key, value) in parsed.values { options[key] = .string(value) }
        for flag in parsed.flags { options[flag] = .bool(true) }
        return ParsedPayload(command: parsed.name, options: options, positionals: parsed.positionals)
    }

    package static func emit(_ output: CommandOutput, json: Bool, context: CompanionContext) -> Int32 {
        if json {
            context.writeStdout(String(decoding: JSONWire.serialize(output.json), as: UTF8.self) + "\n")
        } else if !output.markdown.isEmpty {
            // Human output carries model text: no control character reaches the terminal.
            let text = Printable.neutralized(output.markdown)
            context.writeStdout(text.hasSuffix("\n") ? text : text + "\n")
        }
        return output.exitCode
    }

    /// The error funnel: one line on stderr, an error object on stdout with --json.
    package static func report(_ error: any Error, json: Bool, context: CompanionContext) -> Int32 {
        let failure = ErrorFunnel.report(for: error)
        context.writeStderr("codex-companion: \(Printable.singleLine(failure.message))\n")
        if json {
            context.writeStdout(JSONWire.text(ErrorPayload(failure.code, failure.message)) + "\n")
        }
        return failure.exitCode
    }
}

/// Cross-option rules that the plain parser cannot express.
package enum Validation {
    package static let efforts = ["none", "minimal", "low", "medium", "high", "xhigh"]
    package static let runsRange = 2...8

    /// `compare <group-id> [--check <command> [--check-timeout <s>]]`.
    package static func checkCompare(_ parsed: ParsedCommand) throws(CompanionError) {
        guard let id = parsed.positionals.first else {
            throw .usage("compare needs a group id (from task --runs) or a cloud job id (task --cloud --attempts)")
        }
        guard GroupID.isValid(id) || JobID.isValid(id) else {
            throw .usage("'\(Printable.clipped(id))' is not a group id (they look like group-mf3k2x9a-7q2c)")
        }
        if let seconds = parsed.value("--check-timeout"), (Int(seconds) ?? 0) <= 0 {
            throw .usage("--check-timeout needs a whole number of seconds greater than 0, not '\(seconds)'")
        }
        if parsed.value("--check-timeout") != nil && parsed.value("--check") == nil {
            throw .usage("--check-timeout only applies with --check")
        }
    }

    /// `--runs N`: best-of-N attempts, each in its own worktree.
    package static func checkRuns(_ parsed: ParsedCommand) throws(CompanionError) {
        guard let runs = parsed.value("--runs") else { return }
        guard let count = Int(runs), runsRange.contains(count) else {
            throw .usage("--runs needs a number of attempts from 2 to 8, not '\(runs)'")
        }
        if !parsed.flag("--worktree") {
            throw .usage("--runs needs --write --worktree: each attempt runs in its own worktree")
        }
        if parsed.flag("--resume-last") || parsed.flag("--resume") || parsed.value("--resume-thread") != nil {
            throw .usage("--runs starts fresh attempts; it cannot resume a thread")
        }
    }

    package static func check(_ parsed: ParsedCommand) throws(CompanionError) {
        switch parsed.name {
        case "task": try checkTask(parsed)
        case "review", "adversarial-review": try checkReview(parsed)
        case "status": try checkStatus(parsed)
        case "worktree-cleanup", "worktree": try checkWorktree(parsed)
        case "compare": try checkCompare(parsed)
        default: try checkOther(parsed)
        }
        try checkIds(parsed)
    }

    static func checkTask(_ parsed: ParsedCommand) throws(CompanionError) {
        let resumeModes =
            ["--resume-last", "--resume", "--fresh"].filter(parsed.flag)
            + (parsed.value("--resume-thread") != nil ? ["--resume-thread"] : [])
        if resumeModes.count > 1 {
            throw .usage(
                "\(resumeModes.joined(separator: " and ")) cannot be combined; choose one way to pick the thread")
        }
        if parsed.flag("--worktree") && !parsed.flag("--write") {
            throw .usage("--worktree needs --write: a read-only task changes nothing, so it needs no isolated worktree")
        }
        if parsed.value("--base") != nil && !parsed.flag("--worktree") {
            throw .usage("--base only applies with --worktree (it picks the commit the worktree starts from)")
        }
        try checkRuns(parsed)
        try checkEffortAndTimeout(parsed)
    }

    static func checkReview(_ parsed: ParsedCommand) throws(CompanionError) {
        _ = try ReviewLaunch.selection(parsed)
        try checkEffortAndTimeout(parsed)
        if let job = parsed.value("--job"), !JobID.isValidPrefix(job) {
            throw .usage("'\(Printable.clipped(job))' is not a job id (ids look like task-mf3k2x9a-7q2c)")
        }
    }

    static func checkEffortAndTimeout(_ parsed: ParsedCommand) throws(CompanionError) {
        if let effort = parsed.value("--effort"), !efforts.contains(effort) {
            throw .usage("--effort \(effort) is not one of \(efforts.joined(separator: ", "))")
        }
        if let timeout = parsed.value("--timeout"), (Int(timeout) ?? 0) <= 0 {
            throw .usage("--timeout needs a whole number of seconds greater than 0, not '\(timeout)'")
        }
    }

    static func checkStatus(_ parsed: ParsedCommand) throws(CompanionError) {
        if let ms = parsed.value("--timeout-ms"), (Int(ms) ?? -1) < 0 {
            throw .usage("--timeout-ms needs a whole number of milliseconds, not '\(ms)'")
        }
        if parsed.value("--timeout-ms") != nil && !parsed.flag("--wait") {
            throw .usage(
                "--timeout-ms only applies with --wait: codex-companion status <job-id> --wait --timeout-ms <ms>")
        }
        if parsed.flag("--wait") && parsed.positionals.isEmpty {
            throw .usage("--wait needs a job id: codex-companion status <job-id> --wait")
        }
    }

    static func checkWorktree(_ parsed: ParsedCommand) throws(CompanionError) {
        if parsed.name == "worktree" {
            let action = parsed.positionals.first ?? "list"
            guard action == "list" || action == "prune" else {
                throw .usage("worktree takes 'list' or 'prune', not '\(action)'")
            }
            if parsed.flag("--dry-run") && action != "prune" { throw .usage("--dry-run goes with worktree prune") }
            return
        }
        guard let action = parsed.value("--action") else {
            throw .usage("worktree-cleanup needs --action keep, discard or branch")
        }
        guard ["keep", "discard", "branch"].contains(action) else {
            throw .usage("--action \(action) is not one of keep, discard, branch")
        }
        if parsed.positionals.isEmpty {
            throw .usage("worktree-cleanup needs a job id: codex-companion worktree-cleanup <job-id> --action keep")
        }
    }

    static func checkOther(_ parsed: ParsedCommand) throws(CompanionError) {
        switch parsed.name {
        case "setup":
            if parsed.flag("--enable-review-gate") && parsed.flag("--disable-review-gate") {
                throw .usage("--enable-review-gate and --disable-review-gate cannot be combined; choose one")
            }
        case "events":
            if let limit = parsed.value("--limit"), (Int(limit) ?? 0) <= 0 {
                throw .usage("--limit needs a whole number greater than 0, not '\(limit)'")
            }
        case "hook":
            let name = parsed.positionals.first ?? ""
            guard ["pre-tool-use", "stop", "session-start", "session-end"].contains(name) else {
                throw .usage("hook takes pre-tool-use, stop, session-start or session-end")
            }
        case "task-worker":
            guard parsed.value("--job-id") != nil else { throw .usage("task-worker needs --job-id <id>") }
        default:
            break
        }
    }

    /// Job ids are checked before they touch the file system.
    static func checkIds(_ parsed: ParsedCommand) throws(CompanionError) {
        for id in parsed.positionals where ["status", "result", "cancel", "worktree-cleanup"].contains(parsed.name) {
            if !JobID.isValidPrefix(id) {
                throw .usage(
                    "'\(Printable.clipped(id))' is not a job id (ids look like task-mf3k2x9a-7q2c); "
                        + "run codex-companion status --all to list jobs")
            }
        }
        if let id = parsed.value("--job-id"), !JobID.isValid(id) {
            throw .usage("'\(Printable.clipped(id))' is not a job id")
        }
    }
}
