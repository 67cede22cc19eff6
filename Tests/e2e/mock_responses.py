#!/usr/bin/env python3
"""Scriptable mock of the OpenAI Responses API for driving the real Codex CLI.

Standard library only. Listens on 127.0.0.1 only.

    python3 mock_responses.py --port 0 --port-file port --script script.json --log requests.jsonl

Copied from the project's shared e2e harness for codex-companion's end-to-end
suite (Tests/e2e/run.py starts it once per run and stops it by PID).

Every HTTP request (method, path, selected headers, JSON body) is appended to
the log file as one JSON line. `POST .../responses` is answered with a
`text/event-stream` body built from the script; every other request gets a
small JSON answer (see `_answer_other`).

Script format (JSON):

    {
      "rules": [
        {
          "match": "hello",            # substring of the latest user message
                                       # (case-insensitive); omit = match all
          "regex": "...",              # alternative to "match"
          "body": ["needs-attention"], # optional: substring(s) that must ALL occur
                                       # in the raw JSON request body (case-
                                       # insensitive, as sent: JSON-escaped);
                                       # combines with match/regex
          "steps": [                   # one step = one model response
            {"shell": "printf 'hi\\n' > hello.txt"},
            {"apply_patch": "*** Begin Patch\\n*** Add File: a.txt\\n+x\\n*** End Patch\\n"},
            {"reasoning": "thinking...", "message": "Done: {tool_output}"}
          ]
        }
      ],
      "fallback_message": "ok"         # used when no rule/step applies
    }

Step keys (one response may combine reasoning + one action or message):
    reasoning    summary text emitted as a `reasoning` output item
    shell        command string; emitted as a call to whichever shell tool the
                 request offers (shell_command / exec_command / shell /
                 local_shell)
    apply_patch  patch text (Codex apply_patch grammar); emitted as a
                 custom_tool_call or function_call depending on the tool type
                 codex advertises
    message      final assistant text; "{tool_output}" is replaced by the
                 output of the previous tool call (if any), "{cwd}" by the
                 <cwd> of the request's latest <environment_context>
    json         a JSON value sent as the final message text (serialised);
                 "{cwd}" is replaced in its strings, and when the request
                 carries an output schema (text.format.schema) object keys are
                 renamed to the schema's property of the same name ignoring
                 case, "_" and "-" (lineStart <-> line_start)
    phase        phase of that message: "final_answer" (default),
                 "commentary", or null to omit the field
    commentary   text of an extra assistant message (phase "commentary")
                 emitted before the step's action
    delay        seconds to wait after `response.created` before the rest of
                 the stream (slow mode; the model "thinks")
    error        {"status": 500, "body": "..."} -> answer with an HTTP error
    fail         "message" -> stream `response.failed` (code from "fail_code",
                 default server_error) instead of a completed response

Which step to play is derived statelessly from the request: the step index is
the number of tool-call outputs that follow the last user message in `input`.
When the steps run out the fallback message is sent, so a turn always ends.
"""

import itertools
import json
import os
import re
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_server  # noqa: E402  (beside this file: options and serve loop of the mocks)

MAX_DELAY_S = 600.0
_ids = itertools.count(1)
_log_lock = threading.Lock()


def _next_id(prefix):
    return f"{prefix}_{next(_ids):06d}"


def _text_of_content(content):
    if isinstance(content, str):
        return content
    parts = []
    for span in content or []:
        if isinstance(span, dict) and isinstance(span.get("text"), str):
            parts.append(span["text"])
    return "\n".join(parts)


# User-role messages that codex itself injects (context, not the prompt).
INJECTED_PREFIXES = ("<environment_context>", "<user_instructions>", "<turn_aborted>",
                     "# AGENTS.md instructions", "<user_shell_command>", "<subagent_notification>")


def _last_user_index(items):
    """Index of the latest user prompt, skipping codex-injected context messages."""
    fallback = -1
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if item.get("type", "message") == "message" and item.get("role") == "user":
            if fallback < 0:
                fallback = index
            if not _text_of_content(item.get("content")).lstrip().startswith(INJECTED_PREFIXES):
                return index
    return fallback


def _tool_outputs_after(items, index):
    return [
        item
        for item in items[index + 1:]
        if item.get("type") in ("function_call_output", "custom_tool_call_output", "local_shell_call_output")
    ]


def _output_text(item):
    out = item.get("output")
    if isinstance(out, str):
        return out
    if isinstance(out, dict):
        return str(out.get("content", ""))
    if isinstance(out, list):
        return _text_of_content(out)
    return ""


def _tools_by_name(body):
    tools = {}
    for tool in body.get("tools") or []:
        name = tool.get("name") or tool.get("type")
        if name:
            tools[name] = tool
    return tools


class Script:
    def __init__(self, path):
        self.path = path
        self._mtime = None
        self.data = {"rules": []}
        self.reload()

    def reload(self):
        if not self.path:
            return
        try:
            mtime = os.path.getmtime(self.path)
        except OSError:
            return
        if mtime != self._mtime:
            with open(self.path, encoding="utf-8") as handle:
                self.data = json.load(handle)
            self._mtime = mtime

    def pick_rule(self, user_text, body_text=""):
        self.reload()
        lowered = user_text.lower()
        body_lowered = body_text.lower()
        for rule in self.data.get("rules", []):
            if "regex" in rule:
                if not re.search(rule["regex"], user_text, re.S):
                    continue
            elif "match" in rule:
                if rule["match"].lower() not in lowered:
                    continue
            needles = rule.get("body") or []
            if isinstance(needles, str):
                needles = [needles]
            if all(needle.lower() in body_lowered for needle in needles):
                return rule
        return None


def _request_cwd(items):
    """<cwd> of the latest <environment_context> in the request input ("" if none)."""
    for item in reversed(items):
        match = re.search(r"<environment_context>.*?<cwd>(.*?)</cwd>", _text_of_content(item.get("content")), re.S)
        if match:
            return match.group(1)
    return ""


def _norm_key(key):
    return re.sub(r"[_\-]", "", str(key)).lower()


def _resolve_schema(schema, root):
    """Follow a local $ref and pick the object/array branch of anyOf/oneOf."""
    for _ in range(20):
        if not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target = root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            schema = target
            continue
        for key in ("anyOf", "oneOf", "allOf"):
            options = [o for o in schema.get(key) or [] if isinstance(o, dict)]
            shaped = [o for o in options if "properties" in o or "items" in o or "$ref" in o]
            if shaped and "properties" not in schema and "items" not in schema:
                schema = shaped[0]
                break
        else:
            return schema
    return schema


def _fit_to_schema(value, schema, root, cwd):
    """Rename keys to the schema's spelling (case, '_' and '-' ignored); fill "{cwd}"."""
    schema = _resolve_schema(schema, root)
    if isinstance(value, dict):
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        by_norm = {_norm_key(name): name for name in props}
        out = {}
        for key, item in value.items():
            name = key if key in props else by_norm.get(_norm_key(key), key)
            out[name] = _fit_to_schema(item, props.get(name, {}), root, cwd)
        return out
    if isinstance(value, list):
        items = schema.get("items", {})
        return [_fit_to_schema(item, items, root, cwd) for item in value]
    if isinstance(value, str):
        return value.replace("{cwd}", cwd)
    return value


def _output_schema(body):
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and isinstance(fmt.get("schema"), dict):
        return fmt["schema"]
    return None


def _sse(event):
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _shell_call_item(tools, command, call_id):
    if "shell_command" in tools:
        return {"type": "function_call", "call_id": call_id, "name": "shell_command",
                "arguments": json.dumps({"command": command})}
    if "exec_command" in tools:
        return {"type": "function_call", "call_id": call_id, "name": "exec_command",
                "arguments": json.dumps({"cmd": command})}
    if "shell" in tools:
        return {"type": "function_call", "call_id": call_id, "name": "shell",
                "arguments": json.dumps({"command": ["bash", "-lc", command]})}
    if "local_shell" in tools:
        return {"type": "local_shell_call", "call_id": call_id, "status": "completed",
                "action": {"type": "exec", "command": ["bash", "-lc", command]}}
    # Nothing advertised: guess the current default.
    return {"type": "function_call", "call_id": call_id, "name": "shell_command",
            "arguments": json.dumps({"command": command})}


def _apply_patch_item(tools, patch, call_id):
    tool = tools.get("apply_patch")
    if tool is not None and tool.get("type") == "function":
        return {"type": "function_call", "call_id": call_id, "name": "apply_patch",
                "arguments": json.dumps({"input": patch})}
    if tool is None and ("shell_command" in tools or "exec_command" in tools or "shell" in tools):
        # No apply_patch tool offered: fall back to invoking it through the shell.
        return _shell_call_item(tools, "apply_patch <<'EOF'\n" + patch + "EOF\n", call_id)
    return {"type": "custom_tool_call", "call_id": call_id, "name": "apply_patch", "input": patch}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-responses/1"

    # quieter default logging
    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("mock: " + (fmt % args) + "\n")

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        return raw

    def _read_chunked(self):
        data = b""
        while True:
            line = self.rfile.readline().strip()
            size = int(line.split(b";")[0], 16)
            if size == 0:
                self.rfile.readline()
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    def _log(self, entry):
        entry["t"] = round(time.time() - self.server.started_at, 3)
        entry["client_port"] = self.client_address[1]
        with _log_lock:
            with open(self.server.log_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")

    def _send_json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method):
        raw = self._read_body() if method in ("POST", "PUT", "PATCH") else b""
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"_raw_prefix": raw[:200].decode("latin-1"), "_len": len(raw)}
        headers = {k.lower(): v for k, v in self.headers.items()
                   if k.lower() in ("authorization", "content-type", "content-encoding", "accept",
                                    "originator", "user-agent", "session_id", "openai-beta",
                                    "x-openai-subagent", "version")}
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"][:16] + "..."
        entry = {"method": method, "path": self.path, "headers": headers}
        if self.server.log_bodies:
            entry["body"] = body
        path = self.path.split("?", 1)[0]
        if method == "POST" and path.endswith("/responses") and isinstance(body, dict) and "input" in body:
            self._answer_responses(body, entry, raw.decode("utf-8", "replace"))
        else:
            self._log(entry)
            self._answer_other(method, path)

    def _answer_other(self, method, path):
        if path.endswith("/models"):
            # Empty model list; codex falls back to its bundled model metadata.
            self._send_json(200, {"object": "list", "data": [], "models": []})
        else:
            self._send_json(404, {"error": {"message": f"mock: no handler for {method} {path}",
                                            "type": "invalid_request_error"}})

    def _answer_responses(self, body, entry, body_text=""):
        items = [i for i in body.get("input", []) if isinstance(i, dict)]
        user_index = _last_user_index(items)
        user_text = _text_of_content(items[user_index].get("content")) if user_index >= 0 else ""
        outputs = _tool_outputs_after(items, user_index)
        step_index = len(outputs)
        last_output = _output_text(outputs[-1]) if outputs else ""
        tools = _tools_by_name(body)
        rule = self.server.script.pick_rule(user_text, body_text)
        steps = (rule or {}).get("steps", [])
        step = steps[step_index] if step_index < len(steps) else None
        entry["summary"] = {
            "user_text_tail": user_text[-160:],
            # The whole prompt (bounded), so tests can find "their" requests by a
            # token even when the client wraps the user's words in more text.
            "user_text": user_text[:8000],
            "rule": (rule or {}).get("name") or (rule or {}).get("match") or (rule or {}).get("regex"),
            "step_index": step_index,
            "tools": sorted(tools),
            "model": body.get("model"),
        }
        self._log(entry)

        if step and "error" in step:
            err = step["error"]
            self._send_json(int(err.get("status", 500)),
                            {"error": {"message": err.get("body", "mock error"), "type": "server_error"}})
            return

        response_id = _next_id("resp")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def emit(event):
            chunk = _sse(event)
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()

        try:
            emit({"type": "response.created", "response": {"id": response_id}})
            delay = float((step or {}).get("delay", 0) or 0)
            if delay > 0 and not self._wait_unless_disconnected(min(delay, MAX_DELAY_S)):
                self._log({"method": "-", "path": self.path, "note": "client disconnected during delay",
                           "response_id": response_id})
                self.close_connection = True
                return
            if step and "fail" in step:
                emit({"type": "response.failed",
                      "response": {"id": response_id,
                                   "error": {"code": step.get("fail_code", "server_error"),
                                             "message": step["fail"]}}})
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            context = {"cwd": _request_cwd(items), "schema": _output_schema(body)}
            for event in self._events_for(step, tools, last_output, context):
                emit(event)
            emit({"type": "response.completed",
                  "response": {"id": response_id,
                               "usage": {"input_tokens": 10, "input_tokens_details": None,
                                         "output_tokens": 5, "output_tokens_details": None,
                                         "total_tokens": 15}}})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self._log({"method": "-", "path": self.path, "note": "client disconnected mid-stream",
                       "response_id": response_id})

    def _wait_unless_disconnected(self, seconds):
        """Sleep up to `seconds`; return False early if the client hung up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            readable, _, _ = select.select([self.connection], [], [],
                                           min(0.2, max(0.0, deadline - time.monotonic())))
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return False
                except OSError:
                    return False
                time.sleep(0.2)  # unexpected pipelined bytes: avoid a busy loop
        return True

    def _events_for(self, step, tools, last_output, context=None):
        context = context or {}
        events = []
        if step is None:
            step = {"message": self.server.script.data.get("fallback_message", "ok")}
        if "commentary" in step:
            events.append({"type": "response.output_item.done",
                           "item": {"type": "message", "role": "assistant", "id": _next_id("msg"),
                                    "phase": "commentary",
                                    "content": [{"type": "output_text", "text": step["commentary"]}]}})
        if "reasoning" in step:
            events.append({"type": "response.output_item.done",
                           "item": {"type": "reasoning", "id": _next_id("rs"),
                                    "summary": [{"type": "summary_text", "text": step["reasoning"]}]}})
        if "shell" in step:
            events.append({"type": "response.output_item.done",
                           "item": _shell_call_item(tools, step["shell"], _next_id("call"))})
        elif "apply_patch" in step:
            events.append({"type": "response.output_item.done",
                           "item": _apply_patch_item(tools, step["apply_patch"], _next_id("call"))})
        elif "message" in step or "json" in step:
            if "json" in step:
                schema = context.get("schema") or {}
                text = json.dumps(_fit_to_schema(step["json"], schema, schema, context.get("cwd", "")))
            else:
                text = step["message"].replace("{tool_output}", last_output.strip())
                text = text.replace("{cwd}", context.get("cwd", ""))
            msg_id = _next_id("msg")
            phase = step.get("phase", "final_answer")
            added = {"type": "message", "role": "assistant", "id": msg_id, "content": []}
            done = {"type": "message", "role": "assistant", "id": msg_id,
                    "content": [{"type": "output_text", "text": text}]}
            if phase:
                added["phase"] = phase
                done["phase"] = phase
            events.append({"type": "response.output_item.added", "item": added})
            events.append({"type": "response.output_text.delta", "item_id": msg_id, "delta": text})
            events.append({"type": "response.output_item.done", "item": done})
        return events

    def do_POST(self):
        self._handle("POST")

    def do_GET(self):
        self._handle("GET")

    def do_DELETE(self):
        self._handle("DELETE")


def main():
    parser = mock_server.parser(__doc__, log_default="mock-requests.jsonl")
    parser.add_argument("--no-bodies", action="store_true", help="do not log request bodies")
    args = parser.parse_args()
    mock_server.serve(Handler, args, "mock-responses", "/v1", script=Script(args.script),
                      log_bodies=not args.no_bodies)


if __name__ == "__main__":
    main()
