#!/usr/bin/env python3
"""Scriptable mock of the Codex Cloud backend (adapted for codex-companion's tests from the
project's cloud kit: --parent-pid) that `codex cloud exec|status|list|diff|apply`
talk to (codex-cli 0.147). Standard library only; listens on 127.0.0.1 only.

    python3 mock_cloud.py --port 0 --port-file port --script script.json --log requests.jsonl

Point the real CLI at it with
    CODEX_CLOUD_TASKS_BASE_URL=http://127.0.0.1:PORT/backend-api     (paths /backend-api/wham/...)
    CODEX_REFRESH_TOKEN_URL_OVERRIDE=http://127.0.0.1:PORT/oauth/token
and a CODEX_HOME holding a fake ChatGPT login (make_auth.py). A base URL without
/backend-api makes the CLI use /api/codex/... paths; both styles are served.

Endpoints (P = /backend-api/wham or /api/codex):
    GET  P/environments                              script "environments"
    GET  P/environments/by-repo/<prov>/<owner>/<repo> script "by_repo"["owner/repo"] or []
    POST P/tasks                                     create; {"task":{"id":...}}; unknown environment -> 404
    GET  P/tasks/list?limit&cursor&environment_id    {"items":[...],"cursor":...}, newest first
    GET  P/tasks/<id>                                details; unknown id -> 404
    GET  P/tasks/<id>/turns/<turn>/sibling_turns     the other attempts (best-of-N)
    POST /oauth/token                                token refresh (always succeeds)
    GET  /_mock/state                                the mock's tasks, for tests (not a real endpoint)
Requests without "Authorization: Bearer ..." get 401.

Script (JSON, re-read when the file changes; a task keeps the rule it was created with):
    {
      "environments": [{"id": "env_mock", "label": "mock-env", "is_pinned": true}],   # this is the default
      "by_repo": {"acme/demo": [{"id": "env_repo", "label": "demo"}]},
      "tasks": [
        {"match": "add hello",          # case-insensitive substring of the prompt ("regex" also works;
                                        # neither = matches every prompt); first matching rule wins
         "polls": 2,                    # status reads (details GET or list entry) answered "in progress"
                                        # before the final state; default 1, 0 = done at once
         "seconds": 0,                  # and at least this long after creation; default 0
         "status": "completed",         # final turn status: completed | failed | cancelled
         "title": "Add hello",          # default: the first 60 characters of the prompt
         "summary": "Added hello.txt",  # the assistant's message
         "error": {"code": "E", "message": "why"},   # for failed tasks
         "attempts": [                  # one per best-of-N attempt: attempt k uses entry k
           {"diff": "diff --git ...", "summary": "..."},  # (the last entry repeats if too few);
           {"diff": ["diff --git a/x b/x", "..."]},        # a diff may be a list of lines
           {"diff": "", "status": "failed"}               # one attempt may fail on its own
         ]},                            # "diff": ... alone = one attempt
        ...
      ],
      "faults": [                       # optional, tried before anything else
        {"method": "POST", "path": "/tasks$",        # regex searched in the path
         "status": 503, "body": {"detail": "down"},  # answer with this instead
         "delay_s": 0, "times": 1}                   # sleep first; apply this many times (omit = always)
      ]
    }
A prompt that matches no rule makes a task that fails with code MOCK_NO_RULE.

Every request is appended to --log as one JSON line: ts, method, path, query, selected headers
(authorization truncated), body (parsed JSON when possible), status, and a summary.
"""
import argparse
import base64
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
TASKS = {}      # id -> task dict, insertion order = creation order
ARGS = None
SCRIPT = {"data": {}, "mtime": None}
FAULT_USES = {}  # fault index -> times applied
DEFAULT_ENVS = [{"id": "env_mock", "label": "mock-env", "is_pinned": True, "task_count": 0}]


def load_script():
    """The script, re-read when its mtime changes. Caller holds LOCK."""
    if not ARGS.script:
        return {}
    try:
        mtime = os.stat(ARGS.script).st_mtime_ns
    except OSError:
        return SCRIPT["data"]
    if mtime != SCRIPT["mtime"]:
        try:
            with open(ARGS.script) as f:
                SCRIPT["data"] = json.load(f)
            SCRIPT["mtime"] = mtime
            FAULT_USES.clear()
        except (OSError, ValueError) as e:
            print(f"mock_cloud: cannot read script {ARGS.script}: {e}", file=sys.stderr)
    return SCRIPT["data"]


def environments():
    envs = load_script().get("environments")
    return envs if isinstance(envs, list) else DEFAULT_ENVS


def env_label(env_id):
    for e in environments():
        if e.get("id") == env_id:
            return e.get("label")
    for envs in (load_script().get("by_repo") or {}).values():
        for e in envs:
            if e.get("id") == env_id:
                return e.get("label")
    return None


def known_env(env_id):
    ids = {e.get("id") for e in environments()}
    for envs in (load_script().get("by_repo") or {}).values():
        ids |= {e.get("id") for e in envs}
    return env_id in ids


def pick_rule(prompt):
    for rule in load_script().get("tasks") or []:
        if "match" in rule and rule["match"].lower() not in prompt.lower():
            continue
        if "regex" in rule and not re.search(rule["regex"], prompt):
            continue
        return rule
    return {"match": None, "polls": 1, "status": "failed",
            "error": {"code": "MOCK_NO_RULE", "message": "mock_cloud: no script rule matches this prompt"}}


def diff_text(d):
    if isinstance(d, list):
        return "\n".join(d) + "\n"
    return d or ""


def diff_stats(diff):
    files = added = removed = 0
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            files += 1
        elif line.startswith(("+++", "---", "@@")):
            continue
        elif line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    if files == 0 and diff.strip():
        files = 1
    return {"files_modified": files, "lines_added": added, "lines_removed": removed}


def new_task(body):
    nt = body.get("new_task") or {}
    prompt = ""
    for item in body.get("input_items") or []:
        if item.get("type") == "message":
            prompt += "".join(c.get("text", "") for c in item.get("content") or [])
    rule = pick_rule(prompt)
    n = int(((body.get("metadata") or {}).get("best_of_n")) or 1)
    tid = "task_e_" + secrets.token_hex(16)
    now = time.time()
    scripted = rule.get("attempts") or ([{"diff": rule["diff"]}] if "diff" in rule else [{}])
    attempts = []
    for k in range(max(n, 1)):
        a = scripted[min(k, len(scripted) - 1)]
        attempts.append({"turn_id": f"turn_{tid[7:19]}_{k + 1}", "placement": k,
                         "diff": diff_text(a.get("diff")),
                         "summary": a.get("summary", rule.get("summary", "Done.")),
                         "status": a.get("status", rule.get("status", "completed"))})
    task = {"id": tid, "prompt": prompt, "rule": rule.get("match") or rule.get("regex"),
            "title": rule.get("title") or (prompt.strip().splitlines()[0][:60] if prompt.strip() else "<untitled>"),
            "env": nt.get("environment_id"), "branch": nt.get("branch"),
            "qa_mode": nt.get("run_environment_in_qa_mode"), "best_of_n": n,
            "starting_diff": any(i.get("type") == "pre_apply_patch" for i in body.get("input_items") or []),
            "created_at": now, "reads": 0, "polls": int(rule.get("polls", 1)),
            "seconds": float(rule.get("seconds", 0)), "final": rule.get("status", "completed"),
            "error": rule.get("error") or {"code": "MOCK_FAILED", "message": "mock_cloud: the task failed"},
            "attempts": attempts, "user_turn": f"turn_{tid[7:19]}_user"}
    TASKS[tid] = task
    return task


def observe(task):
    """One status read of the task: returns its turn status now."""
    done = task["reads"] >= task["polls"] and time.time() - task["created_at"] >= task["seconds"]
    task["reads"] += 1
    if done:
        task.setdefault("finished_at", time.time())
        return task["final"]
    return "in_progress"


def turn_json(task, att, status, sibling_ids):
    done = status not in ("in_progress", "pending")
    items = []
    if done and status == "completed":
        items.append({"type": "message", "content": [{"content_type": "text", "text": att["summary"]}]})
        if att["diff"]:
            items.append({"type": "output_diff", "diff": att["diff"]})
    turn = {"id": att["turn_id"], "role": "assistant", "turn_status": status,
            "attempt_placement": att["placement"], "sibling_turn_ids": sibling_ids,
            "created_at": task["created_at"], "output_items": items}
    if done and status != "completed":
        turn["error"] = task["error"]
    return turn


def display(task, status):
    att = task["attempts"][0]
    stats = diff_stats(att["diff"]) if status == "completed" else {}
    return {"environment_label": env_label(task["env"]),
            "latest_turn_status_display": {
                "turn_id": att["turn_id"], "turn_status": status, "diff_stats": stats,
                "sibling_turn_ids": [a["turn_id"] for a in task["attempts"][1:]],
                "created_at": task["created_at"],
                "updated_at": task.get("finished_at", task["created_at"])}}


def details(task):
    status = observe(task)
    att = task["attempts"][0]
    siblings = [a["turn_id"] for a in task["attempts"][1:]]
    attempt_status = status if status != "completed" else att["status"]
    body = {
        "task": {"id": task["id"], "title": task["title"], "archived": False,
                 "external_pull_requests": [], "environment_id": task["env"],
                 "created_at": task["created_at"],
                 "updated_at": task.get("finished_at", task["created_at"]),
                 "has_unread_turn": False, "is_review": False},
        "task_status_display": display(task, status),
        "current_user_turn": {"id": task["user_turn"], "role": "user", "turn_status": "completed",
                              "input_items": [{"type": "message", "role": "user",
                                               "content": [{"content_type": "text", "text": task["prompt"]}]}]},
        "current_assistant_turn": turn_json(task, att, attempt_status, siblings),
    }
    if attempt_status == "completed" and att["diff"]:
        body["current_diff_task_turn"] = {"id": att["turn_id"],
                                          "output_items": [{"type": "output_diff", "diff": att["diff"]}]}
    return body, status


def list_item(task):
    status = observe(task)
    return {"id": task["id"], "title": task["title"], "archived": False, "has_unread_turn": False,
            "created_at": task["created_at"], "updated_at": task.get("finished_at", task["created_at"]),
            "task_status_display": display(task, status), "pull_requests": []}


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def fake_jwt(claims):
    return ".".join([b64({"alg": "RS256", "typ": "JWT"}), b64(claims), "c2lnbmF0dXJl"])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock_cloud/1"

    def log_message(self, *a):
        pass

    def _log(self, body, status, summary):
        hdrs = {}
        for k in ("authorization", "chatgpt-account-id", "user-agent", "content-type", "x-openai-fedramp"):
            v = self.headers.get(k)
            if v is not None:
                hdrs[k] = v[:24] + "..." if k == "authorization" and len(v) > 24 else v
        parsed = urllib.parse.urlsplit(self.path)
        rec = {"ts": round(time.time(), 3), "method": self.command, "path": parsed.path,
               "query": dict(urllib.parse.parse_qsl(parsed.query)), "headers": hdrs,
               "body": body, "status": status, "summary": summary}
        if ARGS.log:
            with LOCK, open(ARGS.log, "a") as f:
                f.write(json.dumps(rec) + "\n")

    def _send(self, status, obj, body_in=None, summary=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            summary = dict(summary or {}, note="client disconnected")
        self._log(body_in, status, summary or {})

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode(errors="replace") if n else ""
        try:
            return raw, json.loads(raw) if raw else None
        except ValueError:
            return raw, None

    def _fault(self, path, body_in):
        with LOCK:
            faults = load_script().get("faults") or []
            hit = None
            for i, f in enumerate(faults):
                if f.get("method", self.command).upper() != self.command:
                    continue
                if not re.search(f.get("path", ""), path):
                    continue
                if "times" in f and FAULT_USES.get(i, 0) >= int(f["times"]):
                    continue
                FAULT_USES[i] = FAULT_USES.get(i, 0) + 1
                hit = f
                break
        if hit is None:
            return False
        if hit.get("delay_s"):
            time.sleep(float(hit["delay_s"]))
        if "status" not in hit:
            return False  # a delay only
        self._send(int(hit["status"]), hit.get("body", {"detail": "mock_cloud: injected fault"}), body_in,
                   {"fault": hit})
        return True

    def _route(self):
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/")
        query = dict(urllib.parse.parse_qsl(parsed.query))
        raw, body_in = self._read_body() if self.command == "POST" else ("", None)
        logged_body = body_in if body_in is not None else (raw or None)
        if path == "/_mock/state":
            with LOCK:
                return self._send(200, {"tasks": list(TASKS.values())}, None, {"mock": "state"})
        if self._fault(path, logged_body):
            return
        if self.command == "POST" and path.endswith("/oauth/token"):
            now = int(time.time())
            claims = {"exp": now + 3600, "iat": now, "https://api.openai.com/auth": {
                "chatgpt_plan_type": "pro", "chatgpt_user_id": "user-mock", "chatgpt_account_id": "acct-mock"}}
            return self._send(200, {"id_token": fake_jwt(dict(claims, email="dev@example.invalid")),
                                    "access_token": fake_jwt(claims), "refresh_token": "rt-mock-refreshed"},
                              logged_body, {"refresh": True})
        m = re.fullmatch(r"(?:.*/backend-api/wham|.*/api/codex)(/.*)", path)
        if not m:
            return self._send(404, {"detail": "Not Found"}, logged_body, {"unhandled": path})
        sub = m.group(1)
        if not (self.headers.get("Authorization") or "").startswith("Bearer "):
            return self._send(401, {"detail": "Unauthorized"}, logged_body, {"auth": "missing"})
        with LOCK:
            return self._api(sub, query, logged_body, body_in)

    def _api(self, sub, query, logged_body, body_in):
        if self.command == "GET" and sub == "/environments":
            return self._send(200, environments(), None, {"environments": len(environments())})
        m = re.fullmatch(r"/environments/by-repo/([^/]+)/([^/]+)/([^/]+)", sub)
        if self.command == "GET" and m:
            envs = (load_script().get("by_repo") or {}).get(f"{m.group(2)}/{m.group(3)}", [])
            return self._send(200, envs, None, {"by_repo": f"{m.group(2)}/{m.group(3)}", "environments": len(envs)})
        if self.command == "POST" and sub == "/tasks":
            if not isinstance(body_in, dict) or not isinstance(body_in.get("new_task"), dict):
                return self._send(400, {"detail": "invalid request body"}, logged_body, {"create": "bad body"})
            env_id = body_in["new_task"].get("environment_id")
            if not known_env(env_id):
                return self._send(404, {"detail": f"Environment {env_id} not found"}, logged_body,
                                  {"create": "unknown environment"})
            t = new_task(body_in)
            return self._send(200, {"task": {"id": t["id"]}}, logged_body,
                              {"task": t["id"], "rule": t["rule"], "best_of_n": t["best_of_n"], "branch": t["branch"]})
        if self.command == "GET" and sub == "/tasks/list":
            tasks = [t for t in reversed(list(TASKS.values()))
                     if not query.get("environment_id") or t["env"] == query["environment_id"]]
            start = int(query.get("cursor") or 0)
            limit = int(query.get("limit") or 20)
            page = tasks[start:start + limit]
            cursor = str(start + limit) if start + limit < len(tasks) else None
            return self._send(200, {"items": [list_item(t) for t in page], "cursor": cursor}, None,
                              {"items": [t["id"] for t in page]})
        m = re.fullmatch(r"/tasks/([^/]+)/turns/([^/]+)/sibling_turns", sub)
        if self.command == "GET" and m:
            t = TASKS.get(m.group(1))
            if t is None:
                return self._send(404, {"detail": "Task not found"}, None, {"task": m.group(1), "unknown": True})
            status = t["final"] if "finished_at" in t else "in_progress"
            sibs = [a for a in t["attempts"] if a["turn_id"] != m.group(2)]
            ids = [a["turn_id"] for a in t["attempts"]]
            turns = [turn_json(t, a, a["status"] if status == "completed" else status,
                               [i for i in ids if i != a["turn_id"]]) for a in sibs]
            return self._send(200, {"sibling_turns": turns}, None, {"task": t["id"], "siblings": len(turns)})
        m = re.fullmatch(r"/tasks/([^/]+)", sub)
        if self.command == "GET" and m:
            t = TASKS.get(m.group(1))
            if t is None:
                return self._send(404, {"detail": "Task not found"}, None, {"task": m.group(1), "unknown": True})
            body, status = details(t)
            return self._send(200, body, None, {"task": t["id"], "turn_status": status, "read": t["reads"]})
        return self._send(404, {"detail": "Not Found"}, logged_body, {"unhandled": sub})

    def do_GET(self):
        self._route()

    def do_POST(self):
        self._route()


def watch_parent(pid):
    """Exits when `pid` no longer exists (or was reparented away from us)."""
    while True:
        time.sleep(1)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--script", help="JSON script (re-read when it changes)")
    p.add_argument("--log", help="JSONL request log")
    p.add_argument("--max-lifetime", type=float, default=0, help="exit after this many seconds (0 = never)")
    p.add_argument("--parent-pid", type=int, default=0,
                   help="exit once this process is gone (a test runner that crashed leaves no mock behind)")
    ARGS = p.parse_args()
    with LOCK:
        load_script()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, ARGS.port_file)
    print(f"mock_cloud listening on http://127.0.0.1:{port}/backend-api", file=sys.stderr, flush=True)
    if ARGS.max_lifetime > 0:
        threading.Timer(ARGS.max_lifetime, lambda: os._exit(0)).start()
    if ARGS.parent_pid > 0:
        threading.Thread(target=watch_parent, args=(ARGS.parent_pid,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
