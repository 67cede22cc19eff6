/// Placeholder until the worktree operations land.
enum WorktreeCleanupCommand {
    static func run(_ invocation: Invocation) throws -> CommandOutput { throw CompanionError.failure("todo", "not yet") }
}
enum WorktreeCommand {
    static func run(_ invocation: Invocation) throws -> CommandOutput { throw CompanionError.failure("todo", "not yet") }
}
