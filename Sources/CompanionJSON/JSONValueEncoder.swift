/// Encodes an `Encodable` payload straight into a `JSONValue`, without Foundation's
/// JSONEncoder (the hook path stays light).
///
/// One rule differs from JSONEncoder on purpose: a nil optional is written as `null`
/// instead of being left out, so every field a `--json` payload declares is always
/// present (the README's contract: "null when unknown").
public struct JSONValueEncoder: Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        if let direct = value as? JSONValue { return direct }
        let slot = Slot()
        try value.encode(to: SlotEncoder(slot: slot, codingPath: []))
        return slot.resolve()
    }
}

extension JSONValue {
    /// The payload as a JSON value. Encodable payloads built of strings, numbers, bools,
    /// arrays, optionals and nested payloads cannot fail; if a custom `encode(to:)` throws,
    /// the payload is replaced by an object naming the failure rather than dropped.
    public static func encoding<T: Encodable>(_ payload: T) -> JSONValue {
        do {
            return try JSONValueEncoder().encode(payload)
        } catch {
            return .object(["encodingError": .string(String(describing: error))])
        }
    }
}

extension JSONWire {
    /// The compact text of an `Encodable` payload, encoded with `JSONValueEncoder`'s rules.
    package static func text(_ payload: some Encodable) -> String {
        String(decoding: serialize(JSONValue.encoding(payload)), as: UTF8.self)
    }
}

/// Where one encoded value is being built; containers fill it in place.
private final class Slot {
    var scalar: JSONValue?
    var members: [String: Slot]?
    var items: [Slot]?

    func resolve() -> JSONValue {
        if let members { return .object(members.mapValues { $0.resolve() }) }
        if let items { return .array(items.map { $0.resolve() }) }
        return scalar ?? .object([:])
    }

    func member(_ key: String) -> Slot {
        if members == nil { members = [:] }
        if let existing = members?[key] { return existing }
        let slot = Slot()
        members?[key] = slot
        return slot
    }

    func appended() -> Slot {
        if items == nil { items = [] }
        let slot = Slot()
        items?.append(slot)
        return slot
    }

    /// Writes a value: a scalar directly, anything else through its own `encode(to:)`.
    func store<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        (self.scalar, members, items) = (nil, nil, nil)  // a later write of a key replaces the earlier one
        if let scalar = Slot.scalar(value) {
            self.scalar = scalar
        } else {
            try value.encode(to: SlotEncoder(slot: self, codingPath: codingPath))
        }
    }

    static func scalar(_ value: some Encodable) -> JSONValue? {
        switch value {
        case let json as JSONValue: return json
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Double: return .double(number)
        case let number as Float: return .double(Double(number))
        case let number as any BinaryInteger:
            return Int64(exactly: number).map(JSONValue.int) ?? .double(Double(number))
        default: return nil
        }
    }
}

private struct SlotEncoder: Encoder {
    let slot: Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if slot.members == nil { slot.members = [:] }
        return KeyedEncodingContainer(KeyedSlot<Key>(slot: slot, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if slot.items == nil { slot.items = [] }
        return UnkeyedSlot(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleSlot(slot: slot, codingPath: codingPath)
    }
}

/// The unkeyed and single-value containers write every primitive the same way.
private protocol ScalarSink {
    mutating func put<T: Encodable>(_ value: T) throws
}

extension ScalarSink {
    mutating func encode(_ value: Bool) throws { try put(value) }
    mutating func encode(_ value: String) throws { try put(value) }
    mutating func encode(_ value: Double) throws { try put(value) }
    mutating func encode(_ value: Float) throws { try put(value) }
    mutating func encode(_ value: Int) throws { try put(value) }
    mutating func encode(_ value: Int8) throws { try put(value) }
    mutating func encode(_ value: Int16) throws { try put(value) }
    mutating func encode(_ value: Int32) throws { try put(value) }
    mutating func encode(_ value: Int64) throws { try put(value) }
    mutating func encode(_ value: UInt) throws { try put(value) }
    mutating func encode(_ value: UInt8) throws { try put(value) }
    mutating func encode(_ value: UInt16) throws { try put(value) }
    mutating func encode(_ value: UInt32) throws { try put(value) }
    mutating func encode(_ value: UInt64) throws { try put(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try put(value) }
}

private struct SingleSlot: SingleValueEncodingContainer, ScalarSink {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.scalar = .null }
    mutating func put<T: Encodable>(_ value: T) throws { try slot.store(value, codingPath: codingPath) }
}

private struct UnkeyedSlot: UnkeyedEncodingContainer, ScalarSink {
    let slot: Slot
    let codingPath: [any CodingKey]
    var count: Int { slot.items?.count ?? 0 }

    mutating func encodeNil() throws { slot.appended().scalar = .null }
    mutating func put<T: Encodable>(_ value: T) throws { try slot.appended().store(value, codingPath: codingPath) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        SlotEncoder(slot: slot.appended(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        SlotEncoder(slot: slot.appended(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { SlotEncoder(slot: slot.appended(), codingPath: codingPath) }
}

private struct KeyedSlot<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { slot.member(key.stringValue).scalar = .null }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try slot.member(key.stringValue).store(value, codingPath: codingPath + [key])
    }

    /// Nil is written as null: every declared field stays in the payload.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        SlotEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        SlotEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { SlotEncoder(slot: slot.member("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        SlotEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key])
    }
}

// Every primitive overload routes to the generic methods above, so nil is null for each.
extension KeyedSlot {
    mutating func encode(_ value: Bool, forKey key: Key) throws { try encode(value as Bool?, key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try encode(value as String?, key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try encode(value as Double?, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encode(value as Float?, key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try encode(value as Int?, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try encode(value as Int8?, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try encode(value as Int16?, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try encode(value as Int32?, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try encode(value as Int64?, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encode(value as UInt?, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try encode(value as UInt8?, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try encode(value as UInt16?, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try encode(value as UInt32?, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encode(value as UInt64?, key) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encode(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encode(value, key) }

    private mutating func encode<T: Encodable>(_ value: T?, _ key: Key) throws {
        try encodeIfPresent(value, forKey: key)
    }
}
