import Testing

import CompanionJSON
import CompanionTestSupport
@testable import ShellGuard

/// A labelled case: the command line and why the guard decides as it does.
struct GuardCase: CustomTestStringConvertible, Sendable {
    var command: String
    var why: String
    var testDescription: String { why }
    init(_ command: String, _ why: String) {
        self.command = command
        self.why = why
    }
}

extension GuardCase {
    /// The families of Tests/Fixtures/shell-guard/`name`.json, in order. The file is an array of
    /// `{"family": name, "about": note (optional), "cases": [[command, why], …]}`; a family
    /// without cases, or a case that is not two strings, stops the run.
    static func families(_ name: String) -> [(family: String, cases: [GuardCase])] {
        let file = "shell-guard/\(name).json"
        guard let families = TestFixtures.json(file).arrayValue, !families.isEmpty else {
            preconditionFailure("\(file): expected a non-empty array of families")
        }
        return families.map { family in
            guard let title = family["family"]?.stringValue, let rows = family["cases"]?.arrayValue, !rows.isEmpty
            else { preconditionFailure("\(file): a family needs a name and cases: \(family)") }
            return (
                title,
                rows.map { row in
                    guard row.arrayValue?.count == 2, let command = row[0]?.stringValue, let why = row[1]?.stringValue
                    else { preconditionFailure("\(file), \(title): a case is [command, why]: \(row)") }
                    return GuardCase(command, why)
                }
            )
        }
    }

    /// Every case of Tests/Fixtures/shell-guard/`name`.json, in order.
    static func all(in name: String) -> [GuardCase] { families(name).flatMap(\.cases) }
}

/// Indirect invocations (issue 14), by family. Every one must be denied. The families are data
/// (Tests/Fixtures/shell-guard/indirect-deny.json) but for `bracesAndNesting`, whose deep
/// nestings are generated here.
enum IndirectCorpus {
    static let families = GuardCase.families("indirect-deny")

    static let bracesAndNesting: [GuardCase] = [
        .init("{co,}dex exec", "brace expansion producing codex first"),
        .init("cod{e,}x exec", "brace expansion inside the word"),
        .init("{c,}o{d,}ex exec", "two brace groups"),
        .init("/usr/local/bin/cod?x exec", "glob matching codex"),
        .init("bash -c '{co,}dex exec'", "brace expansion inside bash -c"),
        .init(
            String(repeating: "$(", count: 20) + "codex" + String(repeating: ")", count: 20),
            "$( nested past the parser limit"),
        .init(String(repeating: "eval ", count: 12) + "codex", "eval chain"),
        .init(
            String(repeating: "eval \"", count: 12) + "codex" + String(repeating: "\"", count: 12),
            "nested eval strings"),
        .init(nestedBashC(12), "bash -c nested past the depth limit"),
        .init(String(repeating: "sudo ", count: 70) + "codex", "wrapper chain past the unwrap limit"),
        .init(
            "e() { e2 \"$@\"; }; " + (2...12).map { "e\($0)() { e\($0 + 1) \"$@\"; }; " }.joined()
                + "e13() { \"$@\"; }; e codex", "function chain past the depth limit"),
    ]

    static func nestedBashC(_ depth: Int) -> String {
        var s = "codex exec"
        for _ in 0..<depth { s = "bash -c " + InvocationFinder.quoteForShell(s) }
        return s
    }

    /// With the classes fixed later (`ClassCorpus`, `FollowUpCorpus`), run by the same test.
    static let all: [GuardCase] =
        families.flatMap(\.cases) + bracesAndNesting + ClassCorpus.all + FollowUpCorpus.deny
}

/// Harmless lines that must stay allowed, each with the reason
/// (Tests/Fixtures/shell-guard/indirect-allow.json).
enum HarmlessCorpus {
    static let all = GuardCase.all(in: "indirect-allow")
}

@Suite("Indirect invocation corpus")
struct IndirectInvocationCorpusTests {
    @Test("denies indirect invocations", arguments: IndirectCorpus.all)
    func denies(_ c: GuardCase) {
        #expect(CodexInvocationGuard.findInvocation(in: c.command) != nil, "should deny (\(c.why)): \(c.command)")
    }

    @Test("allows harmless lines", arguments: HarmlessCorpus.all + ClassHarmless.all + FollowUpCorpus.allow)
    func allows(_ c: GuardCase) {
        let found = CodexInvocationGuard.findInvocation(in: c.command)
        #expect(found == nil, "should allow (\(c.why)): \(c.command) (found \(found ?? ""))")
    }

    @Test func familiesHaveAtLeastTenCases() {
        #expect(
            IndirectCorpus.families.map(\.family) == [
                "variables", "runtimeScripts", "aliasesAndFunctions", "wrappers", "packageRunners",
            ])
        for family in IndirectCorpus.families.map(\.cases) + [IndirectCorpus.bracesAndNesting] {
            #expect(family.count >= 10)
        }
    }
}
