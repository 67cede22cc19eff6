import CompanionSystem

/// What `libexec/runtime-build` left in the runtime folder (`$CLAUDE_PLUGIN_DATA/runtime`,
/// named by `CODEX_COMPANION_RUNTIME_DIR`, which the launcher exports): for `setup`.
/// Files: `state` (`building|ok|failed <key> <unix time> [pid]`), `current` (the binary
/// that runs), `last-error` (end of the latest failed build's log).
package struct RuntimeBuildState: Encodable {
    var directory, state, key: String?
    var since: Int64?
    var current, lastError: String?

    static func read(environment: [String: String]) -> RuntimeBuildState {
        var result = RuntimeBuildState()
        guard
            let directory = environment["CODEX_COMPANION_RUNTIME_DIR"]
                ?? environment["CLAUDE_PLUGIN_DATA"].map({ $0 + "/runtime" }),
            directory.hasPrefix("/")
        else { return result }
        result.directory = directory
        func text(_ name: String, limit: Int = 8192) -> String? {
            // Absent or unreadable: that part of the build state is unknown.
            guard let bytes = (try? FileSystem.read(directory + "/" + name)) ?? nil else { return nil }
            let value = String(decoding: bytes.suffix(limit), as: UTF8.self).trimmingWhitespace()
            return value.isEmpty ? nil : value
        }
        if let line = text("state") {
            let fields = line.split(separator: " ").map(String.init)
            result.state = fields.first
            result.key = fields.count > 1 ? fields[1] : nil
            result.since = fields.count > 2 ? Int64(fields[2]) : nil
        }
        result.current = text("current")
        result.lastError = text("last-error")
        return result
    }

    var summary: String {
        guard let directory else {
            return "not managed by the plugin (no runtime folder; a developer build or a terminal)"
        }
        let running = current.map { "runs \($0)" } ?? "no build finished yet (hooks use the fallback guard)"
        switch state {
        case "building": return "building \(key ?? "?") now, in \(directory) (\(running))"
        case "ok": return "ok, \(key ?? "?"); \(running)"
        case "failed": return "the build of \(key ?? "?") FAILED; see \(directory)/build.log (\(running))"
        default: return "no build recorded in \(directory) (\(running))"
        }
    }

    /// `runtime` of `setup --json`: the fields as read, `current` named `binary`.
    enum CodingKeys: String, CodingKey {
        case directory, state, key, since, lastError
        case current = "binary"
    }
}
