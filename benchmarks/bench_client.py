"""Benchmark: MarketoClient vs marketorestpython against a local sandbox over loopback.

Not a test. Starts a MarketoSandbox on 127.0.0.1 with Marketo's limits enforced but the
rate window scaled down (100 calls / 2 s instead of / 20 s, so it runs in about a minute),
10 calls in flight at most and 100 ms latency injected per call. For each contender, on
a fresh sandbox: upsert N leads, create a static list, add every lead to it.

(a) paragon_nb's MarketoClient with its concurrency (default Limits scaled to the same
    window: 90 calls / 2 s, 8 in flight);
(b) marketorestpython 0.5.25 as its README shows: batches of 300, sequential,
    ``mc.host = base_url`` to point it at the sandbox.

    .venv/bin/python benchmarks/bench_client.py            # N = 30,000
    .venv/bin/python benchmarks/bench_client.py --n 3000   # quicker
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from typing import Any

from paragon_nb.marketo.limits import Limits
from paragon_nb.sandbox.server import MarketoSandbox

RATE_CALLS, RATE_WINDOW = 100, 2.0  # Marketo: 100 / 20 s, scaled down 10x
MAX_CONCURRENCY = 10
LATENCY = 0.100


@dataclass
class Run:
    name: str
    n: int
    wall: float
    calls: int
    errors: dict[str, int]
    max_in_flight: int
    max_in_window: int
    leads_ok: bool

    @property
    def leads_per_s(self) -> float:
        return self.n / self.wall

    @property
    def bound_fraction(self) -> float:
        """Achieved call rate / the rate limit (calls per second the server allows)."""
        return (self.calls / self.wall) / (RATE_CALLS / RATE_WINDOW)


def _sandbox() -> MarketoSandbox:
    return MarketoSandbox(
        rate_limit=(RATE_CALLS, RATE_WINDOW),
        max_concurrency=MAX_CONCURRENCY,
        daily_quota=None,
        latency=LATENCY,
    )


def _records(n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {"email": f"{tag}{i}@bench.example", "firstName": f"F{i}", "lastName": "Bench"}
        for i in range(n)
    ]


def _finish(name: str, n: int, wall: float, sandbox: MarketoSandbox, list_id: int) -> Run:
    stats = sandbox.stats
    return Run(
        name=name,
        n=n,
        wall=wall,
        calls=stats.calls_total,
        errors=dict(stats.errors_by_code),
        max_in_flight=stats.max_in_flight,
        max_in_window=stats.max_calls_in_window,
        leads_ok=sandbox.lead_count() == n and len(sandbox.list_members(list_id)) == n,
    )


def run_paragon(n: int) -> Run:
    limits = Limits(rate_calls=90, rate_window=RATE_WINDOW, max_concurrency=8)
    with _sandbox() as sandbox:
        client = sandbox.client(limits=limits)
        records = _records(n, "a")
        start = time.perf_counter()
        results = client.sync_leads(records)
        lst = client.create_list("Bench (a)")
        client.add_to_list(lst.id, [r.id for r in results if r.id is not None])
        wall = time.perf_counter() - start
        client.close()
        return _finish("(a) MarketoClient", n, wall, sandbox, lst.id)


def run_marketorestpython(n: int) -> Run:
    from marketorestpython.client import MarketoClient as MRP

    with _sandbox() as sandbox:
        mc = MRP(
            "000-AAA-000",
            sandbox.client_id,
            sandbox.client_secret,
            max_retry_time=60,
            requests_timeout=(3, 30),
        )
        mc.host = sandbox.base_url  # README-style: no base-url argument, so set the attribute
        records = _records(n, "b")
        start = time.perf_counter()
        ids: list[int] = []
        for i in range(0, n, 300):
            result = mc.execute(
                method="create_update_leads",
                leads=records[i : i + 300],
                action="createOrUpdate",
                lookupField="email",
            )
            ids.extend(r["id"] for r in result if "id" in r)
        created = mc.execute(
            method="create_list", name="Bench (b)", folderId=12, folderType="Folder"
        )
        list_id = created[0]["id"]
        for i in range(0, len(ids), 300):
            mc.execute(method="add_leads_to_list", listId=list_id, id=ids[i : i + 300])
        wall = time.perf_counter() - start
        return _finish("(b) marketorestpython", n, wall, sandbox, list_id)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=30_000, help="leads to upsert (default 30000)")
    args = parser.parse_args(argv)
    logging.getLogger("paragon_nb").setLevel(logging.WARNING)
    print(
        f"sandbox over loopback: rate limit {RATE_CALLS} calls / {RATE_WINDOW:g} s "
        f"(Marketo's {RATE_CALLS} / 20 s scaled down 10x), {MAX_CONCURRENCY} in flight, "
        f"latency {LATENCY * 1000:.0f} ms; N = {args.n:,} leads upserted + added to a list"
    )
    print(
        "(a) paragon_nb MarketoClient, Limits(90 calls / 2 s, 8 in flight); "
        "(b) marketorestpython 0.5.25, batches of 300, sequential, mc.host = sandbox URL"
    )
    runs = [run_paragon(args.n), run_marketorestpython(args.n)]
    base = runs[1].leads_per_s
    head = (
        f"{'client':<24}{'calls':>7}{'wall s':>9}{'leads/s':>10}{'vs (b)':>8}{'of bound':>10}"
        f"{'606':>6}{'615':>6}{'in flight':>11}{'max/window':>12}{'correct':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in runs:
        print(
            f"{r.name:<24}{r.calls:>7}{r.wall:>9.1f}{r.leads_per_s:>10.0f}"
            f"{r.leads_per_s / base:>7.1f}x{r.bound_fraction:>10.0%}"
            f"{r.errors.get('606', 0):>6}{r.errors.get('615', 0):>6}"
            f"{r.max_in_flight:>11}{r.max_in_window:>12}{'yes' if r.leads_ok else 'NO':>9}"
        )
    a, b = runs
    print(f"ratio (a)/(b) leads/s: {a.leads_per_s / b.leads_per_s:.1f}x")
    print(
        f"'of bound' = calls per second / ({RATE_CALLS}/{RATE_WINDOW:g} s); "
        f"'max/window' = most calls the sandbox saw in one {RATE_WINDOW:g} s window"
    )


if __name__ == "__main__":
    main()
