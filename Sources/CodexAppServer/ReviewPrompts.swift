import CompanionSystem

/// The texts the companion writes for reviews. Pure functions of their inputs.
public enum ReviewPrompts {
    /// Custom instructions for the built-in reviewer when the user gave focus text:
    /// `review/start` takes either a target or instructions, so the target is described
    /// in words and the focus text follows verbatim.
    public static func nativeInstructions(scope: String, focus: String) -> String {
        """
        \(scope) Report prioritized, actionable findings.

        The user asks you to focus on the following (verbatim):
        \(focus)
        """
    }

    /// `scope` sentences for `nativeInstructions`.
    public static func uncommittedScope() -> String {
        "Review the uncommitted changes in this repository: staged, unstaged and untracked files "
            + "(see `git status`, `git diff` and `git diff --cached`)."
    }

    public static func baseScope(ref: String, mergeBase: String) -> String {
        "Review the changes of the current branch against '\(ref)'. Their merge base is \(mergeBase); "
            + "inspect them with `git diff \(mergeBase)`."
    }

    public static func commitScope(sha: String, title: String?) -> String {
        let titled = title.map { " (\"\($0)\")" } ?? ""
        return "Review the changes introduced by commit \(sha)\(titled); inspect them with `git show \(sha)`."
    }

    /// The prompt of an adversarial review. `material` describes the change (status, stats,
    /// and either the diff itself or how to read it with git); `focus` is the user's text,
    /// included verbatim.
    public static func adversarial(target: String, focus: String?, material: String) -> String {
        let focusBlock: String
        if let focus, !ProgressText.trim(focus).isEmpty {
            focusBlock = "The user asks you to look especially at the following (verbatim):\n\(focus)"
        } else {
            focusBlock = "The user gave no particular focus: challenge the change as a whole."
        }
        return """
            You are reviewing a code change adversarially. Your job is to find the reasons this change \
            should NOT ship, not to approve it. Assume it is wrong until the repository convinces you otherwise.

            What to review: \(target).

            \(focusBlock)

            How to work:
            - You are in a read-only sandbox. Inspect the repository with read-only commands only \
            (git diff, git show, git log, cat, grep, ls). Never modify files.
            - Look for material problems: incorrect logic, broken edge cases (empty, null, zero, timeouts), \
            data loss, security and trust boundaries, races and stale state, error handling that hides \
            failures, compatibility and migrations, missing or misleading tests.
            - Report only what you can ground in the code, each with what breaks, why, and a concrete fix. \
            One well-supported finding beats several thin ones. Style nits are not findings.

            Answer with a single JSON object and nothing else, with exactly these fields:
            - "verdict": "needs-attention" if any finding should block the change, otherwise "approve".
            - "summary": one or two sentences: should this change ship, and why.
            - "findings": an array; each element has "severity" (one of "critical", "high", "medium", "low"), \
            "title", "body" (what breaks and why), "file" (path relative to the repository root), \
            "lineStart" and "lineEnd" (integers, 1-based, lineEnd >= lineStart), "confidence" \
            (a number from 0 to 1) and "recommendation" (the concrete fix).
            - "nextSteps": an array of short strings: what the author should do next.

            The change:
            \(material)
            """
    }
}
