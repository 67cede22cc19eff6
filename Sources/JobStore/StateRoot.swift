import CompanionSystem
import CompanionJSON
import CodexAppServer
import GitWorktrees

/// Where job state lives. Never the temp directory: history must survive reboots.
public enum StateRoot {
    /// `--state-dir`, else `CODEX_COMPANION_STATE_DIR`, else the platform's user state
    /// directory: one default for the terminal and the plugin alike, so each sees the
    /// other's jobs. (`$CLAUDE_PLUGIN_DATA/state`, used by older plugin versions, is
    /// migrated into it: see `StateMigration`.)
    public static func resolve(explicit: String?, environment: [String: String], cwd: String) -> String {
        if let explicit, !explicit.isEmpty { return Path.absolute(explicit, relativeTo: cwd) }
        if let value = environment["CODEX_COMPANION_STATE_DIR"], !value.isEmpty {
            return Path.absolute(value, relativeTo: cwd)
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        #if os(macOS)
            return home + "/Library/Application Support/codex-companion"
        #else
            if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/codex-companion" }
            return home + "/.local/state/codex-companion"
        #endif
    }
}

/// FNV-1a, for short stable directory names.
package enum StableHash {
    package static func hex(_ text: String, digits: Int = 12) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let full = String(hash, radix: 16)
        let padded = String(repeating: "0", count: max(0, 16 - full.count)) + full
        return String(padded.prefix(digits))
    }
}
