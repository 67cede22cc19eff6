#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A small JSON value for the fake server (it must not depend on CompanionCore).
enum FakeJSON: Equatable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([FakeJSON])
    case object([String: FakeJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
            return
        }
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
            return
        }
        if let value = try? container.decode(Int64.self) {
            self = .int(value)
            return
        }
        if let value = try? container.decode(Double.self) {
            self = .double(value)
            return
        }
        if let value = try? container.decode(String.self) {
            self = .string(value)
            return
        }
        if let value = try? container.decode([FakeJSON].self) {
            self = .array(value)
            return
        }
        self = .object(try container.decode([String: FakeJSON].self))
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    static func parse(_ bytes: [UInt8]) -> FakeJSON? {
        try? JSONDecoder().decode(FakeJSON.self, from: Data(bytes))
    }

    /// Compact JSON text.
    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? Array("null".utf8)
    }

    subscript(key: String) -> FakeJSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var int: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value): return Int64(exactly: value.rounded())
        default: return nil
        }
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [FakeJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// Replaces every `{{name}}` inside every string (keys included) with its value.
    func substituting(_ variables: [String: String]) -> FakeJSON {
        switch self {
        case .string(let text): return .string(Self.substitute(text, variables))
        case .array(let items): return .array(items.map { $0.substituting(variables) })
        case .object(let object):
            var result: [String: FakeJSON] = [:]
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
