import CompanionSystem
import CompanionJSON
/// How the companion answers requests that Codex sends to it. Every request gets an
/// answer at once, so a turn can never wait on us: approvals are declined (the thread
/// runs with `approvalPolicy: never`, so they should not come at all), anything else
/// gets a JSON-RPC error.
package enum ServerRequestPolicy {
    package enum Answer: Equatable {
        case result(JSONValue)
        case error(RPCErrorObject)
    }

    package static func answer(method: String) -> Answer {
        switch method {
        case "item/commandExecution/requestApproval", "item/fileChange/requestApproval":
            return .result(["decision": "decline"])
        case "applyPatchApproval", "execCommandApproval":
            // The deprecated approvals use the older ReviewDecision vocabulary.
            return .result(["decision": "denied"])
        default:
            return .error(
                RPCErrorObject(code: RPCErrorObject.methodNotFound, message: "Unsupported server request: \(method)"))
        }
    }

    /// The progress line that reports the answer.
    package static func progressLine(method: String, params: JSONValue, answer: Answer) -> String {
        switch answer {
        case .result:
            var line = "Declined Codex approval request (\(method))"
            if let command = params["command"]?.stringValue {
                line += ": " + ProgressText.preview(ProgressText.displayCommand(command), limit: 160)
            } else if let reason = params["reason"]?.stringValue, !reason.isEmpty {
                line += ": " + ProgressText.preview(reason, limit: 160)
            }
            return line + "."
        case .error:
            return "Rejected unsupported Codex request: \(method)."
        }
    }
}
