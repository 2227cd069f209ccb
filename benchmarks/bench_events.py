"""How fast App Events go through the local runtime (prints figures; not a timed test).

1. Accepted events/s at ``POST /projects/{id}/sdk/events/trigger`` over loopback with N client
   threads: RS256 token verification + persisting the event (and its queued run) included.
   Measured for a user with no enabled workflow (accept only) and for a connected user whose
   runs execute meanwhile against an unlimited in-process sandbox.
2. End-to-end events/s into a loopback sandbox with Marketo's limits enforced, on a window
   scaled down by ``--scale`` (100 calls per 20/scale s, 10 in flight), compared with the
   bound of one Marketo call pair per event: 100 calls / 20 s / 2 = 2.5 events/s (x scale).

    python benchmarks/bench_events.py --threads 8 --events 400 --e2e-events 300 --scale 10
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.limits import Limits
from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.app import LOCAL_ORIGIN, SandboxApp
from paragon_nb.sandbox.server import MarketoSandbox
from paragon_nb.tokens import SigningKey, sign_user_token, verify_user_token

SPEC = """\
name: Sync new leads to Marketo
trigger:
  app_event: Lead Created
user_settings:
  - {id: marketo_list, label: Marketo list, type: marketo_list, required: true}
steps:
  - id: upsert_lead
    action: marketo.create_or_update_lead
    lookup_field: email
    fields: {email: "{{event.email}}", firstName: "{{event.first_name}}"}
  - id: add_to_list
    action: marketo.add_leads_to_list
    list_id: "{{settings.marketo_list}}"
    lead_ids: ["{{steps.upsert_lead.id}}"]
"""
MARKETO_CALLS, MARKETO_WINDOW = 100, 20.0


def _factory(transport: Any = None, limits: Limits | None = None) -> Any:
    def factory(creds: Any) -> MarketoClient:
        return MarketoClient(
            creds.endpoint,
            creds.client_id,
            creds.client_secret,
            identity=creds.identity,
            transport=transport,
            limits=limits,
        )

    return factory


def _project(path: Path, factory: Any) -> tuple[Project, SigningKey]:
    project = Project.create("bench", path=path, client_factory=factory)
    key = project.generate_signing_key()
    project.define_app_event("Lead Created", example={"email": "a@x.com", "first_name": "A"})
    project.add_workflow(SPEC)
    project.deploy("Sync new leads to Marketo")
    return project, key


def _connect(project: Project, sub: str, *, endpoint: str, identity: str, app: Any) -> None:
    listing = app.create_list(f"List {sub}")
    project.connect_user(
        sub,
        "marketo",
        endpoint=endpoint,
        identity=identity,
        client_id=app.client_id,
        client_secret=app.client_secret,
    )
    project.set_workflow_settings(sub, "Sync new leads to Marketo", {"marketo_list": listing["id"]})
    project.enable_workflow(sub, "Sync new leads to Marketo")


def _post_burst(url: str, token: str, *, events: int, threads: int, tag: str) -> dict[str, float]:
    """POST ``events`` events from ``threads`` clients; returns rate and latency figures."""
    per_thread = [events // threads + (1 if i < events % threads else 0) for i in range(threads)]
    headers = {"Authorization": f"Bearer {token}"}

    def client(i: int) -> list[float]:
        latencies = []
        with httpx.Client(timeout=60) as http:
            for n in range(per_thread[i]):
                payload = {"email": f"{tag}{i}.{n}@x.com", "first_name": f"N{n}"}
                body = {"name": "Lead Created", "payload": payload}
                start = time.perf_counter()
                response = http.post(url, json=body, headers=headers)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 201:
                    raise RuntimeError(f"event refused: {response.status_code} {response.text}")
        return latencies

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = sorted(x for chunk in pool.map(client, range(threads)) for x in chunk)
    elapsed = time.perf_counter() - start
    return {
        "rate": len(latencies) / elapsed,
        "elapsed": elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def bench_verify(key: SigningKey, n: int = 2000) -> float:
    token = sign_user_token(key.private_pem, "u")
    start = time.perf_counter()
    for _ in range(n):
        verify_user_token(token, key.public_pem)
    return n / (time.perf_counter() - start)


def bench_accept(root: Path, *, events: int, threads: int) -> None:
    sandbox = SandboxApp(rate_limit=None, max_concurrency=None)
    unlimited = Limits(rate_calls=1_000_000, rate_window=1.0)
    project, key = _project(root / "accept", _factory(sandbox.transport(), unlimited))
    try:
        _connect(
            project,
            "busy",
            endpoint=f"{LOCAL_ORIGIN}/rest",
            identity=f"{LOCAL_ORIGIN}/identity",
            app=sandbox,
        )
        print(f"token verification alone (1 thread, in-process): {bench_verify(key):,.0f}/s")
        with project.serve() as handle:
            url = f"{handle.project_url}/sdk/events/trigger"
            idle = _post_burst(
                url,
                sign_user_token(key.private_pem, "idle"),
                events=events,
                threads=threads,
                tag="idle",
            )
            busy = _post_burst(
                url,
                sign_user_token(key.private_pem, "busy"),
                events=events,
                threads=threads,
                tag="busy",
            )
        start = time.perf_counter()
        project.wait_idle(timeout=600)
        drain = time.perf_counter() - start
        done = project.runs()["status"].value_counts().to_dict()
    finally:
        project.close()
    print(f"REST accept, {threads} client threads, {events} events each run, loopback:")
    for label, fig in (("no enabled workflow", idle), ("runs executing meanwhile", busy)):
        print(
            f"  {label:<26} {fig['rate']:8.1f} events/s accepted "
            f"(p50 {fig['p50_ms']:.1f} ms, p95 {fig['p95_ms']:.1f} ms)"
        )
    print(f"  runs after the busy burst: {done} (drained {drain:.1f} s after the last 201)")


def bench_accept_subprocess(root: Path, *, events: int, threads: int) -> None:
    """Accept rate with the server in its own process (`paragon-nb serve`): no shared GIL."""
    project, key = _project(root / "accept-proc", None)
    project.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "paragon_nb.cli", "serve", str(root / "accept-proc")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline() if proc.stdout else "{}")
        url = f"{info['url']}/projects/{info['project_id']}/sdk/events/trigger"
        fig = _post_burst(
            url, sign_user_token(key.private_pem, "idle"), events=events, threads=threads, tag="p"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
    print(
        f"  {'server in its own process':<26} {fig['rate']:8.1f} events/s accepted "
        f"(p50 {fig['p50_ms']:.1f} ms, p95 {fig['p95_ms']:.1f} ms; no enabled workflow)"
    )


def bench_end_to_end(root: Path, *, events: int, threads: int, scale: float) -> None:
    window = MARKETO_WINDOW / scale
    client_limits = Limits(rate_calls=90, rate_window=window, max_concurrency=8)
    with MarketoSandbox(rate_limit=(MARKETO_CALLS, window), max_concurrency=10) as sandbox:
        project, key = _project(root / "e2e", _factory(None, client_limits))
        try:
            _connect(
                project, "u", endpoint=sandbox.endpoint, identity=sandbox.identity, app=sandbox.app
            )
            sandbox.app.reset_stats()
            with project.serve() as handle:
                url = f"{handle.project_url}/sdk/events/trigger"
                start = time.perf_counter()
                accept = _post_burst(
                    url,
                    sign_user_token(key.private_pem, "u"),
                    events=events,
                    threads=threads,
                    tag="e2e",
                )
                project.wait_idle(timeout=600)
                elapsed = time.perf_counter() - start
            runs = project.runs()["status"].value_counts().to_dict()
        finally:
            project.close()
        stats = sandbox.app.stats
    rate = events / elapsed
    bound = MARKETO_CALLS / MARKETO_WINDOW / 2
    print(
        f"End to end into the sandbox, Marketo limits on a window scaled x{scale:g} "
        f"({MARKETO_CALLS} calls / {window:g} s, 10 in flight; client paces at 90 / {window:g} s):"
    )
    print(f"  {events} events accepted at {accept['rate']:.1f}/s; all runs done in {elapsed:.1f} s")
    print(f"  runs: {runs}; sandbox calls {stats.calls_total}, errors {dict(stats.errors_by_code)}")
    print(
        f"  end-to-end {rate:.2f} events/s scaled = {rate / scale:.2f} events/s at Marketo's "
        f"real window; bound of one call pair per event: {bound:.2f} events/s real "
        f"({bound * scale:.1f}/s scaled); client pacing bound {90 / MARKETO_WINDOW / 2:.2f}/s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--events", type=int, default=400, help="events per accept run")
    parser.add_argument("--e2e-events", type=int, default=300, help="events end to end")
    parser.add_argument("--scale", type=float, default=10.0, help="window scale (default 10)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        os.environ["PARAGON_NB_HOME"] = str(Path(tmp) / "home")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        bench_accept(Path(tmp), events=args.events, threads=args.threads)
        bench_accept_subprocess(Path(tmp), events=args.events, threads=args.threads)
        bench_end_to_end(Path(tmp), events=args.e2e_events, threads=args.threads, scale=args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
