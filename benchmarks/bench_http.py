"""What the HTTP path costs: accepted requests/s at ``POST .../sdk/events/trigger`` over
loopback from 16 client threads, the server in its own process (prints figures; not a test).

Three servers, side by side, all on :mod:`paragon_nb._serving` (cheroot):

1. ``bare``: a WSGI app that reads the body and answers 201: the server's own ceiling;
2. ``rest``: the REST app over a project that only verifies the RS256 token (the HTTP path:
   routing, auth, JSON, the 201 body) and keeps nothing;
3. ``project``: ``paragon-nb serve`` on a real project, a user with no enabled workflow (the
   event is persisted; the engine's insert path included).

Clients use ``http.client`` keep-alive connections (one per thread), so the figure is the
server's, not httpx's. Target: >= 1,000 accepted events/s (issue 9).

    python benchmarks/bench_http.py            # 16 threads, 8,000 requests per server
    python benchmarks/bench_http.py --quick    # 16 threads, 800 requests per server
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TARGET = 1000.0
BODY = json.dumps({"name": "Lead Created", "payload": {"email": "ada@example.com"}}).encode()


def _bare_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    out = b'{"eventId": "e", "name": "Lead Created"}'
    start_response("201 Created", [("Content-Type", "application/json")])
    return [out]


class _VerifyOnly:
    """A project that verifies the token and keeps nothing (the REST app's own cost)."""

    def __init__(self, public_pem: str) -> None:
        self.id = "bench"
        self.public_pem = public_pem

    def verify_user_token(self, token: str) -> dict[str, Any]:
        from paragon_nb.tokens import verify_user_token

        return verify_user_token(token, self.public_pem)

    def trigger_event(self, sub: str, name: str, payload: dict, **kw: Any) -> Any:
        from paragon_nb.runtime.api import EventReceipt

        return EventReceipt(event_id="evt", name=name)


def serve(mode: str, root: Path) -> None:
    """Child process: serve ``mode``, print ``{"url", "path", "token"}``, stop on SIGTERM."""
    from paragon_nb._serving import BackgroundServer, until_signalled
    from paragon_nb.runtime.server import RestApp
    from paragon_nb.tokens import SigningKey, sign_user_token

    with until_signalled() as stop:
        project = None
        if mode == "bare":
            app, pid, token = _bare_app, "bench", ""
        elif mode == "rest":
            key = SigningKey.generate()
            app, pid = RestApp(_VerifyOnly(key.public_pem)), "bench"
            token = sign_user_token(key.private_pem, "idle")
        else:
            from paragon_nb.runtime.project import Project

            project = Project.create("bench", path=root / "project")
            key = project.generate_signing_key()
            project.define_app_event("Lead Created", example={"email": "a@x.com"})
            app, pid = RestApp(project), str(project.id)
            token = sign_user_token(key.private_pem, "idle")
        server = BackgroundServer(app).start()
        path = f"/projects/{pid}/sdk/events/trigger"
        print(json.dumps({"url": server.url, "path": path, "token": token}), flush=True)
        while not stop.wait(0.2):
            pass
        server.stop()
        if project is not None:
            project.close()


def burst(url: str, path: str, token: str, *, requests: int, threads: int) -> dict[str, float]:
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    per = requests // threads
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        mine = []
        try:
            for _ in range(per):
                start = time.perf_counter()
                conn.request("POST", path, BODY, headers)
                response = conn.getresponse()
                response.read()
                mine.append(time.perf_counter() - start)
                if response.status != 201:
                    errors.append(f"{response.status}")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} requests refused, e.g. {errors[0]}")
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--requests", type=int, default=8000, help="requests per server")
    parser.add_argument("--quick", action="store_true", help="800 requests per server")
    parser.add_argument("--serve", choices=("bare", "rest", "project"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, Path(args.root))
        return
    requests = 800 if args.quick else args.requests
    print(f"accepted events/s over loopback, {args.threads} client threads, {requests} each")
    print(f"{'server':<44} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'vs target':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for mode, label in (
            ("bare", "cheroot, bare WSGI app (server ceiling)"),
            ("rest", "REST app, token verified, nothing stored"),
            ("project", "paragon-nb serve, real project (stored)"),
        ):
            proc = subprocess.Popen(
                [sys.executable, __file__, "--serve", mode, "--root", tmp],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                info = json.loads(proc.stdout.readline() if proc.stdout else "{}")
                burst(info["url"], info["path"], info["token"], requests=200, threads=4)  # warm
                fig = burst(
                    info["url"],
                    info["path"],
                    info["token"],
                    requests=requests,
                    threads=args.threads,
                )
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
                if proc.stdout:
                    proc.stdout.close()
            print(
                f"{label:<44} {fig['rate']:9.0f} {fig['p50_ms']:7.1f} {fig['p99_ms']:7.1f} "
                f"{fig['rate'] / TARGET:8.2f}x"
            )
    print(f"target: {TARGET:,.0f} accepted events/s (issue 9)")


if __name__ == "__main__":
    main()
