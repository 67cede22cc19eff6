import CompanionSystem

// Git lock files (`index.lock`, `HEAD.lock`, the branch's ref lock) that a git of ours,
// killed mid-write (a cancel during a capture), leaves behind in a job's worktree. git
// refuses to work while one exists, so a stale one would block keep and branch forever.
// One is cleared only when it is old enough and no live process uses the worktree (its
// working directory or its arguments name it, as every `git -C <worktree>` of ours does).

extension WorktreeOperations {
    /// Seconds a lock must have existed before it may be stale (git holds one for moments).
    package static let staleLockAge: Double = 2

    /// Removes stale git locks of the worktree; returns the removed paths.
    /// - Throws: `GitError.gitLockHeld` when a lock exists and a live process uses the worktree.
    @discardableResult
    package static func clearStaleLocks(_ info: WorktreeInfo, git: GitClient) throws -> [String] {
        guard let gitDirectory = try worktreeGitDirectory(info) else { return [] }
        var locks = [gitDirectory + "/index.lock", gitDirectory + "/HEAD.lock"]
        if let common = try FileSystem.read(gitDirectory + "/commondir") {
            let relative = GitText.trim(String(decoding: common, as: UTF8.self))
            let commonDirectory = Path.absolute(relative, relativeTo: gitDirectory)
            locks.append(commonDirectory + "/refs/heads/" + info.branch + ".lock")
        }
        let present = locks.filter(FileSystem.exists)
        guard !present.isEmpty else { return [] }
        let users = ProcessProbe.processes(using: info.path)
        let now = Double(WallClock.nowMilliseconds()) / 1000
        var removed: [String] = []
        for lock in present {
            let age = now - (FileSystem.modificationTime(lock) ?? now)
            // Without a process table (not Linux) only a lock ten minutes old counts as stale.
            let stale = users.map { $0.isEmpty && age >= staleLockAge } ?? (age >= 600)
            guard stale else { throw GitError.gitLockHeld(path: lock) }
            try FileSystem.remove(lock)
            removed.append(lock)
        }
        return removed
    }

    /// The worktree's own git directory, read from its `.git` file ("gitdir: <path>"); nil when
    /// the worktree or that file is missing.
    package static func worktreeGitDirectory(_ info: WorktreeInfo) throws -> String? {
        guard FileEntries.inspect(info.path + "/.git")?.kind == .file,
            let bytes = try FileSystem.read(info.path + "/.git")
        else { return nil }
        let text = GitText.trim(String(decoding: bytes, as: UTF8.self))
        guard text.hasPrefix("gitdir: ") else { return nil }
        let path = Path.absolute(String(text.dropFirst("gitdir: ".count)), relativeTo: info.path)
        return FileSystem.isDirectory(path) ? path : nil
    }
}
