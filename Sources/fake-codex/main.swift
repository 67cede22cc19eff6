// fake-codex: a scripted stand-in for `codex app-server`, for fast protocol tests.
//
// Command lines it answers like codex 0.147.0:
//   fake-codex --version            prints "codex-cli 0.147.0-fake", exit 0
//   fake-codex login status         stderr "Logged in using an API key - fake", exit 0;
//                                   with FAKE_CODEX_LOGGED_OUT=1: stderr "Not logged in", exit 1
//   fake-codex app-server --help    exit 0
//   fake-codex app-server [args…]   speaks newline-delimited JSON-RPC on stdin/stdout
//
// Environment:
//   FAKE_CODEX_SCRIPT   path of a JSON script (below); unset: one simple successful turn
//   FAKE_CODEX_LOG      every line received on stdin is appended there verbatim (one JSON
//                       message a line, malformed ones too), plus notes written by the fake
//                       itself, which carry a "fake" member: {"fake":"childSpawned","pid":N}
//   FAKE_CODEX_LOGGED_OUT=1  `account/read` answers {account:null, requiresOpenaiAuth:true}
//
// The server: `initialize` (a second one: "Already initialized"; anything before it:
// "Not initialized"), `thread/start` (then `thread/started`), `thread/resume` (ids listed
// in knownThreads succeed, others get "no rollout found for thread id <id>"),
// `turn/start` (result, `thread/status/changed` active, `turn/started`, then the steps),
// `turn/interrupt`, `account/read`, `config/read`, `thread/name/set` ({}); any other
// method gets -32600 "Invalid request: unknown variant `<method>`". Errors use -32600
// as 0.147.0 does. It exits 0 when stdin closes.
//
// Script (every member optional):
// {
//   "threadId": "thr_main",          id of a new thread (default "thr_fake")
//   "turnId": "turn_1",              id of the first turn (later turns: "turn_1-2", …)
//   "knownThreads": ["thr_old"],     thread ids that thread/resume accepts
//   "stderr": ["line", …],           written to stderr at start-up
//   "steps": [step, …],              played after turn/start is answered and turn/started sent
//   "turnStatus": "completed",       after the last step: thread/status/changed idle, then
//                                    turn/completed with this status; "none" sends nothing
//                                    (a missing turn/completed)
//   "turnError": {"message": …},     turn.error when turnStatus is "failed"
//   "finalItems": [item, …],         turn.items of that turn/completed
//   "onInterrupt": "complete",       "complete": answer {} then idle + turn/completed
//                                    interrupted (remaining steps dropped); "ignore": no
//                                    answer at all (a hung server); "replyOnly": answer {}
//                                    and keep going; "finish": answer {} and play the
//                                    remaining steps at once (no pauses), so the turn
//                                    ends as it would have (a cancel that loses the race
//                                    with completion). A second turn/interrupt in one turn is
//                                    never answered, like 0.147.0.
//   "responses": {"<method>": {"result": …} | {"error": {"code":…,"message":…}} | "none"}
//                                    overrides the answer to a method ("none": never answer)
//   "account": {…}, "config": {…}    results for account/read and config/read
//   "ignoreStdinEOF": true,          keep running after stdin closes
//   "ignoreSIGTERM": true            so teardown has to escalate to SIGKILL
// }
//
// Steps (strings anywhere in a step may use {{threadId}}, {{turnId}} and {{cwd}}):
//   {"notify": "<method>", "params": {…}}      a notification (emittedAtMs added)
//   {"raw": "<text>"}                          written verbatim plus "\n" (malformed lines)
//   {"sleepMs": N}                             pause the steps (requests are still served)
//   {"waitFile": "<path>"}                     pause the steps until <path> exists (a test's
//                                              go signal)
//   {"longLine": B}                            one notification line of B bytes, its newline
//                                              last (e.g. over the client's 64 MiB limit)
//   {"stderr": "<text>"}                       one line on stderr
//   {"exit": N}                                exit at once with code N (a crash mid-turn)
//   {"killSelf": true}                         SIGKILL itself
//   {"request": "<method>", "params": {…}, "await": true}
//                                              a server→client request (ids 0, 1, …); with
//                                              await (the default) the steps wait for the answer
//   {"flood": N, "bytes": B, "method": "<m>"}  N notifications with B bytes of padding each
//                                              (default method item/commandExecution/outputDelta)
//   {"writeFile": "<path>", "content": "…"}    write a file (relative to the thread's cwd)
//   {"turnCompleted": "<status>", "error": {…}, "items": […]}
//                                              end the root turn now (idle + turn/completed)
//   {"spawnSleeper": S}                        start /bin/sleep S in our process group and
//                                              note its pid in FAKE_CODEX_LOG
//
// Subagents need no special step: notify with another threadId (see the fixtures in
// Tests/Fixtures/fake-codex/).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CCompanionShims
import CompanionSystem

let arguments = Array(CommandLine.arguments.dropFirst())
let environment = ProcessEnvironment.current()

func writeLine(_ fd: Int32, _ text: String) {
    try? FileDescriptorIO.writeAll(fd, Array((text + "\n").utf8))
}

if arguments == ["--version"] {
    writeLine(1, "codex-cli 0.147.0-fake")
    exit(0)
}
if arguments.starts(with: ["login", "status"]) {
    if environment["FAKE_CODEX_LOGGED_OUT"] == "1" {
        writeLine(2, "Not logged in")
        exit(1)
    }
    writeLine(2, "Logged in using an API key - fake")
    exit(0)
}
guard arguments.first == "app-server" else {
    writeLine(2, "fake-codex: unsupported arguments: \(arguments.joined(separator: " "))")
    exit(2)
}
if arguments.contains("--help") || arguments.contains("-h") {
    writeLine(1, "[experimental] Run the app server or related tooling")
    exit(0)
}

let defaultScript: FakeJSON = [
    "threadId": "thr_fake",
    "turnId": "turn_1",
    "steps": [
        [
            "notify": "item/completed",
            "params": [
                "threadId": "{{threadId}}", "turnId": "{{turnId}}",
                "item": ["type": "reasoning", "id": "rs_1", "summary": ["Looking at the request."], "content": []],
            ],
        ],
        [
            "notify": "item/completed",
            "params": [
                "threadId": "{{threadId}}", "turnId": "{{turnId}}",
                "item": ["type": "agentMessage", "id": "msg_1", "text": "Done.", "phase": "final_answer"],
            ],
        ],
    ],
    "turnStatus": "completed",
]

var script = defaultScript
if let path = environment["FAKE_CODEX_SCRIPT"], !path.isEmpty {
    guard let bytes = try? FileSystem.read(path), let parsed = FakeJSON.parse(bytes) else {
        writeLine(2, "fake-codex: cannot read the script \(path)")
        exit(3)
    }
    script = parsed
}
Signals.ignoreBrokenPipe()
FakeServer(script: script, logPath: environment["FAKE_CODEX_LOG"], environment: environment).run()
