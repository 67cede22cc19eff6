// swift-tools-version:6.0
import PackageDescription

// The release binary is linked against the static Swift runtime on Linux: the
// PreToolUse guard runs before every Bash call, and a static binary starts in
// about a third of the time of one that loads the shared runtime.
//
// Linking it prints one warning, "the use of `mktemp' is dangerous, better use `mkstemp'
// or `mkdtemp'", for libFoundationEssentials.a(Data+Writing.swift.o): the toolchain's own
// static Foundation references mktemp(3) in `Data.write(to:options: .atomic)`. Our code
// never calls it (AtomicFile makes its temporary files with open(O_CREAT|O_EXCL)); the
// warning goes away only by dropping the static runtime, which costs the hook its speed.
let staticRuntime: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("_FoundationCollections", .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("swiftSynchronization", .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("_FoundationCShims", .when(platforms: [.linux], configuration: .release)),
]

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

// The module graph, lowest first. Each target names only targets above it:
//
//   CCompanionShims ← CompanionSystem ← CompanionJSON ← CodexAppServer ─┐
//   ShellGuard (pure)                       ↑    ↖ GitWorktrees ←────────┤
//                                           │         ↑                  │
//                                        JobStore ────┴──────────────────┘
//                                           ↑
//                                         Jobs ← CompanionCLI ← codex-companion
//
//   CompanionSystem, CompanionJSON ← CodexCloud (drives `codex cloud`) ← CompanionCLI
let package = Package(
    name: "codex-companion",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "codex-companion", targets: ["codex-companion"])
    ],
    targets: [
        .target(name: "CCompanionShims"),
        .target(
            name: "CompanionSystem",
            dependencies: ["CCompanionShims"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CompanionJSON",
            dependencies: ["CompanionSystem"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShellGuard",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CodexAppServer",
            dependencies: ["CompanionSystem", "CompanionJSON"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CodexCloud",
            dependencies: ["CompanionSystem", "CompanionJSON"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GitWorktrees",
            dependencies: ["CompanionSystem", "CompanionJSON", "ShellGuard"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JobStore",
            dependencies: ["CompanionSystem", "CompanionJSON", "CodexAppServer", "GitWorktrees"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Jobs",
            dependencies: ["CompanionSystem", "CompanionJSON", "CodexAppServer", "GitWorktrees", "JobStore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CompanionCLI",
            dependencies: [
                "CompanionSystem", "CompanionJSON", "ShellGuard", "CodexAppServer", "CodexCloud", "GitWorktrees",
                "JobStore", "Jobs",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "codex-companion",
            dependencies: ["CompanionCLI"],
            swiftSettings: swiftSettings,
            linkerSettings: staticRuntime
        ),
        .executableTarget(
            name: "fake-codex",
            dependencies: ["CCompanionShims", "CompanionSystem", "CompanionJSON"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "companion-bench",
            dependencies: [
                "CompanionSystem", "CompanionJSON", "CodexAppServer", "GitWorktrees", "JobStore", "Jobs",
                "CompanionCLI",
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CompanionTestSupport",
            dependencies: ["CompanionSystem", "CompanionJSON"],
            path: "Tests/CompanionTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CodexCloudTests",
            dependencies: ["CompanionSystem", "CompanionJSON", "CodexCloud", "GitWorktrees"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShellGuardTests",
            dependencies: ["ShellGuard", "CompanionTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CompanionCoreTests",
            dependencies: [
                "CompanionSystem", "CompanionJSON", "ShellGuard", "CodexAppServer", "GitWorktrees", "JobStore", "Jobs",
                "CompanionCLI",
                "CompanionTestSupport", "codex-companion", "fake-codex", "companion-bench",
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
