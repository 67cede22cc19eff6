/// Whether Codex Cloud can be used from here, for `setup`: signed in with ChatGPT, the service
/// reachable, and at least one environment visible.
public struct CloudReadiness: Sendable, Codable, Equatable {
    public var ready: Bool
    /// nil when the probe could not tell (e.g. the service was unreachable).
    public var signedInWithChatGPT: Bool?
    public var serviceReachable: Bool?
    public var environmentsVisible: Bool?
    public var detail: String
    public var nextSteps: [String]
}

extension CloudClient {
    /// No `codex cloud` subcommand lists environments (bare `codex cloud` is a TUI), so the probe
    /// asks `exec` for an environment label nobody has: the CLI resolves `--env` against the
    /// account's environments before it creates anything, and its answer tells signed-out,
    /// unreachable, no-environment and has-environments apart. Nothing is submitted.
    public func readiness() -> CloudReadiness {
        let probe = "codex-companion-probe-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        do {
            // (A non-empty prompt: the CLI reads the query before it resolves the environment.)
            let prompt = "codex-companion readiness probe; never submitted"
            _ = try exec(CloudTaskRequest(environment: probe, branch: "main", attempts: 1, prompt: prompt))
            return CloudReadiness(
                ready: true, signedInWithChatGPT: true, serviceReachable: true, environmentsVisible: true,
                detail: "the probe environment unexpectedly exists", nextSteps: [])
        } catch {
            return Self.readiness(from: error)
        }
    }

    static func readiness(from error: CloudError) -> CloudReadiness {
        switch error {
        case .unknownEnvironment, .ambiguousEnvironment:
            return CloudReadiness(
                ready: true, signedInWithChatGPT: true, serviceReachable: true, environmentsVisible: true,
                detail: "signed in with ChatGPT; environments are visible", nextSteps: [])
        case .noEnvironments:
            return CloudReadiness(
                ready: false, signedInWithChatGPT: true, serviceReachable: true, environmentsVisible: false,
                detail: error.message, nextSteps: [error.remedy])
        case .notSignedInWithChatGPT:
            return CloudReadiness(
                ready: false, signedInWithChatGPT: false, serviceReachable: nil, environmentsVisible: nil,
                detail: error.message, nextSteps: [error.remedy])
        case .serviceUnreachable, .timedOut:
            return CloudReadiness(
                ready: false, signedInWithChatGPT: true, serviceReachable: false, environmentsVisible: nil,
                detail: error.message, nextSteps: [error.remedy])
        default:
            return CloudReadiness(
                ready: false, signedInWithChatGPT: nil, serviceReachable: nil, environmentsVisible: nil,
                detail: error.message, nextSteps: [error.remedy])
        }
    }
}
