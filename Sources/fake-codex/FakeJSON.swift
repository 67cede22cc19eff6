import CompanionJSON

/// The fake server speaks the product's own JSON value type.
typealias FakeJSON = JSONValue

extension JSONValue {
    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONCoding.decode(JSONValue.self, from: bytes)
    }

    /// Compact JSON text.
    func encoded() -> [UInt8] {
        JSONWire.serialize(self)
    }

    var string: String? { stringValue }
    var int: Int64? { intValue }
    var bool: Bool? { boolValue }
    var array: [JSONValue]? { arrayValue }

    /// Replaces every `{{name}}` inside every string (keys included) with its value.
    func substituting(_ variables: [String: String]) -> JSONValue {
        switch self {
        case .string(let text): return .string(Self.substitute(text, variables))
        case .array(let items): return .array(items.map { $0.substituting(variables) })
        case .object(let object):
            var result: [String: JSONValue] = [:]
            for (key, value) in object { result[Self.substitute(key, variables)] = value.substituting(variables) }
            return .object(result)
        default: return self
        }
    }

    static func substitute(_ text: String, _ variables: [String: String]) -> String {
        guard text.contains("{{") else { return text }
        var result = text
        for (name, value) in variables {
            result = result.replacing("{{\(name)}}", with: value)
        }
        return result
    }
}
