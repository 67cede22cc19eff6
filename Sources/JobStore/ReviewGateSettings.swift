import CompanionSystem
import CompanionJSON

/// Whether the Stop-hook review gate is on for a workspace: `review-gate.json` in the
/// workspace's state directory. Read without opening the store (no lock, no git), so
/// the disabled gate costs one failed file read.
public enum ReviewGateSettings {
    struct Stored: Codable {
        var enabled: Bool
        var updatedAt: String
    }

    public static func path(stateRoot: String, workspaceRoot: String) -> String {
        WorkspaceStore.workspacesDirectory(stateRoot: stateRoot) + "/"
            + WorkspaceStore.directoryName(for: workspaceRoot) + "/review-gate.json"
    }

    /// Off unless the file says on (a missing or unreadable file is off).
    public static func isEnabled(stateRoot: String, workspaceRoot: String) -> Bool {
        guard let bytes = (try? FileSystem.read(path(stateRoot: stateRoot, workspaceRoot: workspaceRoot))) ?? nil,
            let stored = try? JSONCoding.decode(Stored.self, from: bytes)
        else { return false }
        return stored.enabled
    }

    /// Writes the setting atomically into the workspace's (opened) state directory.
    public static func set(_ enabled: Bool, in store: WorkspaceStore) throws {
        let stored = Stored(enabled: enabled, updatedAt: Timestamp.now())
        try AtomicFile.write(
            try JSONCoding.encode(stored, pretty: true) + [10], to: store.directory + "/review-gate.json")
    }
}
