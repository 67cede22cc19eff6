import Testing

@testable import CompanionSystem
@testable import GitWorktrees

/// What the cloud will see of a branch: computed from local refs, never fetched.
@Suite("Branch readiness for a cloud task")
struct BranchPublicationTests {
    let temp: CloudTemp
    let git: GitClient

    init() throws { (temp, git) = try CloudTemp.withIsolatedGit("cloudbranch") }

    /// A clone of a bare remote, on main, tracking origin/main, clean.
    private func clone() throws -> String {
        let remote = temp.path + "/remote.git"
        let seed = temp.path + "/seed"
        let work = temp.path + "/work"
        try git.check(["init", "--quiet", "--bare", "-b", "main", remote], in: nil)
        try git.check(["init", "--quiet", "-b", "main", seed], in: nil)
        try AtomicFile.write(Array("one\n".utf8), to: seed + "/a.txt", mode: 0o644)
        try git.check(["add", "-A"], in: seed)
        try git.check(["commit", "--quiet", "-m", "one"], in: seed)
        try git.check(["push", "--quiet", remote, "main"], in: seed)
        try git.check(["clone", "--quiet", remote, work], in: nil)
        return work
    }

    private func commit(_ work: String, _ name: String) throws {
        try AtomicFile.write(Array(name.utf8), to: work + "/" + name, mode: 0o644)
        try git.check(["add", "-A"], in: work)
        try git.check(["commit", "--quiet", "-m", name], in: work)
    }

    @Test func aPushedCleanBranchHasNoGap() throws {
        let work = try clone()
        let state = try git.publication(of: work, requested: nil)
        #expect(state.branch == "main")
        #expect(state.upstream == "origin/main")
        #expect(state.gaps.isEmpty)
    }

    @Test func commitsAheadAndUncommittedEditsAreNamed() throws {
        let work = try clone()
        try commit(work, "b.txt")
        try commit(work, "c.txt")
        try AtomicFile.write(Array("edited\n".utf8), to: work + "/a.txt", mode: 0o644)
        try AtomicFile.write(Array("new\n".utf8), to: work + "/untracked.txt", mode: 0o644)
        let state = try git.publication(of: work, requested: nil)
        #expect(
            state.gaps == [
                .aheadOfUpstream(branch: "main", upstream: "origin/main", commits: 2), .uncommittedChanges(paths: 2),
            ])
        #expect(state.gaps.map(\.code) == ["ahead-of-upstream", "uncommitted-changes"])
    }

    @Test func aLocalOnlyBranchHasNoUpstreamUntilPushed() throws {
        let work = try clone()
        try git.check(["switch", "--quiet", "-c", "topic"], in: work)
        try commit(work, "t.txt")
        #expect(try git.publication(of: work, requested: nil).gaps == [.noUpstream(branch: "topic")])
        // Pushed without -u: the remote-tracking ref is found by name.
        try git.check(["push", "--quiet", "origin", "topic"], in: work)
        let pushed = try git.publication(of: work, requested: nil)
        #expect(pushed.gaps.isEmpty)
        #expect(pushed.upstream == "origin/topic")
    }

    @Test func requestedBranchIsCheckedInsteadOfTheCurrentOne() throws {
        let work = try clone()
        try git.check(["switch", "--quiet", "-c", "topic"], in: work)
        let state = try git.publication(of: work, requested: "main")
        #expect(state.branch == "main" && state.currentBranch == "topic")
        #expect(state.gaps.isEmpty)
        #expect(try git.publication(of: work, requested: "nowhere").gaps == [.noUpstream(branch: "nowhere")])
    }

    @Test func aDetachedHeadNeedsABranch() throws {
        let work = try clone()
        try git.check(["switch", "--quiet", "--detach", "HEAD"], in: work)
        let state = try git.publication(of: work, requested: nil)
        #expect(state.branch == nil)
        #expect(state.gaps == [.detachedHead])
    }
}

/// A fetched diff becomes one commit on the job branch without touching the user's tree.
@Suite("Committing a fetched patch on the job branch")
struct PatchBranchTests {
    let temp: CloudTemp
    let git: GitClient

    init() throws { (temp, git) = try CloudTemp.withIsolatedGit("cloudpatch") }

    private func repository() throws -> (root: String, base: String) {
        let root = temp.path + "/repo"
        try git.check(["init", "--quiet", "-b", "main", root], in: nil)
        try AtomicFile.write(Array("one\n".utf8), to: root + "/a.txt", mode: 0o644)
        try git.check(["add", "-A"], in: root)
        try git.check(["commit", "--quiet", "-m", "one"], in: root)
        return (root, try git.text(["rev-parse", "HEAD"], in: root))
    }

    private func info(_ root: String, _ base: String, id: String = "task-mx5sgrms-li0q") -> WorktreeInfo {
        WorktreeInfo(
            repoRoot: root, path: root + "/.worktrees/" + id, branch: "codex/" + id, baseRef: "main", baseCommit: base)
    }

    private func patch(_ text: String) throws -> String {
        let path = temp.path + "/p.patch"
        try AtomicFile.write(Array(text.utf8), to: path)
        return path
    }

    @Test func aPatchThatAppliesBecomesOneCommitOnTheBase() throws {
        let (root, base) = try repository()
        try AtomicFile.write(Array("mine\n".utf8), to: root + "/a.txt", mode: 0o644)  // the user's own edit
        let indexBefore = try FileSystem.read(root + "/.git/index")
        let diff = "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1,2 @@\n one\n+two\n"
        let result = try WorktreeOperations.commitPatch(
            try patch(diff), bases: [base, "HEAD"], info: info(root, base), message: "m",
            scratchIndex: temp.path + "/scratch.index", git: git)
        guard case .committed(let commit, let usedBase) = result else {
            Issue.record("expected a commit, got \(result)")
            return
        }
        #expect(usedBase == base)
        #expect(try git.text(["show", commit + ":a.txt"], in: root) == "one\ntwo")
        #expect(try git.text(["rev-parse", "codex/task-mx5sgrms-li0q"], in: root) == commit)
        #expect(try FileSystem.read(root + "/a.txt") == Array("mine\n".utf8), "the working tree is untouched")
        #expect(try FileSystem.read(root + "/.git/index") == indexBefore, "the user's index is untouched")
        #expect(!FileSystem.exists(temp.path + "/scratch.index"))
        #expect(throws: GitError.self) {
            _ = try WorktreeOperations.commitPatch(
                try patch(diff), bases: [base], info: info(root, base), message: "m",
                scratchIndex: temp.path + "/scratch.index", git: git)
        }
    }

    @Test func aPatchThatAppliesNowhereMakesNoBranch() throws {
        let (root, base) = try repository()
        let diff = "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1,2 @@\n other\n+two\n"
        let result = try WorktreeOperations.commitPatch(
            try patch(diff), bases: [base, "HEAD"], info: info(root, base), message: "m",
            scratchIndex: temp.path + "/scratch.index", git: git)
        guard case .doesNotApply(let detail) = result else {
            Issue.record("expected a refusal, got \(result)")
            return
        }
        #expect(!detail.isEmpty)
        #expect(try !git.branchExists("codex/task-mx5sgrms-li0q", in: root))
    }
}
