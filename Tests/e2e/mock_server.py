"""What the scripted mock model servers share: mock_responses.py (beside this file,
the OpenAI Responses API) and ../claude-e2e/mock_anthropic.py (the Anthropic
Messages API) take the same options and serve the same way:

    --port N (0 = a free one)  --port-file F  --script S  --log L  --max-lifetime SECONDS  --verbose

Each listens on 127.0.0.1 only, writes its port to the port file (atomically,
once listening), and stops on SIGTERM or when its lifetime is over. Python 3
standard library only.
"""

import argparse
import os
import signal
import sys
import threading
import time
from http.server import ThreadingHTTPServer

HOST = "127.0.0.1"


def parser(description, log_default=None, max_lifetime=3600.0):
    """An argument parser with the options every mock takes; add a mock's own after."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--script", help="JSON script file (re-read when it changes)")
    p.add_argument("--log", default=log_default, help="JSONL request log")
    p.add_argument("--max-lifetime", type=float, default=max_lifetime,
                   help=f"exit after this many seconds (default {max_lifetime:g}; 0 = never)")
    p.add_argument("--verbose", action="store_true")
    return p


def serve(handler, args, name, path="", **attributes):
    """Serve HANDLER on 127.0.0.1:args.port until SIGTERM or args.max_lifetime. The server
    carries script-independent state for the handler: log_path, verbose, started_at, a
    `stopping` event (set when shutting down) and ATTRIBUTES."""
    server = ThreadingHTTPServer((HOST, args.port), handler)
    server.daemon_threads = True
    server.log_path = args.log
    server.verbose = args.verbose
    server.started_at = time.time()
    server.stopping = threading.Event()
    for key, value in attributes.items():
        setattr(server, key, value)
    port = server.server_address[1]
    if args.port_file:
        tmp_path = args.port_file + ".tmp"
        with open(tmp_path, "w", encoding="utf-8") as handle:
            handle.write(f"{port}\n")
        os.replace(tmp_path, args.port_file)
    sys.stderr.write(f"{name} listening on http://{HOST}:{port}{path}\n")
    sys.stderr.flush()

    def stop():
        server.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    def lifetime_guard():
        if not server.stopping.wait(args.max_lifetime):
            sys.stderr.write(f"{name}: max lifetime reached, shutting down\n")
            stop()

    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop())
    if args.max_lifetime > 0:
        threading.Thread(target=lifetime_guard, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
