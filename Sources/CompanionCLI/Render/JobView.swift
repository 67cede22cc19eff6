import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// How jobs appear in `--json` payloads (`JobPayload`) and Markdown.
public enum JobView {
    package static func payload(_ record: JobRecord, store: WorkspaceStore?, now: Int64 = WallClock.nowMilliseconds())
        -> JobPayload
    {
        let preview = store.map { progressPreview(record.id, in: $0) } ?? []
        return JobPayload(record, progressPreview: preview, elapsedMs: elapsed(record, now: now))
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
        // The preview is advisory: a log that cannot be read shows no lines.
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
