import CompanionSystem

/// What a cloud task will see of a branch. The cloud checks out the branch as pushed, so a
/// branch with no upstream, commits not pushed, or uncommitted changes in the tree mean the
/// cloud works on something other than what the user has locally. Computed from local refs
/// only (no fetch): an upstream that moved on the remote since the last fetch is not seen.
public struct BranchPublication: Sendable, Codable, Equatable {
    /// Why the cloud will not see the local state; `code` is stable for `--json`.
    public enum Gap: Sendable, Codable, Equatable {
        case detachedHead
        case noUpstream(branch: String)
        case aheadOfUpstream(branch: String, upstream: String, commits: Int)
        case uncommittedChanges(paths: Int)

        public var code: String {
            switch self {
            case .detachedHead: return "detached-head"
            case .noUpstream: return "no-upstream"
            case .aheadOfUpstream: return "ahead-of-upstream"
            case .uncommittedChanges: return "uncommitted-changes"
            }
        }

        public var sentence: String {
            switch self {
            case .detachedHead:
                return "HEAD is detached: pass --branch with a branch that is pushed."
            case .noUpstream(let branch):
                return
                    "\(branch) has no upstream, so the cloud may not find it: push it (git push -u) or pass --branch."
            case .aheadOfUpstream(let branch, let upstream, let commits):
                return
                    "\(branch) is \(commits) commit\(commits == 1 ? "" : "s") ahead of \(upstream): the cloud builds from "
                    + "\(upstream) as last pushed; push first to include them."
            case .uncommittedChanges(let paths):
                return
                    "\(paths) uncommitted change\(paths == 1 ? "" : "s") in the working tree will not be sent: "
                    + "the cloud sees only pushed commits."
            }
        }
    }

    /// The branch to submit: `--branch`, else the current branch (nil when detached).
    public var branch: String?
    public var currentBranch: String?
    public var upstream: String?
    public var gaps: [Gap]
}

extension GitClient {
    /// How far the local state at `directory` is from what the cloud will build for `requested`
    /// (nil: the current branch).
    public func publication(of directory: String, requested: String?) throws -> BranchPublication {
        let current = try currentBranch(in: directory)
        let branch = requested ?? current
        var gaps: [BranchPublication.Gap] = []
        var upstream: String?
        if let branch {
            let pushed = try pushedRef(of: branch, in: directory)
            upstream = pushed.map { String($0.dropFirst("refs/remotes/".count)) }
            if let pushed, let upstream, try branchExists(branch, in: directory) {
                let count = try text(
                    ["rev-list", "--count", "\(pushed)..refs/heads/\(branch)", "--"], in: directory, reading: true)
                if let commits = Int(count), commits > 0 {
                    gaps.append(.aheadOfUpstream(branch: branch, upstream: upstream, commits: commits))
                }
            } else if pushed == nil {
                gaps.append(.noUpstream(branch: branch))
            }
        } else {
            gaps.append(.detachedHead)
        }
        let status = try check(
            ["status", "--porcelain=v1", "-z", "--untracked-files=normal"], in: directory, reading: true)
        let entries = status.stdout.split(separator: 0).count
        if entries > 0 { gaps.append(.uncommittedChanges(paths: entries)) }
        return BranchPublication(branch: branch, currentBranch: current, upstream: upstream, gaps: gaps)
    }

    /// The short name of the checked-out branch, nil when HEAD is detached.
    public func currentBranch(in directory: String) throws -> String? {
        let output = try run(["symbolic-ref", "--quiet", "--short", "HEAD"], in: directory, reading: true)
        guard output.status.isSuccess else { return nil }
        let name = Self.dropFinalNewline(output.stdout)
        return name.isEmpty ? nil : name
    }

    /// The remote-tracking ref the cloud's copy of `branch` is last known as: the branch's
    /// upstream when that is a remote-tracking ref, else some `refs/remotes/<remote>/<branch>`.
    func pushedRef(of branch: String, in directory: String) throws -> String? {
        if try branchExists(branch, in: directory) {
            let output = try run(
                ["for-each-ref", "--format=%(upstream)", "refs/heads/\(branch)"], in: directory, reading: true)
            let name = Self.dropFinalNewline(output.stdout)
            if output.status.isSuccess, name.hasPrefix("refs/remotes/"), try commit(of: name, in: directory) != nil {
                return name
            }
        }
        let output = try check(["for-each-ref", "--format=%(refname)", "refs/remotes/"], in: directory, reading: true)
        let refs = Self.dropFinalNewline(output.stdout).split(separator: "\n").map(String.init)
        return refs.first { ref in
            let parts = ref.split(separator: "/", maxSplits: 3)
            return parts.count == 4 && parts[3] == branch
        }
    }
}
