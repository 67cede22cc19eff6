import CompanionSystem
import CompanionJSON
/// A JSON-RPC id: Codex uses integers for both sides, but strings are legal.
package enum RPCID: Hashable, Sendable, CustomStringConvertible {
    case int(Int64)
    case string(String)

    package init?(_ value: JSONValue?) {
        switch value {
        case .string(let text)?: self = .string(text)
        case let other?:
            guard let number = other.intValue else { return nil }
            self = .int(number)
        case nil: return nil
        }
    }

    package var json: JSONValue {
        switch self {
        case .int(let value): return .int(value)
        case .string(let value): return .string(value)
        }
    }

    package var description: String {
        switch self {
        case .int(let value): return String(value)
        case .string(let value): return value
        }
    }
}

/// The `error` member of a JSON-RPC error response.
package struct RPCErrorObject: Equatable, Sendable {
    package var code: Int64
    package var message: String
    package var data: JSONValue?

    /// The code the companion answers unsupported server requests with.
    package static let methodNotFound: Int64 = -32601
}

/// One newline-delimited message of Codex's JSON-RPC dialect (JSON-RPC 2.0 without
/// the `jsonrpc` member). Which case it is follows from the members present:
/// `id` and `method` make a request, `method` alone a notification, `id` alone a response.
package enum RPCMessage: Equatable, Sendable {
    case request(id: RPCID, method: String, params: JSONValue)
    case notification(method: String, params: JSONValue)
    case response(id: RPCID, result: JSONValue)
    /// `id` is nil when the peer could not tell which request failed.
    case errorResponse(id: RPCID?, error: RPCErrorObject)

    /// Classifies a decoded JSON value; nil when it is not a message (not an object,
    /// a non-string method, a response without an id…).
    package init?(json: JSONValue) {
        guard case .object(let object) = json else { return nil }
        let params = object["params"] ?? .null
        if let methodValue = object["method"] {
            guard case .string(let method) = methodValue else { return nil }
            if let idValue = object["id"], idValue != .null {
                guard let id = RPCID(idValue) else { return nil }
                self = .request(id: id, method: method, params: params)
            } else {
                self = .notification(method: method, params: params)
            }
            return
        }
        let id = RPCID(object["id"])
        if let error = object["error"], error != .null {
            let code = error["code"]?.intValue ?? 0
            let message = error["message"]?.stringValue ?? "unknown error"
            self = .errorResponse(id: id, error: RPCErrorObject(code: code, message: message, data: error["data"]))
            return
        }
        guard let id else { return nil }
        self = .response(id: id, result: object["result"] ?? .null)
    }

    /// The message as a JSON object, ready to encode.
    package var json: JSONValue {
        switch self {
        case .request(let id, let method, let params):
            return .object(["id": id.json, "method": .string(method), "params": params])
        case .notification(let method, let params):
            return .object(["method": .string(method), "params": params])
        case .response(let id, let result):
            return .object(["id": id.json, "result": result])
        case .errorResponse(let id, let error):
            var body: [String: JSONValue] = ["code": .int(error.code), "message": .string(error.message)]
            if let data = error.data { body["data"] = data }
            return .object(["id": id?.json ?? .null, "error": .object(body)])
        }
    }
}

/// Bytes to messages and back. Pure: no I/O.
package enum RPCCodec {
    /// Decodes one line (without its newline); nil when it is not JSON or not a message.
    package static func decode(_ line: [UInt8]) -> RPCMessage? {
        guard let value = JSONWire.parse(line) else { return nil }
        return RPCMessage(json: value)
    }

    package static func decode(_ line: String) -> RPCMessage? {
        decode(Array(line.utf8))
    }

    /// One message as a line, newline included. JSON never contains a raw newline,
    /// so the framing cannot break.
    package static func encode(_ message: RPCMessage) -> [UInt8] {
        var bytes = JSONWire.serialize(message.json)
        bytes.append(0x0A)
        return bytes
    }
}
