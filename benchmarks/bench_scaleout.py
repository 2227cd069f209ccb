"""App Events per second with 1, 2 and 4 worker processes (issue 11; prints one table).

What a real deployment does is in the figures: ``paragon-nb serve PROJECT --workers 0``
accepts the events over HTTP in its own process (RS256 token checks, durable accept); W
worker processes (``runtime.worker.run_worker``, what ``paragon-nb worker`` runs) claim the
runs with leases and send every Marketo call through the project's shared budget; the
sandboxes (in this process) enforce the window with 50 ms latency per call.

Scenarios:
  (a) one Marketo instance at the real window (100 calls / 20 s, 10 in flight; the client
      paces at 90 / 20 s, 8 in flight): bound 750 events/s (upsert + list add, 300 per call);
  (b) 20 instances (20 users, 20 sandboxes) at a scaled window (100 calls / 2 s): the
      Marketo bound is far away, so this measures CPU (2 cores here) against processes.

Per row: accepted events/s (serve, first post -> last 201, workers running), end-to-end
events/s (first post -> last run done), drain events/s (the same burst queued first with
no worker, then W workers started: their rate alone), calls per event (end to end; where
the window binds, calls per second are fixed, so this follows the burst's duration), the
fill of the upsert batches (records per call, end to end and drain: how well one
instance's writes are batched; per-instance affinity keeps it from falling with more
workers), 606/615 answered by the sandboxes (target 0) and the most calls one instance saw
in a window. With no run ending for ``--stall`` seconds (or a process gone) it prints what
is stuck (runs by holder, the Marketo work queue, instance leases) and exits 3.

    python benchmarks/bench_scaleout.py            # the full table (~15 min on 2 cores)
    python benchmarks/bench_scaleout.py --quick    # small bursts (~3 min)
    python benchmarks/bench_scaleout.py --store sqlite   # a project folder instead of PostgreSQL
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from event_burst import EVENT, lead, post_burst

from paragon_nb.runtime.examples import SEED_WORKFLOW_YAML
from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.server import MarketoSandbox
from paragon_nb.settings import ENV_SECRET_KEY
from paragon_nb.tokens import sign_user_token

WORKFLOW = "Sync new leads to Marketo"
LATENCY = 0.05
REAL_WINDOW, SCALED_WINDOW = 20.0, 2.0
BOUND = 100 / REAL_WINDOW / 2 * 300  # one instance: upsert + list add, 300 leads per call
WORKER_COUNTS = (1, 2, 4)


STORES = {
    "postgres": "PostgreSQL project (a throwaway server on 127.0.0.1)",
    "sqlite": "SQLite project folder",
}


def _child(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


class Stalled(RuntimeError):
    """The burst stopped making progress; the message says what is stuck."""


class Setup:
    """Fresh sandboxes (fresh windows) and a fresh project with one user per sandbox."""

    def __init__(
        self, place: Callable[[str], str], name: str, *, instances: int, window: float
    ) -> None:
        self.window = window
        self.sandboxes = [
            MarketoSandbox(rate_limit=(100, window), max_concurrency=10, latency=LATENCY).start()
            for _ in range(instances)
        ]
        self.path = place(name)  # a folder, or a postgresql:// URL
        project = Project.create(name, path=self.path)
        key = project.generate_signing_key()
        project.define_app_event(EVENT, example=lead("x", 0))
        project.add_workflow(SEED_WORKFLOW_YAML)
        project.deploy(WORKFLOW)
        self.tokens = []
        for i, sandbox in enumerate(self.sandboxes):
            sub = f"user-{i}"
            listing = sandbox.app.create_list("Newsletter")
            project.connect_user(
                sub, "marketo", endpoint=sandbox.endpoint, identity=sandbox.identity,
                client_id=sandbox.client_id, client_secret=sandbox.client_secret,
            )  # fmt: skip
            project.set_workflow_settings(sub, WORKFLOW, {"marketo_list": listing["id"]})
            project.enable_workflow(sub, WORKFLOW)
            self.tokens.append(sign_user_token(key.private_pem, sub, ttl=7200))
        project.close()
        self.serve = _child(["-m", "paragon_nb.cli", "serve", self.path, "--workers", "0"])
        info = json.loads(self.serve.stdout.readline() if self.serve.stdout else "{}")
        self.url = f"{info['url']}/projects/{info['project_id']}/sdk/events/trigger"
        self.reader = Project.open(self.path, resume=False, execute_runs=False)
        self.workers: list[subprocess.Popen[str]] = []
        for sandbox in self.sandboxes:
            sandbox.app.reset_stats()

    def start_workers(self, count: int) -> None:
        for _ in range(count):
            proc = _child([__file__, "--worker-child", self.path, str(self.window)])
            self.workers.append(proc)
        for proc in self.workers:  # each prints a line once it is claiming
            assert proc.stdout is not None and proc.stdout.readline()

    def done(self) -> tuple[int, float | None]:
        row = self.reader._store.one(
            "SELECT COUNT(*) AS n, MAX(ended) AS last FROM runs WHERE status IN "
            "('succeeded', 'failed')"
        )
        return int(row["n"]), row["last"]

    def first_started(self) -> float:
        return float(self.reader._store.one("SELECT MIN(started) AS t FROM runs")["t"])

    def wait_done(self, count: int, *, stall: float) -> float:
        """When the ``count``-th run ended (epoch seconds). Stalled (with what is stuck) when
        no run ended for ``stall`` seconds, or a worker or the server process exited."""
        seen, progress_at = -1, time.time()
        while True:
            done, last = self.done()
            if done >= count:
                assert last is not None
                return float(last)
            now = time.time()
            if done != seen:
                seen, progress_at = done, now
            gone = [p for p in [self.serve, *self.workers] if p.poll() is not None]
            if gone or now - progress_at >= stall:
                exited = ", ".join(f"pid {p.pid} rc={p.returncode}" for p in gone)
                why = f"exited: {exited}" if gone else f"no run ended for {now - progress_at:.0f} s"
                raise Stalled(f"{done} of {count} runs ended; {why}\n{self.diagnose()}")
            time.sleep(0.05)

    def diagnose(self) -> str:
        """What the store holds while runs are stuck: runs by status and holder, the
        Marketo work queue, the instance leases and the workers' heartbeats."""
        now = time.time()
        store = self.reader._store
        lines = ["runs (status, holder, lease left s, count):"]
        for r in store.all(
            "SELECT status, owner, MIN(lease_until) AS lease, COUNT(*) AS n FROM runs "
            "WHERE status IN ('queued', 'running', 'waiting') GROUP BY status, owner "
            "ORDER BY n DESC LIMIT 20"
        ):
            lease = "-" if r["lease"] is None else f"{r['lease'] - now:.0f}"
            lines.append(f"  {r['status']:<8} {r['owner']} {lease} {r['n']}")
        w = store.one(
            "SELECT COUNT(*) AS n, SUM(CASE WHEN batch_id IS NULL THEN 0 ELSE 1 END) AS sent, "
            "MAX(attempts) AS attempts, MAX(not_before) AS not_before FROM marketo_work"
        )
        lines.append(
            f"marketo_work: {w['n']} records, {w['sent'] or 0} in a batch that left, "
            f"most attempts {w['attempts']}, latest not_before {w['not_before']}"
        )
        for r in store.all("SELECT instance, owner, lease_until FROM instance_leases"):
            lines.append(f"instance lease: {r['instance']} -> {r['owner']} "
                         f"({r['lease_until'] - now:.0f} s left)")  # fmt: skip
        for r in store.all("SELECT owner, lease_until FROM workers"):
            lines.append(f"worker: {r['owner']} ({r['lease_until'] - now:.0f} s left)")
        stats = self.stats()
        lines.append(f"sandboxes: {stats}")
        return "\n".join(lines)

    def batch_fill(self) -> float:
        """Records per upsert call: the mean size of the batches the runs' upsert steps went
        in (one row per batch, from the step records; 300 at most)."""
        row = self.reader._store.one(
            "SELECT AVG(batch_size) AS fill FROM (SELECT DISTINCT batch_id, batch_size "
            "FROM run_steps WHERE step_id = 'upsert_lead' AND batch_id IS NOT NULL) AS batches"
        )
        return float(row["fill"] or 0.0)

    def stats(self) -> dict[str, Any]:
        all_stats = [s.app.stats for s in self.sandboxes]
        return {
            "calls": sum(s.calls_total for s in all_stats),
            "throttled": sum(
                s.errors_by_code.get("606", 0) + s.errors_by_code.get("615", 0) for s in all_stats
            ),
            "max_window": max(s.max_calls_in_window for s in all_stats),
            "max_in_flight": max(s.max_in_flight for s in all_stats),
        }

    def close(self) -> None:
        self.reader.close()
        _stop([*self.workers, self.serve])
        for sandbox in self.sandboxes:
            sandbox.stop()


def bench(
    place: Callable[[str], str], name: str, *, workers: int, instances: int, window: float,
    events: int, threads: int, stall: float,
) -> dict[str, Any]:  # fmt: skip
    row: dict[str, Any] = {}
    setup = Setup(place, f"{name}_e2e", instances=instances, window=window)
    try:  # end to end: workers running while the burst arrives
        setup.start_workers(workers)
        first, last_201 = post_burst(
            setup.url, setup.tokens, events=events, threads=threads, tag="e"
        )
        last = setup.wait_done(events, stall=stall)
        row["accepted"] = events / (last_201 - first)
        row["e2e"] = events / (last - first)
        row.update(setup.stats())
        row["calls_per_event"] = row["calls"] / events
        row["fill_e2e"] = setup.batch_fill()
    finally:
        setup.close()
    setup = Setup(place, f"{name}_drain", instances=instances, window=window)
    try:  # the workers alone: the burst is queued first
        post_burst(setup.url, setup.tokens, events=events, threads=threads, tag="d")
        setup.start_workers(workers)
        last = setup.wait_done(events, stall=stall)  # from the first run started:
        row["drain"] = events / (last - setup.first_started())
        drained = setup.stats()
        row["fill_drain"] = setup.batch_fill()
        row["throttled"] += drained["throttled"]
        row["max_window"] = max(row["max_window"], drained["max_window"])
    finally:
        setup.close()
    return row


def _fmt(value: float | None, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small bursts")
    parser.add_argument("--events", type=int, help="events per burst (both scenarios)")
    parser.add_argument(
        "--store",
        choices=("postgres", "sqlite"),
        default="postgres",
        help="where the project lives: a throwaway PostgreSQL server (default; what several "
        "machines share) or a SQLite project folder",
    )
    parser.add_argument("--scenarios", default="a,b", help="which scenarios to run (default a,b)")
    parser.add_argument(
        "--stall",
        type=float,
        default=90.0,
        metavar="S",
        help="stop (exit 3, printing what is stuck) when no run ended for S seconds or a "
        "process exited (default 90: a dead worker's leases run out after 30)",
    )
    parser.add_argument(
        "--worker-child", nargs=2, metavar=("PATH", "WINDOW"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    # SIGTERM stops the bench like Ctrl-C: the servers, workers and PostgreSQL it started stop
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.worker_child:
        _worker_child(args.worker_child[0], float(args.worker_child[1]))
        return
    one = args.events or (1_500 if args.quick else 15_000)
    many = args.events or (2_000 if args.quick else 20_000)
    threads = 16
    scenarios = [
        ("a", "1 instance, real window 100/20 s", 1, REAL_WINDOW, one),
        ("b", "20 instances, scaled window 100/2 s", 20, SCALED_WINDOW, many),
    ]
    scenarios = [s for s in scenarios if s[0] in args.scenarios.split(",")]
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {STORES[args.store]}; "
        f"sandboxes: 100 calls / window, 10 in flight, {LATENCY * 1000:.0f} ms per call; "
        f"client paces at 90 / window, 8 in flight (one budget per instance, in the store); "
        f"{threads} HTTP client threads; serve --workers 0 + W worker processes",
        flush=True,
    )
    results: dict[tuple[str, int], dict[str, Any]] = {}
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-scaleout-"))
        if args.store == "postgres":
            from paragon_nb.testing.postgres import TemporaryPostgres

            server = stack.enter_context(TemporaryPostgres())
            os.environ.setdefault(ENV_SECRET_KEY, Fernet.generate_key().decode())
            place: Callable[[str], str] = server.create_database
        else:
            place = lambda name: str(Path(tmp) / name)  # noqa: E731
        for key, _title, instances, window, events in scenarios:
            for w in WORKER_COUNTS:
                try:
                    results[key, w] = bench(
                        place, f"{key}{w}", workers=w, instances=instances, window=window,
                        events=events, threads=threads, stall=args.stall,
                    )  # fmt: skip
                except Stalled as exc:
                    print(f"STALLED: ({key}) {w} worker(s): {exc}", file=sys.stderr, flush=True)
                    raise SystemExit(3) from None
                print(f"  done: ({key}) {w} worker(s): {results[key, w]}", file=sys.stderr)
    header = (
        f"{'scenario':<40}{'W':>3}{'events':>8}{'accepted/s':>12}{'e2e/s':>9}{'drain/s':>9}"
        f"{'x1 drain':>9}{'calls/ev':>10}{'fill e2e':>10}{'fill drain':>11}{'606+615':>9}"
        f"{'max/window':>12}"
    )
    print(header)
    print("-" * len(header))
    for key, title, _instances, _window, events in scenarios:
        base = results[key, 1].get("drain")
        for w in WORKER_COUNTS:
            r = results[key, w]
            ratio = r["drain"] / base if r.get("drain") and base else None
            print(
                f"{'(' + key + ') ' + title:<40}{w:>3}{events:>8,}{_fmt(r['accepted']):>12}"
                f"{_fmt(r['e2e']):>9}{_fmt(r['drain']):>9}{_fmt(ratio, '.2f') + 'x':>9}"
                f"{r['calls_per_event']:>10.4f}{r['fill_e2e']:>10.1f}{r['fill_drain']:>11.1f}"
                f"{r['throttled']:>9}{r['max_window']:>12}"
            )
    print(
        f"bound (a): {BOUND:,.0f} events/s per instance at Marketo's window (the client's 90 "
        f"calls / 20 s: {BOUND * 0.9:,.0f}); 'x1 drain' = drain rate / the 1-worker drain rate; "
        "'fill' = records per upsert call (<= 300)"
    )


def _worker_child(path: str, window: float) -> None:
    """One worker process (what ``paragon-nb worker`` runs), its clients pacing at the
    scenario's window."""
    from paragon_nb._serving import until_signalled
    from paragon_nb.marketo.client import MarketoClient
    from paragon_nb.marketo.limits import Limits
    from paragon_nb.runtime.worker import run_worker

    def factory(creds: Any) -> MarketoClient:
        return MarketoClient(
            creds.endpoint, creds.client_id, creds.client_secret, identity=creds.identity,
            limits=Limits(rate_calls=90, rate_window=window, max_concurrency=8),
        )  # fmt: skip

    with until_signalled() as stop:
        run_worker(
            path, stop=stop, client_factory=factory,
            on_ready=lambda project: print("ready", flush=True),
        )  # fmt: skip


if __name__ == "__main__":
    main()
