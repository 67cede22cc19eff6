import CompanionSystem
/// Converts a Codable value into a `JSONValue` (for building `--json` payloads).
extension JSONValue {
    public static func from<T: Encodable>(_ value: T) -> JSONValue {
        // Values of the project's own Codable types always encode; null would say one did not.
        guard let bytes = try? JSONCoding.encode(value), let json = try? JSONCoding.decode(JSONValue.self, from: bytes)
        else {
            return .null
        }
        return json
    }

    public static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    public static func optional(_ value: Int32?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
    public static func optional(_ value: Int64?) -> JSONValue { value.map(JSONValue.int) ?? .null }
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
}
