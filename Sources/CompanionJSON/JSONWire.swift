import CompanionSystem
/// A strict, allocation-light JSON reader and writer for the RPC hot path: every line
/// Codex sends goes through here (thousands per turn), and `JSONDecoder` into the
/// open-shaped `JSONValue` costs about a millisecond a line in debug builds.
/// RFC 8259: one value per text, surrounding whitespace allowed, nesting limited.
package enum JSONWire {
    package static let maximumDepth = 512

    /// Parses one JSON text; nil when it is not exactly one valid value.
    package static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: buffer)
            guard let value = reader.parseValue(depth: 0) else { return nil }
            reader.skipWhitespace()
            // (Not a ternary: `nil` would become JSONValue.null there.)
            guard reader.index == buffer.count else { return nil }
            return value
        }
    }

    /// Compact JSON with object keys sorted (stable output), non-ASCII written as UTF-8.
    package static func serialize(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        write(value, into: &output)
        return output
    }

    package static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let flag): output.append(contentsOf: flag ? Array("true".utf8) : Array("false".utf8))
        case .int(let number): output.append(contentsOf: String(number).utf8)
        case .double(let number):
            if number.isFinite {
                if number.rounded() == number && abs(number) < 1e15 {
                    output.append(contentsOf: String(Int64(number)).utf8)
                } else {
                    output.append(contentsOf: "\(number)".utf8)
                }
            } else {
                output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // JSON has no NaN or infinity
            }
        case .string(let text): writeString(text, into: &output)
        case .array(let items):
            output.append(0x5B)
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(0x2C) }
                write(item, into: &output)
            }
            output.append(0x5D)
        case .object(let members):
            output.append(0x7B)
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output.append(0x2C) }
                writeString(key, into: &output)
                output.append(0x3A)
                write(members[key]!, into: &output)
            }
            output.append(0x7D)
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    package static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(0x22)
        var text = text
        text.withUTF8 { bytes in
            output.reserveCapacity(output.count + bytes.count + 2)
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                runStart = index + 1
                switch byte {
                case 0x22: output.append(contentsOf: [0x5C, 0x22])
                case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: output.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: output.append(contentsOf: [0x5C, 0x72])
                case 0x09: output.append(contentsOf: [0x5C, 0x74])
                case 0x08: output.append(contentsOf: [0x5C, 0x62])
                case 0x0C: output.append(contentsOf: [0x5C, 0x66])
                default:
                    output.append(contentsOf: [
                        0x5C, 0x75, 0x30, 0x30, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)],
                    ])
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        output.append(0x22)
    }

    private struct Reader {
        package let bytes: UnsafeBufferPointer<UInt8>
        package var index = 0

        package init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        package mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        package mutating func parseValue(depth: Int) -> JSONValue? {
            guard depth < JSONWire.maximumDepth else { return nil }
            skipWhitespace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case 0x7B: return parseObject(depth: depth)
            case 0x5B: return parseArray(depth: depth)
            case 0x22: return parseString().map(JSONValue.string)
            case 0x74: return literal("true", .bool(true))
            case 0x66: return literal("false", .bool(false))
            case 0x6E: return literal("null", .null)
            case 0x2D, 0x30...0x39: return parseNumber()
            default: return nil
            }
        }

        package mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return nil }
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
            for offset in 0..<count where bytes[index + offset] != expected[offset] { return nil }
            index += count
            return value
        }

        /// Past any whitespace: steps over `byte` and returns true when it comes next.
        package mutating func consume(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        package mutating func parseObject(depth: Int) -> JSONValue? {
            index += 1
            var members: [String: JSONValue] = [:]
            if consume(0x7D) { return .object(members) }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == 0x22, let key = parseString() else { return nil }
                guard consume(0x3A), let value = parseValue(depth: depth + 1) else { return nil }
                members[key] = value
                if consume(0x2C) { continue }
                return consume(0x7D) ? .object(members) : nil
            }
        }

        package mutating func parseArray(depth: Int) -> JSONValue? {
            index += 1
            var items: [JSONValue] = []
            if consume(0x5D) { return .array(items) }
            while true {
                guard let value = parseValue(depth: depth + 1) else { return nil }
                items.append(value)
                if consume(0x2C) { continue }
                return consume(0x5D) ? .array(items) : nil
            }
        }

        /// At an opening quote; returns the unescaped text.
        package mutating func parseString() -> String? {
            index += 1
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x22 {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == 0x5C { break }
                if byte < 0x20 { return nil }
                index += 1
            }
            guard index < bytes.count else { return nil }
            var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x22 {
                    index += 1
                    return String(decoding: scratch, as: UTF8.self)
                }
                if byte < 0x20 { return nil }
                if byte != 0x5C {
                    scratch.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case 0x22: scratch.append(0x22)
                case 0x5C: scratch.append(0x5C)
                case 0x2F: scratch.append(0x2F)
                case 0x62: scratch.append(0x08)
                case 0x66: scratch.append(0x0C)
                case 0x6E: scratch.append(0x0A)
                case 0x72: scratch.append(0x0D)
                case 0x74: scratch.append(0x09)
                case 0x75:
                    guard var scalar = readHex4() else { return nil }
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by an escaped low one.
                        if index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 {
                            index += 2
                            guard let low = readHex4() else { return nil }
                            if (0xDC00...0xDFFF).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                appendScalar(0xFFFD, to: &scratch)
                                scalar = low
                            }
                        } else {
                            scalar = 0xFFFD
                        }
                    }
                    if (0xD800...0xDFFF).contains(scalar) { scalar = 0xFFFD }
                    appendScalar(scalar, to: &scratch)
                default:
                    return nil
                }
            }
            return nil
        }

        package mutating func readHex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: return nil
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        package func appendScalar(_ value: UInt32, to output: inout [UInt8]) {
            let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
            output.append(contentsOf: Array(String(Character(scalar)).utf8))
        }

        package mutating func parseNumber() -> JSONValue? {
            let start = index
            var isInteger = true
            if bytes[index] == 0x2D { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] == 0x30 {
                index += 1
            } else if (0x31...0x39).contains(bytes[index]) {
                while index < bytes.count && (0x30...0x39).contains(bytes[index]) { index += 1 }
            } else {
                return nil
            }
            if index < bytes.count && bytes[index] == 0x2E {
                isInteger = false
                index += 1
                let digits = index
                while index < bytes.count && (0x30...0x39).contains(bytes[index]) { index += 1 }
                guard index > digits else { return nil }
            }
            if index < bytes.count && (bytes[index] == 0x65 || bytes[index] == 0x45) {
                isInteger = false
                index += 1
                if index < bytes.count && (bytes[index] == 0x2B || bytes[index] == 0x2D) { index += 1 }
                let digits = index
                while index < bytes.count && (0x30...0x39).contains(bytes[index]) { index += 1 }
                guard index > digits else { return nil }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let number = Int64(text) { return .int(number) }
            return Double(text).map(JSONValue.double)
        }
    }
}
