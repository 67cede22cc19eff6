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

    @Test func fiveUpdatesLeaveOneLinePerVariable() throws {
        let dir = try makeDirectory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/env.sh"
        let others = [
            "# written by another tool",
            "export OTHER_TOOL_HOME='/opt/other'",
            "",
            "PATH=\"$PATH:/opt/other/bin\"",
            "declare -x LANG=C.UTF-8",
        ]
        try write(others.joined(separator: "\n") + "\n", to: path)
        for round in 1...5 {
            try SessionEnvFile.update(
                path: path,
                variables: [
                    (name: "CODEX_COMPANION_SESSION_ID", value: "session-\(round)"),
                    (name: "CODEX_COMPANION_STATE_DIR", value: "/state/\(round)"),
                ])
        }
        let result = lines(try read(path))
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
        let dir = try makeDirectory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/new.sh"
        try SessionEnvFile.update(path: path, variables: [(name: "CODEX_COMPANION_SESSION_ID", value: "abc")])
        #expect(try read(path) == "export CODEX_COMPANION_SESSION_ID='abc'\n")
    }

    @Test func keepsAnExistingFileWithoutFinalNewline() throws {
        let dir = try makeDirectory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/env.sh"
        try write("export A=1", to: path)
        try SessionEnvFile.update(path: path, variables: [(name: "B", value: "2")])
        #expect(try read(path) == "export A=1\nexport B='2'\n")
    }

    @Test func duplicatesFromAnOlderVersionCollapse() throws {
        let dir = try makeDirectory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/env.sh"
        try write(
            [
                "export KEEP=1",
                "export CODEX_COMPANION_SESSION_ID='old-1'",
                "export OTHER=2",
                "CODEX_COMPANION_SESSION_ID=old-2",
                "  export   CODEX_COMPANION_SESSION_ID=\"old-3\"",
                "declare -x CODEX_COMPANION_SESSION_ID='old-4'",
                "export CODEX_COMPANION_SESSION_ID_OTHER=unrelated",
                "export OTHER3=3",
            ].joined(separator: "\n") + "\n", to: path)
        try SessionEnvFile.update(path: path, variables: [(name: "CODEX_COMPANION_SESSION_ID", value: "new")])
        #expect(
            lines(try read(path)) == [
                "export KEEP=1",
                "export CODEX_COMPANION_SESSION_ID='new'",
                "export OTHER=2",
                "export CODEX_COMPANION_SESSION_ID_OTHER=unrelated",
                "export OTHER3=3",
                "",
            ])
    }

    @Test func multiLineValueOfAnOlderVersionIsReplacedWhole() throws {
        let dir = try makeDirectory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/env.sh"
        try write("export A='line one\nline two'\nexport B=1\n", to: path)
        try SessionEnvFile.update(path: path, variables: [(name: "A", value: "x")])
        #expect(try read(path) == "export A='x'\nexport B=1\n")
    }

    @Test func unterminatedOldValueDoesNotSwallowOtherLines() throws {
        let dir = try makeDirectory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/env.sh"
        try write("export A='broken\nexport B=1\n", to: path)
        try SessionEnvFile.update(path: path, variables: [(name: "A", value: "x")])
        #expect(try read(path) == "export A='x'\nexport B=1\n")
    }

    @Test func invalidNameIsRejected() throws {
        let dir = try makeDirectory()
        defer { try? FileSystem.removeTree(dir) }
        #expect(throws: SessionEnvFile.InvalidName.self) {
            try SessionEnvFile.update(path: dir + "/env.sh", variables: [(name: "BAD-NAME", value: "x")])
        }
        #expect(!FileSystem.exists(dir + "/env.sh"))
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
        let dir = try makeDirectory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/env.sh"
        try write("export BEFORE=1\n", to: path)
        // Update twice: the second pass must find and replace the first line.
        try SessionEnvFile.update(path: path, variables: [(name: "CODEX_COMPANION_TEST", value: "first")])
        try SessionEnvFile.update(path: path, variables: [(name: "CODEX_COMPANION_TEST", value: value)])
        let output = try Subprocess.run(
            SpawnRequest(
                executable: bash,
                arguments: ["-c", "source \"$1\"; printf %s \"$CODEX_COMPANION_TEST\"", "bash", path]),
            timeout: 10)
        #expect(output.status.isSuccess)
        #expect(output.stdoutText == value)
        #expect(output.stderrText == "")
        let text = try read(path)
        #expect(text.hasPrefix("export BEFORE=1\nexport CODEX_COMPANION_TEST="))
        #expect(lines(text).count == 3)
    }
}
