import CompanionSystem
import CompanionJSON

/// The structured answer of an adversarial review (the `outputSchema` of its turn).
public struct AdversarialReview: Sendable, Equatable, Codable {
    public enum Verdict: String, Sendable, Codable, CaseIterable {
        case approve
        case needsAttention = "needs-attention"
    }

    public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
        case critical, high, medium, low

        /// critical first.
        public var rank: Int { Self.allCases.firstIndex(of: self)! }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public struct Finding: Sendable, Equatable, Codable {
        public var severity: Severity
        public var title: String
        public var body: String
        public var file: String
        public var lineStart: Int
        public var lineEnd: Int
        public var confidence: Double
        public var recommendation: String
    }

    public var verdict: Verdict
    public var summary: String
    public var findings: [Finding]
    public var nextSteps: [String]
}

/// Why the model's answer is not an adversarial review.
public enum AdversarialOutputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No final message at all.
    case empty
    /// The text does not parse as JSON.
    case notJSON
    /// JSON, but `path` (e.g. `findings[1].severity`) breaks the schema as `problem` says.
    case invalid(path: String, problem: String)

    public var description: String {
        switch self {
        case .empty:
            return "the model gave no final answer"
        case .notJSON:
            return "the model's answer is not JSON"
        case .invalid(let path, let problem):
            return
                "the model's answer does not match the review schema: \(path.isEmpty ? "the answer" : path) \(problem)"
        }
    }
}

/// The schema sent as `outputSchema` and the strict check of the answer against it.
/// Codex forwards the schema to the model but never validates the answer, so every
/// answer is checked here: field by field, with the first problem named precisely.
public enum AdversarialSchema {
    package static let findingKeys = [
        "severity", "title", "body", "file", "lineStart", "lineEnd", "confidence", "recommendation",
    ]
    package static let topKeys = ["verdict", "summary", "findings", "nextSteps"]

    /// JSON Schema (2020-12), strict-mode compatible: every property required, no others allowed.
    public static var outputSchema: JSONValue {
        let text: JSONValue = ["type": "string"]
        let line: JSONValue = ["type": "integer", "minimum": 1]
        let finding: JSONValue = [
            "type": "object", "additionalProperties": false, "required": .array(findingKeys.map(JSONValue.string)),
            "properties": [
                "severity": [
                    "type": "string", "enum": .array(AdversarialReview.Severity.allCases.map { .string($0.rawValue) }),
                ],
                "title": text, "body": text, "file": text, "lineStart": line, "lineEnd": line,
                "confidence": ["type": "number", "minimum": 0, "maximum": 1], "recommendation": text,
            ],
        ]
        return [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object", "additionalProperties": false, "required": .array(topKeys.map(JSONValue.string)),
            "properties": [
                "verdict": [
                    "type": "string", "enum": .array(AdversarialReview.Verdict.allCases.map { .string($0.rawValue) }),
                ],
                "summary": text,
                "findings": ["type": "array", "items": finding],
                "nextSteps": ["type": "array", "items": text],
            ],
        ]
    }

    /// Parses and checks the model's final message. One ```` ```json ```` fence around the
    /// whole answer is tolerated; anything else than the JSON object is not.
    public static func parse(_ text: String?) throws(AdversarialOutputError) -> AdversarialReview {
        guard let text, !ProgressText.trim(text).isEmpty else { throw .empty }
        guard let value = JSONWire.parse(Array(unfenced(text).utf8)) else { throw .notJSON }
        guard let object = value.objectValue else { throw .invalid(path: "", problem: "must be a JSON object") }
        try checkKeys(object, allowed: topKeys, path: "")
        let verdictText = try string(object["verdict"], "verdict")
        guard let verdict = AdversarialReview.Verdict(rawValue: verdictText) else {
            throw .invalid(
                path: "verdict", problem: "must be \"approve\" or \"needs-attention\" (got \(quoted(verdictText)))")
        }
        let summary = try string(object["summary"], "summary", nonEmpty: true)
        let findings = try array(object["findings"], "findings").enumerated().map {
            index, item throws(AdversarialOutputError) in
            try finding(item, path: "findings[\(index)]")
        }
        let steps = try array(object["nextSteps"], "nextSteps").enumerated().map {
            index, item throws(AdversarialOutputError) in
            try string(item, "nextSteps[\(index)]", nonEmpty: true)
        }
        return AdversarialReview(verdict: verdict, summary: summary, findings: findings, nextSteps: steps)
    }

    private static func finding(_ value: JSONValue, path: String) throws(AdversarialOutputError)
        -> AdversarialReview.Finding
    {
        guard let object = value.objectValue else { throw .invalid(path: path, problem: "must be an object") }
        try checkKeys(object, allowed: findingKeys, path: path + ".")
        let severityText = try string(object["severity"], path + ".severity")
        guard let severity = AdversarialReview.Severity(rawValue: severityText) else {
            throw .invalid(
                path: path + ".severity",
                problem: "must be one of critical, high, medium, low (got \(quoted(severityText)))")
        }
        let start = try integer(object["lineStart"], path + ".lineStart")
        let end = try integer(object["lineEnd"], path + ".lineEnd")
        guard end >= start else {
            throw .invalid(path: path + ".lineEnd", problem: "(\(end)) is before lineStart (\(start))")
        }
        let confidence = try number(object["confidence"], path + ".confidence")
        guard confidence >= 0, confidence <= 1 else {
            throw .invalid(path: path + ".confidence", problem: "must be between 0 and 1 (got \(confidence))")
        }
        return AdversarialReview.Finding(
            severity: severity, title: try string(object["title"], path + ".title", nonEmpty: true),
            body: try string(object["body"], path + ".body", nonEmpty: true),
            file: try string(object["file"], path + ".file", nonEmpty: true), lineStart: start, lineEnd: end,
            confidence: confidence, recommendation: try string(object["recommendation"], path + ".recommendation"))
    }

    private static func checkKeys(_ object: [String: JSONValue], allowed: [String], path: String)
        throws(AdversarialOutputError)
    {
        for key in allowed where object[key] == nil {
            throw .invalid(path: path + key, problem: "is missing")
        }
        if let extra = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .invalid(path: path + extra, problem: "is not a field of the schema")
        }
    }

    private static func string(_ value: JSONValue?, _ path: String, nonEmpty: Bool = false)
        throws(AdversarialOutputError) -> String
    {
        guard case .string(let text)? = value else {
            throw .invalid(path: path, problem: "must be a string (got \(kind(value)))")
        }
        if nonEmpty, ProgressText.trim(text).isEmpty { throw .invalid(path: path, problem: "must not be empty") }
        return text
    }

    private static func array(_ value: JSONValue?, _ path: String) throws(AdversarialOutputError) -> [JSONValue] {
        guard case .array(let items)? = value else {
            throw .invalid(path: path, problem: "must be an array (got \(kind(value)))")
        }
        return items
    }

    private static func integer(_ value: JSONValue?, _ path: String) throws(AdversarialOutputError) -> Int {
        guard let number = value?.intValue, case .int = value! else {
            throw .invalid(path: path, problem: "must be an integer (got \(kind(value)))")
        }
        guard number >= 1 else { throw .invalid(path: path, problem: "must be at least 1 (got \(number))") }
        return Int(number)
    }

    private static func number(_ value: JSONValue?, _ path: String) throws(AdversarialOutputError) -> Double {
        switch value {
        case .int(let v)?: return Double(v)
        case .double(let v)?: return v
        default: throw .invalid(path: path, problem: "must be a number (got \(kind(value)))")
        }
    }

    private static func kind(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: return "null"
        case .bool?: return "a boolean"
        case .int?, .double?: return "a number"
        case .string(let text)?: return "the string \(quoted(text))"
        case .array?: return "an array"
        case .object?: return "an object"
        }
    }

    private static func quoted(_ text: String) -> String {
        "\"" + Printable.clipped(text) + "\""
    }

    /// The text inside one ```` ``` ```` / ```` ```json ```` fence around the whole answer.
    package static func unfenced(_ text: String) -> String {
        let trimmed = ProgressText.trim(text)
        guard trimmed.hasPrefix("```"), trimmed.hasSuffix("```"), trimmed.count >= 6 else { return trimmed }
        var inner = trimmed.dropFirst(3).dropLast(3)
        if let newline = inner.firstIndex(of: "\n") {
            let info = inner[..<newline]
            if info.allSatisfy({ $0.isLetter }) { inner = inner[inner.index(after: newline)...] }
        }
        return ProgressText.trim(String(inner))
    }
}
