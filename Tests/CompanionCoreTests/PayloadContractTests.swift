import Testing

import CompanionSystem
import CompanionJSON
import CompanionTestSupport
@testable import CompanionCLI
import JobStore

/// The `--json` contract as the README writes it: every field a payload lists is there
/// (null when unknown) and nothing else is. Names are read from the README itself, so a
/// payload and its documentation cannot drift apart.
@Suite struct PayloadContractTests {
    static let readme: String = {
        let root = Path.dirname(Path.dirname(Path.dirname(#filePath)))
        let bytes = (try? FileSystem.read(root + "/README.md")) ?? nil
        return String(decoding: bytes ?? [], as: UTF8.self)
    }()

    /// The top-level names of the first `{…}` in `text`: nested objects, `[…]`, quoted
    /// values and `(…)` remarks are skipped; `name?` marks a field that may be absent;
    /// `null` and the `n` of `orphans: n` are values, not names.
    static func fieldNames(_ text: String) -> (always: Set<String>, optional: Set<String>) {
        var always: Set<String> = []
        var optional: Set<String> = []
        var depth = 0
        var skipping: [Character] = []
        var word = ""
        var spaced = false  // white space after `word`: a next letter starts a new word
        func flush(_ next: Character) {
            defer { (word, spaced) = ("", false) }
            guard depth == 1, skipping.isEmpty, !word.isEmpty, word.first!.isLetter else { return }
            if next == "?" { optional.insert(word) } else if ":,}?(".contains(next) { always.insert(word) }
        }
        for character in text {
            if let open = skipping.last {
                if character == open { skipping.removeLast() }
                continue
            }
            if character.isLetter || character.isNumber {
                if spaced { (word, spaced) = ("", false) }
                word.append(character)
                continue
            }
            if character == " " || character == "\n" {
                spaced = !word.isEmpty
                continue
            }
            flush(character)
            switch character {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { return (always.subtracting(["null", "n"]), optional) }
            case "[": skipping.append("]")
            case "(": skipping.append(")")
            case "\"": skipping.append("\"")
            default: break
            }
        }
        return (always.subtracting(["null", "n"]), optional)
    }

    /// The payload cell of the README's table row whose first cell is `command` (in backticks
    /// unless it is prose, like `any error`).
    static func documented(_ command: String) -> (always: Set<String>, optional: Set<String>) {
        let cell = command.contains(" error") ? command : "`\(command)`"
        let row = readme.split(separator: "\n").first { $0.hasPrefix("| \(cell) |") } ?? ""
        let payload = row.split(separator: "|", omittingEmptySubsequences: false).dropFirst(2).joined(separator: "|")
        return fieldNames(String(payload.filter { $0 != "`" }))
    }

    /// The block after a bold heading such as `**Job object**`.
    static func block(after heading: String) -> String {
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.contains(heading) }) else { return "" }
        return String(lines[start...].joined(separator: "\n").drop { $0 != "{" })
    }

    static func expectFields(
        _ value: JSONValue?, _ documented: (always: Set<String>, optional: Set<String>), _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let keys = Set(value?.objectValue?.keys.map { $0 } ?? [])
        #expect(!documented.always.isEmpty, "the README lists no fields for \(what)", sourceLocation: sourceLocation)
        #expect(
            documented.always.subtracting(keys).isEmpty,
            "\(what) lacks documented fields \(documented.always.subtracting(keys).sorted())",
            sourceLocation: sourceLocation)
        let extra = keys.subtracting(documented.always).subtracting(documented.optional)
        #expect(extra.isEmpty, "\(what) has undocumented fields \(extra.sorted())", sourceLocation: sourceLocation)
    }

    @Test func theReadmeParserReadsNestedBlocksAsOneField() {
        let fields = Self.fieldNames(#"{ a, b: "x" | "y", c: { d, e } | null, f: [g], h (remark), i?}"#)
        #expect(fields.always == ["a", "b", "c", "f", "h"])
        #expect(fields.optional == ["i"])
    }

    @Test func aFinishedWorktreeJobShowsExactlyTheDocumentedFields() throws {
        let sandbox = try RelSandbox("payloads")
        let repo = try sandbox.repository("repo")
        func run(_ arguments: [String]) -> CLIRun { sandbox.companion(arguments + ["--json"], cwd: repo) }
        let started = run(["task", "--background", "--write", "--worktree", "document me"])
        let id = try #require(started.json?["jobId"]?.stringValue, "\(started)")
        try #require(sandbox.waitForRecord(id) { $0.status.isTerminal } != nil, "job \(id) did not end")
        let status = run(["status", id])
        Self.expectFields(status.json, Self.documented("status <id>"), "status <id>")
        let job = status.json?["job"]
        Self.expectFields(job, Self.fieldNames(Self.block(after: "**Job object**")), "the job object")
        Self.expectFields(job?["worktree"], Self.fieldNames(Self.block(after: "  worktree: {")), "the job's worktree")
        #expect(job?["worktree"]?["continuedBy"] == .null)
        #expect(job?["cloud"] == .null)
        #expect(job?["review"] == .null)
        let commands: [(readme: String, arguments: [String])] = [
            ("result [id]", ["result", id]), ("status", ["status"]),
            ("task-resume-candidate", ["task-resume-candidate"]),
            ("worktree list", ["worktree", "list"]),
            ("worktree-cleanup", ["worktree-cleanup", id, "--action", "keep"]),
            ("worktree prune", ["worktree", "prune", "--dry-run"]), ("events", ["events"]),
        ]
        for (readme, arguments) in commands {
            let answer = run(arguments)
            #expect(answer.code == 0, "\(arguments): \(answer)")
            Self.expectFields(answer.json, Self.documented(readme), readme)
        }
        let event = try #require(run(["events"]).json?["events"]?.arrayValue?.first)
        let eventFields: Set<String> = ["schemaVersion", "time", "event", "jobId", "worktree", "branch", "detail"]
        Self.expectFields(event, (eventFields, []), "an event")
    }

    @Test func aCloudJobsObjectHasTheDocumentedFieldsAndAttemptDiffsIsNeverNull() throws {
        let cloud = JobCloud(
            taskId: nil, url: nil, repoRoot: "/r", baseRef: "main", baseCommit: "abc", environment: "env",
            branch: "main", attempts: 2, remoteStatus: "pending", branchWarnings: [])
        let json = JSONValue.encoding(CloudPayload(cloud))
        Self.expectFields(json, Self.fieldNames(Self.block(after: "  cloud: {")), "the job's cloud object")
        #expect(json["attemptDiffs"] == .array([]))
        #expect(json["taskId"] == .null)
    }

    @Test func aBackgroundTaskAndAnErrorAnswerWithTheDocumentedFields() throws {
        let box = RISandbox()
        defer { box.cleanUp() }
        let started = box.run(["task", "--background", "--json", "hello"])
        Self.expectFields(started.json, Self.documented("task --background"), "task --background")
        let missing = box.run(["status", "job-does-not-exist", "--json"])
        #expect(missing.code != 0)
        Self.expectFields(missing.json, Self.documented("any error"), "an error")
        #expect(missing.json?["error"]?["code"] == "job-not-found")
    }
}
