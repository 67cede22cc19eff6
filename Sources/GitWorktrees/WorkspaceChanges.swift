import CompanionSystem

/// What changed in a git working tree between two moments, whoever changed it: Codex's
/// patches and also files its shell commands wrote, moved or deleted. A snapshot is
/// `git status` (untracked files included, ignored ones not) plus each listed file's
/// identity (inode, size, mtime), so a file that was already dirty and changed again
/// counts too.
public struct WorkspaceChanges: Sendable {
    public let top: String
    let entries: [String: Entry]

    struct Entry: Equatable, Sendable {
        var status: String
        var inode: UInt64?
        var size: Int64?
        var modified: Int64?
    }

    /// Nil outside a git working tree or when git fails (the caller then lists only
    /// what Codex reported).
    public static func snapshot(of directory: String, git: GitClient? = nil) -> WorkspaceChanges? {
        // Not a repository, or git cannot read it: the turn's own file list stands alone.
        guard let git = git ?? (try? GitClient()),
            let top = try? git.text(["rev-parse", "--show-toplevel"], in: directory, reading: true), !top.isEmpty,
            let output = try? git.check(
                ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"],
                in: top, reading: true)
        else { return nil }
        var entries: [String: Entry] = [:]
        for field in output.stdout.split(separator: 0) where field.count > 3 {
            let status = String(decoding: field.prefix(2), as: UTF8.self)
            let path = String(decoding: field.dropFirst(3), as: UTF8.self)
            let identity = FileSystem.identity(top + "/" + path)
            entries[path] = Entry(
                status: status, inode: identity?.inode, size: identity?.size, modified: identity?.modifiedNanoseconds)
        }
        return WorkspaceChanges(top: top, entries: entries)
    }

    /// Absolute paths that differ between `before` and this snapshot, sorted.
    public func changed(since before: WorkspaceChanges) -> [String] {
        var paths: Set<String> = []
        for (path, entry) in entries where before.entries[path] != entry { paths.insert(path) }
        for path in before.entries.keys where entries[path] == nil { paths.insert(path) }
        return paths.sorted().map { top + "/" + $0 }
    }
}
