import Testing

@testable import CompanionSystem
import CompanionTestSupport
@testable import CompanionJSON
@testable import CodexAppServer
@testable import GitWorktrees
@testable import JobStore
@testable import Jobs
@testable import CompanionCLI

/// The adversarial review's structured output: what passes and how each problem is named.
@Suite struct AdversarialSchemaTests {
    static let finding =
        #"{"severity":"high","title":"Division by zero","body":"total may be 0.","file":"calc.py","lineStart":7,"lineEnd":7,"confidence":0.9,"recommendation":"Return 0 when total is 0."}"#

    static func answer(finding: String = finding, verdict: String = "needs-attention") -> String {
        #"{"verdict":"\#(verdict)","summary":"ratio() crashes.","findings":[\#(finding)],"nextSteps":["Guard the divisor."]}"#
    }

    @Test func validAnswerParses() throws {
        let review = try AdversarialSchema.parse(Self.answer())
        #expect(review.verdict == .needsAttention)
        #expect(review.findings.count == 1)
        #expect(review.findings[0].severity == .high)
        #expect(review.findings[0].file == "calc.py")
        #expect(review.findings[0].lineStart == 7)
        #expect(review.nextSteps == ["Guard the divisor."])
    }

    @Test func oneJSONFenceIsTolerated() throws {
        let review = try AdversarialSchema.parse("```json\n" + Self.answer(verdict: "approve") + "\n```")
        #expect(review.verdict == .approve)
    }

    @Test func proseIsNotJSON() {
        #expect(throws: AdversarialOutputError.notJSON) { try AdversarialSchema.parse("Looks good to me!") }
        #expect(throws: AdversarialOutputError.empty) { try AdversarialSchema.parse("  \n") }
        #expect(throws: AdversarialOutputError.empty) { try AdversarialSchema.parse(nil) }
    }

    @Test func eachSchemaViolationIsNamedWithItsPath() {
        let cases: [(String, AdversarialOutputError)] = [
            (
                Self.answer(verdict: "lgtm"),
                .invalid(path: "verdict", problem: #"must be "approve" or "needs-attention" (got "lgtm")"#)
            ),
            (
                Self.answer(finding: Self.finding.replacingFirst(#""high""#, with: #""severe""#)),
                .invalid(
                    path: "findings[0].severity", problem: #"must be one of critical, high, medium, low (got "severe")"#
                )
            ),
            (
                Self.answer(finding: Self.finding.replacingFirst(#""lineEnd":7"#, with: #""lineEnd":3"#)),
                .invalid(path: "findings[0].lineEnd", problem: "(3) is before lineStart (7)")
            ),
            (
                Self.answer(finding: Self.finding.replacingFirst(#""lineStart":7"#, with: #""lineStart":"7""#)),
                .invalid(path: "findings[0].lineStart", problem: #"must be an integer (got the string "7")"#)
            ),
            (
                Self.answer(finding: Self.finding.replacingFirst("0.9", with: "1.5")),
                .invalid(path: "findings[0].confidence", problem: "must be between 0 and 1 (got 1.5)")
            ),
            (
                Self.answer(
                    finding: Self.finding.replacingFirst(#","recommendation":"Return 0 when total is 0.""#, with: "")),
                .invalid(path: "findings[0].recommendation", problem: "is missing")
            ),
            (
                Self.answer().replacingFirst(#""nextSteps""#, with: #""next_steps""#),
                .invalid(path: "nextSteps", problem: "is missing")
            ),
            (
                Self.answer().replacingFirst(#"{"verdict""#, with: #"{"extra":1,"verdict""#),
                .invalid(path: "extra", problem: "is not a field of the schema")
            ),
            ("[1,2]", .invalid(path: "", problem: "must be a JSON object")),
        ]
        for (text, expected) in cases {
            #expect(throws: expected) { try AdversarialSchema.parse(text) }
        }
        let message = AdversarialOutputError.invalid(path: "findings[0].severity", problem: "must be …").description
        #expect(message.contains("findings[0].severity"))
    }

    @Test func schemaRequiresEveryFieldAndNamesTheIssueSpelling() {
        let schema = AdversarialSchema.outputSchema
        #expect(schema["required"] == ["verdict", "summary", "findings", "nextSteps"])
        #expect(schema["additionalProperties"] == false)
        let finding = schema["properties"]?["findings"]?["items"]
        #expect(finding?["required"]?.arrayValue?.count == 8)
        #expect(finding?["additionalProperties"] == false)
        #expect(finding?["properties"]?["severity"]?["enum"] == ["critical", "high", "medium", "low"])
    }

    @Test func promptCarriesFocusVerbatimAndNamesTheKeys() {
        let focus = "the `ratio()` path; ignore \"style\"\nsecond line"
        let prompt = ReviewPrompts.adversarial(target: "uncommitted changes", focus: focus, material: "DIFF")
        #expect(prompt.contains(focus))
        for key in AdversarialSchema.topKeys + AdversarialSchema.findingKeys { #expect(prompt.contains("\"\(key)\"")) }
        #expect(prompt.contains("DIFF"))
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}

/// The built-in reviewer's answer: from the rollout file, else from the rendered text.
@Suite struct NativeReviewReaderTests {
    static let rendered =
        "ratio() lacks a zero check.\n\nFull review comments:\n\n- [P1] Unguarded division — /repo/calc.py:7-7\n  `total` may be 0.\n\n- Missing test — /repo/test_calc.py:1-3\n  No test covers an empty report.\n  Add one."

    @Test func renderedTextGivesFindingsWithLocationsAndPriorityTags() {
        let review = NativeReviewReader.fromRenderedText(Self.rendered)
        #expect(review.explanation == "ratio() lacks a zero check.")
        #expect(review.source == .renderedText)
        #expect(review.findings.count == 2)
        #expect(review.findings[0].title == "Unguarded division")
        #expect(review.findings[0].priority == 1)
        #expect(review.findings[0].file == "/repo/calc.py")
        #expect(review.findings[0].lineStart == 7)
        #expect(review.findings[0].body == "`total` may be 0.")
        #expect(review.findings[1].priority == nil)
        #expect(review.findings[1].lineEnd == 3)
        #expect(review.findings[1].body == "No test covers an empty report.\nAdd one.")
    }

    @Test func renderedTextWithoutFindingsIsTheExplanation() {
        let review = NativeReviewReader.fromRenderedText("Looks correct.\n")
        #expect(review.findings.isEmpty)
        #expect(review.explanation == "Looks correct.")
    }

    @Test func rolloutLineOfTheTurnWins() throws {
        let directory = TempDir()
        let other =
            #"{"type":"event_msg","payload":{"type":"exited_review_mode","turn_id":"old","review_output":{"findings":[],"overall_correctness":"patch is correct","overall_explanation":"old","overall_confidence_score":0.5}}}"#
        let mine =
            #"{"type":"event_msg","payload":{"type":"exited_review_mode","turn_id":"R1","review_output":{"findings":[{"title":"[P2] Leak","body":"fd leaks","confidence_score":0.7,"priority":2,"code_location":{"absolute_file_path":"/repo/a.c","line_range":{"start":3,"end":4}}}],"overall_correctness":"patch is incorrect","overall_explanation":"leaks","overall_confidence_score":0.8}}}"#
        directory.write("rollout.jsonl", [#"{"type":"session_meta"}"#, mine, other].joined(separator: "\n") + "\n")
        let review = try #require(NativeReviewReader.fromRollout(path: directory.file("rollout.jsonl"), turnId: "R1"))
        #expect(review.source == .rollout)
        #expect(review.overallCorrectness == "patch is incorrect")
        #expect(review.overallConfidence == 0.8)
        #expect(
            review.findings == [
                ReviewFinding(
                    title: "Leak", body: "fd leaks", file: "/repo/a.c", lineStart: 3, lineEnd: 4, priority: 2,
                    confidence: 0.7)
            ])
        #expect(NativeReviewReader.fromRollout(path: directory.file("missing.jsonl"), turnId: "R1") == nil)
    }
}

/// `review/start` over the tracker: the turn-id quirk and the rendered review.
@Suite struct ReviewTurnTrackingTests {
    static let exchange = #"""
        {"method":"item/started","params":{"item":{"type":"enteredReviewMode","id":"r1","review":"current changes"},"threadId":"thr","turnId":"R"}}
        {"method":"item/completed","params":{"item":{"type":"enteredReviewMode","id":"r1","review":"current changes"},"threadId":"thr","turnId":"R"}}
        {"method":"turn/started","params":{"threadId":"thr","turn":{"id":"I","items":[],"status":"inProgress"}}}
        {"method":"item/started","params":{"item":{"type":"agentMessage","id":"m0","text":"","phase":"final_answer"},"threadId":"thr","turnId":"R"}}
        {"method":"item/completed","params":{"item":{"type":"exitedReviewMode","id":"r2","review":"Looks fine."},"threadId":"thr","turnId":"R"}}
        {"method":"item/completed","params":{"item":{"type":"agentMessage","id":"m1","text":"Looks fine.","phase":null},"threadId":"thr","turnId":"R"}}
        {"method":"turn/completed","params":{"threadId":"thr","turn":{"id":"R","status":"completed","items":[]}}}
        """#

    @Test func interruptIdComesFromTurnStartedAndTheReviewTextIsKept() {
        var tracker = TurnTracker()
        tracker.setRootThread("thr")
        tracker.setRootTurn("R")
        let events = TurnRunnerTrackerTests.feed(&tracker, Self.exchange)
        #expect(tracker.rootStartedTurnId == "I")
        #expect(tracker.reviewText == "Looks fine.")
        #expect(tracker.finalMessage == "Looks fine.")
        #expect(tracker.completion?.status == .completed)
        #expect(events.contains { $0.line.hasPrefix("Codex review started: current changes") })
    }

    @Test func reviewStartTargetsAndInlineDelivery() {
        #expect(ReviewTarget.uncommittedChanges.params == ["type": "uncommittedChanges"])
        #expect(ReviewTarget.baseBranch("main").params == ["type": "baseBranch", "branch": "main"])
        #expect(
            ReviewTarget.commit(sha: "abc", title: "Fix").params == ["type": "commit", "sha": "abc", "title": "Fix"])
        #expect(ReviewTarget.commit(sha: "abc", title: nil).params == ["type": "commit", "sha": "abc"])
        #expect(ReviewTarget.custom(instructions: "x").params == ["type": "custom", "instructions": "x"])
        let params = TurnRunner.reviewStartParams(threadId: "t", target: .uncommittedChanges)
        #expect(params["delivery"] == "inline")
        #expect(params["threadId"] == "t")
    }

    @Test func reviewEffortGoesOnTheThreadAndTheSchemaOnTheTurn() {
        var request = TurnRequest(
            codexExecutable: "/bin/codex", cwd: "/r", prompt: "", effort: "high", clientVersion: "1",
            operation: .review(.uncommittedChanges))
        #expect(TurnRunner.threadStartParams(request)["config"]?["model_reasoning_effort"] == "high")
        #expect(TurnRunner.threadStartParams(request)["sandbox"] == "read-only")
        request.operation = .turn(outputSchema: ["type": "object"])
        #expect(TurnRunner.threadStartParams(request)["config"] == nil)
        #expect(TurnRunner.turnStartParams(request, threadId: "t")["outputSchema"] == ["type": "object"])
        request.operation = .turn(outputSchema: nil)
        #expect(TurnRunner.turnStartParams(request, threadId: "t")["outputSchema"] == nil)
    }
}

/// What to review, against real git repositories.
@Suite struct ReviewScopeTests {
    @Test func automaticPicksUncommittedChangesIncludingUntrackedFiles() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        try sandbox.write(repo + "/new.txt", "new\n")
        let scope = try ReviewScopes.resolve(.automatic, in: repo, git: sandbox.git)
        #expect(scope.kind == .uncommitted)
        #expect(!scope.isEmpty)
    }

    @Test func automaticOnACleanDefaultBranchHasNothingToReview() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let scope = try ReviewScopes.resolve(.automatic, in: repo, git: sandbox.git)
        #expect(scope.kind == .base)
        #expect(scope.baseRef == "main")
        #expect(scope.isEmpty)
    }

    @Test func automaticOnACleanFeatureBranchReviewsItAgainstMain() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let base = try sandbox.run(["rev-parse", "HEAD"], in: repo)
        try sandbox.run(["checkout", "--quiet", "-b", "feature"], in: repo)
        try sandbox.write(repo + "/feature.txt", "f\n")
        try sandbox.commitAll(repo, "feature")
        let scope = try ReviewScopes.resolve(.automatic, in: repo, git: sandbox.git)
        #expect(scope.kind == .base)
        #expect(scope.mergeBase == base)
        #expect(!scope.isEmpty)
    }

    @Test func badRefsAndShasAndNonRepositoriesAreErrors() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        #expect(throws: GitError.unknownRevision(ref: "nope", repoRoot: repo)) {
            try ReviewScopes.resolve(.base("nope"), in: repo, git: sandbox.git)
        }
        #expect(throws: GitError.unknownRevision(ref: "deadbeef", repoRoot: repo)) {
            try ReviewScopes.resolve(.commit("deadbeef"), in: repo, git: sandbox.git)
        }
        let plain = sandbox.base + "/plain"
        try FileSystem.createDirectory(plain, mode: 0o755)
        #expect(throws: GitError.notARepository(directory: plain)) {
            try ReviewScopes.resolve(.uncommitted, in: plain, git: sandbox.git)
        }
    }

    @Test func commitResolvesToTheFullShaAndTitle() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        let head = try sandbox.run(["rev-parse", "HEAD"], in: repo)
        let scope = try ReviewScopes.resolve(.commit(String(head.prefix(8))), in: repo, git: sandbox.git)
        #expect(scope.commit == head)
        #expect(scope.commitTitle == "initial")
    }

    @Test func noDefaultBranchOnACleanTreeAsksForABase() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        try sandbox.run(["branch", "-m", "main", "work"], in: repo)
        #expect(throws: GitError.noDefaultBranch(repoRoot: repo)) {
            try ReviewScopes.resolve(.automatic, in: repo, git: sandbox.git)
        }
    }

    @Test func smallChangesAreInlinedAndLargeOnesDescribed() throws {
        let sandbox = try GitSandbox()
        let repo = try sandbox.makeRepository()
        try sandbox.write(repo + "/README.md", "hello\nchanged\n")
        try sandbox.write(repo + "/notes.txt", "untracked text\n")
        let scope = try ReviewScopes.resolve(.uncommitted, in: repo, git: sandbox.git)
        let small = try ReviewMaterial.collect(scope, git: sandbox.git)
        #expect(small.inline)
        #expect(small.text.contains("+changed"))
        #expect(small.text.contains("untracked text"))
        let large = try ReviewMaterial.collect(scope, git: sandbox.git, limits: .init(inlineDiff: 10))
        #expect(!large.inline)
        #expect(!large.text.contains("+changed"))
        #expect(large.text.contains("git diff"))
        #expect(large.text.contains("notes.txt"))
    }
}

/// The Stop-hook gate's decisions, in the documented order.
@Suite struct StopGateTests {
    static let blocking = AdversarialReview(
        verdict: .needsAttention, summary: "Do not ship.",
        findings: [
            .init(
                severity: .low, title: "Naming", body: "b", file: "a.py", lineStart: 1, lineEnd: 1, confidence: 0.5,
                recommendation: "rename"),
            .init(
                severity: .high, title: "Crash", body: "total may be 0", file: "calc.py", lineStart: 7, lineEnd: 9,
                confidence: 0.9, recommendation: "Guard the divisor"),
        ], nextSteps: [])

    static func before(enabled: Bool = true, active: Bool = false, rounds: Int = 0, changes: Bool = true)
        -> (StopGateDecision, Bool)
    {
        var asked = false
        let decision = StopGate.beforeReview(
            enabled: enabled, input: StopHookInput(stopHookActive: active), blockingRounds: rounds,
            hasChanges: {
                asked = true
                return .success(changes)
            })
        return (decision, asked)
    }

    @Test func disabledIsSilentAndChecksNothing() {
        let (decision, asked) = Self.before(enabled: false, active: true)
        #expect(decision == .silent)
        #expect(decision.output.stdout == nil)
        #expect(!asked)
    }

    @Test func stopHookActiveAllowsBeforeLookingAtChanges() {
        let (decision, asked) = Self.before(active: true)
        #expect(decision == .allow(systemMessage: nil))
        #expect(!asked)
    }

    @Test func noChangesAllowsWithoutReview() {
        #expect(Self.before(changes: false).0 == .allow(systemMessage: nil))
    }

    @Test func changesAreReviewedUntilTheRoundCap() {
        #expect(Self.before(rounds: 1).0 == .review)
        guard case .allow(let message?) = Self.before(rounds: StopGate.maxBlockingRounds).0 else {
            Issue.record("the round cap must allow with a message")
            return
        }
        #expect(message.contains("\(StopGate.maxBlockingRounds)"))
    }

    @Test func aFailedChangeCheckAllowsWithTheReason() {
        let decision = StopGate.beforeReview(
            enabled: true, input: StopHookInput(), blockingRounds: 0,
            hasChanges: { .failure(GateCheckError("git broke")) })
        guard case .allow(let message?) = decision else {
            Issue.record("expected allow with a message")
            return
        }
        #expect(message.contains("git broke"))
    }

    @Test func criticalOrHighFindingsBlockWithFileLineAndFix() throws {
        let decision = StopGate.afterReview(.reviewed(Self.blocking), round: 1)
        guard case .block(let reason) = decision else {
            Issue.record("expected a block")
            return
        }
        #expect(reason.contains("calc.py:7-9"))
        #expect(reason.contains("Guard the divisor"))
        #expect(!reason.contains("a.py:1"))
        #expect(reason.contains("--disable-review-gate"))
        let output = try #require(decision.output.stdout)
        let json = try #require(JSONWire.parse(Array(output.utf8)))
        #expect(json["decision"] == "block")
        #expect(json["reason"]?.stringValue == reason)
        #expect(decision.output.exitCode == 0)
    }

    @Test func onlyLowerSeveritiesOrApproveAllow() {
        var review = Self.blocking
        review.findings.removeLast()
        guard case .allow = StopGate.afterReview(.reviewed(review), round: 1) else {
            Issue.record("low findings must not block")
            return
        }
        var approved = Self.blocking
        approved.verdict = .approve
        guard case .allow = StopGate.afterReview(.reviewed(approved), round: 1) else {
            Issue.record("approve must not block")
            return
        }
    }

    @Test func aReviewThatCouldNotRunAllowsAndSaysWhy() throws {
        let decision = StopGate.afterReview(.couldNotRun(reason: "the Codex CLI was not found"), round: 1)
        let output = try #require(decision.output.stdout)
        let json = try #require(JSONWire.parse(Array(output.utf8)))
        #expect(json["decision"] == nil)
        #expect(json["systemMessage"]?.stringValue?.contains("the Codex CLI was not found") == true)
    }

    @Test func hookInputIsReadLeniently() {
        let input = StopHookInput.parse(Array(#"{"session_id":"s1","cwd":"/r","stop_hook_active":true}"#.utf8))
        #expect(input == StopHookInput(sessionId: "s1", cwd: "/r", stopHookActive: true))
        #expect(StopHookInput.parse(Array("not json".utf8)) == nil)
        #expect(StopHookInput.parse(Array("{}".utf8))?.stopHookActive == false)
    }
}

/// The worker's side of review jobs: the operation asked of Codex and what the answer makes of the job.
@Suite struct ReviewWorkTests {
    static func record(_ mode: JobReview.Mode, scope: ReviewScope, focus: String? = nil) -> JobRecord {
        var record = JobRecord(
            id: "task-mx5sd54t-6rpn", status: .running, phase: .running, title: "t", summary: "s",
            workspaceRoot: "/repo", cwd: "/repo", sessionId: nil, write: false, background: false,
            createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:00.000Z", timeoutSeconds: 60,
            logFile: "/l", promptFile: "/p")
        record.review = JobReview(mode: mode, scope: scope, focus: focus)
        return record
    }

    static let uncommitted = ReviewScope(
        kind: .uncommitted, repoRoot: "/repo", label: "uncommitted changes", isEmpty: false)

    @Test func targetsFollowTheScopeAndFocusBecomesInstructions() {
        #expect(
            ReviewWork.operation(for: Self.record(.native, scope: Self.uncommitted)) == .review(.uncommittedChanges))
        let base = ReviewScope(
            kind: .base, repoRoot: "/repo", baseRef: "main", mergeBase: "abc", label: "b", isEmpty: false)
        #expect(ReviewWork.operation(for: Self.record(.native, scope: base)) == .review(.baseBranch("main")))
        guard
            case .review(.custom(let instructions)) = ReviewWork.operation(
                for: Self.record(.native, scope: base, focus: "only the parser"))
        else {
            Issue.record("focus text must become custom instructions")
            return
        }
        #expect(instructions.contains("only the parser"))
        #expect(instructions.contains("git diff abc"))
        #expect(
            ReviewWork.operation(for: Self.record(.adversarial, scope: Self.uncommitted))
                == .turn(outputSchema: AdversarialSchema.outputSchema))
    }

    @Test func invalidAdversarialOutputFailsTheJobAndKeepsTheRawText() {
        let outcome = TurnOutcome(status: .completed, finalMessage: "no JSON here")
        let (review, ending) = ReviewWork.settle(
            Self.record(.adversarial, scope: Self.uncommitted), outcome: outcome, ending: .completed)
        guard case .failed(let reason, let message) = ending else {
            Issue.record("expected a failed ending, got \(ending)")
            return
        }
        #expect(reason == .invalidOutput)
        #expect(message.contains("not JSON"))
        #expect(review?.rawOutput == "no JSON here")
        #expect(review?.parseError == AdversarialOutputError.notJSON.description)
    }

    @Test func nativeFindingsBecomeRepoRelativeAndOrderedByPriority() {
        var outcome = TurnOutcome(status: .completed)
        outcome.reviewText = NativeReviewReaderTests.rendered
        let (review, ending) = ReviewWork.settle(
            Self.record(.native, scope: Self.uncommitted), outcome: outcome, ending: .completed)
        #expect(ending == .completed)
        #expect(review?.verdict == "needs-attention")
        #expect(review?.orderedFindings.map(\.location) == ["calc.py:7", "test_calc.py:1-3"])
    }

    @Test func conflictingTargetFlagsAreUsageErrors() throws {
        let parsed = try ArgumentParser.parse(
            ["review", "--base", "main", "--commit", "abc"], commands: CommandRegistry.all)
        #expect(throws: CompanionError.self) { try ReviewLaunch.selection(parsed) }
        #expect(CompanionCLI.check(arguments: ["review", "--base", "main", "--commit", "abc"])?.exitCode == 64)
        #expect(CompanionCLI.check(arguments: ["review", "--commit", "a..b"])?.exitCode == 64)
        #expect(CompanionCLI.check(arguments: ["adversarial-review", "--job", "task-x"])?.exitCode == 64)
        #expect(
            CompanionCLI.check(arguments: ["setup", "--enable-review-gate", "--disable-review-gate"])?.exitCode == 64)
        #expect(CompanionCLI.check(arguments: ["review", "--uncommitted", "look", "at", "--this"]) == nil)
    }
}
