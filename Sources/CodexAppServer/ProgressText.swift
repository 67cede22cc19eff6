import CompanionSystem
import CompanionJSON
/// Small pure text helpers for progress lines.
package enum ProgressText {
    /// Collapses runs of whitespace (including newlines) to one space and trims.
    package static func collapseWhitespace(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for character in text {
            if character.isWhitespace {
                pendingSpace = !result.isEmpty
            } else {
                if pendingSpace { result.append(" ") }
                pendingSpace = false
                result.append(character)
            }
        }
        return result
    }

    /// The text without leading and trailing whitespace.
    package static func trim(_ text: String) -> String {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
            let last = text.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(text[first...last])
    }

    /// One line, at most `limit` characters, ending in "…" when cut.
    package static func preview(_ text: String, limit: Int = 240) -> String {
        let collapsed = collapseWhitespace(text)
        guard collapsed.count > limit else { return collapsed }
        return String(collapsed.prefix(limit - 1)) + "…"
    }

    /// The command as a person would type it: `/bin/bash -lc "npm test"` becomes
    /// `npm test`. Anything that is not that shape is returned as is.
    package static func displayCommand(_ command: String) -> String {
        let trimmed = collapseWhitespace(command)
        let parts = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count == 3 else { return trimmed }
        let shell = parts[0].split(separator: "/").last.map(String.init) ?? ""
        guard ["bash", "sh", "zsh", "dash"].contains(shell), ["-lc", "-c"].contains(String(parts[1])) else {
            return trimmed
        }
        var script = String(parts[2])
        for quote in ["'", "\""] where script.count >= 2 && script.hasPrefix(quote) && script.hasSuffix(quote) {
            let inner = script.dropFirst().dropLast()
            if !inner.contains(quote) { script = String(inner) }
        }
        return script
    }

    /// Words that make a command count as verification (tests, linters, builds, type checks).
    package static let verificationWords: Set<String> = [
        "test", "tests", "pytest", "jest", "vitest", "mocha", "ava", "tap", "rspec", "phpunit", "ctest", "unittest",
        "lint", "eslint", "tslint", "ruff", "flake8", "pylint", "mypy", "pyright", "tsc", "typecheck", "type-check",
        "check", "clippy", "vet", "golangci-lint", "swiftlint", "shellcheck", "rubocop", "build", "compile",
        "tox", "nox", "gradle", "gradlew", "mvn", "xcodebuild", "bazel", "prettier", "black", "isort", "fmt",
    ]

    /// `verifying` for tests, linters, builds and type checks, otherwise `running`.
    package static func commandPhase(_ command: String) -> String {
        let lowered = command.lowercased()
        var word = ""
        func isVerifying(_ word: String) -> Bool {
            if verificationWords.contains(word) { return true }
            // npm run test:unit, cargo build --release, make check …
            return word.split(separator: ":").first.map { verificationWords.contains(String($0)) } ?? false
        }
        for character in lowered {
            if character.isLetter || character.isNumber || character == "-" || character == "_" || character == ":" {
                word.append(character)
            } else {
                if !word.isEmpty && isVerifying(word) { return "verifying" }
                word = ""
            }
        }
        if !word.isEmpty && isVerifying(word) { return "verifying" }
        return "running"
    }

    /// Seconds as people write them: 1800 → "1800", 1.5 → "1.5".
    package static func seconds(_ value: Double) -> String {
        if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(value)
        if text.contains("e") { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
