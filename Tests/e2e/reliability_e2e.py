#!/usr/bin/env python3
"""Reliability scenarios against the real Codex CLI (docs/RELIABILITY.md).

The same world as run.py (whose Suite and Scenario it reuses): the built
`codex-companion`, the real `codex app-server` with bubblewrap, and the scripted
mock model, here with a script of its own (written into the work directory).

    python3 Tests/e2e/reliability_e2e.py            # all scenarios
    python3 Tests/e2e/reliability_e2e.py -k eight   # those whose name contains "eight"
    python3 Tests/e2e/reliability_e2e.py --list

Environment: as run.py (CODEX_COMPANION_E2E_CODEX, CODEX_COMPANION_BIN, E2E_KEEP).
Without a codex binary it prints one SKIPPED line and exits 0. Exit 1 if any failed.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as e2e  # noqa: E402  (the shared harness beside this file)

from run import Fail, Skip, check, field, _short  # noqa: E402

PARALLEL_JOBS = 8
PARALLEL_TOKEN = "e2e-rel-parallel"
PARALLEL_MESSAGE = "parallel job done"
# Codex would retry model requests for about half a minute; a login check fails well before.
NOT_LOGGED_IN_BOUND_S = 15.0

RULES = {
    "_comment": "Scripted model for Tests/e2e/reliability_e2e.py (format: see mock_responses.py).",
    "rules": [
        {"name": "parallel", "match": PARALLEL_TOKEN, "steps": [{"message": PARALLEL_MESSAGE}]},
    ],
    "fallback_message": "ok",
}

SCENARIOS = []


def scenario(name):
    def register(func):
        SCENARIOS.append((name, func))
        return func
    return register


@scenario("eight-background-tasks-fresh-codex-home")
def s_eight_at_once(sc):
    """Eight `task --background` started at the same moment on a CODEX_HOME nobody used yet:
    every one completes (app-servers of one CODEX_HOME start one at a time)."""
    sc.make_repo()
    check(not os.path.exists(os.path.join(sc.codex_home, "sessions")), "CODEX_HOME is not fresh")
    env = sc.env()
    procs = []
    for index in range(PARALLEL_JOBS):
        argv = [sc.suite.companion, "task", "--background", "--json", f"{PARALLEL_TOKEN} job {index}"]
        procs.append(subprocess.Popen(argv, cwd=sc.repo, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    ids = []
    for index, proc in enumerate(procs):
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise Fail(f"launch {index} did not return within 60 s")
        check(proc.returncode == 0, f"launch {index} exited {proc.returncode}: {_short(out + err)}")
        payload = json.loads(out)
        ids.append(field(payload, "launch.jobId"))
    check(len(set(ids)) == PARALLEL_JOBS, f"job ids are not distinct: {ids}")
    ended = {}
    for job_id in ids:
        job, _ = sc.wait_job(job_id, timeout_ms=180000)
        ended[job_id] = job
    bad = {i: (field(j, "job.status"), field(j, "job.errorMessage", None)) for i, j in ended.items()
           if field(j, "job.status") != "completed"}
    check(not bad, f"{len(bad)} of {PARALLEL_JOBS} jobs did not complete: {_short(json.dumps(bad), 2000)}")
    for job_id, job in ended.items():
        check(job.get("finalMessage") == PARALLEL_MESSAGE, f"{job_id}: finalMessage {job.get('finalMessage')!r}")
    threads = [field(j, "job.threadId") for j in ended.values()]
    check(len(set(threads)) == PARALLEL_JOBS, f"threads are not distinct: {threads}")


@scenario("not-logged-in-fails-fast")
def s_not_logged_in(sc):
    """No auth.json and the default provider (which needs OpenAI auth): the job fails at
    once, before any thread is started, and says to run `codex login`."""
    home = os.path.join(sc.root, "codex-home-noauth")
    sc.suite.write_codex_home(home, mock_provider=False, auth=False)
    sc.make_repo()
    env = sc.env(CODEX_HOME=home, CODEX_MOCK_API_KEY=None, OPENAI_API_KEY=None)
    start = time.monotonic()
    res, payload = sc.cc_json("task", "--json", "e2e-rel-nologin say hi", env=env, expect_rc=None, timeout=120)
    elapsed = time.monotonic() - start
    check(res.rc == 1, f"task exited {res.rc}, expected 1:\n{res}")
    check(payload.get("status") == "failed", f"status is not failed: {_short(res.out)}")
    message = payload.get("errorMessage") or ""
    check("codex login" in message, f"errorMessage does not say `codex login`: {message!r}")
    check(elapsed < NOT_LOGGED_IN_BOUND_S,
          f"took {elapsed:.1f}s (bound {NOT_LOGGED_IN_BOUND_S:.0f}s): Codex's retry loop ran instead of the login check")
    sc.note(f"failed after {elapsed:.1f}s")
    check(not any("e2e-rel-nologin" in json.dumps(e) for e in sc.suite.mock_requests()),
          "the model was asked although nobody is logged in")


def run_one(sc, func):
    """PASS/FAIL/SKIP for one scenario; returns that word."""
    start = time.monotonic()
    try:
        func(sc)
    except Skip as exc:
        print(f"SKIP {sc.name}: {exc}")
        return "skip"
    except Fail as exc:
        print(f"FAIL {sc.name} ({time.monotonic() - start:.1f}s): {exc}")
        e2e.print_context(sc, str(exc))
        return "fail"
    except Exception:
        print(f"FAIL {sc.name} ({time.monotonic() - start:.1f}s): unexpected error")
        print("    " + traceback.format_exc().rstrip().replace("\n", "\n    "))
        e2e.print_context(sc, "")
        return "fail"
    extra = f" [{'; '.join(sc.notes)}]" if sc.notes else ""
    print(f"PASS {sc.name} ({time.monotonic() - start:.1f}s){extra}")
    return "pass"


def main():
    parser = argparse.ArgumentParser(description="codex-companion reliability e2e (real Codex CLI, mock model)")
    parser.add_argument("-k", dest="pattern", help="run only scenarios whose name contains this")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--keep", action="store_true", default=bool(os.environ.get("E2E_KEEP")))
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if args.list:
        for name, _ in SCENARIOS:
            print(name)
        return 0
    codex = e2e.find_codex()
    if not codex:
        print("SKIPPED: no codex binary (set CODEX_COMPANION_E2E_CODEX or put codex on PATH)")
        return 0
    companion = e2e.find_companion()
    if not companion:
        print("error: no codex-companion binary: run `swift build -c release` (or set CODEX_COMPANION_BIN)")
        return 1
    suite = e2e.Suite(codex, companion, args.keep, args.verbose)
    script = os.path.join(suite.root, "reliability-script.json")
    with open(script, "w", encoding="utf-8") as handle:
        json.dump(RULES, handle)
    e2e.SCRIPT = script  # start_mock reads it
    counts = {"pass": 0, "fail": 0, "skip": 0}
    try:
        suite.start_mock()
        print(f"codex: {codex}; companion: {companion}; work dir {suite.root}")
        for name, func in SCENARIOS:
            if args.pattern and args.pattern not in name:
                continue
            counts[run_one(e2e.Scenario(suite, name), func)] += 1
    finally:
        suite.cleanup()
    summary = f"{counts['pass']} passed, {counts['fail']} failed"
    if counts["skip"]:
        summary += f", {counts['skip']} skipped"
    print(summary)
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
