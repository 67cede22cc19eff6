import Testing

@testable import CompanionSystem
@testable import GitWorktrees

/// What the cloud will see of a branch: computed from local refs, never fetched.
@Suite("Branch readiness for a cloud task")
struct BranchPublicationTests {
    let temp = CloudTemp("cloudbranch")
    let git: GitClient

    init() throws {
        git = try GitClient(overrides: [
            "HOME": temp.path, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@e.invalid",
            "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@e.invalid",
        ])
    }

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
