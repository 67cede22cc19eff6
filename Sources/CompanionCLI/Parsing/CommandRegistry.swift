import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
/// Every subcommand's interface, in one place: the parser, `--help`, the README
/// and the markdown consistency test all read this table.
public enum CommandRegistry {
    public static let version = "0.1.0"

    /// What `review` and `adversarial-review` share: the target, model, effort, background, timeout.
    static let reviewOptions: [OptionSpec] = [
        .flag("--uncommitted", help: "Review the staged, unstaged and untracked changes."),
        .value("--base", valueName: "ref", help: "Review the current branch against its merge base with <ref>."),
        .value("--commit", valueName: "sha", help: "Review the changes one commit introduced."),
        .value("--model", valueName: "name", help: "Model to use; 'spark' means gpt-5.3-codex-spark."),
        .value("--effort", valueName: "level", help: "Reasoning effort: none, minimal, low, medium, high or xhigh."),
        .flag("--background", help: "Start a detached job and print its id at once."),
        .value("--timeout", valueName: "seconds", help: "Stop the review after this many seconds (default 1800)."),
    ]

    public static let all: [CommandSpec] = [
        CommandSpec(
            name: "setup", synopsis: "setup [--enable-review-gate|--disable-review-gate] [--json]",
            summary: "Check that Codex is installed, logged in and able to run sandboxed tasks.",
            options: [
                .flag(
                    "--enable-review-gate",
                    help: "Review uncommitted changes with Codex when Claude stops (this workspace)."),
                .flag("--disable-review-gate", help: "Turn the Stop-hook review gate off for this workspace."),
            ], positionals: .none),
        CommandSpec(
            name: "task",
            synopsis:
                "task [--background] [--write] [--worktree [--base <ref>] [--runs <n>]] [--resume-last|--resume|--resume-thread <id>|--fresh] [--model <name|spark>] [--effort <level>] [--timeout <seconds>] [--prompt-file <path>] [--cloud --env <id|label> [--attempts 1-4] [--branch <name>]] [--json] [prompt…]",
            summary: "Hand a task to Codex (foreground, or --background as a detached job).",
            options: [
                .flag("--background", help: "Start a detached job and print its id at once."),
                .flag("--write", help: "Let Codex edit files (workspace-write sandbox); read-only otherwise."),
                .flag("--worktree", help: "Run in an isolated git worktree on branch codex/<job-id> (needs --write)."),
                .value(
                    "--base", valueName: "ref",
                    help:
                        "Start the worktree from <ref> (default: a snapshot of your working tree, HEAD plus uncommitted and untracked files)."
                ),
                .value(
                    "--runs", valueName: "n",
                    help:
                        "Best of N: start n (2-8) independent attempts, each its own job and worktree, under one group id."
                ),
                .flag("--resume-last", help: "Continue the newest finished task thread of this workspace."),
                .flag("--resume", help: "Same as --resume-last."),
                .value("--resume-thread", valueName: "id", help: "Continue exactly this Codex thread."),
                .flag("--fresh", help: "Start a new thread (the default)."),
                .value("--model", valueName: "name", help: "Model to use; 'spark' means gpt-5.3-codex-spark."),
                .value(
                    "--effort", valueName: "level", help: "Reasoning effort: none, minimal, low, medium, high or xhigh."
                ),
                .value("--timeout", valueName: "seconds", help: "Stop the job after this many seconds (default 1800)."),
                .value("--prompt-file", valueName: "path", help: "Read the prompt from a file."),
                .flag("--cloud", help: "Run the task on Codex Cloud (needs --env and a ChatGPT login)."),
                .value("--env", valueName: "id|label", help: "With --cloud: the Codex Cloud environment."),
                .value("--attempts", valueName: "1-4", help: "With --cloud: how many attempts the cloud makes."),
                .value(
                    "--branch", valueName: "name",
                    help: "With --cloud: the pushed branch to build from (default: current)."),
            ],
            positionals: .words),
        CommandSpec(
            name: "review",
            synopsis:
                "review [--uncommitted|--base <ref>|--commit <sha>|--job <id>] [--model <name>] [--effort <level>] [--background] [--timeout <seconds>] [--json] [focus…]",
            summary:
                "Review changes with Codex's built-in reviewer (read-only job; default: uncommitted changes, else the branch).",
            options: reviewOptions + [
                .value("--job", valueName: "id", help: "Review a finished worktree job's branch against its base.")
            ],
            positionals: .words),
        CommandSpec(
            name: "adversarial-review",
            synopsis:
                "adversarial-review [--uncommitted|--base <ref>|--commit <sha>] [--model <name>] [--effort <level>] [--background] [--timeout <seconds>] [--json] [focus…]",
            summary:
                "Challenge the changes: structured findings with severity, verdict and next steps (read-only job).",
            options: reviewOptions,
            positionals: .words),
        CommandSpec(
            name: "status", synopsis: "status [job-id|group-id] [--all] [--wait] [--timeout-ms <ms>] [--json]",
            summary: "Show this session's jobs, or one job (optionally waiting for it to finish).",
            options: [
                .flag("--all", help: "Show the jobs of every session."),
                .flag(
                    "--wait",
                    help: "With a job or group id: block until it ends (every attempt) or --timeout-ms passes."
                ),
                .value("--timeout-ms", valueName: "ms", help: "How long --wait blocks (default 240000)."),
            ],
            positionals: .upTo(1, label: "job or group id")),
        CommandSpec(
            name: "compare",
            synopsis: "compare <group-id|cloud-job-id> [--check <command>] [--check-timeout <seconds>] [--json]",
            summary:
                "Compare the attempts of a group: status, size, keep preview, last message, and a check run in each.",
            options: [
                .value(
                    "--check", valueName: "command", help: "Run this shell command in each finished attempt's worktree."
                ),
                .value("--check-timeout", valueName: "seconds", help: "Stop a check after this long (default 600)."),
            ],
            positionals: .upTo(1, label: "group or cloud job id")),
        CommandSpec(
            name: "result", synopsis: "result [job-id] [--json]",
            summary: "Show a finished job's final message, files touched and how to resume it.",
            options: [], positionals: .upTo(1, label: "job id")),
        CommandSpec(
            name: "cancel", synopsis: "cancel [job-id] [--json]",
            summary: "Stop a running job and every process it started.",
            options: [], positionals: .upTo(1, label: "job id")),
        CommandSpec(
            name: "task-resume-candidate", synopsis: "task-resume-candidate [--json]",
            summary: "Tell which thread --resume-last would continue.",
            options: [], positionals: .none),
        CommandSpec(
            name: "worktree-cleanup",
            synopsis:
                "worktree-cleanup <job-id> --action keep|discard|branch [--attempt <n>] [--json], worktree-cleanup <group-id> --action discard",
            summary: "Decide about a worktree job: apply its changes, throw them away, or keep them on a branch.",
            options: [
                .value("--action", valueName: "keep|discard|branch", help: "What to do with the worktree's changes."),
                .value("--attempt", valueName: "n", help: "Cloud jobs: which attempt's diff to keep (default 1)."),
            ],
            positionals: .upTo(1, label: "job id")),
        CommandSpec(
            name: "worktree", synopsis: "worktree list|prune [--dry-run] [--json]",
            summary: "List this repository's companion worktrees and orphans, or remove what is safe to remove.",
            options: [.flag("--dry-run", help: "With prune: only say what would be removed.")],
            positionals: .upTo(1, label: "action (list or prune)")),
        CommandSpec(
            name: "events", synopsis: "events [--limit <n>] [--json]",
            summary: "Show the latest worktree lifecycle events of this workspace.",
            options: [.value("--limit", valueName: "n", help: "How many events (default 20).")],
            positionals: .none),
        CommandSpec(
            name: "hook", synopsis: "hook pre-tool-use|stop|session-start|session-end",
            summary: "Claude Code hook handlers (read the hook's JSON on stdin).",
            options: [], positionals: .upTo(1, label: "hook name")),
        CommandSpec(
            name: "task-worker", synopsis: "task-worker --job-id <id>",
            summary: "Internal: the detached worker that runs one job.",
            options: [.value("--job-id", valueName: "id", help: "The job to run.")],
            positionals: .none, hidden: true),
    ]

    public static func spec(_ name: String) -> CommandSpec? { all.first { $0.name == name } }

    public static func helpText() -> String {
        var lines = [
            "codex-companion \(version): hand coding tasks to the Codex CLI and track them as jobs.",
            "",
            "Usage: codex-companion <subcommand> [options]",
            "",
            "Subcommands:",
        ]
        for spec in all where !spec.hidden {
            lines.append("  \(spec.synopsis)")
            lines.append("      \(spec.summary)")
        }
        lines += [
            "",
            "Global options: --cwd/-C <dir>, --state-dir <dir>, --json, --help, --version",
            "Exit codes: 0 success, 1 the operation failed, 64 usage error.",
            "A single argument after the subcommand is split like a shell would; use -- to pass text verbatim.",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    public static func helpText(for spec: CommandSpec) -> String {
        var lines = ["Usage: codex-companion \(spec.synopsis)", "", spec.summary]
        if !spec.options.isEmpty { lines += ["", "Options:"] }
        for option in spec.options {
            let names = option.names.joined(separator: ", ") + (option.takesValue ? " <\(option.valueName)>" : "")
            lines.append("  \(names)")
            lines.append("      \(option.help)")
        }
        lines += ["", "Global options: --cwd/-C <dir>, --state-dir <dir>, --json, --help"]
        return lines.joined(separator: "\n") + "\n"
    }
}
