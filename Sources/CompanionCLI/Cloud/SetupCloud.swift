import CodexCloud
import CompanionJSON
import CompanionSystem
import JobStore
import Jobs

/// `setup`'s Codex Cloud section. Cloud is optional: it never makes `ready` false, it only
/// says whether `task --cloud` would work and what to do otherwise.
package enum SetupCloud {
    package static let probeTimeout: Double = 20

    package static func check(_ invocation: Invocation) -> (json: JSONValue, lines: [String]) {
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

    static func report(_ readiness: CloudReadiness?, detail: String, steps: [String]) -> (JSONValue, [String]) {
        func flag(_ value: Bool?) -> JSONValue { value.map(JSONValue.bool) ?? .null }
        let ready = readiness?.ready ?? false
        let json: JSONValue = [
            "ready": .bool(ready), "signedInWithChatGPT": flag(readiness?.signedInWithChatGPT),
            "serviceReachable": flag(readiness?.serviceReachable),
            "environmentsVisible": flag(readiness?.environmentsVisible), "detail": .string(detail),
            "nextSteps": .strings(steps),
        ]
        var line = "- Codex Cloud (optional, `task --cloud`): \(ready ? "ok" : "not available") — "
        line += Printable.singleLine(detail)
        let lines = [line] + steps.map { "  - \(Printable.singleLine($0))" }
        return (json, lines)
    }
}
