import CompanionSystem

// Which files of a patch stop `git apply`, decided from git's exit status only, never from
// its message text: every file's path is checked alone (`git apply --check --include=<that
// path, its glob characters escaped>`), and the paths whose check fails are the conflicts.
// Keep, its intent, the keep preview and the patch preview of a cloud attempt all ask here.
// A check only reads: without --index it reads the patch and the working tree, with --index
// the index too.

extension WorktreeOperations {
    /// The paths among `paths` (the files of `patchFile`, as `--include` matches them: the
    /// new name, or the old one when deleted) whose changes alone fail `git apply --check`
    /// in `directory`. Asked once the whole patch failed: when every path applies alone but
    /// not all together, the patch as a whole is refused and every path is returned.
    package static func conflictingPaths(
        _ patchFile: String, paths: [String], index: Bool = false, in directory: String, git: GitClient,
        environment: [String: String] = [:]
    ) throws -> [String] {
        var seen: Set<String> = []
        let unique = paths.filter { seen.insert($0).inserted }
        var conflicts: [String] = []
        for path in unique {
            let output = try applyCheck(
                patchFile, only: path, index: index, in: directory, git: git, environment: environment)
            if !output.status.isSuccess { conflicts.append(path) }
        }
        return conflicts.isEmpty ? unique : conflicts
    }

    /// `git apply --check` of the whole patch, or of the files at one path only.
    package static func applyCheck(
        _ patchFile: String, only path: String?, index: Bool = false, in directory: String, git: GitClient,
        environment: [String: String] = [:]
    ) throws -> ProcessOutput {
        let include = path.map { ["--include=" + literalPattern($0)] } ?? []
        return try git.run(
            ["-c", "core.quotepath=false"] + applySettings + ["apply", "--check", "--binary"]
                + (index ? ["--index"] : []) + include + ["--", patchFile],
            in: directory, reading: !index, environment: environment)
    }

    /// A wildmatch pattern that matches exactly `path`: its glob characters escaped.
    package static func literalPattern(_ path: String) -> String {
        var pattern = ""
        for character in path {
            if "\\*?[".contains(character) { pattern.append("\\") }
            pattern.append(character)
        }
        return pattern
    }
}
