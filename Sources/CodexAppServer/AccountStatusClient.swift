import CompanionSystem
import CompanionJSON

extension TurnRunner {
    /// Asks a short-lived `codex app-server` whether Codex can make model requests:
    /// `initialize`/`initialized`, `account/read {refreshToken:false}` and
    /// `config/read {includeLayers:false, cwd}`, decided as the reference client does
    /// (see `AccountStatus.evaluate`). Blocks for at most about `timeoutSeconds` plus the
    /// teardown (≤ 1.2 s); the child's group is always ended and reaped.
    /// - Returns: `loggedIn: false` with the reason as `detail` when anything fails.
    public static func accountStatus(
        codexExecutable: String, environment: [String: String]?, cwd: String, timeoutSeconds: Double,
        clientVersion: String = "setup"
    ) -> AccountStatus {
        Signals.ignoreBrokenPipe()
        let connection: AppServerConnection
        do {
            connection = try AppServerConnection(
                executable: codexExecutable, arguments: ["app-server"], environment: environment, directory: cwd)
        } catch {
            return AccountStatus(
                loggedIn: false, detail: "Could not start the Codex app-server (\(codexExecutable)): \(error.reason).")
        }
        defer { connection.shutdown() }
        let deadline = MonotonicClock.now() + max(timeoutSeconds, 0)

        func call(_ method: String, _ params: JSONValue) -> Result<JSONValue, AccountCallError> {
            let id = connection.sendRequest(method, params: params)
            while true {
                switch connection.nextEvent(until: deadline) {
                case .message(.response(let responseId, let result)) where responseId == id:
                    return .success(result)
                case .message(.errorResponse(let responseId, let error)) where responseId == id:
                    return .failure(AccountCallError("\(method) failed: \(error.message)"))
                case .message(.request(let requestId, let requestMethod, _)):
                    switch ServerRequestPolicy.answer(method: requestMethod) {
                    case .result(let result): connection.send(.response(id: requestId, result: result))
                    case .error(let error): connection.send(.errorResponse(id: requestId, error: error))
                    }
                case .message, .malformedLine, .stopRequested, .oversizedLine:
                    continue
                case .closed:
                    let exited = connection.waitForExit(seconds: 1.0)
                    let status = connection.shutdown()
                    return .failure(
                        AccountCallError(
                            unexpectedExitMessage(status: status, exited: exited, stderr: connection.stderrText)))
                case .deadline:
                    return .failure(
                        AccountCallError(
                            "codex app-server did not answer \(method) within \(ProgressText.seconds(timeoutSeconds)) seconds."
                        ))
                }
            }
        }

        switch call("initialize", initializeParams(clientVersion: clientVersion)) {
        case .success: break
        case .failure(let error): return AccountStatus(loggedIn: false, detail: error.message)
        }
        connection.sendNotification("initialized")
        let account: JSONValue
        switch call("account/read", ["refreshToken": false]) {
        case .success(let result): account = result
        case .failure(let error): return AccountStatus(loggedIn: false, detail: error.message)
        }
        // config/read only names the provider; its failure does not change the verdict.
        let config = try? call("config/read", ["includeLayers": false, "cwd": .string(cwd)]).get()
        return AccountStatus.evaluate(account: account, config: config)
    }
}

package struct AccountCallError: Error {
    package var message: String
    package init(_ message: String) { self.message = message }
}

extension AccountStatus {
    /// The reference client's decision table over `account/read` and `config/read` results:
    ///
    /// | account.type | requiresOpenaiAuth | verdict |
    /// |---|---|---|
    /// | chatgpt | any | logged in |
    /// | apiKey | any | logged in |
    /// | another type (amazonBedrock…) | any | logged in with those credentials |
    /// | none | false | ready: the provider needs no OpenAI login |
    /// | none | true (or missing) | not logged in |
    package static func evaluate(account result: JSONValue, config: JSONValue?) -> AccountStatus {
        let provider = providerName(config)
        let account = result["account"] ?? .null
        if let type = account["type"]?.stringValue {
            switch type {
            case "chatgpt":
                var detail = "Logged in with ChatGPT"
                let extras = [account["email"]?.stringValue, account["planType"]?.stringValue].compactMap { $0 }
                if !extras.isEmpty { detail += " (\(extras.joined(separator: ", ")))" }
                return AccountStatus(loggedIn: true, detail: detail + ".", provider: provider)
            case "apiKey":
                return AccountStatus(loggedIn: true, detail: "Logged in with an API key.", provider: provider)
            case "amazonBedrock":
                return AccountStatus(
                    loggedIn: true, detail: "Using Amazon Bedrock credentials.", provider: provider ?? "Amazon Bedrock")
            default:
                return AccountStatus(loggedIn: true, detail: "Logged in (\(type)).", provider: provider)
            }
        }
        if result["requiresOpenaiAuth"]?.boolValue == false {
            let name = provider ?? "The configured model provider"
            return AccountStatus(
                loggedIn: true, detail: "\(name) is configured and does not require OpenAI authentication.",
                provider: provider)
        }
        return AccountStatus(
            loggedIn: false, detail: "Codex is not logged in. Run `codex login` (or `codex login --with-api-key`).",
            provider: provider)
    }

    /// `config.model_providers[<id>].name`, else the id; nil when no provider is configured.
    package static func providerName(_ config: JSONValue?) -> String? {
        guard let settings = config?["config"], let id = settings["model_provider"]?.stringValue, !id.isEmpty else {
            return nil
        }
        if let name = settings["model_providers"]?[id]?["name"]?.stringValue, !name.isEmpty { return name }
        return id
    }
}
