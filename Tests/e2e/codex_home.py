#!/usr/bin/env python3
"""An isolated CODEX_HOME for the real Codex CLI: its config.toml and auth.json,
written in this one place for every harness that runs Codex against
mock_responses.py (beside this file):

    Tests/e2e/run.py                 imports it (a home per scenario)
    Tests/claude-e2e/run_claude.py   imports it by path (../e2e/codex_home.py)
    companion-bench, turn section    runs it as a script:

    python3 -B codex_home.py DIR [--port PORT] [--sandbox MODE] [--stream-idle-timeout-ms MS] [--no-auth]

With a port, config.toml names the "mock" provider at http://127.0.0.1:PORT/v1
(the key in $CODEX_MOCK_API_KEY, no retries); without one, Codex's default
provider. auth.json holds a dummy API key, so `codex login status` exits 0; the
key is never sent (the mock provider authenticates with env_key). Keep CODEX_HOME
outside TMPDIR: Codex cannot set up its sandbox helper under the temp directory.
Python 3 standard library only.
"""

import argparse
import json
import os

MODEL = "gpt-5.5"  # must be in codex's bundled catalog, or codex offers no apply_patch tool
MOCK_API_KEY = "mock-key"  # the value to give $CODEX_MOCK_API_KEY
STREAM_IDLE_TIMEOUT_MS = 300000


def config(port=None, sandbox=None, stream_idle_timeout_ms=STREAM_IDLE_TIMEOUT_MS):
    """The text of config.toml."""
    lines = [f'model = "{MODEL}"', 'model_provider = "mock"'] if port is not None else []
    lines += ['approval_policy = "never"']
    lines += [f'sandbox_mode = "{sandbox}"'] if sandbox else []
    lines += ["check_for_update_on_startup = false", ""]
    if port is not None:
        lines += ["[model_providers.mock]", 'name = "Mock Responses API"',
                  f'base_url = "http://127.0.0.1:{port}/v1"',
                  'env_key = "CODEX_MOCK_API_KEY"', 'wire_api = "responses"',
                  "request_max_retries = 0", "stream_max_retries = 0",
                  f"stream_idle_timeout_ms = {stream_idle_timeout_ms}", ""]
    lines += ["[analytics]", "enabled = false", "", "[feedback]", "enabled = false", ""]
    return "\n".join(lines)


def write(path, port=None, auth=True, **options):
    """Create PATH (if needed) with config.toml (see config() for the options) and,
    unless auth is false, auth.json (mode 0600)."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.toml"), "w", encoding="utf-8") as handle:
        handle.write(config(port, **options))
    if auth:
        # What `codex login --with-api-key` writes.
        auth_path = os.path.join(path, "auth.json")
        with open(auth_path, "w", encoding="utf-8") as handle:
            json.dump({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-mock-not-a-real-key"}, handle)
            handle.write("\n")
        os.chmod(auth_path, 0o600)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="the CODEX_HOME directory to write")
    parser.add_argument("--port", type=int, help="the mock Responses API's port (else the default provider)")
    parser.add_argument("--sandbox", help="sandbox_mode (else none in the config)")
    parser.add_argument("--stream-idle-timeout-ms", type=int, default=STREAM_IDLE_TIMEOUT_MS)
    parser.add_argument("--no-auth", action="store_true", help="write no auth.json")
    args = parser.parse_args()
    write(args.path, args.port, auth=not args.no_auth, sandbox=args.sandbox,
          stream_idle_timeout_ms=args.stream_idle_timeout_ms)


if __name__ == "__main__":
    main()
