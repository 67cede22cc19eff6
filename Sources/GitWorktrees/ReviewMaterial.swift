import CompanionSystem
import CompanionJSON

/// The description of a change that goes into an adversarial review's prompt. Small
/// changes are inlined (status, diff, untracked text files); larger ones are described
/// (status, stat, file list) and Codex is told to read the diff itself with git, which its
/// read-only sandbox allows. Either way the text stays under `limits.total` characters.
public struct ReviewMaterial: Sendable, Equatable {
    public struct Limits: Sendable, Equatable {
        /// The diff is inlined only up to this many bytes.
        public var inlineDiff: Int
        /// An untracked file is inlined only up to this many bytes (and if it is text).
        public var untrackedFile: Int
        /// Listed paths at most (the rest is counted).
        public var listedPaths: Int

        public init(inlineDiff: Int = 64 * 1024, untrackedFile: Int = 24 * 1024, listedPaths: Int = 200) {
            self.inlineDiff = inlineDiff
            self.untrackedFile = untrackedFile
            self.listedPaths = listedPaths
        }
    }

    public var text: String
    /// Whether the diff itself is in `text`.
    public var inline: Bool

    /// Collects the material for `scope`.
    public static func collect(_ scope: ReviewScope, git: GitClient, limits: Limits = Limits()) throws
        -> ReviewMaterial
    {
        let root = scope.repoRoot
        let diffArguments: [String]
        let statArguments: [String]
        let readCommands: String
        var header: [String] = []
        switch scope.kind {
        case .uncommitted:
            let hasHead = try git.hasCommit(in: root)
            diffArguments = ["diff", "--no-ext-diff", "--no-color"] + (hasHead ? ["HEAD"] : ["--cached"])
            statArguments = ["diff", "--stat", "--no-color"] + (hasHead ? ["HEAD"] : ["--cached"])
            readCommands = "`git status`, `git diff`, `git diff --cached` and reading the untracked files"
            header.append("git status --short --untracked-files=all:")
            header.append(
                try git.text(["status", "--short", "--untracked-files=all"], in: root, reading: true))
        case .base:
            let base = scope.mergeBase ?? "HEAD"
            diffArguments = ["diff", "--no-ext-diff", "--no-color", base]
            statArguments = ["diff", "--stat", "--no-color", base]
            readCommands = "`git log \(base)..HEAD` and `git diff \(base)`"
            header.append("Commits since the merge base \(base):")
            header.append(
                try git.text(["log", "--oneline", "--no-color", "-n", "50", "\(base)..HEAD"], in: root, reading: true))
        case .commit:
            let sha = scope.commit ?? "HEAD"
            diffArguments = ["show", "--no-ext-diff", "--no-color", "--format=commit %H%n%n%B", sha]
            statArguments = ["show", "--stat", "--no-color", "--format=", sha]
            readCommands = "`git show \(sha)`"
        }
        let stat = try git.text(statArguments, in: root, reading: true)
        let diff = try git.check(diffArguments, in: root, reading: true).stdout
        let untracked = scope.kind == .uncommitted ? try untrackedFiles(root, git: git) : []
        var parts = header.filter { !$0.isEmpty }
        parts.append("Diff stat:\n" + (stat.isEmpty ? "(no tracked changes)" : stat))
        if diff.count <= limits.inlineDiff {
            if !diff.isEmpty { parts.append("The diff:\n```diff\n" + String(decoding: diff, as: UTF8.self) + "\n```") }
            parts += untrackedSection(untracked, root: root, limits: limits)
            return ReviewMaterial(text: parts.joined(separator: "\n\n"), inline: true)
        }
        parts.append(
            "The diff is \(diff.count) bytes, too large to include. Read it yourself with read-only git commands: "
                + readCommands + ".")
        if !untracked.isEmpty { parts.append(listing("Untracked files", untracked, limit: limits.listedPaths)) }
        return ReviewMaterial(text: parts.joined(separator: "\n\n"), inline: false)
    }

    static func untrackedFiles(_ root: String, git: GitClient) throws -> [String] {
        let output = try git.check(
            ["ls-files", "--others", "--exclude-standard", "-z"], in: root, reading: true)
        return NULFields.split(output.stdout).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Untracked text files up to the per-file limit, whole; the others listed as skipped.
    static func untrackedSection(_ paths: [String], root: String, limits: Limits) -> [String] {
        guard !paths.isEmpty else { return [] }
        var sections: [String] = []
        var skipped: [String] = []
        var budget = limits.inlineDiff
        for path in paths {
            let full = Path.join(root, path)
            guard let size = FileSystem.size(full), size <= limits.untrackedFile, size <= budget,
                // Unreadable files are listed as skipped in the review material, like binary ones.
                let bytes = (try? FileSystem.read(full)) ?? nil, !bytes.contains(0),
                let text = String(validating: bytes, as: UTF8.self)
            else {
                skipped.append(path)
                continue
            }
            budget -= size
            sections.append("New file \(path):\n```\n\(text)\n```")
        }
        if !skipped.isEmpty {
            sections.append(
                listing(
                    "Untracked files not included (binary, large or unreadable)", skipped, limit: limits.listedPaths))
        }
        return sections
    }

    static func listing(_ title: String, _ paths: [String], limit: Int) -> String {
        var lines = paths.prefix(limit).map { "- " + $0 }
        if paths.count > limit { lines.append("- … and \(paths.count - limit) more") }
        return title + ":\n" + lines.joined(separator: "\n")
    }
}
