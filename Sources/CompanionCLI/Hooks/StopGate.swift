import CompanionSystem
import CompanionJSON
import CodexAppServer

/// The parts of Claude Code's Stop hook input the gate reads.
package struct StopHookInput: Equatable, Sendable {
    package var sessionId: String?
    package var cwd: String?
    /// True when Claude is already continuing because a Stop hook blocked: the gate then
    /// allows at once (this is what keeps a gate from looping).
    package var stopHookActive: Bool

    package init(sessionId: String? = nil, cwd: String? = nil, stopHookActive: Bool = false) {
        self.sessionId = sessionId
        self.cwd = cwd
        self.stopHookActive = stopHookActive
    }

    /// nil when the input is not a JSON object.
    package static func parse(_ bytes: [UInt8]) -> StopHookInput? {
        guard let value = JSONWire.parse(bytes), value.objectValue != nil else { return nil }
        return StopHookInput(
            sessionId: value["session_id"]?.stringValue, cwd: value["cwd"]?.stringValue,
            stopHookActive: value["stop_hook_active"]?.boolValue ?? false)
    }
}

/// How the gate's review went.
package enum GateReviewOutcome: Equatable, Sendable {
    case reviewed(AdversarialReview)
    /// The review did not run or gave no usable answer: Codex missing, not logged in,
    /// timeout, invalid output… `reason` says which, for the user.
    case couldNotRun(reason: String)
}

/// What the hook does.
package enum StopGateDecision: Equatable, Sendable {
    /// Exit 0 and print nothing (the gate is off).
    case silent
    /// Let Claude stop; an optional `systemMessage` is shown to the user.
    case allow(systemMessage: String?)
    /// `{"decision": "block", "reason": …}`: Claude goes on with `reason` as its instruction.
    case block(reason: String)
    /// Run an adversarial review of the uncommitted changes, then call `afterReview`.
    case review

    /// The hook's stdout (nil: nothing) and exit code (always 0: the gate never fails a stop).
    package var output: (stdout: String?, exitCode: Int32) {
        switch self {
        case .silent, .review, .allow(nil):
            return (nil, 0)
        case .allow(let message?):
            return (JSONWire.text(["systemMessage": message]), 0)
        case .block(let reason):
            return (JSONWire.text(["decision": "block", "reason": reason]), 0)
        }
    }
}

/// The Stop-hook review gate's decisions, as pure functions. The order is fixed:
/// gate off → silent; `stop_hook_active` → allow; nothing changed → allow; round cap
/// reached → allow with a note; otherwise review. After the review: a `needs-attention`
/// verdict with a critical or high finding blocks; any failure of the review allows
/// with a note saying why it did not run. The gate never blocks on its own failure.
package enum StopGate {
    package static let maxBlockingRounds = 2
    package static let disableHint = "Turn the gate off with /codex:setup --disable-review-gate."

    /// Before any review. `hasChanges` is only called when the earlier checks pass; a
    /// failure of that check allows the stop with a note.
    package static func beforeReview(
        enabled: Bool, input: StopHookInput, blockingRounds: Int, hasChanges: () -> Result<Bool, GateCheckError>
    ) -> StopGateDecision {
        guard enabled else { return .silent }
        if input.stopHookActive { return .allow(systemMessage: nil) }
        switch hasChanges() {
        case .failure(let error):
            return .allow(systemMessage: couldNotRun(error.reason))
        case .success(false):
            return .allow(systemMessage: nil)
        case .success(true):
            break
        }
        if blockingRounds >= maxBlockingRounds {
            return .allow(
                systemMessage:
                    "Codex review gate: it already blocked \(blockingRounds) times in this session (the limit is \(maxBlockingRounds)), so this stop was allowed without a review. Run /codex:adversarial-review to review the changes by hand."
            )
        }
        return .review
    }

    /// After the review. `round` is the number this block would be (1-based).
    package static func afterReview(_ outcome: GateReviewOutcome, round: Int) -> StopGateDecision {
        switch outcome {
        case .couldNotRun(let reason):
            return .allow(systemMessage: couldNotRun(reason))
        case .reviewed(let review):
            let blocking = review.findings.filter { $0.severity == .critical || $0.severity == .high }
            guard review.verdict == .needsAttention, !blocking.isEmpty else {
                let minor = review.findings.count
                if minor == 0 { return .allow(systemMessage: nil) }
                return .allow(
                    systemMessage:
                        "Codex review gate: \(minor) finding(s) below high severity; the stop was allowed. Run /codex:adversarial-review to see them."
                )
            }
            return .block(reason: blockReason(review, blocking: blocking, round: round))
        }
    }

    /// Model text in a reason Claude Code shows: control characters made visible.
    private static func shown(_ text: String) -> String { Printable.neutralized(text) }

    package static func couldNotRun(_ reason: String) -> String {
        "Codex review gate: the review did not run (\(reason)), so the stop was allowed. \(disableHint)"
    }

    /// Each blocking finding with `file:line` and what to do, most severe first.
    package static func blockReason(_ review: AdversarialReview, blocking: [AdversarialReview.Finding], round: Int)
        -> String
    {
        var lines = [
            "Codex reviewed the uncommitted changes and found \(blocking.count) problem(s) to fix before stopping (review gate round \(round) of \(maxBlockingRounds)): \(shown(review.summary))"
        ]
        for (index, finding) in blocking.sorted(by: { $0.severity < $1.severity }).enumerated() {
            let lineText =
                finding.lineStart == finding.lineEnd
                ? "\(finding.lineStart)" : "\(finding.lineStart)-\(finding.lineEnd)"
            lines.append(
                "\(index + 1). [\(finding.severity.rawValue)] \(shown(finding.title)) — \(shown(finding.file)):\(lineText)\n   \(shown(finding.body))\n   What to do: \(shown(finding.recommendation))"
            )
        }
        lines.append(
            "Fix these findings, or say briefly why one does not apply. \(disableHint)")
        return lines.joined(separator: "\n")
    }
}

/// A check the gate could not make (for example git failing); it allows the stop.
package struct GateCheckError: Error, Equatable, Sendable {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
}
