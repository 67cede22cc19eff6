import Testing

@testable import ShellGuard

/// Classes of indirection fixed after the first held-out corpus, each written fresh.
enum ClassCorpus {
    static let assigningExpansions: [GuardCase] = [
        .init(#": "${TOOL:=codex}"; "$TOOL" exec hi"#, "${T:=word} assigns an unset variable"),
        .init("x=${N=codex}; $N exec", "${T=word} inside an assignment"),
        .init(#"echo "${Z:=codex}" >/dev/null; $Z"#, "assigning expansion in an echo argument"),
        .init("t=codex; typeset -n ref=t; $ref exec", "typeset -n nameref"),
        .init(#"declare -n q=tool; tool=codex; "$q" exec"#, "nameref to a variable set later"),
    ]

    static let readAndArrays: [GuardCase] = [
        .init(#"IFS=, read -r x y <<< "co,dex"; "$x$y" exec"#, "read with IFS=, from a here-string"),
        .init(#"IFS=- read -a parts <<< "co-dex"; "${parts[0]}${parts[1]}" exec"#, "read -a with a custom IFS"),
        .init(#"m=codex; read -r t <<< "$m"; $t exec"#, "read from an expanded here-string"),
        .init("readarray -t L <<'EOF'\ncodex\nEOF\n\"${L[0]}\" exec", "readarray from a here-document"),
        .init(#"mapfile -t arr < <(echo codex); "${arr[0]}" exec"#, "mapfile from a process substitution"),
        .init(#"w=(c o d e x); IFS=''; "${w[*]}" exec"#, "array joined by an empty IFS"),
        .init(#"set -- co dex; IFS=; "$*" exec"#, "positional parameters joined by an empty IFS"),
        .init(#"r=xedoc; $(rev <<< "$r") exec"#, "rev of an expanded here-string"),
        .init("$(printf co; printf dex) exec", "two commands in one substitution"),
        .init("`printf c; printf odex` exec", "two commands in one backquote"),
    ]

    static let programsFromStdin: [GuardCase] = [
        .init(
            "python3 <<'PY'\nimport subprocess\nsubprocess.run([\"codex\", \"exec\", \"hi\"])\nPY",
            "python program in a here-document"),
        .init(#"echo 'import os; os.system("codex exec")' | python3"#, "python program piped in"),
        .init(#"echo 'require("child_process").execSync("codex exec")' | node"#, "node program piped in"),
        .init("perl <<'EOF'\nsystem(\"codex\", \"exec\");\nEOF", "perl program in a here-document"),
        .init(
            #"echo 'codex exec hi' | python3 -c 'import sys,subprocess; subprocess.run(sys.stdin.read(), shell=True)'"#,
            "python runs text read from stdin"),
        .init(#"echo codex exec | perl -e 'system(<STDIN>)'"#, "perl runs a line read from stdin"),
        .init(#"echo codex exec | awk '{ system($0) }'"#, "awk runs its input lines"),
        .init(#"echo codex | ruby -e 'system(gets.chomp, "exec")'"#, "ruby runs a word read from stdin"),
    ]

    static let interpreterCalls: [GuardCase] = [
        .init(#"python3 -c 'import os; os.execvp("codex", ["codex", "exec"])'"#, "os.execvp argv"),
        .init(#"python3 -c 'import os; c = "co" + "dex"; os.system(c + " exec")'"#, "computed os.system argument"),
        .init(
            #"python3 -c 'getattr(__import__("os"), "system")("codex exec")'"#, "process function reached by getattr"),
        .init(#"python3 -c 'exec("import os; os.system(\"codex exec\")")'"#, "exec of literal python code"),
        .init(
            #"python3 -c 'import subprocess as s; s.Popen("codex exec hi", shell=True).wait()'"#,
            "Popen with shell=True"),
        .init(
            #"python3 -c 'from subprocess import check_output; check_output(["codex","--version"])'"#,
            "check_output argv"),
        .init(#"python3 -c 'import subprocess; subprocess.run(["bash", "-c", "codex exec"])'"#, "argv running bash -c"),
        .init(#"python3 -c 'import os; os.system("sh -c \"codex exec\"")'"#, "os.system running sh -c"),
        .init(
            #"node -e 'const {spawnSync} = require("child_process"); spawnSync("codex", ["exec"], {stdio: "inherit"})'"#,
            "spawnSync argv with options"),
        .init(
            #"node -e 'require("child_process").exec("codex exec", (e, o) => console.log(o))'"#, "exec with a callback"),
        .init(
            #"node -e 'const cp = require("child_process"); cp["execSync"]("codex exec")'"#,
            "process function by subscript"),
        .init(
            "node -e 'const t = \"codex\"; require(\"child_process\").execSync(`${t} exec`)'",
            "template literal command"),
        .init("perl -e '`codex exec`'", "perl backquotes"),
        .init("perl -e 'my $o = qx{codex exec}; print $o'", "perl qx"),
        .init(#"perl -e 'open(my $f, "-|", "codex", "exec"); print <$f>'"#, "perl pipe open with a list"),
        .init(#"perl -e 'open(F, "codex exec |"); print <F>'"#, "perl pipe open with a string"),
        .init(#"perl -e 'exec "codex", "exec"'"#, "perl exec without parentheses"),
        .init(#"ruby -e 'system "codex exec"'"#, "ruby system without parentheses"),
        .init("ruby -e 'puts %x(codex exec)'", "ruby %x"),
        .init(#"ruby -e 'IO.popen(["codex", "exec"]).read'"#, "ruby IO.popen argv"),
        .init(#"ruby -e 'Kernel.send(:system, "codex exec")'"#, "ruby send(:system)"),
        .init(#"php -r 'shell_exec("codex exec");'"#, "php shell_exec"),
        .init("php -r 'echo `codex exec`;'", "php backquotes"),
        .init(#"lua -e 'os.execute("codex exec")'"#, "lua os.execute"),
        .init(#"awk 'BEGIN { "codex --version" | getline v; print v }'"#, "awk command | getline"),
        .init(#"awk 'BEGIN { print "hi" | "codex exec" }'"#, "awk print to a command"),
        .init(#"awk 'BEGIN { system("codex exec hi") }'"#, "awk system of a literal"),
        .init(#"awk 'BEGIN { c = "co" "dex"; system(c " exec") }'"#, "awk system of a computed string"),
    ]

    static let deferredAndConfigured: [GuardCase] = [
        .init(#"trap "codex exec hi" INT TERM EXIT"#, "trap action on several signals"),
        .init("trap -- 'codex exec' EXIT", "trap after --"),
        .init("f() { codex exec hi; }; trap f EXIT", "trap running a function"),
        .init(
            "shopt -s expand_aliases; alias sudo='sudo ' cx=codex; sudo cx exec",
            "alias ending in a blank expands the next word"),
        .init("alias n='nohup ' c='codex'; n c exec", "blank-ended alias chain"),
        .init("git -c alias.r='!codex exec' r", "git shell alias"),
        .init("git -c core.pager='codex exec' log", "git pager setting"),
        .init("git rebase -x 'codex exec' HEAD~3", "git rebase --exec"),
        .init("git bisect run codex exec", "git bisect run"),
        .init("export PS4='$(codex exec hi) '; set -x; ls", "PS4 substitution under set -x"),
        .init("PROMPT_COMMAND='codex exec hi'", "PROMPT_COMMAND"),
        .init("PS4='`codex exec`'; set -x; :", "PS4 backquote"),
        .init("seq 3 | xargs -I{} codex exec {}", "xargs running codex with items"),
        .init("echo codex | xargs -I{} {} exec", "xargs item as the command"),
        .init("echo codex exec | xargs env", "xargs items after env"),
        .init("echo codex exec | xargs nohup", "xargs items after nohup"),
        .init(#"printf 'codex\n' | xargs -n1 sh -c"#, "xargs items as sh -c scripts"),
    ]

    static let all = assigningExpansions + readAndArrays + programsFromStdin + interpreterCalls + deferredAndConfigured
}

/// Harmless interpreter and shell lines that only print or transform codex text.
enum ClassHarmless {
    static let all: [GuardCase] = [
        .init(#"python3 -c 'print("run codex exec to start")'"#, "python prints"),
        .init(
            #"python3 -c 'import json,sys; print(json.dumps({"cmd": "codex exec hi"}, indent=2))'"#, "python JSON dump"),
        .init(
            #"python3 -c 'import subprocess; print(subprocess.run(["git", "log", "--grep", "codex"]).returncode)'"#,
            "python runs git"),
        .init(#"python3 -c 'import os; os.system("grep -r codex .")'"#, "os.system runs grep"),
        .init(#"python3 -c 's = "codex exec"; print(s.split())'"#, "python splits a string"),
        .init(
            #"python3 -c 'import re; print(re.sub(r"codex exec", "codex-companion task", open("README.md").read()))'"#,
            "python regex substitution"),
        .init(#"python3 -c 'import shlex; print(shlex.join(["codex", "exec", "hi"]))'"#, "shlex.join"),
        .init(#"node -e 'console.log("codex exec hi".split(" "))'"#, "node splits a string"),
        .init(#"node -e 'require("child_process").execSync("echo codex", {stdio: "inherit"})'"#, "execSync runs echo"),
        .init(
            #"node -e 'const {spawn} = require("child_process"); spawn("echo", ["codex", "exec"])'"#, "spawn runs echo"),
        .init(#"node -e 'process.stdout.write(JSON.stringify({tool: "codex"}))'"#, "node writes JSON"),
        .init(#"node -e 'const re = /codex exec/; console.log(re.test("codex exec"))'"#, "node regex test"),
        .init("perl -ne 'print if /codex exec/' notes.md", "perl filter"),
        .init("perl -pe 's/codex exec/codex-companion task/' README.md", "perl substitution"),
        .init(#"perl -e 'print "codex exec\n"'"#, "perl prints"),
        .init(#"perl -e 'system("echo", "codex exec")'"#, "perl system runs echo"),
        .init(#"ruby -e 'puts "codex exec hi"'"#, "ruby prints"),
        .init(#"ruby -e 'system("echo codex")'"#, "ruby system runs echo"),
        .init("awk '/codex/ { print $1 }' log.txt", "awk filter"),
        .init(#"awk '{ gsub(/codex exec/, "codex-companion task"); print }' README.md"#, "awk substitution"),
        .init(#"awk 'BEGIN { "date" | getline d; print d, "codex" }'"#, "awk reads date"),
        .init(#"awk -F: '{ print "codex:" $2 }' file"#, "awk prints fields"),
        .init(#"php -r 'echo "codex exec\n";'"#, "php prints"),
        .init(#"lua -e 'print("codex exec")'"#, "lua prints"),
        .init("python3 - <<'EOF'\nprint(\"codex exec hi\")\nEOF", "python program from a here-document that prints"),
        .init(
            "cat <<'EOF' | python3\nimport json\nprint(json.dumps({\"command\": \"codex exec\"}))\nEOF",
            "piped python program dumps JSON"),
        .init(#"echo 'print("codex")' | python3"#, "piped python program prints"),
        .init(#"python3 -c 'import sys; print(sys.stdin.read().upper())' <<< "codex exec""#, "python transforms stdin"),
        .init("seq 3 | xargs -I{} echo codex run {}", "xargs runs echo"),
        .init("ls | xargs -I{} grep -l codex {}", "xargs runs grep"),
        .init("find . -name '*.md' | xargs grep -n 'codex exec'", "xargs grep pattern"),
        .init("cat files.txt | xargs -n1 echo codex", "xargs echo"),
        .init("trap 'echo codex done' EXIT", "trap echoes"),
        .init("trap - EXIT", "trap reset"),
        .init("trap -p", "trap listing"),
        .init("git -c alias.st=status st", "git plain alias"),
        .init("git -c core.pager=cat log --grep codex", "git pager cat"),
        .init("git rebase -x 'make test' HEAD~2", "git rebase running make"),
        .init("PS4='+ $(date) '; set -x; echo codex", "PS4 with date"),
        .init(#": "${CODEX_HOME:=$HOME/.codex}"; ls "$CODEX_HOME""#, "default for CODEX_HOME"),
        .init(#"IFS=, read -r a b <<< "codex,exec"; echo "$a $b""#, "read then echo"),
        .init(#"mapfile -t lines < notes.md; echo "${#lines[@]}""#, "mapfile from a file"),
        .init(#"readarray -t x <<< "codex"; echo "${x[0]}""#, "readarray then echo"),
        .init(#"declare -n r=v; v=codex; echo "$r""#, "nameref echoed"),
        .init("alias ll='ls -l '; ll codex/", "blank-ended alias on a directory"),
        .init(#"w=(a b); IFS=; echo "${w[*]}codex""#, "joined array echoed"),
        .init(#"x=$(printf co; printf dex); echo "$x""#, "multi-command substitution echoed"),
    ]
}

@Suite("Indirection classes")
struct GuardClassesTests {
    @Test("denies", arguments: ClassCorpus.all)
    func denies(_ c: GuardCase) {
        #expect(CodexInvocationGuard.findInvocation(in: c.command) != nil, "should deny (\(c.why)): \(c.command)")
    }

    @Test("allows", arguments: ClassHarmless.all)
    func allows(_ c: GuardCase) {
        let found = CodexInvocationGuard.findInvocation(in: c.command)
        #expect(found == nil, "should allow (\(c.why)): \(c.command) (found \(found ?? ""))")
    }

    @Test func interpreterCallsAreRead() {
        #expect(InterpreterCode.processes(in: #"os.system("ls")"#, language: .python) == [.shell("ls")])
        #expect(InterpreterCode.processes(in: #"print("codex")"#, language: .python) == [])
        #expect(InterpreterCode.processes(in: #"spawn("a", ["b"])"#, language: .javascript) == [.argv(["a", "b"])])
        #expect(InterpreterCode.processes(in: "system(x)", language: .awk) == [.computed])
    }
}
