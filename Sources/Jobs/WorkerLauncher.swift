import CompanionSystem
import JobStore

/// Starts the detached worker of a queued job (`<executable> task-worker --job-id <id>`)
/// in a new session, so that it survives its caller's whole process group being killed
/// (as Claude Code does at its Bash time limit). Its stderr is appended to the job log.
public enum WorkerLauncher {
    @discardableResult
    public static func start(
        jobId: String, lifecycle: JobLifecycle, executable: String, environment: [String: String]
    ) throws(JobError) -> ProcessID {
        let store = lifecycle.store
        let logFD: Int32
        do { logFD = try FileSystem.openForAppending(store.logPath(jobId)) } catch {
            // Without a log the worker still runs; what it says on stderr is lost, and the
            // log line below says why.
            logFD = -1
            store.appendLog(jobId, "Could not open the log for the worker's stderr: \(error)")
        }
        defer { if logFD >= 0 { Descriptor.close(logFD) } }
        let request = SpawnRequest(
            executable: executable,
            arguments: ["task-worker", "--job-id", jobId, "--state-dir", store.stateRoot, "--cwd", store.root],
            environment: environment, directory: store.root, grouping: .newSession,
            stdin: .null, stdout: .null, stderr: logFD >= 0 ? .descriptor(logFD) : .null)
        let child: SpawnedProcess
        do {
            child = try Subprocess.spawn(request)
        } catch {
            lifecycle.finish(jobId, .failed(.spawnFailed, "could not start the worker: \(error)"), result: nil)
            throw .workerSpawnFailed(executable: executable, detail: "\(error)")
        }
        do { try lifecycle.recordWorker(jobId, pid: child.pid) } catch {
            // The worker records itself when it starts; the reconciler gives it time.
            store.appendLog(jobId, "Could not record the worker's pid \(child.pid): \(error)")
        }
        return child.pid
    }
}
