#!/usr/bin/env python3
"""End-to-end suite: the real Claude Code CLI with this plugin loaded, offline.

Only the models are fake: `mock_anthropic.py` (beside this file) plays Claude,
`../e2e/mock_responses.py` plays OpenAI for the real Codex CLI. Claude Code runs
in its default permission mode with no allow rules unless a check says so.

    python3 Tests/claude-e2e/run.py            # every check
    python3 Tests/claude-e2e/run.py -k guard   # checks whose name contains "guard"
    python3 Tests/claude-e2e/run.py --list

Environment:
    CLAUDE_BIN              the Claude Code executable (claude_agent_sdk/_bundled/claude
                            from the claude-agent-sdk wheel); required
    CODEX_BIN_DIR           folder holding the real `codex`; required
    CODEX_COMPANION_BIN     a release build of codex-companion, used to seed the plugin
                            data folder of the checks that are not about building
                            (default .build/release/codex-companion)
    CLAUDE_E2E_KEEP=1       keep the work folder (also --keep)

The install checks build the runtime for real, the way a user's first session
does (detached, from SessionStart, with swift found by libexec/runtime-build).
Python 3 standard library only. Prints one line per check, then
`N passed, N failed`; exit 1 if any failed.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import run_claude  # noqa: E402

RESPONSES_MOCK = os.path.join(REPO, "Tests", "e2e", "mock_responses.py")
CODEX_SCRIPT = os.path.join(HERE, "codex-script.json")
INLINE_DATA = "codex-inline"            # plugin data folder name with --plugin-dir
MARKET_DATA = "codex-codex-companion"   # ... after a marketplace install
GUARD_REASON = "runs the Codex CLI directly"
FALLBACK_REASON = "fallback guard"
BUILD_WAIT_S = 900


class CheckFailed(AssertionError):
    pass


def expect(cond, message, run=None):
    if not cond:
        where = f" (artefacts: {run.out})" if run is not None else ""
        raise CheckFailed(message + where)


def denials(r):
    return r.result.get("permission_denials") or []


def denial_commands(r):
    return [str((d.get("tool_input") or {}).get("command") or (d.get("tool_input") or {}).get("skill") or "")
            for d in denials(r)]


def bash_results(r):
    """(command, result text, is_error) for every Bash call, subagents included."""
    calls = {c["id"]: c for c in r.tool_calls() if c.get("name") == "Bash"}
    out = []
    for res in r.tool_results():
        call = calls.get(res.get("tool_use_id"))
        if call:
            out.append((call["input"].get("command", ""), res.get("text") or "", bool(res.get("is_error"))))
    return out


class Suite:
    def __init__(self, keep):
        self.claude = run_claude.resolve("claude")
        self.codex_dir = run_claude.resolve("codex-bin-dir")
        self.binary = os.environ.get("CODEX_COMPANION_BIN") or os.path.join(REPO, ".build", "release", "codex-companion")
        expect(os.access(self.binary, os.X_OK), f"no companion binary at {self.binary}; build it or set CODEX_COMPANION_BIN")
        self.keep = keep
        self.work = os.path.realpath(tempfile.mkdtemp(prefix="claude-e2e-suite."))
        self.plugin = self.copy_plugin(os.path.join(self.work, "plugin"))
        self.key = self.build_key(self.plugin)
        self.runs = 0
        self.figures = {}

    # ---- plumbing
    @staticmethod
    def copy_plugin(dest):
        """The plugin as a user gets it: the tracked (and new, unignored) files, no .build."""
        files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                               cwd=REPO, check=True, capture_output=True).stdout.decode().split("\0")
        for rel in filter(None, files):
            src = os.path.join(REPO, rel)
            if not os.path.isfile(src) or rel.startswith(".ci-work/"):
                continue
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))
        return dest

    @staticmethod
    def build_key(root):
        return subprocess.run([os.path.join(root, "libexec", "runtime-build"), "key", root],
                              check=True, capture_output=True, text=True).stdout.strip()

    def seed(self, home, data_name=INLINE_DATA):
        """Put the CI-built binary where a finished runtime build would have left it."""
        runtime = os.path.join(home, ".claude", "plugins", "data", data_name, "runtime")
        dest = os.path.join(runtime, "builds", self.key)
        os.makedirs(dest, exist_ok=True)
        shutil.copy2(self.binary, os.path.join(dest, "codex-companion"))
        with open(os.path.join(runtime, "current"), "w") as f:
            f.write(os.path.join(dest, "codex-companion") + "\n")
        return runtime

    def out(self, name):
        self.runs += 1
        path = os.path.join(self.work, f"{self.runs:02d}-{name}")
        os.makedirs(os.path.join(path, "home"), exist_ok=True)
        return path

    def run(self, name, script, prompt, seed=True, codex=False, plugin_mode="dir", home=None, project=None,
            **kw):
        out = self.out(name)
        if home is None:
            home = os.path.join(out, "home")
            if seed:
                self.seed(home)
        kw.setdefault("timeout", 240)
        if codex:
            kw.update(codex_script=CODEX_SCRIPT, responses_mock=RESPONSES_MOCK, codex_bin_dir=self.codex_dir)
        return run_claude.run(script, prompt, out=out, plugin_path=self.plugin, plugin_mode=plugin_mode,
                              claude=self.claude, home=home, project=project, **kw)

    def claude_cmd(self, home, *args, cwd=None):
        env = {"PATH": run_claude.BASE_PATH, "HOME": home, "LANG": "C.UTF-8", "DISABLE_TELEMETRY": "1",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}
        return subprocess.run([self.claude, *args], cwd=cwd or self.work, env=env, capture_output=True,
                              text=True, timeout=180, stdin=subprocess.DEVNULL)

    # ---- model scripts
    @staticmethod
    def one_call_script(bare=False):
        """Run the first ```bash block of the typed command as written (or with the bare name)."""
        sub = [["\\s*\"\"$", ""]]
        if bare:
            sub.append(["^\"[^\"]*/bin/codex-companion\"", "codex-companion"])
        return {"rules": [{
            "name": "one-call-command",
            "regex": "<command-name>/codex:(status|setup|result)</command-name>",
            "extract": {"cmd": {"regex": "```bash\\n(.*?)\\n```", "from": "prompt", "sub": sub}},
            "steps": [{"bash": "{{cmd}}", "description": "Run the codex-companion runtime", "timeout": 600000},
                      {"text": "{{tool_result}}"}]}],
            "fallback_text": "fallback from mock"}

    @staticmethod
    def rescue_script():
        """Play the dispatcher the way commands/rescue.md says: launch, wait, result."""
        launch = "```bash\\n(\"[^\"\\n]*/bin/codex-companion\" task --background --json [^\\n]*)\\n```"
        wait = "```bash\\n(\"[^\"\\n]*/bin/codex-companion\" status) <job-id> (?:--wait)"
        result = "```bash\\n(\"[^\"\\n]*/bin/codex-companion\" result) <job-id>\\n```"
        return {"rules": [{
            "name": "rescue", "regex": "<command-name>/codex:rescue</command-name>",
            "extract": {"launch": {"regex": launch, "from": "prompt"},
                        "wait": {"regex": wait, "from": "prompt"},
                        "result": {"regex": result, "from": "prompt"},
                        "job": {"regex": "\"jobId\"\\s*:\\s*\"([^\"]+)\"", "from": "tool_results"}},
            "steps": [{"bash": "{{launch}}", "description": "Launch the Codex job", "timeout": 600000},
                      {"bash": "{{wait}} {{job}} --wait --timeout-ms 90000 --json", "description": "Wait",
                       "timeout": 120000},
                      {"bash": "{{result}} {{job}}", "description": "Result", "timeout": 120000},
                      {"text": "{{tool_result}}"}]}],
            "fallback_text": "fallback from mock"}

    @staticmethod
    def delegate_script():
        """The main loop hands work to the codex-rescue agent; the agent follows its own prompt."""
        marker = "You forward one task to Codex"
        agent_rules = [
            {"name": "agent-refused", "system_match": marker, "tool_result_regex": "requires approval|permission",
             "steps": [{"text": "AGENT: the task was not started (approval needed)"}]},
            {"name": "agent", "system_match": marker,
             "extract": {
                 "launch": {"regex": "```bash\\n(codex-companion task --background --json) '<forwarded text>'\\n```",
                            "from": "system"},
                 "wait": {"regex": "```bash\\n(codex-companion status) <job-id> --wait", "from": "system"},
                 "result": {"regex": "```bash\\n(codex-companion result) <job-id>\\n```", "from": "system"},
                 "job": {"regex": "\"jobId\"\\s*:\\s*\"([^\"]+)\"", "from": "tool_results"}},
             "steps": [{"bash": "{{launch}} '--write create hello.txt'", "description": "Launch", "timeout": 600000},
                       {"bash": "{{wait}} {{job}} --wait --timeout-ms 90000 --json", "description": "Wait",
                        "timeout": 120000},
                       {"bash": "{{result}} {{job}}", "description": "Result", "timeout": 120000},
                       {"text": "AGENT RESULT: {{tool_result}}"}]},
        ]
        main = {"name": "main", "match": "e2e-delegate",
                "steps": [{"tool": "Agent", "input": {"subagent_type": "codex:codex-rescue",
                                                      "description": "Hand the task to Codex",
                                                      "prompt": "--write create hello.txt",
                                                      "run_in_background": False}},
                          {"text": "MAIN: {{tool_result}}"}]}
        return {"rules": agent_rules + [main], "fallback_text": "fallback from mock"}

    @staticmethod
    def skill_script(skill, args=""):
        return {"rules": [{"name": "skill", "match": "e2e-skill",
                           "steps": [{"tool": "Skill", "input": {"skill": skill, "args": args}},
                                     {"text": "SKILL: {{tool_result}}"}]}],
                "fallback_text": "fallback from mock"}

    GUARD_SCRIPT = {"rules": [{"name": "guard", "match": "run codex directly",
                               "steps": [{"bash": "codex exec \"fix it\"", "description": "Run Codex directly"},
                                         {"text": "GUARD RESULT: {{tool_result}}"}]}],
                    "fallback_text": "fallback from mock"}

    # ---- checks
    def check_validate(self):
        for target in (os.path.join(self.plugin, ".claude-plugin", "plugin.json"), self.plugin):
            p = self.claude_cmd(os.path.join(self.work, "validate-home"), "plugin", "validate", "--strict", target)
            text = p.stdout + p.stderr
            expect(p.returncode == 0, f"validate --strict {target} exited {p.returncode}:\n{text[-2000:]}")
            expect("Validation passed" in text, f"validate printed no pass line:\n{text[-2000:]}")
            for bad in ("ICON_MISSING", "README_MISSING", "LICENSE_MISSING", "⚠", "warning"):
                expect(bad not in text, f"validate reported {bad!r}:\n{text[-2000:]}")
        expect(os.path.getsize(os.path.join(self.plugin, ".claude-plugin", "icon.png")) > 0, "no icon")

    def check_guard_denies_direct_codex(self):
        r = self.run("guard", self.GUARD_SCRIPT, "run codex directly")
        expect(any(c.startswith("codex exec") for c in denial_commands(r)),
               f"codex exec was not denied: {denials(r)}", r)
        seen = [t for c, t, err in bash_results(r) if c.startswith("codex exec")]
        expect(seen and "PreToolUse:Bash hook error" in seen[0] and GUARD_REASON in seen[0] and "/codex:rescue" in seen[0],
               f"the model did not see the guard's reason: {seen}", r)
        expect(FALLBACK_REASON not in seen[0], "the fallback guard answered although the runtime was built", r)

    def check_typed_rescue_write_runs_without_prompt(self):
        r = self.run("rescue-write", self.rescue_script(), "/codex:rescue --write create hello.txt", codex=True)
        self.rescue_run = r
        expect(not denials(r), f"a typed /codex:rescue --write was refused: {denials(r)}", r)
        calls = [c for c, _, _ in bash_results(r)]
        expect(len(calls) == 3 and " task --background --json " in calls[0], f"unexpected calls: {calls}", r)
        hello = os.path.join(r.project, "hello.txt")
        expect(os.path.isfile(hello) and "hello from codex" in open(hello).read(),
               "Codex did not create hello.txt in the project", r)
        expect(r.codex_requests, "Codex never called the model mock", r)
        text = r.result_text or ""
        expect("Created hello.txt" in text, f"the result does not carry Codex's message: {text[:800]}", r)
        expect("hello.txt" in text.split("Created hello.txt", 1)[1],
               f"the result does not list hello.txt (made by a shell command) as touched: {text[:1500]}", r)
        state = os.path.join(r.home, ".local", "state", "codex-companion")
        expect(os.path.isdir(state), f"jobs are not in the shared default state dir {state}", r)

    def check_status_and_result_typed(self):
        first = getattr(self, "rescue_run", None)
        expect(first is not None, "needs the rescue check's session")
        job = re.search(r"\"jobId\"\s*:\s*\"([^\"]+)\"", "\n".join(t for _, t, _ in bash_results(first)))
        expect(job, "the rescue run printed no job id", first)
        job = job.group(1)
        st = self.run("status", self.one_call_script(), "/codex:status", home=first.home, project=first.project,
                      extra_args=["--continue"])
        expect(not denials(st), f"/codex:status was refused: {denials(st)}", st)
        expect(job in (st.result_text or ""), f"/codex:status in the same session does not show {job}", st)
        res = self.run("result", self.one_call_script(bare=True), f"/codex:result {job}", home=first.home,
                       project=first.project, extra_args=["--continue"])
        expect(not denials(res), f"/codex:result (bare launcher name) was refused: {denials(res)}", res)
        calls = [c for c, _, _ in bash_results(res)]
        expect(calls and calls[0].startswith("codex-companion result"), f"the bare name was not used: {calls}", res)
        expect("Created hello.txt" in (res.result_text or ""), f"/codex:result lacks the message: {res.result_text}", res)

    def check_terminal_and_plugin_share_jobs(self):
        first = getattr(self, "rescue_run", None)
        expect(first is not None, "needs the rescue check's session")
        job = re.search(r"\"jobId\"\s*:\s*\"([^\"]+)\"", "\n".join(t for _, t, _ in bash_results(first))).group(1)
        terminal_env = {"PATH": run_claude.BASE_PATH, "HOME": first.home, "LANG": "C.UTF-8"}
        def terminal(*args):
            return subprocess.run([self.binary, *args], cwd=first.project, env=terminal_env, capture_output=True,
                                  text=True, timeout=60, stdin=subprocess.DEVNULL)
        seen = terminal("status", "--all", "--json")
        expect(seen.returncode == 0 and job in seen.stdout,
               f"a terminal's `status --all` does not list the job started in Claude Code: {seen.stdout[:1500]}")
        # And the other way: a job started from the terminal (against the package's fake-codex,
        # built next to the binary; how it ends does not matter) shows up in /codex:status --all.
        fake = os.path.join(os.path.dirname(os.path.realpath(self.binary)), "fake-codex")
        expect(os.access(fake, os.X_OK), f"no fake-codex next to {self.binary}")
        started = subprocess.run([self.binary, "task", "--background", "--json", "from the terminal"], cwd=first.project,
                                 env=dict(terminal_env, CODEX_COMPANION_CODEX=fake), capture_output=True,
                                 text=True, timeout=60, stdin=subprocess.DEVNULL)
        tjob = json.loads(started.stdout or "{}").get("jobId")
        expect(tjob, f"the terminal could not record a job: {started.stdout} {started.stderr}")
        st = self.run("status-all", self.one_call_script(), "/codex:status --all", home=first.home, project=first.project)
        expect(not denials(st), f"/codex:status --all was refused: {denials(st)}", st)
        expect(tjob in (st.result_text or "") or tjob in "\n".join(t for _, t, _ in bash_results(st)),
               f"/codex:status --all does not list the terminal's job {tjob}: {st.result_text}", st)

    def check_model_started_delegation_asks(self):
        r = self.run("delegate-asks", self.delegate_script(), "e2e-delegate: please get this done", codex=True)
        refused = [c for c in denial_commands(r) if c.startswith("codex-companion task")]
        expect(refused, f"the agent's write delegation was not refused in default mode: {denials(r)}", r)
        expect(not os.path.exists(os.path.join(r.project, "hello.txt")), "Codex ran although nobody approved", r)
        expect(not r.codex_requests, "Codex was reached although nobody approved", r)
        sk = self.run("skill-asks", self.skill_script("codex:rescue", "--write create hello.txt"),
                      "e2e-skill rescue", codex=True)
        expect(any(d.get("tool_name") == "Skill" for d in denials(sk)),
               f"a model-invoked /codex:rescue skill was not refused: {denials(sk)}", sk)
        expect(not sk.codex_requests, "Codex was reached through the skill without approval", sk)

    def check_readme_allow_rule_lets_the_agent_run(self):
        rule = readme_allow_rule()
        r = self.run("delegate-allowed", self.delegate_script(), "e2e-delegate: please get this done", codex=True,
                     settings={"permissions": {"allow": [rule]}})
        expect(not denials(r), f"with the README's rule {rule!r} calls were still refused: {denials(r)}", r)
        calls = [c for c, _, _ in bash_results(r)]
        expect(len(calls) == 3, f"the agent did not launch, wait and fetch: {calls}", r)
        expect(os.path.isfile(os.path.join(r.project, "hello.txt")), "Codex did not create hello.txt", r)
        expect("Created hello.txt" in (r.result_text or ""), f"no result came back: {r.result_text}", r)

    def check_destructive_commands_not_model_invocable(self):
        for skill in ("codex:cancel", "codex:worktree"):
            r = self.run("no-model-" + skill.split(":")[1], self.skill_script(skill), "e2e-skill destructive")
            res = [x for x in r.tool_results()]
            expect(res and res[0].get("is_error"), f"the model could invoke {skill}: {[x.get('text') for x in res]}", r)
            expect(not bash_results(r), f"{skill} ran a command for the model", r)
            names = r.init.get("slash_commands") or []
            expect(any(skill.split(":")[1] in n for n in names), f"{skill} is not a slash command any more: {names}", r)

    def check_fresh_install_guard_first_session(self):
        out_home = os.path.join(self.work, "fresh-home")
        os.makedirs(out_home)
        self.fresh_home = out_home
        t0 = time.time()
        r = self.run("fresh-install", self.GUARD_SCRIPT, "run codex directly", plugin_mode="marketplace",
                     home=out_home)
        seen = [t for c, t, _ in bash_results(r) if c.startswith("codex exec")]
        expect(seen and "PreToolUse:Bash hook error" in seen[0], f"no deny in the first session: {seen}", r)
        first_deny = time.time() - t0
        self.figures["install_to_first_deny_s"] = round(first_deny, 1)
        runtime = os.path.join(out_home, ".claude", "plugins", "data", MARKET_DATA, "runtime")
        expect(os.path.isdir(runtime), f"SessionStart did not set up {runtime}", r)
        self.fresh_runtime = runtime
        self.fresh_t0 = t0
        for folder in (self.plugin, *cache_dirs(out_home)):
            expect(not os.path.exists(os.path.join(folder, ".build")), f"a build landed in the install folder {folder}", r)

    def check_fresh_install_build_finishes(self):
        runtime = getattr(self, "fresh_runtime", None)
        expect(runtime, "needs the fresh-install check")
        state = wait_build(runtime, self.key)
        expect(state.startswith("ok"), f"the first build did not succeed: {state}\n{tail(runtime, 'build.log')}")
        self.figures["install_to_full_guard_s"] = round(time.time() - self.fresh_t0, 1)
        r = self.run("fresh-second-session", self.GUARD_SCRIPT, "run codex directly", plugin_mode="none",
                     home=self.fresh_home, extra_args=[])
        seen = [t for c, t, _ in bash_results(r) if c.startswith("codex exec")]
        expect(seen and GUARD_REASON in seen[0] and FALLBACK_REASON not in seen[0],
               f"the built guard does not answer: {seen}", r)
        setup = self.run("fresh-setup", self.one_call_script(), "/codex:setup", plugin_mode="none",
                         home=self.fresh_home)
        expect("Runtime build" in (setup.result_text or "") and self.key in (setup.result_text or ""),
               f"setup does not report the build: {setup.result_text}", setup)

    def check_update_keeps_hooks(self):
        runtime = getattr(self, "fresh_runtime", None)
        expect(runtime and os.path.exists(os.path.join(runtime, "current")), "needs a finished first build")
        before = open(os.path.join(runtime, "current")).read().strip()
        bump_version(self.plugin, "0.1.1-e2e")
        # A source change as well, so the new build takes a while and the session below
        # really runs while it is under way.
        with open(os.path.join(self.plugin, "Sources", "codex-companion", "main.swift"), "a") as f:
            f.write("// changed by the claude-e2e update check\n")
        new_key = self.build_key(self.plugin)
        for args in (("plugin", "marketplace", "update", "codex-companion"), ("plugin", "update", "codex@codex-companion")):
            p = self.claude_cmd(self.fresh_home, *args)
            expect(p.returncode == 0, f"claude {' '.join(args)} failed: {p.stdout}{p.stderr}")
        r = self.run("after-update", self.GUARD_SCRIPT, "run codex directly", plugin_mode="none", home=self.fresh_home)
        seen = [t for c, t, _ in bash_results(r) if c.startswith("codex exec")]
        expect(seen and GUARD_REASON in seen[0], f"after the update the guard did not deny: {seen}", r)
        during = open(os.path.join(runtime, "current")).read().strip()
        building = open(os.path.join(runtime, "state")).read().strip()
        expect(during == before and building.startswith("building " + new_key),
               f"expected the previous build to serve while {new_key} builds; current={during!r} state={building!r}", r)
        state = wait_build(runtime, new_key)
        expect(state.startswith("ok"), f"the update's build failed: {state}\n{tail(runtime, 'build.log')}")
        after = open(os.path.join(runtime, "current")).read().strip()
        expect(after != before and new_key in after, f"current did not move to {new_key}: {after}")
        expect(os.path.exists(before), "the previous build was removed right away")

    def cleanup(self):
        # Stop only what the checks started: detached workers record their pids in the job files.
        for dirpath, _, files in os.walk(self.work):
            for name in files:
                if name.endswith(".json") and os.sep + "jobs" in dirpath:
                    try:
                        pid = json.load(open(os.path.join(dirpath, name))).get("pid")
                        status = json.load(open(os.path.join(dirpath, name))).get("status")
                    except (OSError, ValueError, AttributeError):
                        continue
                    if isinstance(pid, int) and pid > 1 and status in ("queued", "running"):
                        try:
                            os.kill(pid, 15)
                        except OSError:
                            pass
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def readme_allow_rule():
    """The allow rule the README tells users to add, read from the README itself."""
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    m = re.search(r"<!-- allow-rule -->\s*```json\s*(\{.*?\})\s*```", text, re.S)
    expect(m, "README.md has no allow-rule block")
    rules = json.loads(m.group(1))["permissions"]["allow"]
    expect(len(rules) == 1, f"the README should show exactly one rule: {rules}")
    return rules[0]


def cache_dirs(home):
    base = os.path.join(home, ".claude", "plugins", "cache")
    found = []
    for dirpath, dirnames, _ in os.walk(base):
        if ".claude-plugin" in dirnames:
            found.append(dirpath)
            dirnames[:] = []
    return found


def bump_version(root, version):
    for rel in (".claude-plugin/plugin.json", ".claude-plugin/marketplace.json"):
        path = os.path.join(root, rel)
        text = open(path).read()
        text = re.sub(r"\"version\"\s*:\s*\"[^\"]*\"", f"\"version\": \"{version}\"", text)
        open(path, "w").write(text)


def tail(runtime, name, n=30):
    try:
        return "".join(open(os.path.join(runtime, name), errors="replace").readlines()[-n:])
    except OSError:
        return f"(no {name})"


def wait_build(runtime, key, timeout=BUILD_WAIT_S):
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        try:
            state = open(os.path.join(runtime, "state")).read().strip()
        except OSError:
            state = ""
        if key in state and not state.startswith("building"):
            return state
        time.sleep(2)
    return f"timed out after {timeout}s waiting for {key}; last state: {state!r}"


CHECKS = [
    ("plugin validates (--strict, icon included)", "check_validate"),
    ("fresh install: guard denies in the first session", "check_fresh_install_guard_first_session"),
    ("guard denies a direct codex call and the model sees why", "check_guard_denies_direct_codex"),
    ("typed /codex:rescue --write runs Codex without a prompt", "check_typed_rescue_write_runs_without_prompt"),
    ("typed /codex:status and /codex:result (bare name) work", "check_status_and_result_typed"),
    ("terminal and Claude Code see each other's jobs", "check_terminal_and_plugin_share_jobs"),
    ("model-started write delegation asks (agent and skill)", "check_model_started_delegation_asks"),
    ("the README's one allow rule lets the agent delegate", "check_readme_allow_rule_lets_the_agent_run"),
    ("cancel and worktree are not model-invocable", "check_destructive_commands_not_model_invocable"),
    ("fresh install: the detached build finishes and the full guard serves", "check_fresh_install_build_finishes"),
    ("update: hooks keep working while the new version builds", "check_update_keeps_hooks"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", help="run only checks whose name or method contains this (comma: any of several)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if a.list:
        for name, meth in CHECKS:
            print(f"{meth}: {name}")
        return 0
    t0 = time.time()
    try:
        suite = Suite(keep=a.keep or os.environ.get("CLAUDE_E2E_KEEP") == "1")
    except (run_claude.ConfigError, CheckFailed) as e:
        print(f"claude-e2e: {e}", file=sys.stderr)
        return 1
    print(f"claude-e2e: work folder {suite.work}; build key {suite.key}", flush=True)
    passed = failed = 0
    try:
        for name, meth in CHECKS:
            if a.k and not any(k in name or k in meth for k in a.k.split(",")):
                continue
            s = time.time()
            try:
                getattr(suite, meth)()
                passed += 1
                print(f"ok      {name}  ({time.time() - s:.1f}s)", flush=True)
            except Exception as e:  # noqa: BLE001 - report and go on
                failed += 1
                print(f"FAILED  {name}  ({time.time() - s:.1f}s)\n        {e}", flush=True)
                if not isinstance(e, CheckFailed):
                    traceback.print_exc()
    finally:
        suite.cleanup()
    for k, v in suite.figures.items():
        print(f"figure  {k} = {v}")
    print(f"{passed} passed, {failed} failed  (suite {time.time() - t0:.0f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
