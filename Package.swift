// swift-tools-version:6.0
import PackageDescription

// The release binary is linked against the static Swift runtime on Linux: the
// PreToolUse guard runs before every Bash call, and a static binary starts in
// about a third of the time of one that loads the shared runtime.
let staticRuntime: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("_FoundationCollections", .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("swiftSynchronization", .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("_FoundationCShims", .when(platforms: [.linux], configuration: .release)),
]

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "codex-companion",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "codex-companion", targets: ["codex-companion"]),
    ],
    targets: [
        .target(name: "CCompanionShims"),
        .target(
            name: "CompanionSystem",
            dependencies: ["CCompanionShims"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShellGuard",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CompanionCore",
            dependencies: ["CompanionSystem", "ShellGuard"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "codex-companion",
            dependencies: ["CompanionCore"],
            swiftSettings: swiftSettings,
            linkerSettings: staticRuntime
        ),
        .executableTarget(
            name: "fake-codex",
            dependencies: ["CompanionSystem"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "companion-bench",
            dependencies: ["CompanionCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShellGuardTests",
            dependencies: ["ShellGuard"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CompanionCoreTests",
            dependencies: ["CompanionCore", "codex-companion", "fake-codex", "companion-bench"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
