import CompanionSystem
import CompanionJSON
import GitWorktrees
import JobStore
import Jobs

/// `compare <group-id> [--check <command>] [--check-timeout <s>]`: the attempts of a group
/// side by side: status, files and lines changed, the keep preview, the first line of the
/// last message and, with `--check`, whether the command passes inside each finished
/// attempt's worktree (run one attempt after another, under that job's cleanup lock, so no
/// keep or discard of the same attempt runs meanwhile).
package enum CompareCommand {
    package static let defaultCheckTimeout = 600

    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let groupId = invocation.parsed.positionals[0]
        if !GroupID.isValid(groupId) {
            // A job id: only a cloud job has attempts of its own.
            guard let (store, record) = try? invocation.lookup().find(groupId), record.cloud != nil else {
                throw CompanionError.usage(
                    "'\(Printable.clipped(groupId))' is not a group id (they look like group-mf3k2x9a-7q2c) nor a cloud job's id"
                )
            }
            return try CloudCompare.run(record, store: store, invocation: invocation)
        }
        guard let (store, _) = invocation.lookup().findGroup(groupId) else {
            throw CompanionError.failure(
                .jobNotFound,
                "no attempts of group \(groupId) in \(invocation.stateRoot); run codex-companion status --all")
        }
        let records = GroupWaiter.members(groupId, store: store)
        let check = invocation.parsed.value("--check")
        let timeout = Double(Int(invocation.parsed.value("--check-timeout") ?? "") ?? defaultCheckTimeout)
        let git = try GitClient(base: invocation.environment)
        var rows: [AttemptComparison] = []
        var table = [
            "## Attempts of group `\(groupId)`", "",
            "| # | Job | Status | Files | +/− | Keep preview | Check | Last message |",
            "|---|---|---|---:|---:|---|---|---|",
        ]
        for record in records {
            if let check { invocation.warn("checking attempt \(record.attempt ?? 0) (\(record.id)): \(check)") }
            let attempt = try compareOne(record, check: check, timeout: timeout, store: store, git: git, invocation)
            rows.append(attempt.payload)
            table.append(attempt.row)
        }
        table += [
            "",
            "Keep one: `codex-companion worktree-cleanup <job-id> --action keep`; the others stay as they are until",
            "you decide (`codex-companion worktree-cleanup \(groupId) --action discard` discards every undecided attempt).",
        ]
        let payload = ComparePayload(groupId: groupId, workspaceRoot: store.root, check: check, attempts: rows)
        return CommandOutput(payload: payload, markdown: table.joined(separator: "\n"))
    }

    package static func compareOne(
        _ record: JobRecord, check: String?, timeout: Double, store: WorkspaceStore, git: GitClient,
        _ invocation: Invocation
    ) throws -> (payload: AttemptComparison, row: String) {
        let worktree = record.worktree
        let undecided = record.status.isTerminal && (worktree?.state == .ready || worktree?.state == .conflict)
        var totals: DiffTotals? = nil
        if let info = worktree?.info, undecided || worktree?.state == .branched {
            totals = try? WorktreeOperations.diffTotals(info, git: git)  // unknown sizes show as "—"
        }
        let preview = KeepPreviewView.compute(record, store: store, environment: invocation.environment)
        var checkRun: CheckRun? = nil
        var checkError: String? = nil
        if let check, let worktree, undecided, FileSystem.isDirectory(worktree.info.path) {
            do {
                let lock = try FileLock(exclusive: store.cleanupLockPath(record.id))
                checkRun = try withExtendedLifetime(lock) {
                    try WorktreeOperations.runCheck(
                        check, in: worktree.info, timeout: timeout, outputFile: store.checkOutputPath(record.id),
                        git: git)
                }
            } catch {
                checkError = "\(error)"
            }
        } else if check != nil {
            checkError = undecided ? "the worktree directory is gone" : "not a finished, undecided attempt"
        }
        let message = record.result?.finalMessage.flatMap { text in
            text.split(separator: "\n").first { !$0.allSatisfy { $0 == " " } }.map(String.init)
        }
        let payload = AttemptComparison(
            record, attempt: record.attempt, worktreePath: worktree?.info.path,
            counts: totals.map { ($0.filesChanged, $0.linesAdded, $0.linesRemoved, $0.binaryFiles) },
            keepPreview: preview, lastMessage: message, check: checkRun, checkError: check == nil ? nil : checkError)
        let checkCell =
            checkRun.map { run in
                run.passed
                    ? "passed" : run.timedOut ? "timed out" : "failed (exit \(run.exitCode.map(String.init) ?? "?"))"
            } ?? (check == nil ? "" : "—")
        let cells = [
            "\(record.attempt ?? 0)", "`\(record.id)`",
            record.status.rawValue + (worktree.map { ", " + $0.state.rawValue } ?? ""),
            totals.map { "\($0.filesChanged)" } ?? "—", totals.map { "+\($0.linesAdded) −\($0.linesRemoved)" } ?? "—",
            preview?.sentence ?? "—", checkCell, PromptText.shorten(message ?? "", to: 60),
        ]
        return (payload, "| " + cells.map { $0.replacingPipes() }.joined(separator: " | ") + " |")
    }
}

/// `compare <group-id> --json`.
package struct ComparePayload: Encodable, Sendable {
    let groupId, workspaceRoot: String
    /// The `--check` command; null without one.
    let check: String?
    let attempts: [AttemptComparison]
}

/// One attempt of `compare --json`, of a local group or of a cloud job.
package struct AttemptComparison: Encodable, Sendable {
    let jobId: String
    let attempt: Int?
    let status: JobStatus
    let reason: JobEndReason?
    let worktreeState: WorktreeState?
    let branch, worktreePath: String?
    let filesChanged, linesAdded, linesRemoved, binaryFiles: Int?
    let keepPreview: KeepPreview?
    /// The first non-blank line of the attempt's last message.
    let lastMessage: String?
    let check: CheckRun?
    let checkError: String?

    init(
        _ record: JobRecord, attempt: Int?, worktreePath: String?, counts: (Int, Int, Int, Int?)?,
        keepPreview: KeepPreview?, lastMessage: String? = nil, check: CheckRun? = nil, checkError: String? = nil
    ) {
        (jobId, self.attempt, status, reason) = (record.id, attempt, record.status, record.reason)
        (worktreeState, branch) = (record.worktree?.state, record.worktree?.info.branch)
        (self.worktreePath, self.keepPreview, self.lastMessage) = (worktreePath, keepPreview, lastMessage)
        (filesChanged, linesAdded, linesRemoved, binaryFiles) = (counts?.0, counts?.1, counts?.2, counts?.3)
        (self.check, self.checkError) = (check, checkError)
    }
}

/// `worktree-cleanup <group-id> --action discard`: discards every undecided attempt of a
/// group; attempts already kept, branched or discarded, and attempts still running, are left
/// exactly as they are (and listed with the reason).
package enum GroupCleanup {
    package static func run(_ invocation: Invocation, groupId: String, action: String) throws -> CommandOutput {
        guard action == "discard" else {
            throw CompanionError.usage(
                "a group takes --action discard only; keep or branch one attempt by its job id (codex-companion compare \(groupId) lists them)"
            )
        }
        guard let (store, _) = invocation.lookup().findGroup(groupId) else {
            throw CompanionError.failure(
                .jobNotFound,
                "no attempts of group \(groupId) in \(invocation.stateRoot); run codex-companion status --all")
        }
        var discarded: [String] = []
        var left: [GroupDiscardPayload.Left] = []
        var failures: [GroupDiscardPayload.Failure] = []
        var lines = ["## Discarding the undecided attempts of group `\(groupId)`", ""]
        for record in GroupWaiter.members(groupId, store: store) {
            let state = record.worktree?.state
            var reason: String? = nil
            if record.status.isActive { reason = "still \(record.status.rawValue); cancel it first" }
            if let state, !state.awaitsDecision { reason = "already \(state.rawValue)" }
            if state == nil { reason = "no worktree" }
            if let reason {
                left.append(.init(jobId: record.id, state: state, reason: reason))
                lines.append("- attempt \(record.attempt ?? 0) `\(record.id)`: left as it is (\(reason))")
                continue
            }
            do {
                _ = try WorktreeCleanupCommand.decide(
                    record.id, action: "discard", store: store, invocation: invocation)
                discarded.append(record.id)
                lines.append("- attempt \(record.attempt ?? 0) `\(record.id)`: discarded")
            } catch {
                failures.append(.init(jobId: record.id, message: "\(error)"))
                lines.append("- attempt \(record.attempt ?? 0) `\(record.id)`: could not be discarded: \(error)")
            }
        }
        let payload = GroupDiscardPayload(groupId: groupId, discarded: discarded, left: left, failed: failures)
        return CommandOutput(
            payload: payload, markdown: lines.joined(separator: "\n"),
            exitCode: failures.isEmpty ? ExitCode.success : ExitCode.failure)
    }
}

/// `worktree-cleanup <group-id> --action discard --json`.
package struct GroupDiscardPayload: Encodable, Sendable {
    struct Left: Encodable, Sendable {
        let jobId: String
        let state: WorktreeState?
        let reason: String
    }

    struct Failure: Encodable, Sendable {
        let jobId, message: String
    }

    let groupId: String
    let action = "discard"
    let discarded: [String]
    let left: [Left]
    let failed: [Failure]
}

extension String {
    /// For a Markdown table cell.
    package func replacingPipes() -> String {
        String(map { $0 == "|" ? "/" : $0 == "\n" ? " " : $0 })
    }
}
