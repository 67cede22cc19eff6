import JobStore
import Jobs

/// `task-worker --job-id <id>`: the detached process that runs one job's turn
/// (`Jobs.TaskWorker`). Internal: `task` starts it.
package enum TaskWorkerCommand {
    package static func run(_ invocation: Invocation) throws -> CommandOutput {
        let id = invocation.parsed.value("--job-id")!
        let worker = TaskWorker(
            store: try invocation.workspaceStore(), jobId: id, environment: invocation.environment,
            clientVersion: CommandRegistry.version)
        try worker.run()
        return .nothing()
    }
}
