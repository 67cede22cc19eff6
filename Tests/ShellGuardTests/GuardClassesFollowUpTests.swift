import Testing

@testable import ShellGuard

/// Classes fixed after the second round of training misses, each written fresh.
enum FollowUpCorpus {
    static let deny: [GuardCase] = [
        // A function that is not exported is unknown in a child shell: there `codex` is the CLI.
        .init(
            #"codex() { "$CLAUDE_PLUGIN_ROOT/bin/codex-companion" "$@"; }; bash -c "codex exec hi""#,
            "function not exported, so the child shell runs the real codex"),
        .init(
            #"codex() { command codex "$@"; }; export -f codex; bash -c "codex exec hi""#,
            "exported function whose body runs the codex CLI"),
        .init(
            #"_cc="$R/bin/codex-companion"; _cc="$R/bin/codex"; codex() { "$_cc" "$@"; }; codex exec x"#,
            "the variable was reassigned to the codex binary before the call"),
    ]

    static let allow: [GuardCase] = [
        .init(
            #"codex() { "$HOME/plugin/bin/codex-companion" "$@"; }; export -f codex; sh -c "codex review""#,
            "exported companion function called from sh -c"),
        .init(
            #"codex() { "${CLAUDE_PLUGIN_ROOT}/bin/codex-companion" "$@"; }; export -f codex; bash -lc 'codex status --all'"#,
            "exported companion function called from bash -lc"),
        .init(
            #"cc="${CLAUDE_PLUGIN_ROOT}/bin/codex-companion"; codex() { "${cc}" "$@"; }; codex result"#,
            "function calls the companion through a braced variable"),
        .init(
            #"launcher="$PLUGIN/bin/codex-companion"; codex() { $launcher "$@"; }; codex cancel job-1"#,
            "function calls the companion through an unquoted variable"),
    ]
}

@Suite("Indirection classes, follow-up")
struct GuardClassesFollowUpTests {
    @Test("denies", arguments: FollowUpCorpus.deny)
    func denies(_ c: GuardCase) {
        #expect(CodexInvocationGuard.findInvocation(in: c.command) != nil, "should deny (\(c.why)): \(c.command)")
    }

    @Test("allows", arguments: FollowUpCorpus.allow)
    func allows(_ c: GuardCase) {
        let found = CodexInvocationGuard.findInvocation(in: c.command)
        #expect(found == nil, "should allow (\(c.why)): \(c.command) (found \(found ?? ""))")
    }
}
