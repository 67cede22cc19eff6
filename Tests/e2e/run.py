#!/usr/bin/env python3
"""End-to-end suite: the built `codex-companion` against the real Codex CLI.

Only the model is fake: `mock_responses.py` (beside this file) plays the
scripted turns in `script.json` on a loopback port. Everything else is real:
`codex app-server`, its bubblewrap sandbox, git, and the companion binary.

    python3 Tests/e2e/run.py                 # all scenarios
    python3 Tests/e2e/run.py -k worktree     # scenarios whose name contains "worktree"
    python3 Tests/e2e/run.py --list          # scenario names
    python3 Tests/e2e/run.py -v              # print every command and its output
    python3 Tests/e2e/run.py --env-only      # only check codex + mock + sandbox (no companion)

Environment:
    CODEX_COMPANION_E2E_CODEX  codex binary (else `codex` on PATH; none: the suite is SKIPPED)
    CODEX_COMPANION_BIN        companion binary (else .build/release, then .build/debug)
    E2E_KEEP=1                 keep the temporary directory (also --keep)
    E2E_PASS_ENV=A,B           also pass these variables to the companion (debug switches)

Python 3 standard library only. Prints one line per scenario and ends with
`N passed, N failed` (`, N skipped` when some were skipped); exit 1 if any failed.
"""

import argparse
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import codex_home  # noqa: E402

PROJECT_ROOT = os.path.dirname(os.path.dirname(HERE))
MOCK = os.path.join(HERE, "mock_responses.py")
SCRIPT = os.path.join(HERE, "script.json")
EXPECTED_CODEX_VERSION = "0.147.0"

# --------------------------------------------------------------------------
# The companion's JSON contract, in ONE place (issue-2 / issue-3 / README).
# Keys on the left are what the scenarios ask for; values are dotted paths
# into the payload. Adjust here if the runtime names a field differently.
# --------------------------------------------------------------------------
FIELDS = {
    # setup --json
    "setup.ready": "ready",
    "setup.codex.available": "codex.available",
    "setup.auth.loggedIn": "auth.loggedIn",
    "setup.nextSteps": "nextSteps",
    # task --background --json
    "launch.jobId": "jobId",
    "launch.status": "status",
    # status <id> --json  /  result <id> --json
    "status.job": "job",
    "status.waitTimedOut": "waitTimedOut",
    # status --json (list)
    "list.running": "running",
    "list.latestFinished": "latestFinished",
    "list.recent": "recent",
    # a job record
    "job.id": "id",
    "job.status": "status",
    "job.pid": "pid",
    "job.threadId": "threadId",
    "job.reason": "reason",
    "job.errorMessage": "errorMessage",
    # cancel --json
    "cancel.jobId": "jobId",
    "cancel.status": "status",
    # review / adversarial-review --json (foreground), also `result <id> --json`.job.review
    "review.jobId": "jobId",
    "review.status": "status",
    "review.review": "review",
    "review.message": "message",
    "rv.verdict": "verdict",
    "rv.summary": "summary",
    "rv.findings": "findings",
    "rv.nextSteps": "nextSteps",
    "rv.rawOutput": "rawOutput",
    "rv.parseError": "parseError",
    "rv.targetKind": "target.kind",
    "rv.mergeBase": "target.mergeBase",
    "rv.commit": "target.commit",
    "f.title": "title",
    "f.file": "file",
    "f.lineStart": "lineStart",
    "f.priority": "priority",
    "f.severity": "severity",
    "f.confidence": "confidence",
    "job.kind": "kind",
    "job.review": "review",
    "job.reviewJobIds": "reviewJobIds",
    "job.logFile": "logFile",
    # setup --json
    "setup.reviewGate.enabled": "reviewGate.enabled",
    # hook stop stdout
    "stop.decision": "decision",
    "stop.reason": "reason",
    "stop.systemMessage": "systemMessage",
    # task --runs N --json, status <group-id> --json, compare <group-id> --json
    "group.groupId": "groupId",
    "group.jobs": "jobs",
    "group.jobId": "jobId",
    "group.status": "status",
    "compare.attempts": "attempts",
    "attempt.jobId": "jobId",
    "attempt.status": "status",
    "attempt.filesChanged": "filesChanged",
    "attempt.linesAdded": "linesAdded",
    "attempt.linesRemoved": "linesRemoved",
    "attempt.keepPreview": "keepPreview",
    "attempt.lastMessage": "lastMessage",
    "attempt.check": "check",
    "attempt.worktreeState": "worktreeState",
    "check.passed": "passed",
    "check.outputFile": "outputFile",
    "groupCleanup.discarded": "discarded",
    "groupCleanup.left": "left",
    # keep preview (status <id>, result <id>, compare) and the worktree's snapshot
    "status.keepPreview": "keepPreview",
    "preview.clean": "clean",
    "preview.files": "files",
    "preview.conflicts": "conflicts",
    "job.worktree.snapshot": "worktree.snapshot",
    # hook pre-tool-use stdout
    "hook.eventName": "hookSpecificOutput.hookEventName",
    "hook.decision": "hookSpecificOutput.permissionDecision",
    "hook.reason": "hookSpecificOutput.permissionDecisionReason",
}
# Worktree layout (issue-3).
WORKTREE_DIR = ".worktrees/{id}"
WORKTREE_BRANCH = "codex/{id}"
# Job states and reason codes (issue-2).
TERMINAL = ("completed", "failed", "cancelled")
REASON_WORKER_DIED = "worker-died"

_MISSING = object()


class Fail(AssertionError):
    pass


class Skip(Exception):
    pass


def field(obj, key, default=_MISSING):
    """Read FIELDS[key] from a JSON payload; a clear failure when it is absent."""
    path = FIELDS[key]
    cur = obj
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            if default is not _MISSING:
                return default
            keys = sorted(cur) if isinstance(cur, dict) else type(cur).__name__
            raise Fail(f"JSON field `{path}` ({key}) missing; present at `{part}`: {keys}; "
                       f"payload: {_short(json.dumps(obj), 600)}")
    return cur


def check(cond, message):
    if not cond:
        raise Fail(message)


def _short(text, limit=1500):
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"


# --------------------------------------------------------------------------
# Processes (Linux /proc), for leak checks. Read-only: this file never kills
# anything it did not start itself, except the SIGKILL scenario's worker.
# --------------------------------------------------------------------------
def proc_stat(pid):
    """(state, ppid, starttime) or None if the process does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("latin-1")
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def proc_alive(pid, starttime=None):
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[2] == starttime


def _read_proc(pid, name):
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def all_pids():
    return [int(n) for n in os.listdir("/proc") if n.isdigit()]


def descendants(root_pid):
    children = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st:
            children.setdefault(st[1], []).append(pid)
    out, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def describe(pid):
    st = proc_stat(pid)
    cmd = _read_proc(pid, "cmdline").replace("\0", " ").strip()
    return f"pid {pid} ({st[0] if st else 'gone'}) {_short(cmd, 160)}"


# --------------------------------------------------------------------------
# Suite context
# --------------------------------------------------------------------------
class Result:
    def __init__(self, argv, rc, out, err, elapsed, cwd):
        self.argv, self.rc, self.out, self.err, self.elapsed, self.cwd = argv, rc, out, err, elapsed, cwd

    def text(self):
        return self.out + "\n" + self.err

    def __str__(self):
        shown = " ".join(_quote(a) for a in self.argv)
        return (f"$ {shown}   (cwd {self.cwd}, rc {self.rc}, {self.elapsed:.2f}s)\n"
                f"  stdout: {_short(self.out.rstrip()) or '<empty>'}\n"
                f"  stderr: {_short(self.err.rstrip()) or '<empty>'}")


def _quote(arg):
    return arg if arg and all(c.isalnum() or c in "-_./=:@%+," for c in arg) else json.dumps(arg)


class Suite:
    def __init__(self, codex, companion, keep, verbose):
        self.codex = codex
        self.companion = companion
        self.keep = keep
        self.verbose = verbose
        base = tempfile.mkdtemp(prefix="cc-e2e-")
        self.root = os.path.realpath(base)
        self.tmp = os.path.join(self.root, "tmp")        # TMPDIR for everything we start
        self.home = os.path.join(self.root, "home")      # HOME (git, shells)
        self.state = os.path.join(self.root, "state")    # companion state dir
        for d in (self.tmp, self.home, self.state):
            os.makedirs(d)
        self.mock_log = os.path.join(self.root, "mock-requests.jsonl")
        self.mock_proc = None
        self.port = None

    # ---- mock model server -------------------------------------------------
    def start_mock(self):
        port_file = os.path.join(self.root, "mock.port")
        out = open(os.path.join(self.root, "mock.out"), "wb")
        self.mock_proc = subprocess.Popen(
            [sys.executable, "-B", MOCK, "--port", "0", "--port-file", port_file,
             "--script", SCRIPT, "--log", self.mock_log, "--max-lifetime", "1800"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.root)
        out.close()
        atexit.register(self.stop_mock)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                self.port = int(open(port_file).read().strip())
                return
            if self.mock_proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("mock model server did not start: "
                           + open(os.path.join(self.root, "mock.out")).read())

    def stop_mock(self):
        proc, self.mock_proc = self.mock_proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # by PID: the one process we started
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def mock_requests(self, token=None):
        entries = []
        try:
            with open(self.mock_log, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        entries.append(json.loads(line))
                    except ValueError:
                        pass  # a line being written right now
        except OSError:
            return []
        if token is None:
            return entries
        return [e for e in entries if token in ((e.get("summary") or {}).get("user_text") or "")]

    # ---- isolated Codex home ---------------------------------------------
    def write_codex_home(self, path, mock_provider=True, auth=True):
        codex_home.write(path, self.port if mock_provider else None, auth=auth)

    def base_env(self):
        codex_dir = os.path.dirname(self.codex)
        path = os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin"
        env = {
            "PATH": codex_dir + os.pathsep + path,
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_STATE_HOME": os.path.join(self.home, ".local", "state"),
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "TMPDIR": self.tmp,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "CODEX_MOCK_API_KEY": codex_home.MOCK_API_KEY,
            "CODEX_COMPANION_CODEX": self.codex,
            "CODEX_COMPANION_STATE_DIR": self.state,
        }
        # Anything else from the caller's environment only on request
        # (E2E_PASS_ENV=NAME,NAME), e.g. a debug switch of the companion.
        for name in ["TERM"] + [n for n in os.environ.get("E2E_PASS_ENV", "").split(",") if n]:
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def cleanup(self):
        self.stop_mock()
        if self.keep:
            print(f"kept: {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


class Scenario:
    """One scenario's world: its own CODEX_HOME, git repo and session id."""

    def __init__(self, suite, name):
        self.suite = suite
        self.name = name
        self.root = os.path.join(suite.root, "sc-" + name)
        os.makedirs(self.root)
        self.codex_home = os.path.join(self.root, "codex-home")
        suite.write_codex_home(self.codex_home)
        self.repo = os.path.join(self.root, "repo")
        self.session = f"e2e-{name}-{os.getpid()}"
        self.transcript = []
        self.notes = []

    # ---- running things ------------------------------------------------------
    def env(self, **overrides):
        env = self.suite.base_env()
        env["CODEX_HOME"] = self.codex_home
        env["CODEX_COMPANION_SESSION_ID"] = self.session
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def run(self, argv, cwd=None, env=None, timeout=60, input=None):
        cwd = cwd or self.repo
        start = time.monotonic()
        try:
            proc = subprocess.run(argv, cwd=cwd, env=env or self.env(), timeout=timeout,
                                  input=input.encode() if isinstance(input, str) else input,
                                  stdin=None if input is not None else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except subprocess.TimeoutExpired as exc:
            res = Result(argv, None, (exc.stdout or b"").decode("utf-8", "replace"),
                         (exc.stderr or b"").decode("utf-8", "replace"), time.monotonic() - start, cwd)
            self.transcript.append(res)
            raise Fail(f"timed out after {timeout}s (killed): {' '.join(map(_quote, argv))}")
        res = Result(argv, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                     proc.stderr.decode("utf-8", "replace"), time.monotonic() - start, cwd)
        self.transcript.append(res)
        if self.suite.verbose:
            print("    " + str(res).replace("\n", "\n    "))
        return res

    def cc(self, *args, **kwargs):
        return self.run([self.suite.companion, *args], **kwargs)

    def cc_json(self, *args, expect_rc=0, **kwargs):
        res = self.cc(*args, **kwargs)
        if expect_rc is not None and res.rc != expect_rc:
            raise Fail(f"`{' '.join(args[:2])}` exited {res.rc}, expected {expect_rc}:\n{res}")
        try:
            payload = json.loads(res.out)
        except ValueError:
            raise Fail(f"`{' '.join(args[:2])}` --json: stdout is not one JSON object:\n{res}")
        check(isinstance(payload, dict), f"--json payload is not an object: {_short(res.out)}")
        return res, payload

    def git(self, *args, cwd=None, check_rc=True):
        res = self.run(["git", *args], cwd=cwd or self.repo, timeout=60)
        if check_rc and res.rc != 0:
            raise Fail(f"git {' '.join(args)} failed:\n{res}")
        return res

    def make_repo(self, path=None):
        path = path or self.repo
        os.makedirs(path, exist_ok=True)
        self.git("-c", "init.defaultBranch=main", "init", "-q", cwd=path)
        self.git("config", "user.name", "E2E Tester", cwd=path)
        self.git("config", "user.email", "e2e@example.invalid", cwd=path)
        self.git("config", "commit.gpgsign", "false", cwd=path)
        with open(os.path.join(path, "README.md"), "w", encoding="utf-8") as handle:
            handle.write("# demo\n")
        self.git("add", "README.md", cwd=path)
        self.git("commit", "-q", "-m", "init", cwd=path)
        return path

    # ---- job helpers ---------------------------------------------------------
    def job(self, job_id, session=None):
        env = self.env(CODEX_COMPANION_SESSION_ID=session) if session else None
        # The exit code of `status <id>` for a failed job is not pinned down; the JSON is.
        res, payload = self.cc_json("status", job_id, "--json", env=env, expect_rc=None)
        check(res.rc in (0, 1), f"status {job_id} --json exited {res.rc}:\n{res}")
        return field(payload, "status.job")

    def session_job_ids(self, session=None):
        env = self.env(CODEX_COMPANION_SESSION_ID=session) if session else None
        _, payload = self.cc_json("status", "--json", env=env)
        jobs = list(field(payload, "list.running") or [])
        latest = field(payload, "list.latestFinished")
        if latest:
            jobs.append(latest)
        jobs += list(field(payload, "list.recent") or [])
        return [field(j, "job.id") for j in jobs], payload

    def latest_finished_job(self):
        """The job a foreground task just ran, found the way a user would: `status`."""
        _, payload = self.cc_json("status", "--json")
        latest = field(payload, "list.latestFinished")
        check(isinstance(latest, dict), f"status --json has no latestFinished job: {_short(json.dumps(payload))}")
        return latest

    def launch_background(self, *args):
        _, payload = self.cc_json("task", "--background", "--json", *args)
        job_id = field(payload, "launch.jobId")
        check(isinstance(job_id, str) and job_id, f"launch returned no job id: {payload}")
        return job_id, payload

    def wait_job(self, job_id, timeout_ms=60000):
        _, payload = self.cc_json("status", job_id, "--wait", "--timeout-ms", str(timeout_ms), "--json",
                                  expect_rc=None, timeout=timeout_ms / 1000 + 30)
        return field(payload, "status.job"), payload

    def wait_until(self, what, predicate, timeout=30, interval=0.2):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = predicate()
            if last:
                return last
            if time.monotonic() >= deadline:
                raise Fail(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)

    def wait_running_turn(self, job_id, token, timeout=30):
        """Until the job runs (worker pid known) and the model got its request."""
        state = {}

        def ready():
            job = self.job(job_id)
            state["job"] = job
            status = field(job, "job.status")
            if status in TERMINAL:
                raise Fail(f"job ended ({status}) before the turn was in flight: {_short(json.dumps(job))}")
            return (status == "running" and field(job, "job.pid", None)
                    and self.suite.mock_requests(token))
        self.wait_until(f"job {job_id} running with its model request in flight", ready, timeout)
        return state["job"]

    # ---- processes -----------------------------------------------------------
    def processes(self):
        """Live processes that belong to this scenario: environment holds its
        CODEX_HOME, command line names its directory, or cwd is inside it."""
        found = []
        me = os.getpid()
        mock = self.suite.mock_proc.pid if self.suite.mock_proc else -1
        for pid in all_pids():
            if pid in (me, mock) or not proc_alive(pid):
                continue
            hit = self.codex_home in _read_proc(pid, "environ") or self.root in _read_proc(pid, "cmdline")
            if not hit:
                try:
                    cwd = os.readlink(f"/proc/{pid}/cwd")
                    hit = cwd == self.root or cwd.startswith(self.root + "/")
                except OSError:
                    pass
            if hit:
                found.append(pid)
        return found

    def note(self, text):
        self.notes.append(text)


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------
SCENARIOS = []


def scenario(name, companion=True):
    def register(func):
        SCENARIOS.append((name, func, companion))
        return func
    return register


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


@scenario("codex-exec-sandbox", companion=False)
def s_codex_exec(sc):
    """Environment check without the companion: real codex + mock + bubblewrap."""
    check(shutil.which("bwrap", path=sc.env()["PATH"]),
          "bubblewrap (`bwrap`) is not on PATH: Codex's write sandbox needs it (apt-get install bubblewrap)")
    sc.make_repo()
    res = sc.run([sc.suite.codex, "exec", "--sandbox", "workspace-write", "create hello.txt"])
    check(res.rc == 0, f"codex exec failed:\n{res}")
    path = os.path.join(sc.repo, "hello.txt")
    check(os.path.exists(path), f"codex exec did not create hello.txt through the sandbox:\n{res}")
    check(read(path) == b"hello from mock\n", f"hello.txt content: {read(path)!r}")


@scenario("setup-ready")
def s_setup_ready(sc):
    sc.make_repo()
    res, payload = sc.cc_json("setup", "--json", expect_rc=None)
    check(res.rc == 0, f"setup exited {res.rc}:\n{res}")
    check(field(payload, "setup.ready") is True, f"ready is not true: {_short(res.out)}")
    check(field(payload, "setup.codex.available") is True, f"codex.available is not true: {_short(res.out)}")
    check(field(payload, "setup.auth.loggedIn") is True, f"auth.loggedIn is not true: {_short(res.out)}")


@scenario("setup-not-logged-in")
def s_setup_no_auth(sc):
    # A fresh user: default OpenAI provider, no auth.json. Both ways of asking
    # (`codex login status` -> exit 1 "Not logged in"; `account/read` ->
    # account null, requiresOpenaiAuth true) say "not logged in" here. (With the
    # mock's custom provider, account/read says no login is needed at all.)
    home = os.path.join(sc.root, "codex-home-noauth")
    sc.suite.write_codex_home(home, mock_provider=False, auth=False)
    sc.make_repo()
    res, payload = sc.cc_json("setup", "--json", expect_rc=None,
                              env=sc.env(CODEX_HOME=home, CODEX_MOCK_API_KEY=None))
    check(res.rc != 64, f"setup --json was a usage error:\n{res}")
    check(field(payload, "setup.auth.loggedIn") is False, f"auth.loggedIn is not false: {_short(res.out)}")
    check(field(payload, "setup.ready") is False, f"ready is not false without login: {_short(res.out)}")
    steps = field(payload, "setup.nextSteps")
    check(isinstance(steps, list) and steps, f"nextSteps is empty: {_short(res.out)}")
    check("codex login" in json.dumps(steps), f"nextSteps do not say to run `codex login`: {steps}")


@scenario("task-write-foreground")
def s_task_write(sc):
    sc.make_repo()
    res = sc.cc("task", "--write", "create hello.txt")
    check(res.rc == 0, f"task exited {res.rc}:\n{res}")
    path = os.path.join(sc.repo, "hello.txt")
    check(os.path.exists(path), f"hello.txt was not created:\n{res}")
    check(read(path) == b"hello from mock\n", f"hello.txt content: {read(path)!r}")
    check("Created hello.txt" in res.out, f"stdout does not show the final message:\n{res}")


@scenario("task-read-only")
def s_task_read_only(sc):
    sc.make_repo()
    res = sc.cc("task", "create readonly.txt")
    check(res.rc == 0, f"read-only task exited {res.rc}:\n{res}")
    check(not os.path.exists(os.path.join(sc.repo, "readonly.txt")),
          "readonly.txt exists: a task without --write could write to the repository")
    attempts = [e for e in sc.suite.mock_requests("readonly.txt") if (e.get("summary") or {}).get("step_index", 0) >= 1]
    check(attempts, "the model's write attempt never got a tool result back (the turn did not run the tools)")
    job = sc.latest_finished_job()
    check(field(job, "job.status") == "completed", f"job status {field(job, 'job.status')!r}, expected completed")


@scenario("background-status-result")
def s_background(sc):
    sc.make_repo()
    start = time.monotonic()
    job_id, launch = sc.launch_background("--write", "create bg.txt")
    elapsed = time.monotonic() - start
    # "Immediately": the launch is back before the scripted model (2 s delay,
    # then a shell command) could have written the file.
    check(not os.path.exists(os.path.join(sc.repo, "bg.txt")),
          f"bg.txt already exists when the launch returned ({elapsed:.2f}s): the launch waited for the turn")
    check(field(launch, "launch.status") in ("queued", "running"),
          f"launch status {field(launch, 'launch.status')!r}, expected queued or running")
    sc.note(f"launch returned in {elapsed:.2f}s")
    job, payload = sc.wait_job(job_id)
    check(field(job, "job.status") == "completed",
          f"status --wait ended {field(job, 'job.status')!r}: {_short(json.dumps(payload))}")
    check(os.path.exists(os.path.join(sc.repo, "bg.txt")), "bg.txt was not created by the background job")
    res = sc.cc("result", job_id)
    check(res.rc == 0, f"result exited {res.rc}:\n{res}")
    check("Created bg.txt in the background." in res.out, f"result does not show the final message:\n{res}")
    mine, _ = sc.session_job_ids()
    check(job_id in mine, f"status --json of the job's own session does not list it: {mine}")
    others, _ = sc.session_job_ids(session=sc.session + "-other")
    check(job_id not in others, f"status --json of another session lists the job: {others}")


def _job_processes(sc, job):
    pid = field(job, "job.pid")
    check(isinstance(pid, int) and pid > 0, f"job.pid is not a pid: {pid!r}")
    check(proc_alive(pid), f"the worker pid {pid} recorded for the running job is not alive")
    pids = {pid} | set(descendants(pid)) | set(sc.processes())
    return pid, {p: proc_stat(p)[2] for p in pids if proc_stat(p)}


def _cancel_and_check(sc, job_id, job):
    worker, before = _job_processes(sc, job)
    res, payload = sc.cc_json("cancel", job_id, "--json")
    check(field(payload, "cancel.status") == "cancelled", f"cancel reported {_short(res.out)}")
    final = sc.wait_until("the job to be recorded cancelled",
                          lambda: (lambda j: j if field(j, "job.status") in TERMINAL else None)(sc.job(job_id)),
                          timeout=15)
    check(field(final, "job.status") == "cancelled", f"job ended {field(final, 'job.status')!r}, expected cancelled")

    def none_left():
        alive = [p for p, start in before.items() if proc_alive(p, start)]
        return not alive and not sc.processes()
    try:
        sc.wait_until("every process of the job to exit", none_left, timeout=10)
    except Fail:
        left = sorted({p for p, s in before.items() if proc_alive(p, s)} | set(sc.processes()))
        raise Fail("processes of the cancelled job are still running: "
                   + "; ".join(describe(p) for p in left))
    sc.note(f"job processes before cancel: {len(before)} (worker {worker}); none left")


def _running_turn(sc, token):
    """A new repository and a background `task --write` named TOKEN (the scenario's
    session appended) whose turn is in flight: (job id, job record)."""
    sc.make_repo()
    token += "-" + sc.session
    job_id, _ = sc.launch_background("--write", token)
    return job_id, sc.wait_running_turn(job_id, token)


@scenario("cancel-slow-model")
def s_cancel_slow_model(sc):
    job_id, job = _running_turn(sc, "e2e-slow-model cancel")
    _cancel_and_check(sc, job_id, job)


@scenario("cancel-during-command")
def s_cancel_command(sc):
    # The model asked for `sleep 120`: a sandboxed child process is running
    # under codex when the user cancels.
    job_id, _ = _running_turn(sc, "e2e-slow-command cancel")

    def sleeping():
        return [p for p in sc.processes() if _read_proc(p, "cmdline").startswith("sleep\0")]
    sc.wait_until("the sandboxed `sleep 120` to start", sleeping, timeout=30)
    _cancel_and_check(sc, job_id, sc.job(job_id))


@scenario("worker-sigkill")
def s_worker_sigkill(sc):
    job_id, job = _running_turn(sc, "e2e-slow-model sigkill")
    worker, before = _job_processes(sc, job)
    os.kill(worker, signal.SIGKILL)  # the scenario: the worker dies mid-turn
    sc.wait_until(f"worker {worker} to be gone", lambda: not proc_alive(worker, before[worker]), timeout=10)
    after = sc.job(job_id)
    check(field(after, "job.status") == "failed",
          f"after SIGKILL of the worker, status is {field(after, 'job.status')!r}, expected failed: "
          f"{_short(json.dumps(after))}")
    check(field(after, "job.reason") == REASON_WORKER_DIED,
          f"reason is {field(after, 'job.reason')!r}, expected {REASON_WORKER_DIED!r}")
    try:
        sc.wait_until("the orphaned app-server to exit", lambda: not sc.processes(), timeout=10)
    except Fail:
        sc.note("still running 10 s after the worker died: "
                + "; ".join(describe(p) for p in sc.processes()))


def _request_input(sc, token):
    """The JSON `input` the model got on the first request of the turn named by token."""
    entries = [e for e in sc.suite.mock_requests(token) if (e.get("summary") or {}).get("step_index") == 0]
    check(entries, f"the mock saw no request for {token!r}")
    return json.dumps((entries[-1].get("body") or {}).get("input"))


def _run_ok(sc, *args):
    res = sc.cc(*args)
    check(res.rc == 0, f"`task` exited {res.rc}:\n{res}")
    return res


def _first_turn(sc):
    """A new repository and a finished first task (it creates resume-first.txt): its thread."""
    sc.make_repo()
    _run_ok(sc, "task", "--write", "create resume-first.txt")
    first = sc.latest_finished_job()
    thread = field(first, "job.threadId")
    check(thread, f"first job has no threadId: {first}")
    return thread


def _resumed_turn(sc, thread, how, created, whose):
    """`task --write HOW... "now create CREATED"` must continue THREAD (WHOSE earlier
    prompt and answer are in its model request) and create the file. Returns that request's input."""
    _run_ok(sc, "task", "--write", *how, "now create " + created)
    check(os.path.exists(os.path.join(sc.repo, created)), f"{created} was not created")
    seen = _request_input(sc, created)
    check("resume-first.txt" in seen and "e2e-answer-1" in seen,
          f"the resumed turn's model request does not contain {whose} earlier prompt and answer")
    resumed = sc.latest_finished_job()
    check(field(resumed, "job.threadId") == thread,
          f"resumed job ran on thread {field(resumed, 'job.threadId')!r}, expected {thread!r}")
    return seen


@scenario("resume-last")
def s_resume_last(sc):
    thread = _first_turn(sc)
    _resumed_turn(sc, thread, ["--resume-last"], "resume-second.txt", "the earlier turn's")


@scenario("resume-thread")
def s_resume_thread(sc):
    thread = _first_turn(sc)
    _run_ok(sc, "task", "--write", "create hello.txt")  # a newer, unrelated thread
    seen = _resumed_turn(sc, thread, ["--resume-thread", thread], "resume-third.txt", "the named thread's")
    check("hello.txt" not in seen, "the resumed turn continued the newer thread, not the one named")


@scenario("model-http-500")
def s_http_500(sc):
    sc.make_repo()
    job_id, _ = sc.launch_background("e2e-http-500 please answer")
    job, payload = sc.wait_job(job_id)
    check(field(job, "job.status") == "failed", f"job ended {field(job, 'job.status')!r}, expected failed")
    message = field(job, "job.errorMessage") or ""
    # Codex 0.147.0's message for an HTTP 500 from the model (no retries configured).
    check("experiencing high demand" in message, f"errorMessage does not carry Codex's message: {message!r}")


@scenario("model-response-failed")
def s_response_failed(sc):
    sc.make_repo()
    res = sc.cc("task", "e2e-response-failed please answer")
    check(res.rc == 1, f"a failed turn should exit 1, got {res.rc}:\n{res}")
    check("mock model failure e2e-7f3a" in res.text(), f"the user is not shown Codex's message:\n{res}")
    job = sc.latest_finished_job()
    check(field(job, "job.status") == "failed", f"job status {field(job, 'job.status')!r}, expected failed")
    message = field(job, "job.errorMessage") or ""
    check("mock model failure e2e-7f3a" in message, f"errorMessage does not carry Codex's message: {message!r}")


def _worktree_task(sc, prompt):
    sc.make_repo()
    _run_ok(sc, "task", "--write", "--worktree", prompt)
    job_id = field(sc.latest_finished_job(), "job.id")
    wt = os.path.join(sc.repo, WORKTREE_DIR.format(id=job_id))
    branch = WORKTREE_BRANCH.format(id=job_id)
    check(os.path.isdir(wt), f"worktree {WORKTREE_DIR.format(id=job_id)} does not exist after the task")
    check(branch_exists(sc, branch), f"branch {branch} does not exist after the task")
    status = sc.git("status", "--porcelain").out
    check(status == "", f"the user's `git status` is not clean after a worktree task: {status!r}")
    return job_id, wt, branch


def branch_exists(sc, branch):
    return sc.git("branch", "--list", branch).out.strip() != ""


def _decide(sc, job_id, wt, branch, action):
    """`worktree-cleanup JOB --action ACTION` succeeds and removes the worktree WT; the
    branch stays only with --action branch."""
    res = sc.cc("worktree-cleanup", job_id, "--action", action)
    check(res.rc == 0, f"{action} exited {res.rc}:\n{res}")
    check(not os.path.exists(wt), f"{wt} still exists after --action {action}")
    kept = action == "branch"
    check(branch_exists(sc, branch) == kept,
          f"branch {branch} {'is gone' if kept else 'still exists'} after --action {action}")


@scenario("worktree-keep")
def s_worktree_keep(sc):
    job_id, wt, branch = _worktree_task(sc, "create worktree.txt")
    check(not os.path.exists(os.path.join(sc.repo, "worktree.txt")), "worktree.txt leaked into the user's tree")
    _decide(sc, job_id, wt, branch, "keep")
    path = os.path.join(sc.repo, "worktree.txt")
    check(os.path.exists(path), "worktree.txt was not applied to the user's tree")
    check(read(path) == b"written in the worktree by apply_patch\n", f"worktree.txt content: {read(path)!r}")
    status = sc.git("status", "--porcelain").out
    check("A  worktree.txt" in status.splitlines(), f"worktree.txt is not staged: {status!r}")


@scenario("worktree-keep-conflict")
def s_worktree_conflict(sc):
    job_id, wt, branch = _worktree_task(sc, "edit README.md please")
    readme = os.path.join(sc.repo, "README.md")
    with open(readme, "wb") as handle:
        handle.write(b"# demo (edited locally, differently)\n")
    before = read(readme)
    res = sc.cc("worktree-cleanup", job_id, "--action", "keep")
    check(res.rc == 1, f"a conflicting keep should exit 1, got {res.rc}:\n{res}")
    check(read(readme) == before, f"README.md changed by a failed keep: {read(readme)!r}")
    check("README.md" in res.text(), f"the conflicting path is not named:\n{res}")
    status = sc.git("status", "--porcelain").out
    check(status.splitlines() == [" M README.md"], f"the user's tree changed: git status {status!r}")
    check(os.path.isdir(wt), "the worktree was removed by a failed keep")
    check(branch_exists(sc, branch), f"branch {branch} was deleted by a failed keep")


@scenario("worktree-discard")
def s_worktree_discard(sc):
    job_id, wt, branch = _worktree_task(sc, "create discard.txt")
    _decide(sc, job_id, wt, branch, "discard")
    check(not os.path.exists(os.path.join(sc.repo, "discard.txt")), "discard.txt appeared in the user's tree")


@scenario("worktree-branch")
def s_worktree_branch(sc):
    job_id, wt, branch = _worktree_task(sc, "create branch.txt")
    _decide(sc, job_id, wt, branch, "branch")
    shown = sc.git("show", f"{branch}:branch.txt", check_rc=False)
    check(shown.rc == 0 and shown.out == "kept on a branch\n", f"branch.txt is not committed on {branch}:\n{shown}")
    check(not os.path.exists(os.path.join(sc.repo, "branch.txt")), "branch.txt appeared in the user's tree")


def user_tree(sc):
    """What the user would notice of their repository: every file's mode and bytes (not
    .git, not .worktrees), the index bytes, `git status` with ignored files, HEAD, every
    ref but codex/*, and the stash. git runs with optional locks off, so looking at the
    tree does not rewrite the index."""
    import hashlib
    parts = []
    for base, dirs, files in os.walk(sc.repo):
        rel = os.path.relpath(base, sc.repo)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in (".git", ".worktrees")]
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            info = os.lstat(path)
            data = os.readlink(path).encode() if os.path.islink(path) else read(path)
            parts.append(f"{os.path.join(rel, name)} {oct(info.st_mode)} {hashlib.sha256(data).hexdigest()}")
    parts.append("index " + hashlib.sha256(read(os.path.join(sc.repo, ".git", "index"))).hexdigest())
    env = sc.env(GIT_OPTIONAL_LOCKS="0")
    for argv in (["status", "--porcelain=v1", "--untracked-files=all", "--ignored"], ["rev-parse", "HEAD"],
                 ["symbolic-ref", "HEAD"], ["for-each-ref", "--format=%(refname) %(objectname)"],
                 ["stash", "list", "--format=%H %s"]):
        res = sc.run(["git", *argv], env=env)
        lines = [l for l in res.out.splitlines() if "refs/heads/codex/" not in l and ".worktrees" not in l]
        parts.append(f"{argv[0]} {res.rc} " + "|".join(lines))
    return "\n".join(parts)


def _attempt(sc, payload, job_id):
    for attempt in field(payload, "compare.attempts"):
        if field(attempt, "attempt.jobId") == job_id:
            return attempt
    raise Fail(f"compare has no attempt {job_id}: {_short(json.dumps(payload))}")


@scenario("attempts-compare-keep-discard")
def s_attempts(sc):
    sc.make_repo()
    for bad in (["--worktree", "--runs", "9"], ["--runs", "2"], ["--worktree", "--runs", "1"]):
        res = sc.cc("task", "--write", *bad, "--json", "e2e-attempts")
        check(res.rc == 64, f"task --write {' '.join(bad)} should be a usage error (64), got {res.rc}:\n{res}")
    _, launched = sc.cc_json("task", "--write", "--worktree", "--runs", "3", "--background", "--json",
                             "e2e-attempts: write attempt.txt")
    group = field(launched, "group.groupId")
    ids = [field(j, "group.jobId") for j in field(launched, "group.jobs")]
    check(isinstance(group, str) and group.startswith("group-") and len(set(ids)) == 3, f"launch: {launched}")
    _, waited = sc.cc_json("status", group, "--wait", "--timeout-ms", "120000", "--json", timeout=150)
    statuses = [field(j, "job.status") for j in field(waited, "group.jobs")]
    check(statuses == ["completed"] * 3, f"status {group} --wait: {statuses}")
    check(field(waited, "group.status") == "finished", f"group status: {field(waited, 'group.status')}")
    # Each attempt has its own worktree, branch and content.
    for job_id in ids:
        wt = os.path.join(sc.repo, WORKTREE_DIR.format(id=job_id))
        check(read(os.path.join(wt, "attempt.txt")) == f"attempt from {job_id}\n".encode(), f"attempt.txt of {job_id}")
        check(branch_exists(sc, WORKTREE_BRANCH.format(id=job_id)), f"no branch for {job_id}")
    # The check fails in attempt 2 only.
    check_cmd = f"test -f attempt.txt && ! grep -q {ids[1]} attempt.txt && echo checked"
    _, compared = sc.cc_json("compare", group, "--check", check_cmd, "--json", timeout=120)
    for index, job_id in enumerate(ids):
        attempt = _attempt(sc, compared, job_id)
        check(field(attempt, "attempt.status") == "completed", f"attempt {job_id}: {attempt}")
        check((field(attempt, "attempt.filesChanged"), field(attempt, "attempt.linesAdded"),
               field(attempt, "attempt.linesRemoved")) == (1, 1, 0), f"attempt size: {attempt}")
        preview = field(attempt, "attempt.keepPreview")
        check(field(preview, "preview.clean") is True and field(preview, "preview.files") == ["attempt.txt"],
              f"preview of {job_id}: {preview}")
        check(field(attempt, "attempt.lastMessage") == "Wrote attempt.txt in this attempt's worktree.",
              f"lastMessage: {field(attempt, 'attempt.lastMessage')!r}")
        ran = field(attempt, "attempt.check")
        check(field(ran, "check.passed") is (index != 1), f"check of attempt {index + 1}: {ran}")
        check(os.path.exists(field(ran, "check.outputFile")), f"check output not kept: {ran}")
    res = sc.cc("compare", group)
    check(res.rc == 0 and "keep would apply cleanly: 1 file" in res.out, f"compare (Markdown):\n{res}")
    # Keep attempt 1: the other two stay exactly as they were.
    others = {j: read(os.path.join(sc.repo, WORKTREE_DIR.format(id=j), "attempt.txt")) for j in ids[1:]}
    res = sc.cc("worktree-cleanup", ids[0], "--action", "keep")
    check(res.rc == 0, f"keep of attempt 1 exited {res.rc}:\n{res}")
    check(read(os.path.join(sc.repo, "attempt.txt")) == f"attempt from {ids[0]}\n".encode(), "attempt 1 not applied")
    _, after = sc.cc_json("compare", group, "--json")
    for job_id in ids[1:]:
        attempt = _attempt(sc, after, job_id)
        check(field(attempt, "attempt.worktreeState") == "ready", f"{job_id} after keeping another: {attempt}")
        check(read(os.path.join(sc.repo, WORKTREE_DIR.format(id=job_id), "attempt.txt")) == others[job_id], job_id)
        check(field(field(attempt, "attempt.keepPreview"), "preview.conflicts") == ["attempt.txt"],
              f"{job_id}'s preview after the keep: {attempt}")
    before = user_tree(sc)
    _, cleaned = sc.cc_json("worktree-cleanup", group, "--action", "discard", "--json")
    check(sorted(field(cleaned, "groupCleanup.discarded")) == sorted(ids[1:]), f"group discard: {cleaned}")
    check([field(l, "group.jobId") for l in field(cleaned, "groupCleanup.left")] == [ids[0]], f"left: {cleaned}")
    for job_id in ids[1:]:
        check(not branch_exists(sc, WORKTREE_BRANCH.format(id=job_id)), f"branch of {job_id} survived discard")
    check(user_tree(sc) == before, "discarding the group changed the user's tree")
    res = sc.cc("worktree-cleanup", group, "--action", "keep")
    check(res.rc == 64, f"keep of a whole group should be a usage error, got {res.rc}:\n{res}")


@scenario("keep-preview-clean-then-conflict")
def s_keep_preview(sc):
    job_id, wt, branch = _worktree_task(sc, "edit README please")
    before = user_tree(sc)
    _, shown = sc.cc_json("status", job_id, "--json")
    preview = field(shown, "status.keepPreview")
    check(field(preview, "preview.clean") is True and field(preview, "preview.files") == ["README.md"],
          f"preview before the edit: {preview}")
    res = sc.cc("status", job_id)
    check("keep would apply cleanly: 1 file" in res.out, f"status (Markdown) has no preview line:\n{res}")
    check(user_tree(sc) == before, "the keep preview changed the user's tree")
    with open(os.path.join(sc.repo, "README.md"), "wb") as handle:
        handle.write(b"# demo (the user's own edit)\n")
    edited = user_tree(sc)
    _, shown = sc.cc_json("status", job_id, "--json")
    preview = field(shown, "status.keepPreview")
    check(field(preview, "preview.clean") is False and field(preview, "preview.conflicts") == ["README.md"],
          f"preview after the edit: {preview}")
    _, result = sc.cc_json("result", job_id, "--json")
    check(field(field(result, "status.keepPreview"), "preview.conflicts") == ["README.md"], f"result: {result}")
    res = sc.cc("result", job_id)
    check("keep would conflict in README.md" in res.out, f"result (Markdown) has no conflict line:\n{res}")
    check(user_tree(sc) == edited, "the keep preview changed the user's tree after their edit")
    check(os.path.isdir(wt) and branch_exists(sc, branch), "the preview removed the worktree or branch")


@scenario("seeded-worktree-delta-keep")
def s_seeded(sc):
    sc.make_repo()
    write = lambda name, text: open(os.path.join(sc.repo, name), "w", encoding="utf-8").write(text)
    write(".gitignore", "secret.env\n")
    sc.git("add", ".gitignore")
    sc.git("commit", "-q", "-m", "ignore")
    write("README.md", "# demo\nthe user's unstaged line\n")
    write("staged.txt", "the user's staged file\n")
    sc.git("add", "staged.txt")
    write("notes.txt", "the user's untracked notes\n")
    write("secret.env", "TOKEN=never-copied\n")
    before = user_tree(sc)
    _run_ok(sc, "task", "--write", "--worktree", "e2e-seeded: look around")
    job = sc.latest_finished_job()
    job_id = field(job, "job.id")
    check(user_tree(sc) == before, "starting a seeded worktree changed the user's tree, index or refs")
    snapshot = field(job, "job.worktree.snapshot")
    check(isinstance(snapshot, dict) and sorted(snapshot["paths"]) == ["README.md", "notes.txt", "staged.txt"],
          f"snapshot recorded: {snapshot}")
    branch = WORKTREE_BRANCH.format(id=job_id)
    subjects = sc.git("log", "--format=%s", f"{snapshot['head']}..{branch}").out.splitlines()
    check(subjects[-1] == "codex-companion: snapshot of your working tree", f"first commit on {branch}: {subjects}")
    seen = sc.git("show", f"{branch}:seen.txt").out
    check(seen == "# demo\nthe user's unstaged line\nthe user's untracked notes\nthe user's staged file\n",
          f"what Codex saw: {seen!r}")
    res = sc.cc("status", job_id)
    check("snapshot" in res.out, f"status does not show the snapshot:\n{res}")
    res = sc.cc("worktree-cleanup", job_id, "--action", "keep")
    check(res.rc == 0, f"keep exited {res.rc}:\n{res}")
    check(read(os.path.join(sc.repo, "README.md")) == b"# demo\nthe user's unstaged line\ncodex line\n",
          f"README.md after keep: {read(os.path.join(sc.repo, 'README.md'))!r}")
    check(read(os.path.join(sc.repo, "notes.txt")) == b"the user's untracked notes\n", "notes.txt changed")
    check(read(os.path.join(sc.repo, "staged.txt")) == b"the user's staged file\n", "staged.txt changed")
    check(read(os.path.join(sc.repo, "seen.txt")) == seen.encode(), "seen.txt not applied")
    status = sc.git("status", "--porcelain").out.splitlines()
    check("A  staged.txt" in status and "?? notes.txt" in status, f"the user's index lost its state: {status}")
    # --base HEAD starts from the commit instead: none of the user's uncommitted files.
    _, launched = sc.cc_json("task", "--write", "--worktree", "--base", "HEAD", "--background", "--json",
                             "e2e-seeded: from HEAD")
    other = field(launched, "launch.jobId")
    job, _ = sc.wait_job(other)
    check(field(job, "job.worktree.snapshot") is None, f"--base HEAD recorded a snapshot: {job}")
    seen = sc.git("show", f"{WORKTREE_BRANCH.format(id=other)}:seen.txt").out
    check(seen == "# demo\n", f"with --base HEAD Codex saw: {seen!r}")


def _hook_payload(command, tool="Bash", cwd="/tmp"):
    tool_input = {"command": command, "description": "run a command"} if tool == "Bash" else {"file_path": command}
    return json.dumps({
        "session_id": "0b7c2d4e-e2e", "transcript_path": "/tmp/e2e-transcript.jsonl", "cwd": cwd,
        "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": tool,
        "tool_input": tool_input, "tool_use_id": "toolu_01E2E"})


def _hook(sc, payload):
    return sc.cc("hook", "pre-tool-use", input=payload, timeout=10, cwd=sc.root)


@scenario("hook-deny")
def s_hook_deny(sc):
    for command in ['codex exec "fix it"',
                    'cd /tmp && env FOO=1 codex exec --full-auto "fix the tests"',
                    "bash -c 'codex review'",
                    'npx @openai/codex exec "x"',
                    '/usr/local/bin/codex "hello"']:
        res = _hook(sc, _hook_payload(command))
        check(res.rc == 0, f"deny should exit 0 with JSON, got {res.rc} for {command!r}:\n{res}")
        check(res.out.lstrip().startswith("{"), f"stdout is not JSON for {command!r}:\n{res}")
        payload = json.loads(res.out)
        check(field(payload, "hook.eventName") == "PreToolUse", f"hookEventName wrong for {command!r}: {res.out}")
        check(field(payload, "hook.decision") == "deny", f"{command!r} was not denied: {res.out}")
        check("/codex:rescue" in (field(payload, "hook.reason") or ""),
              f"the reason does not point to /codex:rescue: {res.out}")


@scenario("hook-allow")
def s_hook_allow(sc):
    cases = [_hook_payload('git commit -m "codex"'),
             _hook_payload("grep -rn codex src/ | head"),
             _hook_payload("cat codex.md"),
             _hook_payload('"/root/.claude/plugins/cache/codex/bin/codex-companion" status --json'),
             _hook_payload("/tmp/codex.md", tool="Read"),
             "this is not json"]
    for payload in cases:
        res = _hook(sc, payload)
        check(res.rc == 0 and res.out == "", f"expected a silent allow (exit 0, empty stdout) for {payload[:160]!r}:\n{res}")


# --------------------------------------------------------------------------
# Reviews (issue 13). The mock answers review/start requests (their body holds
# "# Review guidelines") and outputSchema turns ("codex_output_schema"); a token
# in the repository's path (it is in <cwd>) picks a variant.
# --------------------------------------------------------------------------
CALC_V1 = "def ratio(a, total):\n    return a\n"
CALC_V2 = "def ratio(a, total):\n    return a / total\n"


def _review_repo(sc, path=None):
    path = sc.make_repo(path)
    with open(os.path.join(path, "calc.py"), "w", encoding="utf-8") as handle:
        handle.write(CALC_V1)
    sc.git("add", "calc.py", cwd=path)
    sc.git("commit", "-q", "-m", "calc", cwd=path)
    return path


def _dirty(path, untracked=True):
    with open(os.path.join(path, "calc.py"), "w", encoding="utf-8") as handle:
        handle.write(CALC_V2)
    if untracked:
        with open(os.path.join(path, "notes.txt"), "w", encoding="utf-8") as handle:
            handle.write("untracked notes\n")


def _requests_by_rule(sc, rule):
    return [e for e in sc.suite.mock_requests() if (e.get("summary") or {}).get("rule") == rule]


def _repo_requests(sc, path):
    return [e for e in sc.suite.mock_requests() if path in json.dumps(e.get("body") or {})]


def _review_json(sc, *args, cwd=None, expect_rc=0):
    _, payload = sc.cc_json(args[0], "--json", *args[1:], cwd=cwd, expect_rc=expect_rc, timeout=120)
    return payload


def _native_checks(sc, payload):
    check(field(payload, "review.status") == "completed", f"review did not complete: {_short(json.dumps(payload))}")
    review = field(payload, "review.review")
    check(field(review, "rv.verdict") == "needs-attention", f"verdict: {field(review, 'rv.verdict')!r}")
    findings = field(review, "rv.findings")
    check(len(findings) == 2, f"expected the mock's 2 findings: {findings}")
    first = findings[0]
    check(field(first, "f.priority") == 1 and field(first, "f.title") == "Unguarded division",
          f"findings are not ordered by priority (P1 first): {findings}")
    check(field(first, "f.file") == "calc.py" and field(first, "f.lineStart") == 2,
          f"file must be repo-relative with its line: {first}")
    check(field(first, "f.confidence") == 0.9, f"confidence from the structured review output missing: {first}")
    return review


@scenario("review-uncommitted")
def s_review_uncommitted(sc):
    _review_repo(sc)
    _dirty(sc.repo)
    before = len(_requests_by_rule(sc, "review"))
    payload = _review_json(sc, "review")
    review = _native_checks(sc, payload)
    check(field(review, "rv.targetKind") == "uncommitted", f"default target with changes: {review}")
    check(len(_requests_by_rule(sc, "review")) - before == 2, "the review did not go through review/start")
    job_id = field(payload, "review.jobId")
    job = sc.job(job_id)
    check(field(job, "job.kind") == "review", f"job kind: {field(job, 'job.kind')!r}")
    res = sc.cc("result", job_id)
    check(res.rc == 0 and "calc.py:2" in res.out and res.out.index("Unguarded") < res.out.index("Missing test"),
          f"human result must list findings by priority with file:line:\n{res}")
    check(sc.git("status", "--porcelain").out.count("\n") == 2, "the read-only review changed the tree")


@scenario("review-base-branch")
def s_review_base(sc):
    _review_repo(sc)
    main = sc.git("rev-parse", "HEAD").out.strip()
    sc.git("checkout", "-q", "-b", "feature")
    _dirty(sc.repo, untracked=False)
    sc.git("commit", "-q", "-am", "divide")
    payload = _review_json(sc, "review")
    review = _native_checks(sc, payload)
    check(field(review, "rv.targetKind") == "base" and field(review, "rv.mergeBase") == main,
          f"a clean feature branch is reviewed against its merge base with main: {review}")
    bodies = [json.dumps(e["body"]) for e in _repo_requests(sc, sc.repo)]
    check(any("base branch 'main'" in b for b in bodies), "Codex was not asked to review against 'main'")


@scenario("review-commit")
def s_review_commit(sc):
    _review_repo(sc)
    _dirty(sc.repo, untracked=False)
    sc.git("commit", "-q", "-am", "divide")
    head = sc.git("rev-parse", "HEAD").out.strip()
    review = _native_checks(sc, _review_json(sc, "review", "--commit", head[:8]))
    check(field(review, "rv.targetKind") == "commit" and field(review, "rv.commit") == head, f"commit target: {review}")
    bodies = [json.dumps(e["body"]) for e in _repo_requests(sc, sc.repo)]
    check(any(head in b for b in bodies), "the commit's sha did not reach the reviewer")


@scenario("review-nothing-or-bad-target")
def s_review_nothing(sc):
    _review_repo(sc)
    before = len(sc.suite.mock_requests())
    payload = _review_json(sc, "review")
    check(field(payload, "review.status") == "nothing-to-review" and field(payload, "review.jobId") is None,
          f"a clean default branch has nothing to review: {payload}")
    payload = _review_json(sc, "adversarial-review", "--uncommitted")
    check(field(payload, "review.status") == "nothing-to-review", f"no uncommitted changes: {payload}")
    check(len(sc.suite.mock_requests()) == before, "a model turn ran although there was nothing to review")
    res = sc.cc("review", "--base", "no-such-branch")
    check(res.rc == 1 and "no-such-branch" in res.err, f"an unknown ref must exit 1 naming it:\n{res}")
    res = sc.cc("review", "--commit", "deadbeefdeadbeef")
    check(res.rc == 1 and "deadbeef" in res.err, f"an unknown sha must exit 1 naming it:\n{res}")
    res = sc.cc("review", "--commit", "-x")
    check(res.rc == 64, f"a malformed --commit value is a usage error:\n{res}")
    res = sc.cc("review", "--bogus")
    check(res.rc == 64, f"an unknown flag is a usage error, not focus text:\n{res}")
    outside = os.path.join(sc.root, "not-a-repo")
    os.makedirs(outside)
    res = sc.cc("review", cwd=outside)
    check(res.rc == 1 and "not inside a git working tree" in res.err, f"outside a repository:\n{res}")


@scenario("adversarial-review-valid")
def s_adversarial_valid(sc):
    _review_repo(sc)
    _dirty(sc.repo)
    focus = 'the "zero total" path, please'
    payload = _review_json(sc, "adversarial-review", "--", focus)
    check(field(payload, "review.status") == "completed", f"adversarial review: {_short(json.dumps(payload))}")
    review = field(payload, "review.review")
    check(field(review, "rv.verdict") == "needs-attention", f"verdict: {review}")
    findings = field(review, "rv.findings")
    check([field(f, "f.severity") for f in findings] == ["high", "low"], f"findings by severity: {findings}")
    check(field(findings[0], "f.file") == "calc.py", f"file: {findings[0]}")
    check(field(review, "rv.nextSteps") == ["Guard the divisor."], f"nextSteps: {review}")
    requests = _requests_by_rule(sc, "adversarial")
    check(requests and focus in json.dumps(requests[-1]["body"], ensure_ascii=False).replace('\\"', '"'),
          "the focus text did not reach the model verbatim")
    check((requests[-1]["body"].get("text") or {}).get("format", {}).get("type") == "json_schema",
          "the turn carried no output schema")


@scenario("adversarial-review-invalid-output")
def s_adversarial_invalid(sc):
    repo = sc.repo = _review_repo(sc, os.path.join(sc.root, "e2e-badoutput"))
    _dirty(repo)
    payload = _review_json(sc, "adversarial-review", cwd=repo, expect_rc=1)
    check(field(payload, "review.status") == "failed", f"invalid output must fail the job: {payload}")
    review = field(payload, "review.review")
    check(field(review, "rv.rawOutput") == "I think it is fine, no JSON for you.", f"raw text kept: {review}")
    check("not JSON" in (field(review, "rv.parseError") or ""), f"the error says what was wrong: {review}")
    job = sc.job(field(payload, "review.jobId"))
    check(field(job, "job.reason") == "invalid-output", f"reason: {field(job, 'job.reason')!r}")


@scenario("review-resume-thread")
def s_review_resume(sc):
    _review_repo(sc)
    _dirty(sc.repo)
    payload = _review_json(sc, "review")
    thread = field(field(payload, "status.job"), "job.threadId")
    token = "e2e-fix-finding-" + sc.session
    _, follow = sc.cc_json("task", "--resume-thread", thread, "--json", f"fix finding 1 {token}", timeout=120)
    check(field(follow, "status.job")["threadId"] == thread, f"the follow-up ran on another thread: {follow}")
    requests = sc.suite.mock_requests(token)
    check(requests and "Unguarded division" in json.dumps(requests[-1]["body"]),
          "the continued turn does not carry the review in its history")


@scenario("review-job-worktree")
def s_review_job(sc):
    job_id, wt, _ = _worktree_task(sc, "create worktree.txt")
    payload = _review_json(sc, "review", "--job", job_id)
    check(field(payload, "review.status") == "completed", f"review --job: {_short(json.dumps(payload))}")
    bodies = [json.dumps(e["body"]) for e in _repo_requests(sc, wt)]
    check(bodies, "the review did not run in the job's worktree")
    job = sc.job(job_id)
    check(field(payload, "review.jobId") in field(job, "job.reviewJobIds"), f"the job does not list its review: {job}")
    res = sc.cc("result", job_id)
    check(field(payload, "review.jobId") in res.out, f"result of the worktree job does not mention the review:\n{res}")


@scenario("review-cancel")
def s_review_cancel(sc):
    repo = sc.repo = _review_repo(sc, os.path.join(sc.root, "e2e-slowreview"))
    _dirty(repo)
    _, launched = sc.cc_json("review", "--background", "--json", cwd=repo)
    job_id = field(launched, "launch.jobId")
    sc.wait_until("the slow review's model request", lambda: _requests_by_rule(sc, "review-slow"), timeout=30)
    res, payload = sc.cc_json("cancel", job_id, "--json", cwd=repo)
    final = sc.wait_until("the review to end",
                          lambda: (lambda j: j if field(j, "job.status") in TERMINAL else None)(sc.job(job_id)),
                          timeout=15)
    check(field(final, "job.status") == "cancelled", f"review ended {field(final, 'job.status')!r}")
    log = open(field(final, "job.logFile"), encoding="utf-8").read()
    check("Turn interrupted." in log and "did not confirm" not in log,
          f"turn/interrupt was not accepted (it needs turn/started's id):\n{_short(log)}")


def _gate(sc, payload, env=None, cwd=None):
    return sc.run([sc.suite.companion, "hook", "stop"], input=json.dumps(payload), env=env, cwd=cwd, timeout=120)


def _stop_payload(sc, cwd, active=False, session=None):
    return {"session_id": session or sc.session, "transcript_path": "/dev/null", "cwd": cwd,
            "hook_event_name": "Stop", "stop_hook_active": active}


@scenario("gate-off-and-guards")
def s_gate_guards(sc):
    _review_repo(sc)
    _dirty(sc.repo)
    res = _gate(sc, _stop_payload(sc, sc.repo))
    check(res.rc == 0 and res.out == "", f"a disabled gate is silent:\n{res}")
    _, setup = sc.cc_json("setup", "--enable-review-gate", "--json", expect_rc=None)
    check(field(setup, "setup.reviewGate.enabled") is True, f"setup did not enable the gate: {setup}")
    before = len(sc.suite.mock_requests())
    res = _gate(sc, _stop_payload(sc, sc.repo, active=True))
    check(res.rc == 0 and res.out == "", f"stop_hook_active must allow at once:\n{res}")
    sc.git("stash", "-u", "-q")
    res = _gate(sc, _stop_payload(sc, sc.repo))
    check(res.rc == 0 and res.out == "", f"no changes must allow without review:\n{res}")
    check(len(sc.suite.mock_requests()) == before, "Codex ran although the gate should not have reviewed")
    sc.git("stash", "pop", "-q")
    _, setup = sc.cc_json("setup", "--disable-review-gate", "--json", expect_rc=None)
    check(field(setup, "setup.reviewGate.enabled") is False, f"setup did not disable the gate: {setup}")
    res = _gate(sc, _stop_payload(sc, sc.repo))
    check(res.rc == 0 and res.out == "", f"the disabled gate must be silent again:\n{res}")


@scenario("gate-block-and-round-cap")
def s_gate_block(sc):
    _review_repo(sc)
    _dirty(sc.repo)
    sc.cc_json("setup", "--enable-review-gate", "--json", expect_rc=None)
    for round_ in (1, 2):
        res = _gate(sc, _stop_payload(sc, sc.repo))
        check(res.rc == 0, f"the gate always exits 0:\n{res}")
        out = json.loads(res.out)
        check(field(out, "stop.decision") == "block", f"round {round_}: a high finding must block: {res.out}")
        reason = field(out, "stop.reason")
        check("calc.py:2" in reason and "Return 0 when total is 0." in reason, f"reason lacks file:line/fix: {reason}")
        check("calc.py:1" not in reason, f"a low finding must not be listed as blocking: {reason}")
    before = len(sc.suite.mock_requests())
    res = _gate(sc, _stop_payload(sc, sc.repo))
    out = json.loads(res.out)
    check(field(out, "stop.decision", None) is None and "2" in field(out, "stop.systemMessage"),
          f"after 2 blocks the gate allows with a message: {res.out}")
    check(len(sc.suite.mock_requests()) == before, "a capped gate must not start Codex")
    res = _gate(sc, _stop_payload(sc, sc.repo, session=sc.session + "-new"))
    check(json.loads(res.out).get("decision") == "block", f"the cap is per session: {res.out}")


@scenario("gate-failures-allow")
def s_gate_failures(sc):
    _review_repo(sc)
    _dirty(sc.repo)
    sc.cc_json("setup", "--enable-review-gate", "--json", expect_rc=None)
    env = sc.env(CODEX_COMPANION_CODEX="/nonexistent/codex", PATH="/usr/bin:/bin")
    res = _gate(sc, _stop_payload(sc, sc.repo), env=env)
    out = json.loads(res.out) if res.out.strip() else {}
    check(res.rc == 0 and "decision" not in out and "did not run" in (out.get("systemMessage") or ""),
          f"Codex missing must allow with a message:\n{res}")
    bad = _review_repo(sc, os.path.join(sc.root, "e2e-badoutput"))
    _dirty(bad)
    sc.cc_json("setup", "--enable-review-gate", "--json", cwd=bad, expect_rc=None)
    res = _gate(sc, _stop_payload(sc, bad), cwd=bad)
    out = json.loads(res.out) if res.out.strip() else {}
    check("decision" not in out and "not JSON" in (out.get("systemMessage") or ""),
          f"bad model output must allow with the reason:\n{res}")
    res = _gate(sc, _stop_payload(sc, sc.repo), env=sc.env(CODEX_COMPANION_GATE_TIMEOUT="0.001"))
    out = json.loads(res.out) if res.out.strip() else {}
    check("decision" not in out and "did not run" in (out.get("systemMessage") or ""),
          f"a review over its time budget must allow with a message:\n{res}")


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------
def _executable_from_env(name):
    """The executable $NAME names (exit 1 when it is not one), or None when unset."""
    path = os.environ.get(name)
    if not path:
        return None
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        print(f"error: {name}={path} is not an executable file")
        sys.exit(1)
    return os.path.abspath(path)


def find_codex():
    found = _executable_from_env("CODEX_COMPANION_E2E_CODEX") or shutil.which("codex")
    return os.path.abspath(found) if found else None


def find_companion():
    given = _executable_from_env("CODEX_COMPANION_BIN")
    if given:
        return given
    for config in ("release", "debug"):
        path = os.path.join(PROJECT_ROOT, ".build", config, "codex-companion")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def print_context(sc, message, count=3):
    """The last few commands of a failed scenario (setup git calls that worked are left out)."""
    shown = [r for r in sc.transcript
             if not (r.argv[0] == "git" and r.rc == 0) and str(r) not in message][-count:]
    if shown:
        print("    last commands:")
    for res in shown:
        print("    " + str(res).replace("\n", "\n    "))


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main():
    parser = argparse.ArgumentParser(description="codex-companion end-to-end suite (real Codex CLI, mock model)")
    parser.add_argument("-k", dest="pattern", help="run only scenarios whose name contains this")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every command and its output")
    parser.add_argument("--keep", action="store_true", default=bool(os.environ.get("E2E_KEEP")),
                        help="keep the temporary directory")
    parser.add_argument("--list", action="store_true", help="list scenario names")
    parser.add_argument("--env-only", action="store_true",
                        help="only check that codex, the mock and the sandbox work (no companion needed)")
    parser.add_argument("--budget", type=float, default=float(os.environ.get("E2E_BUDGET_S", 600)),
                        help="seconds after which no further scenario starts (default 600)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if args.list:
        for name, _, _ in SCENARIOS:
            print(name)
        return 0

    codex = find_codex()
    if not codex:
        print("SKIPPED: no codex binary (set CODEX_COMPANION_E2E_CODEX or put codex on PATH)")
        return 0
    companion = None
    if not args.env_only:
        companion = find_companion()
        if not companion:
            print("error: no codex-companion binary: run `swift build -c release` "
                  "(or set CODEX_COMPANION_BIN)")
            return 1
    if not sys.platform.startswith("linux"):
        print("note: process leak checks read /proc and need Linux")

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        version = subprocess.run([codex, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                                 text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"error: `{codex} --version` failed: {exc}")
        return 1
    print(f"codex:     {codex} ({version or 'unknown version'})")
    if EXPECTED_CODEX_VERSION not in version:
        print(f"note: this suite was written against codex-cli {EXPECTED_CODEX_VERSION}")
    print(f"companion: {companion or '(not needed with --env-only)'}")

    selected = [s for s in SCENARIOS
                if (not args.pattern or args.pattern in s[0]) and (companion or not s[2])]
    suite = Suite(codex, companion, args.keep, args.verbose)
    passed = failed = skipped = 0
    try:
        suite.start_mock()
        print(f"mock:      http://127.0.0.1:{suite.port}/v1 (pid {suite.mock_proc.pid}); work dir {suite.root}")
        budget_end = time.monotonic() + args.budget
        for name, func, _ in selected:
            if time.monotonic() > budget_end:
                failed += 1
                print(f"FAIL {name}: not run, the suite's time budget ({args.budget:.0f}s) is used up")
                continue
            sc = Scenario(suite, name)
            start = time.monotonic()
            try:
                func(sc)
            except Skip as exc:
                skipped += 1
                print(f"SKIP {name}: {exc}")
                continue
            except Fail as exc:
                failed += 1
                print(f"FAIL {name} ({time.monotonic() - start:.1f}s): {exc}")
                print_context(sc, str(exc))
            except Exception:  # a bug here, or an unexpected payload shape
                failed += 1
                print(f"FAIL {name} ({time.monotonic() - start:.1f}s): unexpected error")
                print("    " + traceback.format_exc().rstrip().replace("\n", "\n    "))
                print_context(sc, "")
            else:
                passed += 1
                extra = f" [{'; '.join(sc.notes)}]" if sc.notes else ""
                print(f"PASS {name} ({time.monotonic() - start:.1f}s){extra}")
                continue
            for text in sc.notes:
                print(f"    note: {text}")
            sys.stdout.flush()
    finally:
        suite.cleanup()
    if failed and not args.keep:
        print("(set E2E_KEEP=1 or pass --keep to keep the work directory for inspection)")
    summary = f"{passed} passed, {failed} failed"
    if skipped:
        summary += f", {skipped} skipped"
    print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
