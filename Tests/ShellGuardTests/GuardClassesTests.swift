import Testing

@testable import ShellGuard

/// Classes of indirection fixed after the first held-out corpus, each written fresh
/// (Tests/Fixtures/shell-guard/class-deny.json); run by `IndirectInvocationCorpusTests` with the
/// rest of the corpus.
enum ClassCorpus {
    static let all = GuardCase.all(in: "class-deny")
}

/// Harmless interpreter and shell lines that only print or transform codex text
/// (Tests/Fixtures/shell-guard/class-allow.json); run by `IndirectInvocationCorpusTests`.
enum ClassHarmless {
    static let all = GuardCase.all(in: "class-allow")
}

@Suite("Indirection classes")
struct GuardClassesTests {
    @Test func interpreterCallsAreRead() {
        #expect(InterpreterCode.processes(in: #"os.system("ls")"#, language: .python) == [.shell("ls")])
        #expect(InterpreterCode.processes(in: #"print("codex")"#, language: .python) == [])
        #expect(InterpreterCode.processes(in: #"spawn("a", ["b"])"#, language: .javascript) == [.argv(["a", "b"])])
        #expect(InterpreterCode.processes(in: "system(x)", language: .awk) == [.computed])
    }
}
