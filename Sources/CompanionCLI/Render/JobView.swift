import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// How jobs appear in `--json` payloads and Markdown. Field names are a contract
/// (documented in the README); every field is always present, null when unknown.
public enum JobView {
    public static func json(_ record: JobRecord, store: WorkspaceStore?, now: Int64 = WallClock.nowMilliseconds())
        -> JSONValue
    {
        var object: [String: JSONValue] = [
            "id": .string(record.id),
            "kind": .string(record.kind.rawValue),
            "status": .string(record.status.rawValue),
            "phase": .string(record.phase.rawValue),
            "title": .string(record.title),
            "summary": .string(record.summary),
            "threadId": .optional(record.threadId),
            "turnId": .optional(record.turnId),
            "pid": .optional(record.pid),
            "createdAt": .string(record.createdAt),
            "startedAt": .optional(record.startedAt),
            "completedAt": .optional(record.completedAt),
            "updatedAt": .string(record.updatedAt),
            "sessionId": .optional(record.sessionId),
            "workspaceRoot": .string(record.workspaceRoot),
            "cwd": .string(record.cwd),
            "write": .bool(record.write),
            "background": .bool(record.background),
            "model": .optional(record.model),
            "effort": .optional(record.effort),
            "timeoutSeconds": .int(Int64(record.timeoutSeconds)),
            "reason": .optional(record.reason?.rawValue),
            "errorMessage": .optional(record.errorMessage),
            "cancelRequestedAt": .optional(record.cancelRequestedAt),
            "resultViewedAt": .optional(record.resultViewedAt),
            "resumeThreadId": .optional(record.resumeThreadId),
            "logFile": .string(record.logFile),
            "elapsedMs": elapsed(record, now: now).map { .int($0) } ?? .null,
            "progressPreview": .strings(store.map { progressPreview(record.id, in: $0) } ?? []),
            "result": record.result.map(resultJSON) ?? .null,
            "worktree": record.worktree.map(worktreeJSON) ?? .null,
            "backend": .string(record.backend.rawValue),
            "cloud": CloudJobs.json(record),
            "review": ReviewView.json(record),
            "reviewJobIds": .strings(record.reviewJobIds ?? []),
            "groupId": .optional(record.groupId),
            "attempt": record.attempt.map { .int(Int64($0)) } ?? .null,
        ]
        if let result = record.result {
            object["finalMessage"] = .optional(result.finalMessage)
        } else {
            object["finalMessage"] = .null
        }
        return .object(object)
    }

    package static func resultJSON(_ result: JobResult) -> JSONValue {
        [
            "finalMessage": .optional(result.finalMessage),
            "touchedFiles": .strings(result.touchedFiles),
            "reasoningSummary": .strings(result.reasoningSummary),
            "commands": .array(
                result.commands.map { command in
                    [
                        "command": .string(command.command),
                        "exitCode": command.exitCode.map { .int(Int64($0)) } ?? .null,
                        "status": .string(command.status),
                    ]
                }),
        ]
    }

    package static func worktreeJSON(_ worktree: JobWorktree) -> JSONValue {
        [
            "repoRoot": .string(worktree.info.repoRoot),
            "path": .string(worktree.info.path),
            "branch": .string(worktree.info.branch),
            "baseRef": .string(worktree.info.baseRef),
            "baseCommit": .string(worktree.info.baseCommit),
            "snapshot": worktree.info.snapshot.map { snapshot in
                [
                    "commit": .string(snapshot.commit), "head": .string(snapshot.head),
                    "paths": .strings(snapshot.paths), "clean": .bool(snapshot.isClean),
                ]
            } ?? .null,
            "state": .string(worktree.state.rawValue),
            "outcome": .optional(worktree.outcome),
            "capturedCommit": .optional(worktree.capturedCommit),
            "diffStat": .optional(worktree.diffStat),
            "changedPaths": .strings(worktree.changedPaths ?? []),
            "ignoredPaths": .strings(worktree.ignoredPaths ?? []),
            "conflictPaths": .strings(worktree.conflictPaths ?? []),
            "continuedBy": .optional(worktree.continuedBy),
            "updatedAt": .optional(worktree.updatedAt),
        ]
    }

    /// Milliseconds the job has run (until now, or until it finished).
    public static func elapsed(_ record: JobRecord, now: Int64) -> Int64? {
        guard let start = (record.startedAt ?? Optional(record.createdAt)).flatMap(Timestamp.milliseconds) else {
            return nil
        }
        let end = record.completedAt.flatMap(Timestamp.milliseconds) ?? now
        return max(0, end - start)
    }

    /// The last few progress lines of a job's log, without their timestamps.
    public static func progressPreview(_ id: String, in store: WorkspaceStore, lines: Int = 5) -> [String] {
        let path = store.logPath(id)
        guard let size = FileSystem.size(path), size > 0 else { return [] }
        let window = 4096
        let start = max(0, size - window)
        guard let bytes = try? FileSystem.read(path, from: start, limit: window, followingLinks: false) else {
            return []
        }
        var chunks = bytes.split(separator: 10, omittingEmptySubsequences: true)
        if start > 0, !chunks.isEmpty { chunks.removeFirst() }
        return chunks.suffix(lines).map { stripStamp(String(decoding: $0, as: UTF8.self)) }
    }

    package static func stripStamp(_ line: String) -> String {
        if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
            return String(line[line.index(after: close)...].drop(while: { $0 == " " }))
        }
        return line
    }

    /// One Markdown bullet for a job.
    public static func bullet(_ record: JobRecord, now: Int64) -> String {
        var parts = ["`\(record.id)`", "**\(record.status.rawValue)**"]
        if record.status.isActive { parts.append("phase \(record.phase)") }
        if let ms = elapsed(record, now: now) { parts.append(Timestamp.duration(milliseconds: ms)) }
        if record.cloud != nil {
            parts.append("cloud")
        } else if record.write {
            parts.append(record.worktree != nil ? "write, worktree" : "write")
        }
        var line = "- " + parts.joined(separator: " · ") + " — " + Printable.singleLine(record.title)
        if let url = record.cloud?.url { line += "\n  - cloud task: \(Printable.singleLine(url))" }
        if let reason = record.reason, record.status == .failed || record.status == .cancelled {
            line += "\n  - \(reason): \(record.errorMessage ?? "")"
        }
        if let worktree = record.worktree, worktree.state.awaitsDecision, record.status.isTerminal {
            line +=
                "\n  - worktree \(worktree.state.rawValue): decide with `codex-companion worktree-cleanup \(record.id) --action keep|discard|branch`"
        }
        return line
    }
}
