import CompanionSystem

// Computing a keep's intent without touching the user's tree: the current entry of every
// touched path is copied into a scratch directory, the patch is applied there by git (with
// the repository's own settings, and against a scratch index holding the user's entries
// when the keep stages), and what git made of each path becomes its `after`.

extension WorktreeOperations {
    package enum IntentPreparation {
        case ready(KeepIntent, blobs: [String: [UInt8]])
        case conflict(paths: [String], detail: String)
    }

    package static func makeIntent(_ plan: KeepPlan, jobId: String, directory: String, git: GitClient) throws
        -> IntentPreparation
    {
        let root = plan.info.repoRoot
        let scratch = directory + "/" + KeepJournal.scratchName
        let scratchIndex = directory + "/" + KeepJournal.scratchIndexName
        try FileSystem.removeTree(scratch)
        try FileSystem.remove(scratchIndex)
        try FileSystem.createDirectory(scratch)
        var blobs: [String: [UInt8]] = [:]
        var befores: [PathState] = []
        for change in plan.changes {
            let (state, bytes) = try PathState.read(root + "/" + change.path)
            if state.kind == .other {
                return .conflict(paths: [change.path], detail: "\(change.path) is not a file, a link or a directory")
            }
            if let bytes, let digest = state.digest { blobs[digest] = bytes }
            try copy(state, bytes, to: scratch + "/" + change.path)
            befores.append(state)
        }
        let gitDirectory = try git.text(["rev-parse", "--absolute-git-dir"], in: root, reading: true)
        var environment = ["GIT_DIR": gitDirectory, "GIT_WORK_TREE": scratch]
        var index: [KeepIntent.IndexEntry] = []
        let paths = plan.changes.map(\.path)
        if plan.staged {
            environment["GIT_INDEX_FILE"] = scratchIndex
            let before = try indexEntries(paths, in: root, git: git)
            index = paths.map { KeepIntent.IndexEntry(path: $0, before: before[$0], after: nil) }
            try writeIndex(
                index.map { ($0.path, $0.before) }, idLength: plan.head.count, in: scratch, git: git,
                environment: environment)
            _ = try git.run(["update-index", "-q", "--refresh"], in: scratch, environment: environment)
        }
        let arguments =
            ["-c", "core.quotepath=false"] + applySettings + ["apply", "--binary"] + (plan.staged ? ["--index"] : [])
            + ["--", plan.patchFile]
        let applied = try git.run(arguments, in: scratch, environment: environment)
        guard applied.status.isSuccess else {
            // A refused apply writes nothing: the same check per path, in the same scratch tree.
            let failing = try conflictingPaths(
                plan.patchFile, paths: paths, index: plan.staged, in: scratch, git: git, environment: environment)
            return .conflict(paths: failing, detail: applied.stderrText)
        }
        if plan.staged {
            let after = try indexEntries(paths, in: scratch, git: git, environment: environment)
            for number in index.indices { index[number].after = after[index[number].path] }
        }
        var entries: [KeepIntent.Entry] = []
        for (change, before) in zip(plan.changes, befores) {
            let (after, bytes) = try PathState.read(scratch + "/" + change.path)
            if let bytes, let digest = after.digest { blobs[digest] = bytes }
            entries.append(KeepIntent.Entry(path: change.path, before: before, after: after))
        }
        let intent = KeepIntent(
            jobId: jobId, repoRoot: root, baseCommit: plan.info.baseCommit, branchHead: plan.head, staged: plan.staged,
            stat: plan.stat, entries: entries, index: index,
            createdDirectories: createdDirectories(entries, root: root))
        // The scratch copy is derived data; the intent never refers to it.
        try FileSystem.removeTree(scratch)
        try FileSystem.remove(scratchIndex)
        return .ready(intent, blobs: blobs)
    }

    /// Puts a copy of one user entry into the scratch tree.
    package static func copy(_ state: PathState, _ bytes: [UInt8]?, to path: String) throws {
        switch state.kind {
        case .absent, .other:
            return
        case .directory:
            try FileSystem.createDirectory(path, mode: 0o755)
        case .file:
            try FileSystem.createDirectory(Path.dirname(path), mode: 0o755)
            try FileEntries.writeNew(bytes ?? [], at: path, mode: state.mode)
        case .symlink:
            try FileSystem.createDirectory(Path.dirname(path), mode: 0o755)
            try FileEntries.createSymlink(bytes ?? [], at: path)
        }
    }

    /// Parents of the paths that get content which are not directories now, deepest first.
    package static func createdDirectories(_ entries: [KeepIntent.Entry], root: String) -> [String] {
        var created: Set<String> = []
        for entry in entries where entry.after.exists {
            var prefix = ""
            for component in entry.path.split(separator: "/", omittingEmptySubsequences: false).dropLast() {
                prefix += (prefix.isEmpty ? "" : "/") + component
                if !FileSystem.isDirectory(root + "/" + prefix) { created.insert(prefix) }
            }
        }
        return created.sorted {
            KeepTransfer.depth($0) != KeepTransfer.depth($1) ? KeepTransfer.depth($0) > KeepTransfer.depth($1) : $0 > $1
        }
    }

    // MARK: index entries

    /// The stage-0 entry ("<mode> <object id>") of each of `paths` that is in the index;
    /// "unmerged" for a path with conflict stages.
    package static func indexEntries(
        _ paths: [String], in directory: String, git: GitClient, environment: [String: String] = [:]
    ) throws -> [String: String] {
        guard !paths.isEmpty else { return [:] }
        let wanted = Set(paths)
        let output = try git.check(
            ["--literal-pathspecs", "ls-files", "--stage", "-z", "--"] + paths, in: directory, reading: true,
            environment: environment)
        var result: [String: String] = [:]
        for record in NULFields.split(output.stdout) {
            guard let tab = record.firstIndex(of: 0x09) else { continue }
            let path = String(decoding: record[(tab + 1)...], as: UTF8.self)
            guard wanted.contains(path) else { continue }
            let fields = String(decoding: record[..<tab], as: UTF8.self).split(separator: " ")
            guard fields.count == 3 else { continue }
            result[path] = fields[2] == "0" ? "\(fields[0]) \(fields[1])" : "unmerged"
        }
        return result
    }

    /// Sets (or, for nil, removes) index entries with one `git update-index --index-info`.
    package static func writeIndex(
        _ entries: [(path: String, entry: String?)], idLength: Int, in directory: String, git: GitClient,
        environment: [String: String] = [:]
    ) throws {
        guard !entries.isEmpty else { return }
        var input: [UInt8] = []
        for (path, entry) in entries {
            // Mode 0 removes the path; the id's length follows the repository's hash.
            let line = entry ?? "0 " + String(repeating: "0", count: idLength)
            input += Array((line + "\t" + path).utf8) + [0]
        }
        try git.check(
            ["update-index", "-z", "--index-info"], in: directory, environment: environment, input: input)
    }
}
