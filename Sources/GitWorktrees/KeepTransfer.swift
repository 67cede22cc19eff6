import CompanionSystem

/// Moves the paths of a keep intent between `before` and `after`, one path at a time, with
/// compare-before-write: a path is only ever replaced after its current entry has been moved
/// aside (one rename) and checked against what was expected there; a new entry only takes a
/// name that is free (a hard link, which never replaces anything). The aside and the new
/// entry carry names derived from the job and the path's number, so a recovery finds them.
package struct KeepTransfer {
    package let intent: KeepIntent
    /// The journal directory (blobs).
    package let directory: String

    package init(intent: KeepIntent, directory: String) {
        self.intent = intent
        self.directory = directory
    }

    package enum Step: Equatable {
        case done
        /// The path did not hold what was expected, or something took its name meanwhile.
        /// `kept` names an entry set aside that may hold the user's bytes (nil when none).
        case changed(kept: String?)
    }

    package func absolute(_ path: String) -> String { intent.repoRoot + "/" + path }

    /// `<dir>/.codex-keep-<job>-<n>.<suffix>` beside the entry's path.
    package func side(_ number: Int, _ suffix: String) -> String {
        let path = absolute(intent.entries[number].path)
        return Path.dirname(path) + "/.codex-keep-\(intent.jobId)-\(number).\(suffix)"
    }

    package func relative(_ absolutePath: String) -> String {
        GitText.dropPrefix(absolutePath, intent.repoRoot + "/")
    }

    /// Replaces what entry `number` holds, which must be `expected`, with `target`.
    package func write(_ number: Int, expected: PathState, target: PathState) throws -> Step {
        let path = absolute(intent.entries[number].path)
        guard try parentsAreDirectories(of: intent.entries[number].path, creating: target.exists) else {
            return .changed(kept: nil)
        }
        var aside: String?
        switch expected.kind {
        case .absent:
            if FileSystem.exists(path) { return .changed(kept: nil) }
        case .directory:
            if target.kind == .directory { return .done }
            guard FileEntries.inspect(path)?.kind == .directory, FileEntries.removeDirectoryIfEmpty(path) else {
                return .changed(kept: nil)
            }
        case .file, .symlink, .other:
            let old = side(number, "old")
            if FileSystem.exists(old) { return .changed(kept: old) }
            guard FileSystem.exists(path) else { return .changed(kept: nil) }
            try FileSystem.rename(path, to: old)
            if try PathState.read(old).state != expected {
                // Not what was checked: put it back untouched (never over a newer entry).
                return .changed(kept: try FileEntries.moveWithoutReplacing(old, to: path) ? nil : old)
            }
            aside = old
        }
        guard try install(number, target, at: path) else { return .changed(kept: aside) }
        if let aside { try FileSystem.remove(aside) }
        FileEntries.syncDirectory(Path.dirname(path))
        return .done
    }

    /// Puts `target` at the free name `path`; false when something took the name meanwhile.
    package func install(_ number: Int, _ target: PathState, at path: String) throws -> Bool {
        switch target.kind {
        case .absent:
            return true
        case .directory:
            if FileSystem.exists(path) { return FileEntries.inspect(path)?.kind == .directory }
            try FileSystem.createDirectory(path, mode: 0o755)
            return true
        case .file, .symlink:
            let new = side(number, "new")
            if FileSystem.exists(new) { try FileSystem.remove(new) }
            let bytes = try KeepJournal.blob(directory, target.digest)
            if target.kind == .file {
                try FileEntries.writeNew(bytes, at: new, mode: target.mode)
            } else {
                try FileEntries.createSymlink(bytes, at: new)
            }
            if try FileEntries.moveWithoutReplacing(new, to: path) { return true }
            try FileSystem.remove(new)
            return false
        case .other:
            return false
        }
    }

    /// Every existing parent of `relative` is a real directory (never a link that would lead
    /// outside the tree); missing ones are created when `creating`.
    package func parentsAreDirectories(of relative: String, creating: Bool) throws -> Bool {
        var prefix = intent.repoRoot
        for component in relative.split(separator: "/", omittingEmptySubsequences: false).dropLast() {
            prefix += "/" + component
            switch FileEntries.inspect(prefix)?.kind {
            case .directory?: continue
            case nil:
                guard creating else { return true }
                try FileSystem.createDirectory(prefix, mode: 0o755)
            default: return false
            }
        }
        return true
    }

    // MARK: the order of the writes

    package static func depth(_ path: String) -> Int { path.split(separator: "/").count }

    /// Removals (what becomes absent, and directories that become files) deepest first, then
    /// everything that gets content, shallowest first.
    package func applySteps() -> [(number: Int, expected: PathState, target: PathState)] {
        let numbered = intent.entries.enumerated().filter { $0.element.before != $0.element.after }
        var removals: [(Int, PathState, PathState)] = []
        var writes: [(Int, PathState, PathState)] = []
        for (number, entry) in numbered.sorted(by: { Self.depth($0.element.path) > Self.depth($1.element.path) }) {
            let emptiesDirectory = entry.before.kind == .directory && entry.after.kind != .directory
            if !entry.after.exists || emptiesDirectory { removals.append((number, entry.before, .absent)) }
        }
        for (number, entry) in numbered.sorted(by: { Self.depth($0.element.path) < Self.depth($1.element.path) }) {
            guard entry.after.exists, !(entry.before.kind == .directory && entry.after.kind == .directory) else {
                continue
            }
            writes.append((number, entry.before.kind == .directory ? .absent : entry.before, entry.after))
        }
        return (removals + writes).map { (number: $0.0, expected: $0.1, target: $0.2) }
    }

    // MARK: rollback

    /// Restores `before` wherever the keep's own `after` (or its own intermediate state) is
    /// still there, and leaves everything else alone, reporting it. Safe to run again.
    package func rollBack() throws -> KeepSettlement {
        var settlement = KeepSettlement()
        for number in intent.entries.indices { try settleSideEntries(number, into: &settlement) }
        let order = intent.entries.indices.sorted {
            Self.depth(intent.entries[$0].path) > Self.depth(intent.entries[$1].path)
        }
        // Paths the keep created, deepest first; then the directories it made; then the rest.
        for number in order where !intent.entries[number].before.exists {
            try restore(number, into: &settlement)
        }
        for directory in intent.createdDirectories {
            FileEntries.removeDirectoryIfEmpty(intent.repoRoot + "/" + directory)
        }
        for number in order.reversed() where intent.entries[number].before.exists {
            try restore(number, into: &settlement)
        }
        let restored = Set(settlement.restored)
        settlement.restored = intent.entries.map(\.path).filter(restored.contains)
        return settlement
    }

    package func restore(_ number: Int, into settlement: inout KeepSettlement) throws {
        let entry = intent.entries[number]
        let current = try PathState.read(absolute(entry.path)).state
        if current == entry.before {
            settlement.restored.append(entry.path)
            return
        }
        let ours: PathState?
        if current == entry.after {
            ours = entry.after
        } else if entry.before.kind == .directory && current == .absent {
            ours = .absent
        } else {
            ours = nil
        }
        guard let ours else {
            settlement.leftToUser.append(entry.path)
            return
        }
        switch try write(number, expected: ours, target: entry.before) {
        case .done: settlement.restored.append(entry.path)
        case .changed(let kept):
            settlement.leftToUser.append(entry.path)
            if let kept, try PathState.read(kept).state == entry.after { try FileSystem.remove(kept) }
        }
    }

    /// Entries a crashed write left beside a path: the new one is always ours and goes; the
    /// one set aside goes back when the path is free, and is dropped only when both it and the
    /// path hold the keep's `before` or `after` (a write that had finished). Anything else is
    /// reported and kept.
    package func settleSideEntries(_ number: Int, into settlement: inout KeepSettlement) throws {
        let entry = intent.entries[number]
        let new = side(number, "new")
        if FileSystem.exists(new) { try FileSystem.remove(new) }
        let old = side(number, "old")
        guard FileSystem.exists(old) else { return }
        let path = absolute(entry.path)
        if !FileSystem.exists(path), try FileEntries.moveWithoutReplacing(old, to: path) { return }
        let known = [entry.before, entry.after]
        // Both bytes are in the journal's blobs, so the copy set aside holds nothing unique.
        if try known.contains(PathState.read(old).state), try known.contains(PathState.read(path).state) {
            try FileSystem.remove(old)
        } else {
            settlement.leftToUser.append(relative(old))
        }
    }
}
