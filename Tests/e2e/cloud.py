#!/usr/bin/env python3
"""End-to-end suite for Codex Cloud jobs: the built `codex-companion` drives the real
`codex cloud` (codex-cli 0.147.0) against Tests/cloud-e2e/mock_cloud.py on 127.0.0.1,
with a fake ChatGPT login from Tests/cloud-e2e/make_auth.py.

    python3 Tests/e2e/cloud.py [-k NAME] [-v] [--keep]

Environment: CODEX_COMPANION_E2E_CODEX (else .ci-work/venv/bin/codex; none: SKIPPED, exit 0),
CODEX_COMPANION_BIN (else .build/release, then .build/debug). Standard library only.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KIT = os.path.join(ROOT, "Tests", "cloud-e2e")


class Fail(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise Fail(message)


def git_blob(text):
    return subprocess.run(["git", "hash-object", "--stdin"], input=text.encode(), capture_output=True,
                          check=True).stdout.decode().strip()


def new_file_diff(name, text):
    lines = text.splitlines()
    return [f"diff --git a/{name} b/{name}", "new file mode 100644", f"index 0000000..{git_blob(text)[:7]}",
            "--- /dev/null", f"+++ b/{name}", f"@@ -0,0 +1,{len(lines)} @@" if len(lines) != 1 else "@@ -0,0 +1 @@"
            ] + ["+" + line for line in lines]


def edit_diff(name, before, after_line):
    after = before + after_line + "\n"
    return [f"diff --git a/{name} b/{name}", f"index {git_blob(before)[:7]}..{git_blob(after)[:7]} 100644",
            f"--- a/{name}", f"+++ b/{name}", "@@ -1 +1,2 @@", " " + before.rstrip("\n"), "+" + after_line]


def script():
    return {
        "environments": [{"id": "env_mock", "label": "mock-env", "is_pinned": True}],
        "tasks": [
            {"match": "add hello", "polls": 1, "title": "Add hello", "summary": "Added hello.txt.",
             "diff": new_file_diff("hello.txt", "hello\n")},
            {"match": "extend a", "polls": 0, "title": "Extend a", "diff": edit_diff("a.txt", "one\n", "two")},
            {"match": "stale diff", "polls": 0, "title": "Stale",
             "diff": edit_diff("a.txt", "something else\n", "two")},
            {"match": "two ways", "polls": 0, "title": "Two ways",
             "attempts": [{"diff": new_file_diff("hello.txt", "hello\n")}, {"diff": new_file_diff("bye.txt", "bye\n")}]},
            {"match": "pick one", "polls": 0, "title": "Pick one",
             "attempts": [{"diff": edit_diff("a.txt", "one\n", "two")}, {"diff": new_file_diff("bye.txt", "bye\n")}]},
            {"match": "explode", "polls": 0, "status": "failed",
             "error": {"code": "ENV_SETUP_FAILED", "message": "setup failed"}},
            {"match": "forever", "polls": 100000, "title": "Slow"},
        ],
    }


class Suite:
    def __init__(self, args):
        self.args = args
        self.codex = os.environ.get("CODEX_COMPANION_E2E_CODEX") or os.path.join(ROOT, ".ci-work/venv/bin/codex")
        self.bin = os.environ.get("CODEX_COMPANION_BIN") or next(
            (p for p in (os.path.join(ROOT, ".build/release/codex-companion"),
                         os.path.join(ROOT, ".build/debug/codex-companion")) if os.access(p, os.X_OK)), None)
        self.work = tempfile.mkdtemp(prefix="cloud-e2e-")
        self.mock = None

    def start_mock(self):
        os.makedirs(os.path.join(self.work, "tmp"))
        with open(os.path.join(self.work, "script.json"), "w") as f:
            json.dump(script(), f)
        port_file = os.path.join(self.work, "port")
        self.log = os.path.join(self.work, "requests.jsonl")
        self.mock = subprocess.Popen(
            [sys.executable, "-B", os.path.join(KIT, "mock_cloud.py"), "--port", "0", "--port-file", port_file,
             "--script", os.path.join(self.work, "script.json"), "--log", self.log, "--max-lifetime", "900",
             "--parent-pid", str(os.getpid())], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(port_file):
                self.port = int(open(port_file).read())
                return
            time.sleep(0.05)
        raise Fail("mock_cloud.py did not start")

    def stop(self):
        if self.mock is not None:
            self.mock.terminate()  # the mock we started, by its PID
            self.mock.wait(10)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    def requests(self):
        if not os.path.exists(self.log):
            return []
        return [json.loads(line) for line in open(self.log) if line.strip()]


class Scenario:
    def __init__(self, suite, name, login=()):
        self.suite = suite
        self.dir = os.path.join(suite.work, name)
        os.makedirs(self.dir)
        self.home = os.path.join(self.dir, "codex-home")
        subprocess.run([sys.executable, "-B", os.path.join(KIT, "make_auth.py"), self.home, *login], check=True)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_COMPANION_SESSION_ID")}
        self.env.update({
            "CODEX_HOME": self.home, "TMPDIR": os.path.join(suite.work, "tmp"), "HOME": self.dir,
            "CODEX_CLOUD_TASKS_BASE_URL": f"http://127.0.0.1:{suite.port}/backend-api",
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE": f"http://127.0.0.1:{suite.port}/oauth/token",
            "CODEX_COMPANION_CODEX": suite.codex, "CODEX_COMPANION_STATE_DIR": os.path.join(self.dir, "state"),
            "CODEX_COMPANION_CLOUD_POLL_SECONDS": "0.2", "RUST_BACKTRACE": "1", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@e.invalid", "GIT_COMMITTER_NAME": "T",
            "GIT_COMMITTER_EMAIL": "t@e.invalid"})
        self.remote = os.path.join(self.dir, "remote.git")
        self.repo = os.path.join(self.dir, "repo")
        self.git("init", "-q", "--bare", "-b", "main", self.remote, cwd=self.dir)
        self.git("init", "-q", "-b", "main", self.repo, cwd=self.dir)
        self.write("a.txt", "one\n")
        self.git("add", "-A")
        self.git("commit", "-qm", "one")
        self.git("remote", "add", "origin", self.remote)
        self.git("push", "-q", "-u", "origin", "main")

    def git(self, *args, cwd=None):
        out = subprocess.run(["git", *args], cwd=cwd or self.repo, env=self.env, capture_output=True, text=True)
        check(out.returncode == 0, f"git {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def write(self, name, text):
        with open(os.path.join(self.repo, name), "w") as f:
            f.write(text)

    def run(self, *args, expect=0):
        out = subprocess.run([self.suite.bin, *args], cwd=self.repo, env=self.env, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=120)
        if self.suite.args.verbose:
            print(f"$ codex-companion {' '.join(args)}  → {out.returncode}\n{out.stdout}{out.stderr}")
        check(expect is None or out.returncode == expect,
              f"{' '.join(args)}: exit {out.returncode}, expected {expect}\n{out.stdout}\n{out.stderr}")
        return out

    def json(self, *args, expect=0):
        out = self.run(*args, "--json", expect=expect)
        try:
            return json.loads(out.stdout), out.stderr
        except ValueError:
            raise Fail(f"{' '.join(args)}: stdout is not JSON: {out.stdout!r}")

    def submit(self, prompt, *extra):
        payload, stderr = self.json("task", "--cloud", "--env", "mock-env", "--background", *extra, prompt)
        return payload, stderr

    def wait(self, job, expect=0):
        payload, _ = self.json("status", job, "--wait", "--timeout-ms", "30000", expect=expect)
        return payload["job"]

    def finished(self, prompt, *extra):
        """Submit PROMPT (with EXTRA options) and wait until the job ends: its id."""
        launched, _ = self.submit(prompt, *extra)
        self.wait(launched["jobId"])
        return launched["jobId"]

    def decide(self, job, action, *extra, expect=0):
        """`worktree-cleanup JOB --action ACTION EXTRA... --json`: its payload."""
        return self.json("worktree-cleanup", job, "--action", action, *extra, expect=expect)[0]

    def snapshot(self):
        """Every file of the working tree (and the index) by content, for byte-identity checks."""
        state = {}
        for base, dirs, files in os.walk(self.repo):
            if ".git" in dirs and base == self.repo:
                dirs.remove(".git")
            for name in files:
                path = os.path.join(base, name)
                state[os.path.relpath(path, self.repo)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
        index = os.path.join(self.repo, ".git", "index")
        state[".git/index"] = hashlib.sha256(open(index, "rb").read()).hexdigest()
        state["status"] = self.git("status", "--porcelain=v1", "--untracked-files=all")
        return state


SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


@scenario
def setup_reports_cloud_ready(suite):
    sc = Scenario(suite, "setup-ready")
    payload, _ = sc.json("setup", expect=None)
    cloud = payload["cloud"]
    check(cloud["ready"] is True and cloud["signedInWithChatGPT"] is True, f"cloud not ready: {cloud}")
    check(cloud["environmentsVisible"] is True, f"environments not seen: {cloud}")


@scenario
def setup_with_api_key_login(suite):
    sc = Scenario(suite, "setup-apikey", login=("--api-key", "sk-test"))
    cloud = sc.json("setup", expect=None)[0]["cloud"]
    check(cloud["ready"] is False and cloud["signedInWithChatGPT"] is False, f"{cloud}")
    check(any("codex login" in step for step in cloud["nextSteps"]), f"no way out: {cloud}")
    job, _ = sc.json("task", "--cloud", "--env", "mock-env", "add hello", expect=1)
    check(job["error"]["code"] == "chatgpt-login-required", f"{job}")


@scenario
def submit_poll_result_keep(suite):
    sc = Scenario(suite, "keep")
    sc.write("local.txt", "not pushed\n")
    launched, stderr = sc.submit("add hello")
    check(launched["backend"] == "cloud" and launched["cloud"]["taskId"].startswith("task_e_"), f"{launched}")
    check([w["code"] for w in launched["branchWarnings"]] == ["uncommitted-changes"], f"{launched}")
    check("will not be sent" in stderr, f"the warning is not on stderr: {stderr!r}")
    job = sc.wait(launched["jobId"])
    check(job["status"] == "completed" and job["phase"] == "done", f"{job}")
    check(job["worktree"]["state"] == "ready", f"{job['worktree']}")
    result, _ = sc.json("result", launched["jobId"])
    cloud = result["job"]["cloud"]
    check(cloud["remoteTitle"] == "Add hello" and cloud["filesChanged"] == 1 and cloud["linesAdded"] == 1, f"{cloud}")
    check([a["attempt"] for a in cloud["attemptDiffs"]] == [1], f"{cloud}")
    text = sc.run("result", launched["jobId"]).stdout
    check("attempt 1: 1 file(s), +1/-0" in text and "Add hello" in text, text)
    kept = sc.decide(launched["jobId"], "keep")
    check(kept["worktreeState"] == "kept", f"{kept}")
    check(open(os.path.join(sc.repo, "hello.txt")).read() == "hello\n", "hello.txt not applied")
    check("A  hello.txt" in sc.git("status", "--porcelain"), "hello.txt not staged")
    check(not os.path.exists(os.path.join(sc.repo, "error.log")), "codex cloud wrote error.log into the repository")
    check(sc.git("branch", "--list", "codex/*").strip() == "", "the job branch was left behind")
    create = [r for r in suite.requests() if r["method"] == "POST" and r["path"].endswith("/tasks")]
    check(create and create[-1]["body"]["new_task"]["branch"] == "main", "branch not sent explicitly")
    agents = [r["headers"].get("user-agent", "") for r in suite.requests()]
    check(not any("codex_cloud_tasks_apply" in a for a in agents), "codex cloud apply was called")


@scenario
def keep_conflict_leaves_tree_identical_then_branch(suite):
    sc = Scenario(suite, "conflict")
    job = sc.finished("extend a")
    sc.write("a.txt", "one\nmine\n")  # an uncommitted edit of the file the diff changes
    before = sc.snapshot()
    refused = sc.decide(job, "keep", expect=1)
    check(refused["error"]["code"] == "conflict" and refused["worktreeState"] == "conflict", f"{refused}")
    check("a.txt" in refused["conflictPaths"], f"{refused}")
    check(sc.snapshot() == before, "a refused keep changed the working tree or the index")
    branched = sc.decide(job, "branch")
    check(branched["worktreeState"] == "branched", f"{branched}")
    branch = "codex/" + job
    check(sc.git("show", f"{branch}:a.txt") == "one\ntwo\n", "the branch does not hold the cloud diff")
    check(sc.git("rev-parse", f"{branch}^").strip() == sc.git("rev-parse", "origin/main").strip(),
          "the branch does not start at the pushed base")
    check(sc.snapshot() == before, "branch changed the working tree")


@scenario
def stale_diff_is_refused_with_nothing_touched(suite):
    sc = Scenario(suite, "stale")
    job = sc.finished("stale diff")
    before = sc.snapshot()
    refused = sc.decide(job, "keep", expect=1)
    check(refused["error"]["code"] == "conflict", f"{refused}")
    check(sc.snapshot() == before, "a stale diff changed the tree")
    check(sc.git("branch", "--list", "codex/*").strip() == "", "a branch was made for a diff that does not apply")
    status, _ = sc.json("status", job)
    check(status["job"]["worktree"]["state"] == "conflict", "the job record lost its undecided work")


@scenario
def discard(suite):
    sc = Scenario(suite, "discard")
    job = sc.finished("add hello")
    before = sc.snapshot()
    dropped = sc.decide(job, "discard")
    check(dropped["worktreeState"] == "discarded", f"{dropped}")
    check(sc.snapshot() == before, "discard changed the tree")
    again = sc.decide(job, "discard")
    check(again["worktreeState"] == "discarded", "a repeat is not idempotent")


@scenario
def attempts_keep_the_second(suite):
    sc = Scenario(suite, "attempts")
    job = sc.finished("two ways", "--attempts", "2")
    result, _ = sc.json("result", job)
    check([a["attempt"] for a in result["job"]["cloud"]["attemptDiffs"]] == [1, 2], f"{result['job']['cloud']}")
    state = json.load(__import__("urllib.request").request.urlopen(f"http://127.0.0.1:{suite.port}/_mock/state"))
    check(any(t["best_of_n"] == 2 for t in state["tasks"]), "best_of_n was not sent")
    sc.decide(job, "keep", "--attempt", "2")
    check(os.path.exists(os.path.join(sc.repo, "bye.txt")), "attempt 2 not applied")
    check(not os.path.exists(os.path.join(sc.repo, "hello.txt")), "attempt 1 applied too")
    bad, _ = sc.json("task", "--cloud", "--env", "mock-env", "--attempts", "5", "x", expect=64)
    check(bad["error"]["code"] == "usage", f"{bad}")


@scenario
def compare_attempts_then_keep_the_second(suite):
    sc = Scenario(suite, "compare")
    launched, _ = sc.submit("pick one", "--attempts", "2")
    job = launched["jobId"]
    pending, _ = sc.json("compare", job)
    check(pending["backend"] == "cloud" and pending["jobId"] == job, f"{pending}")
    sc.wait(job)
    sc.write("a.txt", "one\nmine\n")  # the user's edit of the file attempt 1 changes
    before = sc.snapshot()
    compared, _ = sc.json("compare", job)
    rows = compared["attempts"]
    check([r["attempt"] for r in rows] == [1, 2], f"{compared}")
    check(rows[0]["keepPreview"]["clean"] is False and "a.txt" in rows[0]["keepPreview"]["conflicts"], f"{rows[0]}")
    check(rows[1]["keepPreview"]["clean"] is True and rows[1]["keepPreview"]["files"] == ["bye.txt"], f"{rows[1]}")
    check(rows[1]["filesChanged"] == 1 and rows[1]["linesAdded"] == 1, f"{rows[1]}")
    check(sc.snapshot() == before, "compare changed the working tree or the index")
    text = sc.run("compare", job).stdout
    check("keep would conflict in a.txt" in text and "keep would apply cleanly: 1 file" in text, text)
    check(f"worktree-cleanup {job} --action keep --attempt <n>" in text, text)
    refused = sc.run("compare", job, "--check", "true", expect=2)
    check("--check" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr)
    refused_json, _ = sc.json("compare", job, "--check", "true", expect=2)
    check(refused_json["error"]["code"] == "unsupported-for-cloud", f"{refused_json}")
    sc.decide(job, "keep", "--attempt", "2")
    check(open(os.path.join(sc.repo, "bye.txt")).read() == "bye\n", "attempt 2 not applied")
    check(open(os.path.join(sc.repo, "a.txt")).read() == "one\nmine\n", "the user's edit was lost")
    after, _ = sc.json("compare", job)
    check(after["chosenAttempt"] == 2 and after["attempts"][1]["kept"] is True, f"{after}")


@scenario
def unknown_environment(suite):
    sc = Scenario(suite, "unknown-env")
    failed, _ = sc.json("task", "--cloud", "--env", "nope", "--background", "add hello", expect=1)
    check(failed["error"]["code"] == "cloud-environment-unknown", f"{failed}")
    listing, _ = sc.json("status", "--all")
    job = listing["latestFinished"]
    check(job and job["reason"] == "submit-failed" and job["backend"] == "cloud", f"the job record was lost: {listing}")
    usage, _ = sc.json("task", "--cloud", "add hello", expect=64)
    check("--env" in usage["error"]["message"], f"{usage}")


@scenario
def task_that_ends_in_error(suite):
    sc = Scenario(suite, "error")
    launched, _ = sc.submit("explode")
    job = sc.wait(launched["jobId"])
    check(job["status"] == "failed" and job["reason"] == "cloud-task-failed", f"{job}")
    sc.json("result", launched["jobId"], expect=1)


@scenario
def service_unreachable(suite):
    sc = Scenario(suite, "unreachable")
    launched, _ = sc.submit("add hello")
    sc.env["CODEX_CLOUD_TASKS_BASE_URL"] = "http://127.0.0.1:1/backend-api"
    status, stderr = sc.json("status", launched["jobId"])
    check(status["job"]["status"] == "running", "an unreachable service changed the job")
    check(status["job"]["cloud"]["lastPollError"], f"no poll error recorded: {status['job']['cloud']}")
    check("could not poll" in stderr, f"no warning: {stderr!r}")
    failed, _ = sc.json("task", "--cloud", "--env", "mock-env", "--background", "add hello", expect=1)
    check(failed["error"]["code"] == "cloud-unreachable", f"{failed}")


@scenario
def branch_ahead_and_without_upstream(suite):
    sc = Scenario(suite, "branches")
    sc.write("b.txt", "b\n")
    sc.git("add", "-A")
    sc.git("commit", "-qm", "local only")
    launched, stderr = sc.submit("add hello")
    check([w["code"] for w in launched["branchWarnings"]] == ["ahead-of-upstream"], f"{launched}")
    check("1 commit ahead of origin/main" in stderr, stderr)
    sc.git("switch", "-q", "-c", "topic")
    launched, _ = sc.submit("add hello")
    check([w["code"] for w in launched["branchWarnings"]] == ["no-upstream"], f"{launched}")
    check(launched["cloud"]["branch"] == "topic", f"{launched}")
    launched, _ = sc.submit("add hello", "--branch", "main")
    check(launched["cloud"]["branch"] == "main", f"{launched}")


@scenario
def cancel_stops_tracking(suite):
    sc = Scenario(suite, "cancel")
    launched, _ = sc.submit("forever")
    cancelled, _ = sc.json("cancel", launched["jobId"])
    check(cancelled["status"] == "cancelled", f"{cancelled}")
    check("keeps running on Codex Cloud" in cancelled["note"], f"{cancelled}")
    status, _ = sc.json("status", launched["jobId"])
    check(status["job"]["status"] == "cancelled", "a poll revived a cancelled job")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", default="")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    suite = Suite(args)
    if not os.access(suite.codex, os.X_OK):
        print(f"cloud e2e: SKIPPED: no codex binary at {suite.codex} (set CODEX_COMPANION_E2E_CODEX)")
        return 0
    if suite.bin is None:
        print("cloud e2e: FAILED: no codex-companion binary (swift build first)")
        return 1
    passed = failed = 0
    started = time.time()
    try:
        suite.start_mock()
        for fn in SCENARIOS:
            if args.k not in fn.__name__:
                continue
            t0 = time.time()
            try:
                fn(suite)
                passed += 1
                print(f"ok      {fn.__name__} ({time.time() - t0:.1f}s)")
            except Exception as e:  # one scenario's failure must not hide the others
                failed += 1
                print(f"FAILED  {fn.__name__}: {e}")
                if not isinstance(e, Fail):
                    traceback.print_exc()
    finally:
        suite.stop()
    print(f"{passed} passed, {failed} failed in {time.time() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
