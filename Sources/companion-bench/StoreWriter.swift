import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

/// `companion-bench store-writer --state-dir D --workspace W --job ID --updates N --tag T`
///
/// Makes N updates to one job through the store's only mutation path, each appending
/// "T-i" to the job's `result.touchedFiles`. Run several at once (and kill some) to prove
/// that no update is lost and no record is torn. Creates the job first if it is missing.
enum StoreWriter {
    static func run(_ options: [String: String]) -> Int32 {
        guard let stateDir = options["--state-dir"], let workspace = options["--workspace"], let job = options["--job"],
            let updates = Int(options["--updates"] ?? ""), let tag = options["--tag"]
        else {
            printError("store-writer needs --state-dir, --workspace, --job, --updates and --tag")
            return 64
        }
        let delay = Double(options["--delay-ms"] ?? "0").map { $0 / 1000 } ?? 0
        do {
            let store = try WorkspaceStore.open(stateRoot: stateDir, workspaceRoot: workspace, warn: { printError($0) })
            try ensureJob(job, in: store)
            for i in 0..<updates {
                _ = try store.update(job) { record in
                    var result =
                        record.result
                        ?? JobResult(finalMessage: nil, touchedFiles: [], reasoningSummary: [], commands: [])
                    result.touchedFiles.append("\(tag)-\(i)")
                    record.result = result
                }
                if delay > 0 { sleepSeconds(delay) }
            }
            return 0
        } catch {
            printError("store-writer: \(error)")
            return 1
        }
    }

    static func ensureJob(_ id: String, in store: WorkspaceStore) throws {
        try store.withLock { locked in
            if try locked.load(id) != nil { return }
            let now = Timestamp.now()
            let record = JobRecord(
                id: id, status: .completed, phase: .done, title: "store-writer", summary: "store-writer",
                workspaceRoot: store.root, cwd: store.root, sessionId: nil, write: false, background: true,
                createdAt: now, completedAt: now, updatedAt: now, timeoutSeconds: 1800,
                logFile: store.logPath(id), promptFile: store.promptPath(id))
            try AtomicFile.write(try JSONCoding.encode(record, pretty: true) + [10], to: store.recordPath(id))
        }
    }
}

func printError(_ text: String) {
    try? FileDescriptorIO.writeAll(2, Array((text + "\n").utf8))
}
