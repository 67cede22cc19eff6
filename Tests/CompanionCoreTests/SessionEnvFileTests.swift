#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Testing

import CompanionSystem
import CompanionTestSupport
import CompanionJSON
import ShellGuard
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs
import CompanionCLI

@Suite("SessionEnvFile")
struct SessionEnvFileTests {
    /// A fresh private directory for one test.
    private func makeDirectory() throws -> String {
        var template = Array("/tmp/session-env-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let pointer = try #require(made)
        return String(cString: pointer)
    }

    private func read(_ path: String) throws -> String {
        String(decoding: try #require(try FileSystem.read(path)), as: UTF8.self)
    }

    private func write(_ text: String, to path: String) throws {
        try AtomicFile.write(Array(text.utf8), to: path)
    }

    private func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// Runs `body` with the path of `env.sh` in a fresh directory (removed afterwards), the
    /// file holding `existing` (nil: no file yet).
    private func withEnvFile<T>(holding existing: String?, _ body: (String) throws -> T) throws -> T {
        let dir = try makeDirectory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/env.sh"
        if let existing { try write(existing, to: path) }
        return try body(path)
    }

    /// The text of an env file that held `existing` (nil: no file) after one update with `variables`.
    private func updated(from existing: String?, _ variables: [(name: String, value: String)]) throws -> String {
        try withEnvFile(holding: existing) { path in
            try SessionEnvFile.update(path: path, variables: variables)
            return try read(path)
        }
    }

    @Test func fiveUpdatesLeaveOneLinePerVariable() throws {
        let others = [
            "# written by another tool",
            "export OTHER_TOOL_HOME='/opt/other'",
            "",
            "PATH=\"$PATH:/opt/other/bin\"",
            "declare -x LANG=C.UTF-8",
        ]
        let result = try withEnvFile(holding: others.joined(separator: "\n") + "\n") { path in
            for round in 1...5 {
                try SessionEnvFile.update(
                    path: path,
                    variables: [
                        (name: "CODEX_COMPANION_SESSION_ID", value: "session-\(round)"),
                        (name: "CODEX_COMPANION_STATE_DIR", value: "/state/\(round)"),
                    ])
            }
            return lines(try read(path))
        }
        #expect(
            result.filter { $0.contains("CODEX_COMPANION_SESSION_ID") } == [
                "export CODEX_COMPANION_SESSION_ID='session-5'"
            ])
        #expect(
            result.filter { $0.contains("CODEX_COMPANION_STATE_DIR") } == [
                "export CODEX_COMPANION_STATE_DIR='/state/5'"
            ])
        // Other tools' lines untouched and in their order, ours after them, one final newline.
        #expect(
            result == others + [
                "export CODEX_COMPANION_SESSION_ID='session-5'",
                "export CODEX_COMPANION_STATE_DIR='/state/5'",
                "",
            ])
    }

    @Test func createsAMissingFile() throws {
        #expect(
            try updated(from: nil, [(name: "CODEX_COMPANION_SESSION_ID", value: "abc")])
                == "export CODEX_COMPANION_SESSION_ID='abc'\n")
    }

    @Test func keepsAnExistingFileWithoutFinalNewline() throws {
        #expect(try updated(from: "export A=1", [(name: "B", value: "2")]) == "export A=1\nexport B='2'\n")
    }

    @Test func duplicatesFromAnOlderVersionCollapse() throws {
        let existing = [
            "export KEEP=1",
            "export CODEX_COMPANION_SESSION_ID='old-1'",
            "export OTHER=2",
            "CODEX_COMPANION_SESSION_ID=old-2",
            "  export   CODEX_COMPANION_SESSION_ID=\"old-3\"",
            "declare -x CODEX_COMPANION_SESSION_ID='old-4'",
            "export CODEX_COMPANION_SESSION_ID_OTHER=unrelated",
            "export OTHER3=3",
        ]
        let text = try updated(
            from: existing.joined(separator: "\n") + "\n", [(name: "CODEX_COMPANION_SESSION_ID", value: "new")])
        #expect(
            lines(text) == [
                "export KEEP=1",
                "export CODEX_COMPANION_SESSION_ID='new'",
                "export OTHER=2",
                "export CODEX_COMPANION_SESSION_ID_OTHER=unrelated",
                "export OTHER3=3",
                "",
            ])
    }

    @Test func multiLineValueOfAnOlderVersionIsReplacedWhole() throws {
        #expect(
            try updated(from: "export A='line one\nline two'\nexport B=1\n", [(name: "A", value: "x")])
                == "export A='x'\nexport B=1\n")
    }

    @Test func unterminatedOldValueDoesNotSwallowOtherLines() throws {
        #expect(
            try updated(from: "export A='broken\nexport B=1\n", [(name: "A", value: "x")])
                == "export A='x'\nexport B=1\n")
    }

    @Test func invalidNameIsRejected() throws {
        try withEnvFile(holding: nil) { path in
            #expect(throws: SessionEnvFile.InvalidName.self) {
                try SessionEnvFile.update(path: path, variables: [(name: "BAD-NAME", value: "x")])
            }
            #expect(!FileSystem.exists(path))
        }
    }

    @Test(
        "values round-trip through bash",
        arguments: [
            "plain",
            "with spaces  and\ttab",
            "it's 'quoted' \"twice\"",
            "$HOME `whoami` $(id) \\ backslash",
            "multi\nline\nvalue",
            "unicode: é ✓ 日本",
            "",
            "'",
            "ends with backslash\\",
        ])
    func roundTrip(_ value: String) throws {
        let bash = try #require(Subprocess.resolve("bash"))
        let (output, text) = try withEnvFile(holding: "export BEFORE=1\n") { path in
            // Update twice: the second pass must find and replace the first line.
            try SessionEnvFile.update(path: path, variables: [(name: "CODEX_COMPANION_TEST", value: "first")])
            try SessionEnvFile.update(path: path, variables: [(name: "CODEX_COMPANION_TEST", value: value)])
            let output = try Subprocess.run(
                SpawnRequest(
                    executable: bash,
                    arguments: ["-c", "source \"$1\"; printf %s \"$CODEX_COMPANION_TEST\"", "bash", path]),
                timeout: 10)
            return (output, try read(path))
        }
        #expect(output.status.isSuccess)
        #expect(output.stdoutText == value)
        #expect(output.stderrText == "")
        #expect(text.hasPrefix("export BEFORE=1\nexport CODEX_COMPANION_TEST="))
        #expect(lines(text).count == 3)
    }
}
