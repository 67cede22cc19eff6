import CompanionSystem
import CompanionJSON
import ShellGuard

// Keep: apply base→branch to the user's working tree, all or nothing.
//
// The protocol, in order, with what a crash at each point leaves behind:
//   0. flock <git dir>/codex-companion-keep.lock; a stale manifest of a dead keep is rolled back
//   1. refuse during a merge/rebase/cherry-pick/revert/bisect          nothing changed
//   2. capture what is left in the worktree (the branch is the copy)   nothing changed in the user's tree
//   3. binary patch into <backup>/keep.patch (git writes the bytes)   nothing changed
//   4. `git apply --check` (index, else working tree); conflict → stop nothing changed
//   5. <backup>/data, then <backup>/manifest.json, each atomic        manifest present ⇒ roll back
//   6. `git apply` (two halves when CODEX_COMPANION_FAULT=keep-mid-apply)  manifest present ⇒ roll back
//   7. <backup>/applied.json, the commit point; manifest and data dropped  marker ⇒ finish the cleanup
//   8. remove the worktree, delete the branch, remove <backup>         marker ⇒ finish the cleanup
// So the user's tree ends either unchanged or fully applied, and the branch (the only other
// copy) is deleted only after the applied marker is durable.

extension WorktreeOperations {
    package static let manifestName = "manifest.json"
    package static let dataName = "data"
    package static let appliedName = "applied.json"
    package static let patchName = "keep.patch"

    /// Applies base→branch to the user's working tree at `repoRoot`, staged where the index
    /// allows it. `backupDirectory` belongs to this keep: it is created and removed here.
    public static func keep(
        _ info: WorktreeInfo, jobId: String, backupDirectory: String, git: GitClient? = nil
    ) throws -> KeepOutcome {
        let git = try git ?? GitClient()
        try validate(info, jobId: jobId)
        try requireRepository(info)
        // One rev-parse for the lock, the index and the in-progress markers.
        let paths = try git.gitPaths([lockName, "index"] + GitClient.operationProbes.map(\.name), in: info.repoRoot)
        let lock = try FileLock(exclusive: paths[0])
        defer { withExtendedLifetime(lock) {} }

        // A keep that already applied and was stopped before its cleanup: finish it.
        if let applied = try KeepBackup.loadApplied(backupDirectory) {
            try finishAfterApply(info, git: git)
            try FileSystem.removeTree(backupDirectory)
            return applied
        }
        // A keep that died before its commit point (we hold the lock, so its process is
        // gone): roll its backup back first, then start afresh.
        if FileSystem.exists(backupDirectory + "/" + manifestName) {
            try rollBack(info, backupDirectory: backupDirectory, git: git)
        }
        if let operation = GitClient.operation(probing: Array(paths[2...])) {
            throw GitError.operationInProgress(operation, repoRoot: info.repoRoot)
        }

        switch try prepareKeep(info, jobId: jobId, backupDirectory: backupDirectory, indexPath: paths[1], git: git) {
        case .nothing(let usable):
            try finishAfterApply(info, git: git, usable: usable)
            try FileSystem.removeTree(backupDirectory)
            return .nothingToApply
        case .conflict(let paths, let detail):
            try FileSystem.removeTree(backupDirectory)
            return .conflict(paths: paths, detail: detail)
        case .ready(let plan):
            let manifest = try KeepBackup.write(plan, jobId: jobId, to: backupDirectory)
            FaultPoint.keepAfterBackup.hit()
            do {
                if ProcessEnvironment.value("CODEX_COMPANION_FAULT") == FaultPoint.keepMidApply.rawValue,
                    plan.changes.count > 1
                {
                    // Test-only: two git applies with the fault point between them, so a
                    // test can kill the keep with half of the files changed.
                    let halves = try splitPatch(plan.patchFile)
                    for (number, half) in halves.enumerated() {
                        try applyPatch(half, staged: plan.staged, in: info.repoRoot, git: git)
                        if number == 0 { FaultPoint.keepMidApply.hit() }
                    }
                } else {
                    try applyPatch(plan.patchFile, staged: plan.staged, in: info.repoRoot, git: git)
                }
            } catch {
                try KeepBackup.restore(manifest, from: backupDirectory, git: git)
                try FileSystem.removeTree(backupDirectory)
                let detail = (error as? GitError)?.failure?.stderr ?? "\(error)"
                throw GitError.applyFailed(repoRoot: info.repoRoot, detail: detail)
            }
            let outcome = KeepOutcome.applied(stat: plan.stat, staged: plan.staged, paths: plan.changes.map(\.path))
            try KeepBackup.markApplied(outcome, in: backupDirectory)
            do {
                try finishAfterApply(info, git: git, usable: plan.worktreeUsable)
            } catch {
                throw GitError.cleanupFailed(
                    repoRoot: info.repoRoot, detail: (error as? GitError)?.message ?? "\(error)")
            }
            try FileSystem.removeTree(backupDirectory)
            return outcome
        }
    }

    /// Settles a keep whose process died: restores the backup when one is durable (the
    /// tree ends as before), finishes the cleanup when the keep had applied everything.
    public static func recoverInterruptedKeep(
        _ info: WorktreeInfo, backupDirectory: String, git: GitClient? = nil
    ) throws -> RecoveryOutcome {
        let git = try git ?? GitClient()
        try validate(info, jobId: info.jobId)
        let lock = FileSystem.isDirectory(info.repoRoot) ? try? keepLock(info, git: git) : nil
        defer { withExtendedLifetime(lock) {} }
        if try KeepBackup.loadApplied(backupDirectory) != nil {
            try requireRepository(info)
            try finishAfterApply(info, git: git)
            try FileSystem.removeTree(backupDirectory)
            return .completed
        }
        if FileSystem.exists(backupDirectory + "/" + manifestName) {
            try requireRepository(info)
            return .rolledBack(paths: try rollBack(info, backupDirectory: backupDirectory, git: git))
        }
        // No durable backup: applying never started, or the keep finished everything.
        try requireRepository(info)
        try FileSystem.removeTree(backupDirectory)
        if try !git.branchExists(info.branch, in: info.repoRoot) && !FileSystem.exists(info.path) { return .completed }
        return .notApplied
    }

    /// Restores a durable keep backup and removes it; returns the restored paths.
    @discardableResult
    package static func rollBack(_ info: WorktreeInfo, backupDirectory: String, git: GitClient) throws -> [String] {
        let manifest = try KeepBackup.load(backupDirectory)
        guard samePath(manifest.repoRoot, info.repoRoot) else {
            throw GitError.backupDamaged(backupDirectory: backupDirectory, reason: "it belongs to \(manifest.repoRoot)")
        }
        try KeepBackup.restore(manifest, from: backupDirectory, git: git)
        try FileSystem.removeTree(backupDirectory)
        return manifest.entries.map(\.path)
    }

    /// Keeps into one working tree run one at a time (each backs up and may restore the
    /// same index): an flock on `<git dir>/codex-companion-keep.lock`, released by the kernel
    /// if the process dies.
    package static func keepLock(_ info: WorktreeInfo, git: GitClient) throws -> FileLock {
        try FileLock(exclusive: try git.gitPath(lockName, in: info.repoRoot))
    }

    package static let lockName = "codex-companion-keep.lock"

    // MARK: stages (internal so tests can stop between them)

    package struct KeepPlan {
        package var info: WorktreeInfo
        package var head: String
        package var changes: [GitChange]
        package var patchFile: String
        package var indexPath: String
        package var worktreeUsable: Bool
        package var staged: Bool
        package var stat: String
    }

    package enum KeepPreparation {
        case nothing(worktreeUsable: Bool)
        case conflict(paths: [String], detail: String)
        case ready(KeepPlan)
    }

    /// Steps 2–4: durable copy, patch, pre-check. Changes nothing in the user's tree.
    package static func prepareKeep(
        _ info: WorktreeInfo, jobId: String, backupDirectory: String, indexPath: String, git: GitClient
    ) throws -> KeepPreparation {
        let root = info.repoRoot
        let state = try checkoutState(info, git: git)
        var head: String?
        if state.usable, try !commitWorktree(info, jobId: jobId, state: state, probeFirst: true, git: git),
            case .onBranch(let known) = state
        {
            head = known
        }
        if head == nil { head = try git.commit(of: "refs/heads/" + info.branch, in: root) }
        guard let head else { throw GitError.workMissing(branch: info.branch, path: info.path) }
        // The stat comes from `git apply --check --stat` below, at no extra cost.
        let changes = try git.diffSummary(from: info.baseCommit, to: head, in: root, withStat: false).changes
        if changes.isEmpty { return .nothing(worktreeUsable: state.usable) }
        if let odd = changes.first(where: { !$0.hasFaithfulPath }) {
            throw GitError.unsupportedPathEncoding(path: odd.path)
        }
        let reserved = changes.filter { $0.path == directoryName || $0.path.hasPrefix(directoryName + "/") }
        if !reserved.isEmpty {
            return .conflict(
                paths: reserved.map(\.path),
                detail: "the branch adds files under .worktrees/, where companion worktrees live")
        }

        try FileSystem.createDirectory(backupDirectory)
        var plan = KeepPlan(
            info: info, head: head, changes: changes, patchFile: backupDirectory + "/" + patchName,
            indexPath: indexPath,
            worktreeUsable: state.usable, staged: false, stat: "")
        try writePatch(plan, to: plan.patchFile, git: git)

        let collisions = collidingPaths(changes, root: root)
        let inTheWay =
            collisions.isEmpty ? nil : "untracked files are in the way: " + collisions.joined(separator: ", ")
        if collisions.isEmpty, case .success(let stat) = try check(plan.patchFile, index: true, in: root, git: git) {
            plan.staged = true
            plan.stat = stat
        } else {
            switch try check(plan.patchFile, index: false, in: root, git: git) {
            case .failure(let stderr):
                var paths = collisions
                for path in conflictPaths(stderr, changes: changes) where !paths.contains(path) { paths.append(path) }
                let detail = [inTheWay, GitText.trim(stderr)].compactMap { $0 }.filter { !$0.isEmpty }
                return .conflict(paths: paths, detail: detail.joined(separator: "\n"))
            case .success(let stat):
                if let inTheWay { return .conflict(paths: collisions, detail: inTheWay) }
                plan.stat = stat
            }
        }
        return .ready(plan)
    }

    /// `git diff --binary --full-index base head` straight into `file` (git writes the
    /// bytes; they never pass through a String). Settings that would change the patch
    /// format (prefixes, colour, external diff, textconv, relative) are pinned.
    package static func writePatch(_ plan: KeepPlan, to file: String, git: GitClient) throws {
        try FileSystem.remove(file)
        try git.check(
            [
                "-c", "diff.suppressBlankEmpty=false", "-c", "diff.noprefix=false",
                "diff", "--binary", "--full-index", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
                "--no-relative", "--ignore-submodules=none", "--src-prefix=a/", "--dst-prefix=b/",
                "--output=" + file, plan.info.baseCommit, plan.head, "--",
            ],
            in: plan.info.repoRoot, reading: true)
    }

    /// Splits a patch file into two files (`<patch>.1`, `<patch>.2`) at a file boundary, by
    /// bytes: every file section starts with "diff --git " at the start of a line, which no
    /// other patch line can (text lines carry a prefix, base85 has no spaces). Deletions go
    /// first, so each half applies on its own even when a file becomes a directory.
    package static func splitPatch(_ patch: String) throws -> [String] {
        let bytes = try FileSystem.read(patch) ?? []
        let marker = Array("diff --git ".utf8)
        let deletion = Array("deleted file mode ".utf8)
        var starts: [Int] = []
        var lineStart = 0
        while lineStart < bytes.count {
            if bytes[lineStart...].starts(with: marker) { starts.append(lineStart) }
            guard let newline = bytes[lineStart...].firstIndex(of: 0x0A) else { break }
            lineStart = newline + 1
        }
        guard starts.count > 1 else { return [patch] }
        let sections = starts.indices.map { bytes[starts[$0]..<($0 + 1 < starts.count ? starts[$0 + 1] : bytes.count)] }
        func deletes(_ section: ArraySlice<UInt8>) -> Bool {
            guard let newline = section.firstIndex(of: 0x0A) else { return false }
            return section[(newline + 1)...].starts(with: deletion)
        }
        let ordered = sections.filter(deletes) + sections.filter { !deletes($0) }
        let cut = ordered.count / 2
        let files = [patch + ".1", patch + ".2"]
        try AtomicFile.write(ordered[..<cut].flatMap { $0 }, to: files[0])
        try AtomicFile.write(ordered[cut...].flatMap { $0 }, to: files[1])
        return files
    }

    package static let applySettings = ["-c", "apply.whitespace=nowarn", "-c", "apply.ignoreWhitespace=no"]

    package enum CheckResult {
        /// It applies; the patch's diff stat.
        case success(stat: String)
        /// It does not; git's stderr.
        case failure(String)
    }

    /// `git apply --check --stat`: whether the patch applies, and its stat in the same run.
    package static func check(_ patch: String, index: Bool, in root: String, git: GitClient) throws -> CheckResult {
        let arguments =
            ["-c", "core.quotepath=false"] + applySettings + ["apply", "--check", "--stat", "--binary"]
            + (index ? ["--index"] : []) + ["--", patch]
        let output = try git.run(arguments, in: root, reading: !index)
        return output.status.isSuccess ? .success(stat: GitText.trim(output.stdoutText)) : .failure(output.stderrText)
    }

    package static func applyPatch(_ patch: String, staged: Bool, in root: String, git: GitClient) throws {
        try git.check(applySettings + ["apply", "--binary"] + (staged ? ["--index"] : []) + ["--", patch], in: root)
    }

    /// New files of the patch whose path (or a parent of it) is already taken in the user's tree.
    /// A path the patch deletes does not count (a file may become a directory and back).
    package static func collidingPaths(_ changes: [GitChange], root: String) -> [String] {
        let deleted = Set(changes.filter { $0.kind == .deleted }.map(\.path))
        var result: [String] = []
        for change in changes where change.kind == .added {
            if let facts = FileEntries.inspect(root + "/" + change.path) {
                if facts.kind != .directory || !directoryHoldsOnly(change.path, deleted, root: root) {
                    result.append(change.path)
                }
                continue
            }
            var prefix = ""
            for component in change.path.split(separator: "/", omittingEmptySubsequences: false).dropLast() {
                prefix += (prefix.isEmpty ? "" : "/") + component
                if let facts = FileEntries.inspect(root + "/" + prefix), facts.kind != .directory,
                    !deleted.contains(prefix)
                {
                    result.append(change.path)
                    break
                }
            }
        }
        return result
    }

    /// Whether everything under the directory `relative` is a file the patch deletes.
    package static func directoryHoldsOnly(_ relative: String, _ deleted: Set<String>, root: String) -> Bool {
        guard let names = try? FileSystem.list(root + "/" + relative) else { return false }
        for name in names {
            let child = relative + "/" + name
            if FileEntries.inspect(root + "/" + child)?.kind == .directory {
                if !directoryHoldsOnly(child, deleted, root: root) { return false }
            } else if !deleted.contains(child) {
                return false
            }
        }
        return true
    }

    /// The changed paths `git apply` names in its errors (matched against the known paths,
    /// so names with spaces, colons or newlines are found exactly).
    package static func conflictPaths(_ stderr: String, changes: [GitChange]) -> [String] {
        var named: [String] = []
        for change in changes {
            let p = change.path
            let patterns = [
                "error: \(p): ", "patch failed: \(p):", "error: \(p) has type", "'\(p)'", "path \(p) has been",
            ]
            if patterns.contains(where: { stderr.contains($0) }) { named.append(p) }
        }
        if named.isEmpty { named = changes.map(\.path).filter { stderr.contains($0) } }
        return named.isEmpty ? changes.map(\.path) : named
    }

    /// After the changes are applied: remove the worktree and delete the branch.
    package static func finishAfterApply(_ info: WorktreeInfo, git: GitClient, usable: Bool? = nil) throws {
        try removeWorktree(info, git: git, allowPlainDirectory: false, usable: usable)
        try git.deleteBranch(info.branch, in: info.repoRoot)
    }
}

// MARK: - backup

/// The keep backup: `data` holds the bytes of every touched path that existed and of the
/// index; `manifest.json` (written after `data`) says what is where. A durable manifest is
/// what makes a rollback possible.
package struct KeepBackupManifest: Codable, Equatable {
    package struct Entry: Codable, Equatable {
        /// Relative to the repository root.
        package var path: String
        package var existed: Bool
        package var kind: FileEntries.Kind?
        package var mode: UInt32
        package var offset: Int
        package var length: Int
    }

    package var version = 1
    package var jobId: String
    package var repoRoot: String
    package var branchHead: String
    package var staged: Bool
    package var indexPath: String
    /// nil when there was no index file.
    package var indexOffset: Int?
    package var indexLength: Int
    package var indexMode: UInt32
    /// Directories the patch may create, deepest first (removed again on rollback when empty).
    package var createdDirectories: [String]
    package var dataLength: Int
    package var entries: [Entry]
}

package enum KeepBackup {
    package static func write(_ plan: WorktreeOperations.KeepPlan, jobId: String, to directory: String) throws
        -> KeepBackupManifest
    {
        let root = plan.info.repoRoot
        var data: [UInt8] = []
        var entries: [KeepBackupManifest.Entry] = []
        var created: Set<String> = []
        for change in plan.changes {
            let absolute = root + "/" + change.path
            var entry = KeepBackupManifest.Entry(
                path: change.path, existed: false, kind: nil, mode: 0, offset: data.count, length: 0)
            if let facts = FileEntries.inspect(absolute) {
                entry.existed = true
                entry.kind = facts.kind
                entry.mode = facts.mode
                let bytes: [UInt8]
                switch facts.kind {
                case .file: bytes = try FileSystem.read(absolute) ?? []
                case .symlink: bytes = try FileEntries.readLink(absolute)
                case .directory, .other: bytes = []
                }
                entry.length = bytes.count
                data.append(contentsOf: bytes)
            }
            entries.append(entry)
            var prefix = ""
            for component in change.path.split(separator: "/", omittingEmptySubsequences: false).dropLast() {
                prefix += (prefix.isEmpty ? "" : "/") + component
                if !FileSystem.isDirectory(root + "/" + prefix) { created.insert(prefix) }
            }
        }
        let indexPath = plan.indexPath
        var indexOffset: Int?
        var indexLength = 0
        var indexMode: UInt32 = 0o644
        if let facts = FileEntries.inspect(indexPath), let bytes = try FileSystem.read(indexPath) {
            indexOffset = data.count
            indexLength = bytes.count
            indexMode = facts.mode
            data.append(contentsOf: bytes)
        }
        let manifest = KeepBackupManifest(
            jobId: jobId, repoRoot: root, branchHead: plan.head, staged: plan.staged, indexPath: indexPath,
            indexOffset: indexOffset, indexLength: indexLength, indexMode: indexMode,
            createdDirectories: created.sorted { depth($0) != depth($1) ? depth($0) > depth($1) : $0 > $1 },
            dataLength: data.count, entries: entries)
        try FileSystem.createDirectory(directory)
        try AtomicFile.write(data, to: directory + "/" + WorktreeOperations.dataName)
        try AtomicFile.write(try JSONCoding.encode(manifest), to: directory + "/" + WorktreeOperations.manifestName)
        return manifest
    }

    package static func depth(_ path: String) -> Int { path.split(separator: "/").count }

    package static func load(_ directory: String) throws -> KeepBackupManifest {
        guard let bytes = try FileSystem.read(directory + "/" + WorktreeOperations.manifestName) else {
            throw GitError.backupDamaged(backupDirectory: directory, reason: "the manifest is missing")
        }
        do {
            return try JSONCoding.decode(KeepBackupManifest.self, from: bytes)
        } catch {
            throw GitError.backupDamaged(backupDirectory: directory, reason: "the manifest does not parse")
        }
    }

    /// Puts every touched path (and the index) back exactly as the manifest recorded it.
    /// Safe to run again if interrupted.
    package static func restore(_ manifest: KeepBackupManifest, from directory: String, git: GitClient) throws {
        guard let data = try FileSystem.read(directory + "/" + WorktreeOperations.dataName),
            data.count == manifest.dataLength
        else {
            throw GitError.backupDamaged(backupDirectory: directory, reason: "the data file is missing or truncated")
        }
        let root = manifest.repoRoot
        // 1. Paths the patch created.
        for entry in manifest.entries where !entry.existed {
            let absolute = root + "/" + entry.path
            switch FileEntries.inspect(absolute)?.kind {
            case nil: break
            case .directory?: FileEntries.removeEmptyDirectory(absolute)
            default: try FileSystem.remove(absolute)
            }
        }
        // 2. Directories the patch created (only when empty).
        for directory in manifest.createdDirectories {
            FileEntries.removeEmptyDirectory(root + "/" + directory)
        }
        // 3. Paths that were directories (a directory the patch turned into a file).
        for entry in manifest.entries where entry.existed && entry.kind == .directory {
            let absolute = root + "/" + entry.path
            if let current = FileEntries.inspect(absolute), current.kind != .directory {
                try FileSystem.remove(absolute)
            }
            try FileSystem.createDirectory(absolute, mode: UInt32(entry.mode & 0o777))
        }
        // 4. Paths that existed, byte for byte, with their mode.
        for entry in manifest.entries where entry.existed {
            let absolute = root + "/" + entry.path
            let bytes = Array(data[entry.offset..<(entry.offset + entry.length)])
            switch entry.kind {
            case .file?:
                try FileSystem.createDirectory(Path.dirname(absolute), mode: 0o755)
                if FileEntries.inspect(absolute)?.kind == .directory { FileEntries.removeEmptyDirectory(absolute) }
                if let current = FileEntries.inspect(absolute), current.kind == .file,
                    current.mode == entry.mode, try FileSystem.read(absolute) == bytes
                {
                    continue
                }
                try AtomicFile.write(bytes, to: absolute, mode: UInt32(entry.mode & 0o777))
                try FileEntries.setMode(absolute, entry.mode)
            case .symlink?:
                try FileSystem.createDirectory(Path.dirname(absolute), mode: 0o755)
                if FileEntries.inspect(absolute)?.kind == .directory { FileEntries.removeEmptyDirectory(absolute) }
                try FileEntries.makeSymlink(bytes, at: absolute)
            case .directory?, .other?, nil:
                break
            }
        }
        // 5. The index.
        if let offset = manifest.indexOffset {
            let bytes = Array(data[offset..<(offset + manifest.indexLength)])
            try AtomicFile.write(bytes, to: manifest.indexPath, mode: UInt32(manifest.indexMode & 0o777))
        } else {
            try FileSystem.remove(manifest.indexPath)
        }
        // The restored files have new timestamps: refresh the index's stat cache (contents
        // are untouched), as `git status` would, so the next keep can stage again.
        _ = try? git.run(["update-index", "-q", "--refresh"], in: root)
    }

    /// Records that the patch is fully applied (the commit point of a keep).
    package static func markApplied(_ outcome: KeepOutcome, in directory: String) throws {
        try AtomicFile.write(try JSONCoding.encode(outcome), to: directory + "/" + WorktreeOperations.appliedName)
        try FileSystem.remove(directory + "/" + WorktreeOperations.manifestName)
        try FileSystem.remove(directory + "/" + WorktreeOperations.dataName)
    }

    package static func loadApplied(_ directory: String) throws -> KeepOutcome? {
        guard let bytes = try FileSystem.read(directory + "/" + WorktreeOperations.appliedName) else { return nil }
        return (try? JSONCoding.decode(KeepOutcome.self, from: bytes)) ?? .applied(stat: "", staged: false, paths: [])
    }
}

// MARK: - file facts
