import Testing

@testable import ShellGuard

/// Classes fixed after the second round of training misses, each written fresh
/// (Tests/Fixtures/shell-guard/follow-up-deny.json and follow-up-allow.json, each family with a
/// note on why it is decided so); run by `IndirectInvocationCorpusTests` with the rest of the corpus.
enum FollowUpCorpus {
    static let deny = GuardCase.all(in: "follow-up-deny")
    static let allow = GuardCase.all(in: "follow-up-allow")
}
