import CompanionSystem
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// Follows a job in the foreground: streams its progress log to stderr and waits for
/// the record to reach a terminal state. Ctrl-C (SIGINT) asks the worker to cancel;
/// SIGTERM or SIGHUP (the host giving up on us) stops waiting but leaves the job
/// running, so its result is never lost.
package enum ForegroundWaiter {
    /// Routes the signals the waiter handles into its pipe. Called before the job is
    /// created, so a SIGTERM that arrives while it is being set up stops the waiting
    /// cleanly (naming the job) instead of killing the command mid-way.
    @discardableResult
    package static func prepare() -> Int32 {
        Signals.pipe(for: [Signal.interrupt, Signal.terminate, Signal.hangup, Signal.child])
    }

    package static func follow(jobId: String, workerPID: ProcessID, store: WorkspaceStore, invocation: Invocation)
        throws -> CommandOutput
    {
        // SIGCHLD wakes the loop the moment the worker (our child) exits after writing
        // its final record, instead of at the next polling tick.
        let signals = prepare()
        var offset = 0
        var cancelRequested = false
        var record: JobRecord? = store.load(jobId)
        while true {
            offset = streamLog(store.logPath(jobId), from: offset, invocation: invocation)
            if let current = store.load(jobId) {
                record = Reconciler.reconcile(current, in: store)
                if record!.status.isTerminal { break }
            } else {
                throw CompanionError.failure(
                    .jobUnreadable, "the record of job \(jobId) disappeared; run codex-companion status --all")
            }
            _ = Subprocess.poll(workerPID)
            let ready = Poller.wait([.init(fd: signals, events: .readable)], timeoutMilliseconds: 50) ?? []
            guard !ready.isEmpty else { continue }
            while let byte = CurrentProcess.readByte(signals) {
                if Int32(byte) == Signal.child { continue }
                if Int32(byte) == Signal.interrupt && !cancelRequested {
                    cancelRequested = true
                    invocation.progress(
                        "[codex] Cancelling job \(jobId)… (Ctrl-C again stops waiting; the job keeps its record)")
                    // The mark only dates the request; the signal below is what cancels.
                    _ = try? store.update(jobId) {
                        if $0.status.isActive && $0.cancelRequestedAt == nil { $0.cancelRequestedAt = Timestamp.now() }
                    }
                    if let current = store.load(jobId), let pid = current.pid,
                        ProcessProbe.isAlive(pid, startTime: current.pidStartTime)
                    {
                        Signals.send(pid, Signal.terminate)
                    }
                } else {
                    throw CompanionError.failure(
                        .detached,
                        "stopped waiting; job \(jobId) keeps running in the background: check it with codex-companion status \(jobId) and fetch it with codex-companion result \(jobId)"
                    )
                }
            }
        }
        offset = streamLog(store.logPath(jobId), from: offset, invocation: invocation)
        _ = Subprocess.poll(workerPID)
        // Marking the result as seen is bookkeeping: if the store refuses, the answer is still shown.
        let shown =
            (try? store.update(jobId) { if $0.resultViewedAt == nil { $0.resultViewedAt = Timestamp.now() } }).flatMap {
                $0
            } ?? record!
        return output(for: shown, store: store)
    }

    package static func output(for record: JobRecord, store: WorkspaceStore) -> CommandOutput {
        return CommandOutput(
            payload: ForegroundPayload(record, job: JobView.payload(record, store: store)),
            markdown: ResultCommand.markdown(record),
            exitCode: record.status == .completed ? ExitCode.success : ExitCode.failure)
    }

    /// Prints complete new lines of the log to stderr; returns the new offset.
    package static func streamLog(_ path: String, from offset: Int, invocation: Invocation) -> Int {
        guard let size = FileSystem.size(path), size > offset,
            // Progress echo only: what cannot be read now is read on the next pass.
            let bytes = try? FileSystem.read(path, from: offset, limit: size - offset, followingLinks: false),
            let lastNewline = bytes.lastIndex(of: 10)
        else { return offset }
        let text = String(decoding: bytes[...lastNewline], as: UTF8.self)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            invocation.progress("[codex] " + JobView.stripStamp(String(line)))
        }
        return offset + lastNewline + 1
    }
}

/// The answer of a foreground `task`, `review` or `adversarial-review` (`--json`).
package struct ForegroundPayload: Encodable, Sendable {
    let jobId: String
    let status: JobStatus
    let threadId, finalMessage, rawOutput: String?
    let touchedFiles, reasoningSummary: [String]
    let reason: JobEndReason?
    let errorMessage: String?
    let review: ReviewPayload?
    let job: JobPayload

    init(_ record: JobRecord, job: JobPayload) {
        (jobId, status, threadId) = (record.id, record.status, record.threadId)
        (finalMessage, rawOutput) = (record.result?.finalMessage, record.result?.finalMessage)
        touchedFiles = record.result?.touchedFiles ?? []
        reasoningSummary = record.result?.reasoningSummary ?? []
        (reason, errorMessage, self.job) = (record.reason, record.errorMessage, job)
        review = job.review
    }
}
