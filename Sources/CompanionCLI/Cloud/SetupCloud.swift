import CodexCloud
import CompanionJSON
import CompanionSystem
import JobStore
import Jobs

/// `setup`'s Codex Cloud section. Cloud is optional: it never makes `ready` false, it only
/// says whether `task --cloud` would work and what to do otherwise.
package enum SetupCloud {
    package static let probeTimeout: Double = 20

    package static func check(_ invocation: Invocation) -> (payload: SetupCloudPayload, lines: [String]) {
        guard let codex = CodexLocator.find(environment: invocation.environment) else {
            return report(nil, detail: "no Codex CLI", steps: [])
        }
        let scratch = invocation.stateRoot + "/cloud-scratch"
        let readiness: CloudReadiness
        do {
            let client = try CloudClient.connect(
                codex: codex, environment: invocation.environment, scratchRoot: scratch, timeout: probeTimeout)
            readiness = client.readiness()
        } catch {
            return report(nil, detail: error.message, steps: [error.remedy])
        }
        return report(readiness, detail: readiness.detail, steps: readiness.nextSteps)
    }

    static func report(_ readiness: CloudReadiness?, detail: String, steps: [String]) -> (SetupCloudPayload, [String]) {
        let ready = readiness?.ready ?? false
        let payload = SetupCloudPayload(
            ready: ready, signedInWithChatGPT: readiness?.signedInWithChatGPT,
            serviceReachable: readiness?.serviceReachable, environmentsVisible: readiness?.environmentsVisible,
            detail: detail, nextSteps: steps)
        var line = "- Codex Cloud (optional, `task --cloud`): \(ready ? "ok" : "not available") — "
        line += Printable.singleLine(detail)
        let lines = [line] + steps.map { "  - \(Printable.singleLine($0))" }
        return (payload, lines)
    }
}

/// `cloud` of `setup --json`: whether `task --cloud` would work; null flags were not checked.
package struct SetupCloudPayload: Encodable, Sendable {
    let ready: Bool
    let signedInWithChatGPT, serviceReachable, environmentsVisible: Bool?
    let detail: String
    let nextSteps: [String]
}
