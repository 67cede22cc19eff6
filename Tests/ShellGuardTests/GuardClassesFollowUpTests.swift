import Testing

@testable import ShellGuard

/// Classes fixed after the second round of training misses, each written fresh; run by
/// `IndirectInvocationCorpusTests` with the rest of the corpus.
enum FollowUpCorpus {
    static let deny: [GuardCase] = [
        // A function that is not exported is unknown in a child shell: there `codex` is the CLI.
        .init(
            #"codex() { "$CLAUDE_PLUGIN_ROOT/bin/codex-companion" "$@"; }; bash -c "codex exec hi""#,
            "function not exported, so the child shell runs the real codex"),
        .init(
            #"codex() { command codex "$@"; }; export -f codex; bash -c "codex exec hi""#,
            "exported function whose body runs the codex CLI"),
        .init(
            #"_cc="$R/bin/codex-companion"; _cc="$R/bin/codex"; codex() { "$_cc" "$@"; }; codex exec x"#,
            "the variable was reassigned to the codex binary before the call"),
        // eval of static text: its assignments hold for the rest of the line.
        .init(#"eval 'bin=codex'; "$bin" exec "do it""#, "eval assigns codex to the variable run next"),
        .init(#"eval "a=co b=dex"; $a$b exec x"#, "eval assigns two halves joined in the command word"),
        .init(#"eval "export T=codex"; sh -c '$T exec y'"#, "eval exports a variable a child shell runs"),
        // env / sudo NAME=value operands reach the child shell's -c code.
        .init(#"env TOOL=codex bash -c '"$TOOL" exec hi'"#, "env sets the variable the child shell runs"),
        .init("env -i RUNNER=codex sh -c '$RUNNER review'", "env -i still passes its own assignments"),
        .init("sudo CMD=codex sh -c '$CMD exec z'", "sudo NAME=value passes the variable"),
        // make runs recipes; awk -v values; Tcl exec.
        .init(#"printf 'go:\n\tcodex exec x\n' > build.mk; make -f build.mk go"#, "makefile written earlier"),
        .init(#"make -f <(printf 'all:\n\tcodex exec y\n')"#, "makefile from a process substitution"),
        .init(#"printf 'all:\n\tcodex exec z\n' | make -f -"#, "makefile piped into make"),
        .init(#"awk -v tool=codex 'BEGIN { system(tool " exec hi") }'"#, "awk -v value run by system()"),
        // Past a depth limit, a mention of codex anywhere in the line denies (never fail open).
        .init(
            #"bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ codex exec relay"#,
            "eleven bash -c argument relays end in codex"),
        .init(
            #"bash -c 'exec "$@"' b bash -c 'exec "$@"' b bash -c 'exec "$@"' b bash -c 'exec "$@"' b bash -c 'exec "$@"' b bash -c 'exec "$@"' b bash -c 'exec "$@"' b bash -c 'exec "$@"' b bash -c 'exec "$@"' b bash -c 'exec "$@"' b codex exec"#,
            "ten bash -c relays that exec their arguments"),
        .init(
            #"f0() { "$@"; }; f1() { f0 "$@"; }; f2() { f1 "$@"; }; f3() { f2 "$@"; }; f4() { f3 "$@"; }; f5() { f4 "$@"; }; f6() { f5 "$@"; }; f7() { f6 "$@"; }; f8() { f7 "$@"; }; f9() { f8 "$@"; }; f10() { f9 "$@"; }; f11() { f10 "$@"; }; f11 codex exec deep"#,
            "functions nested past the limit, codex passed as an argument"),
        .init("echo 'exec codex exec hi' | tclsh", "Tcl program from stdin runs codex"),
        .init("wish <<< 'exec codex review'", "Tk shell program from a here-string"),
        // Globs in the command word that match codex.
        .init("~/bin/c?dex exec x", "? glob in the basename"),
        .init(#""$HOME"/.npm/bin/co*x exec y"#, "* glob after a quoted directory"),
        .init("/usr/local/bin/[c]odex review", "bracket glob"),
    ]

    static let allow: [GuardCase] = [
        .init(
            #"codex() { "$HOME/plugin/bin/codex-companion" "$@"; }; export -f codex; sh -c "codex review""#,
            "exported companion function called from sh -c"),
        .init(
            #"codex() { "${CLAUDE_PLUGIN_ROOT}/bin/codex-companion" "$@"; }; export -f codex; bash -lc 'codex status --all'"#,
            "exported companion function called from bash -lc"),
        .init(
            #"cc="${CLAUDE_PLUGIN_ROOT}/bin/codex-companion"; codex() { "${cc}" "$@"; }; codex result"#,
            "function calls the companion through a braced variable"),
        .init(
            #"launcher="$PLUGIN/bin/codex-companion"; codex() { $launcher "$@"; }; codex cancel job-1"#,
            "function calls the companion through an unquoted variable"),
        .init(#"eval "x=ls"; $x -la"#, "eval assigns a harmless command"),
        .init("env A=ls sh -c '$A -la'", "env passes a harmless command to the child shell"),
        .init(#"printf 'all:\n\techo ok\n' > m.mk; make -f m.mk"#, "makefile written earlier runs nothing of codex"),
        .init("make test", "plain make with no visible makefile"),
        .init("awk -v n=5 'BEGIN { print n }'", "awk -v value only printed"),
        .init("echo 'puts hello' | tclsh", "Tcl program without exec of codex"),
        .init(#""$HOME/bin/c?dex" exec"#, "a quoted ? is no glob: a file literally named c?dex"),
        .init("ls co*x", "a glob as an argument of ls is data"),
        .init(
            #"bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ bash -c '"$@"' _ ls -la"#,
            "eleven relays of a harmless command"),
        .init("python3 -m pytest tests/test_codex_guard.py", "python -m of pytest; codex only in a file name"),
        .init("python -m http.server 8000", "python -m of another module"),
    ]
}
