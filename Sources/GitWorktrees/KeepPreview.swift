import CompanionSystem
import CompanionJSON

// Keep preview: what `worktree-cleanup --action keep` would do to the user's tree now,
// decided the way keep decides (the binary patch base→branch, `git apply --check` against
// the working tree, untracked files in the way, paths under .worktrees/, an operation in
// progress), with every step a read: the patch goes to a private scratch directory, and
// `git apply --check` without --index reads the working tree only.
//
// The answer depends only on the two commits and on the user's entries at the changed paths
// (and their parent directories), so it is cached under exactly that key in a small file:
// a repeat costs two rev-parses and a stat and read of each changed path, however large the
// repository is.

/// What keep would do: apply cleanly (which files), or conflict (which paths, and why).
public struct KeepPreview: Codable, Sendable, Equatable {
    public var clean: Bool
    /// Every path keep would change.
    public var files: [String]
    /// Paths that stop keep; empty when `clean`.
    public var conflicts: [String]
    /// Why keep would stop (git's words, or the operation in progress); nil when clean.
    public var detail: String?

    public init(clean: Bool, files: [String], conflicts: [String], detail: String? = nil) {
        self.clean = clean
        self.files = files
        self.conflicts = conflicts
        self.detail = detail
    }

    /// One line for people: "keep would apply cleanly: 3 files", "keep would conflict in a, b".
    public var sentence: String {
        if clean {
            if files.isEmpty { return "keep would change nothing" }
            return "keep would apply cleanly: \(files.count) file\(files.count == 1 ? "" : "s")"
        }
        if conflicts.isEmpty {
            return "keep would not apply: " + (detail.map { GitError.firstLines($0, limit: 1) } ?? "")
        }
        let shown = conflicts.prefix(8).joined(separator: ", ")
        return "keep would conflict in " + shown + (conflicts.count > 8 ? " and \(conflicts.count - 8) more" : "")
    }
}

/// The preview cache file: one entry, replaced when any part of its key changes.
package struct KeepPreviewCache: Codable, Equatable {
    package var version = 1
    package var base: String
    package var result: String
    package var paths: [String]
    package var userState: String
    package var preview: KeepPreview
}

extension WorktreeOperations {
    /// The keep preview of a finished worktree job (its branch head against the user's tree
    /// now). Touches nothing of the user's; `cacheFile` (optional) is the only file written.
    public static func keepPreview(
        _ info: WorktreeInfo, cacheFile: String? = nil, git: GitClient? = nil
    ) throws -> KeepPreview {
        let git = try git ?? GitClient()
        try requireRepository(info)
        let (operation, head) = try previewStart(info, git: git)
        // The cache is derived: unreadable or stale means the preview is computed again.
        let cached = cacheFile.flatMap { try? FileSystem.read($0) }.flatMap {
            try? JSONCoding.decode(KeepPreviewCache.self, from: $0)
        }
        var paths: [String]
        var changes: [GitChange]?
        if let cached, cached.base == info.baseCommit, cached.result == head {
            paths = cached.paths
        } else {
            changes = try git.diffSummary(from: info.baseCommit, to: head, in: info.repoRoot, withStat: false).changes
            paths = changes!.map(\.path)
        }
        let userState = userStateKey(paths, root: info.repoRoot, operation: operation)
        if let cached, cached.base == info.baseCommit, cached.result == head, cached.userState == userState {
            return cached.preview
        }
        if changes == nil {
            changes = try git.diffSummary(from: info.baseCommit, to: head, in: info.repoRoot, withStat: false).changes
            paths = changes!.map(\.path)
        }
        let preview = try computePreview(info, head: head, changes: changes!, operation: operation, git: git)
        // Cached only when the user's entries held still while it was computed.
        if let cacheFile, userStateKey(paths, root: info.repoRoot, operation: operation) == userState {
            let entry = KeepPreviewCache(
                base: info.baseCommit, result: head, paths: paths, userState: userState, preview: preview)
            // A cache that cannot be written only costs a recomputation next time.
            try? ScratchDirectory.replaceFile(try JSONCoding.encode(entry), at: cacheFile)
        }
        return preview
    }

    /// The operation in progress and the branch head: one `rev-parse` when all is well.
    package static func previewStart(_ info: WorktreeInfo, git: GitClient) throws -> (GitOperation?, String) {
        let names = GitClient.operationProbes.map(\.name)
        let output = try git.run(
            ["rev-parse", "--path-format=absolute"] + names.flatMap { ["--git-path", $0] }
                + ["refs/heads/" + info.branch + "^{commit}"], in: info.repoRoot, reading: true)
        if output.status.isSuccess, let lines = GitClient.lines(output.stdout, count: names.count + 1) {
            let probes = lines.dropLast().map { Path.absolute($0, relativeTo: info.repoRoot) }
            return (GitClient.operation(probing: probes), lines[names.count])
        }
        let operation = GitClient.operation(probing: try git.gitPaths(names, in: info.repoRoot))
        guard let head = try git.commit(of: "refs/heads/" + info.branch, in: info.repoRoot) else {
            throw GitError.branchMissing(branch: info.branch, repoRoot: info.repoRoot)
        }
        return (operation, head)
    }

    package static func computePreview(
        _ info: WorktreeInfo, head: String, changes: [GitChange], operation: GitOperation?, git: GitClient
    ) throws -> KeepPreview {
        let files = changes.map(\.path)
        if changes.isEmpty { return KeepPreview(clean: true, files: [], conflicts: []) }
        if let operation {
            let detail = GitError.operationInProgress(operation, repoRoot: info.repoRoot).message
            return KeepPreview(clean: false, files: files, conflicts: [], detail: detail)
        }
        let reserved = files.filter { $0 == directoryName || $0.hasPrefix(directoryName + "/") }
        if !reserved.isEmpty {
            return KeepPreview(
                clean: false, files: files, conflicts: reserved,
                detail: "the branch adds files under .worktrees/, where companion worktrees live")
        }
        let collisions = collidingPaths(changes, root: info.repoRoot)
        // The paths whose changes alone fail the check (git's exit status, not its words).
        let refusal: (paths: [String], stderr: String)? = try ScratchDirectory.with(
            prefix: "codex-companion-preview"
        ) { scratch in
            let patch = scratch + "/keep.patch"
            let plan = KeepPlan(
                info: info, head: head, changes: changes, patchFile: patch, indexPath: "", worktreeUsable: false,
                staged: false, stat: "")
            try writePatch(plan, to: patch, git: git)
            let output = try applyCheck(patch, only: nil, in: info.repoRoot, git: git)
            if output.status.isSuccess { return nil }
            return (try conflictingPaths(patch, paths: files, in: info.repoRoot, git: git), output.stderrText)
        }
        if collisions.isEmpty && refusal == nil { return KeepPreview(clean: true, files: files, conflicts: []) }
        var conflicts = collisions
        for path in refusal?.paths ?? [] where !conflicts.contains(path) { conflicts.append(path) }
        let inTheWay =
            collisions.isEmpty ? nil : "untracked files are in the way: " + collisions.joined(separator: ", ")
        let detail = [inTheWay, refusal.map { GitText.trim($0.stderr) }].compactMap { $0 }.filter { !$0.isEmpty }
        return KeepPreview(clean: false, files: files, conflicts: conflicts, detail: detail.joined(separator: "\n"))
    }

    /// A digest of what keep's verdict depends on in the user's tree: the kind, mode and
    /// bytes of every changed path and of each parent directory on the way to it, the names
    /// under a directory found at a changed path, and the operation in progress.
    package static func userStateKey(_ paths: [String], root: String, operation: GitOperation?) -> String {
        var digest = ContentDigest()
        digest.add("operation \(operation?.rawValue ?? "none")\u{0}")
        var seen: Set<String> = []
        for path in paths {
            var prefix = ""
            for component in path.split(separator: "/", omittingEmptySubsequences: false) {
                prefix += (prefix.isEmpty ? "" : "/") + component
                if !seen.insert(prefix).inserted { continue }
                digest.add(prefix + "\u{0}")
                addEntry(root + "/" + prefix, deep: prefix == path, to: &digest)
            }
        }
        return digest.hex
    }

    private static func addEntry(_ absolute: String, deep: Bool, to digest: inout ContentDigest) {
        guard let facts = FileEntries.inspect(absolute) else { return digest.add("absent\u{0}") }
        digest.add("\(facts.kind.rawValue) \(facts.mode)\u{0}")
        switch facts.kind {
        case .file, .symlink:
            // Unreadable content digests as length -1: the key changes and the preview is recomputed.
            let bytes =
                facts.kind == .file ? ((try? FileSystem.read(absolute)) ?? nil) : try? FileEntries.readLink(absolute)
            digest.add("\(bytes?.count ?? -1)\u{0}")
            digest.add(bytes ?? [])
        case .directory where deep:
            func walk(_ directory: String, _ relative: String) {
                // An unlistable directory adds no entries; keep itself checks every path again.
                for name in ((try? FileSystem.list(directory)) ?? []).sorted() {
                    digest.add(relative + name + "\u{0}")
                    if FileEntries.inspect(directory + "/" + name)?.kind == .directory {
                        walk(directory + "/" + name, relative + name + "/")
                    }
                }
            }
            walk(absolute, "")
        case .directory, .other: break
        }
        digest.add("\u{0}")
    }
}
