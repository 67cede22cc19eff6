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

/// Keeps the plugin's markdown and the binary from drifting apart: every runtime call
/// written in commands/, agents/ and skills/ must parse with the real argument parser,
/// and every file must carry the frontmatter Claude Code needs.
@Suite struct PluginFilesTests {
    static let root = Path.dirname(Path.dirname(Path.dirname(#filePath)))

    static func markdownFiles() -> [String] {
        var files: [String] = []
        for dir in ["commands", "agents"] {
            for name in (try? FileSystem.list(root + "/" + dir)) ?? [] where name.hasSuffix(".md") {
                files.append(dir + "/" + name)
            }
        }
        for skill in (try? FileSystem.list(root + "/skills")) ?? [] {
            let path = "skills/" + skill + "/SKILL.md"
            if FileSystem.exists(root + "/" + path) { files.append(path) }
        }
        return files.sorted()
    }

    static func text(_ relative: String) -> String {
        String(decoding: (try? FileSystem.read(root + "/" + relative)).flatMap { $0 } ?? [], as: UTF8.self)
    }

    /// The `key: value` pairs between the leading `---` lines.
    static func frontmatter(_ text: String) -> [String: String]? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first == "---", let end = lines.dropFirst().firstIndex(of: "---") else { return nil }
        var result: [String: String] = [:]
        for line in lines[1..<end] {
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix(" ") else { continue }
            let key = String(line[..<colon])
            var value = line[line.index(after: colon)...].trimmingWhitespaceSubstring()
            if value.hasPrefix("'") && value.hasSuffix("'") && value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            result[key] = value
        }
        return result
    }

    /// Every `"${CLAUDE_PLUGIN_ROOT}/bin/codex-companion" …` call in a file, as argv after the binary.
    static func invocations(in text: String) -> [String] {
        var found: [String] = []
        let marker = "bin/codex-companion\""
        for line in text.split(separator: "\n").map(String.init) where !line.hasPrefix("allowed-tools:") {
            var rest = Substring(line)
            while let range = rest.firstRange(of: marker) {
                var tail = rest[range.upperBound...]
                if let tick = tail.firstIndex(of: "`") { tail = tail[..<tick] }
                found.append(String(tail))
                rest = rest[range.upperBound...]
            }
        }
        return found
    }

    static func expand(_ invocation: String, userText: String) -> [String]? {
        let substituted =
            invocation
            .replacing("${CLAUDE_PLUGIN_DATA}", with: "/tmp/plugin-data")
            .replacing("\"$ARGUMENTS\"", with: ShellWords.quote(userText))
        guard var words = ShellWords.split(substituted) else { return nil }
        words = words.map { word in
            switch word {
            case "<job-id>", "<jobId>", "<id>": return "task-mwr8xcyx-mu6l"
            case "<group-id>": return "group-mwr8xcyx-mu6l"
            default: return word.hasPrefix("<") && word.hasSuffix(">") ? "placeholder" : word
            }
        }
        return words
    }

    @Test func everyMarkdownFileHasTheFrontmatterClaudeCodeNeeds() {
        let files = Self.markdownFiles()
        #expect(files.count >= 9, "commands, agent and skills missing: \(files)")
        for file in files {
            guard let front = Self.frontmatter(Self.text(file)) else {
                Issue.record("\(file) has no frontmatter")
                continue
            }
            #expect(!(front["description"] ?? "").isEmpty, "\(file) needs a description")
            if file.hasPrefix("commands/") {
                #expect(front["argument-hint"] != nil || file.hasSuffix("setup.md"), "\(file) needs an argument-hint")
                #expect(
                    front["allowed-tools"]?.contains("${CLAUDE_PLUGIN_ROOT}/bin/codex-companion") == true,
                    "\(file) must scope allowed-tools to the launcher")
                #expect(
                    front["allowed-tools"]?.contains("Bash(codex-companion *)") == true,
                    "\(file) must also allow the bare launcher name")
                // Destructive or gate-changing commands, and reviews (each a Codex turn), are the user's to type.
                let userOnly = ["cancel.md", "worktree.md", "setup.md", "review.md", "adversarial-review.md"]
                    .contains { file.hasSuffix("/" + $0) }
                #expect((front["disable-model-invocation"] == "true") == userOnly, "\(file): disable-model-invocation")
            }
            if file.hasPrefix("agents/") || file.hasPrefix("skills/") {
                #expect(!(front["name"] ?? "").isEmpty, "\(file) needs a name")
            }
            if file.hasPrefix("skills/") { #expect(front["user-invocable"] == "false", "\(file) is internal") }
            if file.hasPrefix("agents/") { #expect(!(front["model"] ?? "").isEmpty, "\(file) must pin a model") }
        }
    }

    @Test func everyCommandFileExists() {
        for name in ["rescue", "status", "result", "cancel", "setup", "worktree", "review", "adversarial-review"] {
            #expect(FileSystem.exists(Self.root + "/commands/\(name).md"), "commands/\(name).md")
        }
        #expect(FileSystem.exists(Self.root + "/agents/codex-rescue.md"))
        #expect(FileSystem.isExecutable(Self.root + "/bin/codex-companion"))
    }

    @Test func everyRuntimeCallInTheMarkdownParses() {
        var checked = 0
        for file in Self.markdownFiles() {
            let calls = Self.invocations(in: Self.text(file))
            for call in calls {
                let texts = call.contains("$ARGUMENTS") ? ["", "fix the flaky test", "task-mwr8xcyx-mu6l"] : [""]
                for text in texts {
                    // $ARGUMENTS holds whatever the user typed after the command; only
                    // the command's own kind of text is meaningful for each file.
                    if call.contains("$ARGUMENTS") && file.contains("setup") && !text.isEmpty { continue }
                    if call.contains("$ARGUMENTS") && !file.contains("rescue") && text == "fix the flaky test" {
                        continue
                    }
                    guard let argv = Self.expand(call, userText: text) else {
                        Issue.record("\(file): cannot split \(call)")
                        continue
                    }
                    if let error = CompanionCLI.check(arguments: argv) {
                        Issue.record("\(file): `codex-companion \(argv.joined(separator: " "))` → \(error.message)")
                    }
                    checked += 1
                }
            }
        }
        #expect(checked >= 20, "found only \(checked) runtime calls in the markdown")
    }

    @Test func hooksJsonUsesExecFormForEveryHook() throws {
        let bytes = try #require(try FileSystem.read(Self.root + "/hooks/hooks.json"))
        let json = try JSONCoding.decode(JSONValue.self, from: bytes)
        var seen: [String: [String]] = [:]
        for event in ["PreToolUse", "SessionStart", "SessionEnd", "Stop"] {
            let groups = try #require(json["hooks"]?[event]?.arrayValue, "\(event) missing")
            for group in groups {
                for hook in group["hooks"]?.arrayValue ?? [] {
                    #expect(hook["command"]?.stringValue == "${CLAUDE_PLUGIN_ROOT}/bin/codex-companion")
                    let args = hook["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    seen[event] = args
                    #expect(CompanionCLI.check(arguments: args) == nil, "\(args)")
                }
            }
        }
        #expect(seen["PreToolUse"] == ["hook", "pre-tool-use"])
        #expect(seen["SessionStart"] == ["hook", "session-start"])
        #expect(seen["SessionEnd"] == ["hook", "session-end"])
        #expect(seen["Stop"] == ["hook", "stop"])
        #expect(json["hooks"]?["PreToolUse"]?[0]?["matcher"]?.stringValue == "Bash")
    }

    @Test func pluginManifestsNameThePlugin() throws {
        let plugin = try JSONCoding.decode(
            JSONValue.self, from: try #require(try FileSystem.read(Self.root + "/.claude-plugin/plugin.json")))
        #expect(plugin["name"]?.stringValue == "codex")
        #expect(plugin["version"]?.stringValue == CommandRegistry.version)
        let market = try JSONCoding.decode(
            JSONValue.self, from: try #require(try FileSystem.read(Self.root + "/.claude-plugin/marketplace.json")))
        #expect(market["plugins"]?[0]?["name"]?.stringValue == "codex")
        #expect(market["owner"]?["name"]?.stringValue?.isEmpty == false)
    }
}

extension Substring {
    func trimmingWhitespaceSubstring() -> String { String(self).trimmingWhitespace() }
}
