import Testing

import CompanionJSON

private struct Inner: Encodable {
    let name: String
    let count: Int
    let note: String?
}

private struct Payload: Encodable {
    let id: String
    let flag: Bool
    let ratio: Double
    let big: UInt64, small: Int32
    let missing: String?, missingNumber: Int64?, missingNested: Inner?
    let nested: Inner, list: [Inner]
    let optionals: [String?]
    let map: [String: Int]
    let raw: JSONValue
}

private enum Level: String, Encodable { case high }

private struct Renamed: Encodable {
    let level: Level
    let value: Int

    enum CodingKeys: String, CodingKey {
        case level = "severity"
        case value
    }
}

@Suite struct JSONValueEncoderTests {
    private static let sample = Payload(
        id: "j-1", flag: true, ratio: 0.25, big: UInt64.max, small: -3, missing: nil, missingNumber: nil,
        missingNested: nil, nested: Inner(name: "n", count: 2, note: nil),
        list: [Inner(name: "a", count: 1, note: "x")], optionals: ["a", nil], map: ["k": 7],
        raw: ["already": .array([1, "two"])])

    @Test func everyDeclaredFieldIsPresentAndNilIsNull() throws {
        let json = try JSONValueEncoder().encode(Self.sample)
        let object = try #require(json.objectValue)
        #expect(
            object.keys.sorted() == [
                "big", "flag", "id", "list", "map", "missing", "missingNested", "missingNumber", "nested", "optionals",
                "ratio", "raw", "small",
            ])
        #expect(object["missing"] == .null)
        #expect(object["missingNumber"] == .null)
        #expect(object["missingNested"] == .null)
        #expect(json["nested"]?["note"] == .null)
        #expect(json["optionals"] == .array(["a", .null]))
    }

    @Test func scalarsKeepTheirJSONKinds() throws {
        let json = try JSONValueEncoder().encode(Self.sample)
        #expect(json["id"] == .string("j-1"))
        #expect(json["flag"] == .bool(true))
        #expect(json["ratio"] == .double(0.25))
        #expect(json["small"] == .int(-3))
        #expect(json["big"] == .double(Double(UInt64.max)))
        #expect(json["map"] == .object(["k": 7]))
        #expect(json["raw"] == .object(["already": .array([1, "two"])]))
        #expect(json["list"]?[0]?["name"] == .string("a"))
        #expect(json["list"]?[0]?["note"] == .string("x"))
    }

    @Test func theWireTextIsWhatJSONEncoderWouldWritePlusTheNulls() throws {
        let inner = Inner(name: "q\"uote/é", count: 3, note: nil)
        let text = String(decoding: JSONWire.serialize(try JSONValueEncoder().encode(inner)), as: UTF8.self)
        #expect(text == #"{"count":3,"name":"q\"uote/é","note":null}"#)
        let plain = String(decoding: try JSONCoding.encode(inner), as: UTF8.self)
        #expect(plain == #"{"count":3,"name":"q\"uote/é"}"#)
    }

    @Test func codingKeysAndRawValueEnumsAreHonoured() throws {
        let json = try JSONValueEncoder().encode(Renamed(level: .high, value: 1))
        #expect(json == .object(["severity": "high", "value": 1]))
    }

    @Test func aTopLevelScalarOrArrayEncodesAsItself() throws {
        #expect(try JSONValueEncoder().encode("text") == .string("text"))
        #expect(try JSONValueEncoder().encode([1, 2]) == .array([1, 2]))
        #expect(try JSONValueEncoder().encode(Int?.none) == .null)
    }
}
