import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees
import JobStore
import Jobs

/// `hook stop`: the review gate around `StopGate`'s decisions. The review runs in this
/// process on an ephemeral, read-only thread (no job record, nothing to resume), within
/// a time budget below the hook's timeout in hooks.json (600 s). Every failure allows.
package enum StopHook {
    /// Seconds the gate's review may take (hooks.json gives the hook 600).
    package static let defaultBudgetSeconds = 540.0

    package static func run(_ invocation: Invocation, input bytes: [UInt8]) -> StopGateDecision {
        let parsed = StopHookInput.parse(bytes)
        if parsed == nil { invocation.warn("codex-companion: hook stop: the hook input is not a JSON object") }
        let input = parsed ?? StopHookInput()
        let cwd = input.cwd.flatMap { FileSystem.realPath($0) } ?? invocation.cwd
        let root = Workspace.root(of: cwd)
        guard ReviewGateSettings.isEnabled(stateRoot: invocation.stateRoot, workspaceRoot: root) else {
            return .silent
        }
        let session = input.sessionId ?? invocation.sessionId
        let rounds =
            session.flatMap { SessionStore.load(stateRoot: invocation.stateRoot, sessionId: $0) }?
            .reviewGateBlocks ?? 0
        let before = StopGate.beforeReview(
            enabled: true, input: input, blockingRounds: rounds,
            hasChanges: {
                do {
                    let git = try GitClient()
                    return .success(try ReviewScopes.hasUncommittedChanges(try git.topLevel(of: cwd), git: git))
                } catch {
                    return .failure(GateCheckError("checking for changes failed: \(error)"))
                }
            })
        guard before == .review else { return before }
        let decision = StopGate.afterReview(review(cwd: cwd, invocation), round: rounds + 1)
        if case .block = decision, let session, SessionStore.isValid(session) {
            do {
                try SessionStore.update(stateRoot: invocation.stateRoot, sessionId: session, warn: invocation.warn) {
                    $0.reviewGateBlocks = ($0.reviewGateBlocks ?? 0) + 1
                }
            } catch {
                invocation.warn("codex-companion: hook stop: could not count the blocking round: \(error)")
            }
        }
        return decision
    }

    /// An adversarial review of the uncommitted changes, or why it could not run.
    package static func review(cwd: String, _ invocation: Invocation) -> GateReviewOutcome {
        guard let codex = CodexLocator.find(environment: invocation.environment) else {
            return .couldNotRun(reason: "the Codex CLI was not found; set CODEX_COMPANION_CODEX or put codex on PATH")
        }
        let scope: ReviewScope
        let prompt: String
        do {
            scope = try ReviewScopes.resolve(.uncommitted, in: cwd, git: try GitClient())
            prompt = try AdversarialReviewCommand.prompt(for: scope, focus: nil)
        } catch {
            return .couldNotRun(reason: "collecting the changes failed: \(ErrorFunnel.report(for: error).message)")
        }
        let budget =
            Double(invocation.environment["CODEX_COMPANION_GATE_TIMEOUT"] ?? "").flatMap { $0 > 0 ? $0 : nil }
            ?? defaultBudgetSeconds
        var request = TurnRequest(
            codexExecutable: codex, environment: invocation.environment, cwd: scope.repoRoot, prompt: prompt,
            timeoutSeconds: budget, clientVersion: CommandRegistry.version,
            operation: .turn(outputSchema: AdversarialSchema.outputSchema))
        request.ephemeral = true
        let outcome = TurnRunner.run(request, observer: GateObserver(invocation), stopFD: nil)
        switch outcome.status {
        case .completed:
            do {
                return .reviewed(try AdversarialSchema.parse(outcome.finalMessage))
            } catch {
                return .couldNotRun(reason: "Codex's answer was not a valid review: \(error.description)")
            }
        case .timedOut:
            return .couldNotRun(reason: "the review did not finish within \(Int(budget)) seconds")
        case .failed, .interrupted:
            return .couldNotRun(reason: outcome.errorMessage ?? "the Codex turn ended as \(outcome.status.rawValue)")
        }
    }
}

/// Progress of the gate's review goes to stderr (Claude Code shows it in verbose mode).
private final class GateObserver: TurnObserver {
    let invocation: Invocation

    init(_ invocation: Invocation) { self.invocation = invocation }

    func appServerStarted(pid: Int32) {}
    func threadReady(threadId: String, resumed: Bool) {}
    func turnStarted(turnId: String) {}
    func progress(_ line: String, phase: String?) {
        invocation.progress("[codex review gate] " + Printable.singleLine(line))
    }
}
