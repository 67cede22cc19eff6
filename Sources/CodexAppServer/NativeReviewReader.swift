import CompanionSystem
import CompanionJSON

/// Reads what Codex's built-in reviewer concluded. The structured answer
/// (`review_output`: findings with priority and confidence, the overall verdict) exists
/// only in the rollout file of a persisted thread; the client sees the rendered text.
/// So the rollout is read first and the rendered text parsed only when it is missing.
public enum NativeReviewReader {
    /// The review of turn `turnId` from the rollout file at `path`; nil when the file or
    /// the line is missing or unreadable (the caller falls back to the rendered text).
    public static func fromRollout(path: String, turnId: String?) -> NativeReview? {
        // An unreadable rollout is not an error: the rendered text still has the findings.
        guard let bytes = (try? FileSystem.read(path)) ?? nil else { return nil }
        var found: NativeReview?
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            // Cheap pre-check: only the review-mode lines are parsed.
            guard containsMarker(line) else { continue }
            guard let value = JSONWire.parse(Array(line)), let payload = value["payload"],
                payload["type"]?.stringValue == "exited_review_mode"
            else { continue }
            if let turnId, let lineTurn = payload["turn_id"]?.stringValue, lineTurn != turnId { continue }
            if let output = payload["review_output"], let review = fromReviewOutput(output) { found = review }
        }
        return found
    }

    private static let marker = Array("exited_review_mode".utf8)

    private static func containsMarker(_ line: ArraySlice<UInt8>) -> Bool {
        guard line.count >= marker.count else { return false }
        var index = line.startIndex
        while index + marker.count <= line.endIndex {
            if line[index..<(index + marker.count)].elementsEqual(marker) { return true }
            index += 1
        }
        return false
    }

    /// The `review_output` object (the JSON the review prompt asks for).
    public static func fromReviewOutput(_ value: JSONValue) -> NativeReview? {
        guard value.objectValue != nil else { return nil }
        let findings = (value["findings"]?.arrayValue ?? []).compactMap(finding)
        let correctness = value["overall_correctness"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return NativeReview(
            findings: findings, overallCorrectness: correctness,
            explanation: value["overall_explanation"]?.stringValue ?? "",
            overallConfidence: number(value["overall_confidence_score"]), source: .rollout)
    }

    private static func finding(_ value: JSONValue) -> ReviewFinding? {
        guard value.objectValue != nil else { return nil }
        let (tag, title) = splitPriorityTag(value["title"]?.stringValue ?? "")
        let location = value["code_location"]
        let range = location?["line_range"]
        return ReviewFinding(
            title: title, body: value["body"]?.stringValue ?? "",
            file: location?["absolute_file_path"]?.stringValue,
            lineStart: range?["start"]?.intValue.map { Int($0) }, lineEnd: range?["end"]?.intValue.map { Int($0) },
            priority: value["priority"]?.intValue.map { Int($0) } ?? tag,
            confidence: number(value["confidence_score"]))
    }

    private static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let v)?: return Double(v)
        case .double(let v)?: return v
        default: return nil
        }
    }

    /// `[P1] Title` → (1, "Title"); a title without a tag is returned unchanged.
    public static func splitPriorityTag(_ title: String) -> (Int?, String) {
        let scalars = Array(title.unicodeScalars)
        guard scalars.count >= 4, scalars[0] == "[", scalars[1] == "P" || scalars[1] == "p",
            let digit = scalars[2].properties.numericType != nil ? Int(String(scalars[2])) : nil, scalars[3] == "]"
        else { return (nil, title) }
        let rest = String(String.UnicodeScalarView(scalars.dropFirst(4)))
        return (digit, ProgressText.trim(rest))
    }

    /// Parses the rendered review (what `exitedReviewMode.review` carries):
    /// `<explanation>` then, with findings, `Review comment:` or `Full review comments:` and
    /// entries `- <title> — <path>:<start>-<end>` followed by an indented body.
    public static func fromRenderedText(_ text: String) -> NativeReview {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let header = lines.firstIndex(where: { $0 == "Review comment:" || $0 == "Full review comments:" }) else {
            return NativeReview(
                findings: [], overallCorrectness: nil, explanation: ProgressText.trim(text), overallConfidence: nil,
                source: .renderedText)
        }
        let explanation = ProgressText.trim(lines[..<header].joined(separator: "\n"))
        var findings: [ReviewFinding] = []
        var bodyLines: [String] = []
        func flushBody() {
            guard !findings.isEmpty else { return }
            findings[findings.count - 1].body = ProgressText.trim(bodyLines.joined(separator: "\n"))
            bodyLines = []
        }
        for line in lines[(header + 1)...] {
            if line.hasPrefix("- "), let entry = renderedEntry(String(line.dropFirst(2))) {
                flushBody()
                findings.append(entry)
            } else if !findings.isEmpty {
                bodyLines.append(line.hasPrefix("  ") ? String(line.dropFirst(2)) : line)
            }
        }
        flushBody()
        return NativeReview(
            findings: findings, overallCorrectness: nil, explanation: explanation, overallConfidence: nil,
            source: .renderedText)
    }

    /// `<title> — <path>:<start>-<end>`, split at the last ` — `.
    private static func renderedEntry(_ text: String) -> ReviewFinding? {
        guard let dash = text.ranges(of: " — ").last else { return nil }
        let (tag, title) = splitPriorityTag(String(text[..<dash.lowerBound]))
        var location = String(text[dash.upperBound...])
        var start: Int?
        var end: Int?
        if let colon = location.lastIndex(of: ":") {
            let range = location[location.index(after: colon)...].split(separator: "-")
            if range.count == 2, let first = Int(range[0]), let last = Int(range[1]) {
                start = first
                end = last
                location = String(location[..<colon])
            }
        }
        return ReviewFinding(
            title: title, body: "", file: location.isEmpty ? nil : location, lineStart: start, lineEnd: end,
            priority: tag, confidence: nil)
    }
}
