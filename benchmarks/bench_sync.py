"""Benchmark of the DataFrame sync (issues 3 and 8): P1, P2, P3, P4, P6 side by side, one run.

    .venv/bin/python benchmarks/bench_sync.py            # full sizes (P6: 10M rows; long)
    .venv/bin/python benchmarks/bench_sync.py --quick    # small sizes: checks it all runs

- P1: sync ``--rows`` new leads into a new list on a loopback sandbox enforcing a scaled
  Marketo window (100 calls / 2 s, 10 in flight) with ``--p1-latency`` per call: the
  fraction of the rate bound reached (calls / s / 50), and 606/615 answers seen.
- P2: the same job with our sync vs marketorestpython 0.5.25 as its README shows
  (batches of 300, sequential, then add to list), both at 300 ms latency: wall-time ratio.
- P3: re-sync of ``--p3-rows`` unchanged rows with a fresh client: lead reads (the
  journal's verification sample), writes, all calls (describe included), time.
- P4: local preparation (map + validate + coerce + serialise to JSON + the change-detection
  fingerprints, all a real run computes) of ``--p4-rows`` rows vs validating and
  serialising the same rows one by one with a pydantic model.
- P6: peak RSS of a sync streamed from a CSV file of ``--p6-rows`` rows (and of a tenth
  of that, to show it is flat) in a child process against a sandbox process with limits
  off, on the REST and the Bulk Import paths, journal on (as a real run). The CSV files
  are written once into ``--cache-dir`` and reused.

Targets: P1 >= 0.9 with no 606/615; P2 >= 2.5x; P3 one read call, zero writes; P4 >= 300k
rows/s and >= 5x; P6 <= 500 MB and the big run within 20% of the small one, both paths.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.limits import Limits
from paragon_nb.sandbox import SandboxApp
from paragon_nb.sync.plan import make_plan
from paragon_nb.sync.runner import sync_leads

WINDOW = (100, 2.0)  # Marketo's 100 calls / 20 s, scaled down 10x in time
BOUND = WINDOW[0] / WINDOW[1]  # calls per second


def leads_frame(n: int, *, prefix: str = "lead", seed: int = 0) -> pd.DataFrame:
    """``n`` distinct, valid-looking leads with mixed types (as analysts' frames have)."""
    rng = np.random.default_rng(seed)
    ids = pd.Series(np.arange(n)).astype(str)
    firsts = np.array(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Zoë", "José"])
    companies = np.array(["Acme, Inc.", 'The "Best" Co', "Initech", "Globex", "Umbrella"])
    born = pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 18_000, n), unit="D")
    return pd.DataFrame(
        {
            "email": prefix + ids + "@example.com",
            "first_name": firsts[rng.integers(0, len(firsts), n)],
            "last_name": "Name" + ids,
            "company": companies[rng.integers(0, len(companies), n)],
            "number_of_employees": rng.integers(1, 5000, n).astype("float64"),
            "annual_revenue": np.round(rng.random(n) * 1e6, 2),
            "unsubscribed": np.where(rng.random(n) < 0.5, "yes", "no"),
            "date_of_birth": born.strftime("%Y-%m-%d"),
        }
    )


# ----------------------------------------------------------------------------- P1 / P3


@contextmanager
def sandbox_process(home: Path, *, latency: float, rate: str = "100/2") -> Iterator[dict]:
    """A sandbox in its own process (so its CPU does not compete with ours for the GIL)."""
    env = {**os.environ, "PARAGON_NB_HOME": str(home)}
    concurrency = "0" if rate == "0" else "10"
    cmd = [sys.executable, "-m", "paragon_nb.cli", "sandbox", "--memory", "--rate-limit", rate,
           "--max-concurrency", concurrency, "--daily-quota", "0",
           "--latency", str(latency * 1000)]  # fmt: skip
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield json.loads(server.stdout.readline())
    finally:
        server.terminate()
        server.wait(timeout=30)


class _Timing(httpx.BaseTransport):
    """Records when each REST call leaves (identity excluded), for window statistics."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.starts: list[float] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/identity/" not in request.url.path:
            self.starts.append(time.perf_counter())
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def peak_in_window(self, window: float) -> int:
        starts = sorted(self.starts)
        best, lo = 0, 0
        for hi, t in enumerate(starts):
            while t - starts[lo] >= window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best


def _client(info: dict, **kwargs: Any) -> MarketoClient:
    return MarketoClient(info["endpoint"], info["client_id"], info["client_secret"],
                         identity=info["identity"], **kwargs)  # fmt: skip


WRITE_PATHS = ("/rest/v1/leads.json", "/rest/v1/lists/{id}/leads.json", "/bulk/v1/leads.json")


def p1_p3(rows: int, latency: float, home: Path) -> dict[str, Any]:
    df = leads_frame(rows, prefix="p1-")
    # One integration alone on the instance may use the whole window (the limiter counts a
    # call's window place from its completion, so the server never sees more than 100).
    limits = Limits(rate_calls=WINDOW[0], rate_window=WINDOW[1], max_concurrency=8)
    journal = str(home / "p1.sqlite3")
    with sandbox_process(home / "p1", latency=latency) as info:
        timing = _Timing()
        client = _client(info, limits=limits, transport=timing)
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = sync_leads(df, client, list="P1", create_list=True, progress=False,
                            journal=journal)  # fmt: skip
        elapsed = time.perf_counter() - t0
        # This process's CPU (the sandbox runs in its own): whether the client could keep
        # up with the bound on an idle core, whatever the machine's load did to the time.
        cpu = time.process_time() - cpu0
        stats = client.stats
        calls = stats.calls
        first_write = sorted(timing.starts)[4] if len(timing.starts) > 4 else t0
        send_s = time.perf_counter() - first_write
        out: dict[str, Any] = {
            "rows": rows,
            "latency_ms": latency * 1000,
            "counts": result.counts,
            "calls": calls,
            "seconds": elapsed,
            "fraction": calls / elapsed / BOUND,
            "send_fraction": (calls - 4) / send_s / BOUND,
            "peak_window": timing.peak_in_window(WINDOW[1]),
            "cpu_ms_per_call": cpu / calls * 1000,
            "cpu_at_bound": cpu / calls * BOUND,
            "606": stats.codes.get("606", 0),
            "615": stats.codes.get("615", 0),
            "members": len(client.list_members(result.list_id, fields=["id"])),
        }
    return out


def p3(rows: int, home: Path) -> dict[str, Any]:
    df = leads_frame(rows, prefix="p3-")
    journal = str(home / "p3.sqlite3")
    with sandbox_process(home / "p3", latency=0.0, rate="0") as info:
        unlimited = Limits(rate_calls=1_000_000, rate_window=1.0)
        first = sync_leads(df, _client(info, limits=unlimited), list="P3", create_list=True,
                           progress=False, journal=journal)  # fmt: skip
        assert first.counts == {"created": rows}, first.counts
        client = _client(info, limits=unlimited)
        t0 = time.perf_counter()
        again = sync_leads(df, client, list="P3", progress=False, journal=journal)
        seconds = time.perf_counter() - t0
        stats = client.stats
    return {
        "rows": rows,
        "seconds": seconds,
        "calls": stats.calls,
        "reads": stats.per_path.get("GET /rest/v1/leads.json", 0),
        "writes": sum(stats.per_path.get(f"POST {p}", 0) for p in WRITE_PATHS),
        "counts": again.counts,
    }


# ----------------------------------------------------------------------------- P2


def p2(rows: int, latency: float, home: Path) -> dict[str, Any]:
    from marketorestpython.client import MarketoClient as MRP

    df = leads_frame(rows, prefix="p2-")
    with sandbox_process(home / "p2a", latency=latency) as info:
        client = _client(info, limits=Limits(rate_calls=95, rate_window=WINDOW[1]))
        t0 = time.perf_counter()
        ours = sync_leads(df, client, list="P2", create_list=True, progress=False,
                          journal=str(home / "p2.sqlite3"))  # fmt: skip
        ours_s = time.perf_counter() - t0
        assert ours.counts == {"created": rows}, ours.counts
    with sandbox_process(home / "p2b", latency=latency) as info:
        helper = _client(info)
        list_id = helper.create_list("P2").id
        mc = MRP("000-AAA-000", info["client_id"], info["client_secret"], max_retry_time=60,
                 requests_timeout=(3, 60))  # fmt: skip
        mc.host = info["endpoint"].removesuffix("/rest")
        # The README's way: records as dicts, batches of 300, one call after another.
        records = df.rename(
            columns={"first_name": "firstName", "last_name": "lastName",
                     "number_of_employees": "numberOfEmployees",
                     "annual_revenue": "annualRevenue", "date_of_birth": "dateOfBirth"}
        ).to_dict("records")  # fmt: skip
        for r in records:
            r["unsubscribed"] = r["unsubscribed"] == "yes"
        t0 = time.perf_counter()
        ids: list[int] = []
        for i in range(0, len(records), 300):
            res = mc.execute(method="create_update_leads", leads=records[i : i + 300],
                             action="createOrUpdate", lookupField="email")  # fmt: skip
            ids.extend(r["id"] for r in res if "id" in r)
        for i in range(0, len(ids), 300):
            mc.execute(method="add_leads_to_list", listId=list_id, id=ids[i : i + 300])
        theirs_s = time.perf_counter() - t0
        assert len(helper.list_members(list_id, fields=["id"])) == rows
    return {"rows": rows, "ours_s": ours_s, "theirs_s": theirs_s, "ratio": theirs_s / ours_s}


# ----------------------------------------------------------------------------- P4


def p4(rows: int, repeats: int = 3) -> dict[str, Any]:
    """Best of ``repeats`` for both sides, interleaved: on a shared machine the load
    changes by the second, and the best run is the one least disturbed by it."""
    from pydantic import BaseModel, Field, ValidationError, field_validator

    from paragon_nb._email import EMAIL_PATTERN

    fields = SandboxApp().client().describe()
    df = leads_frame(rows, prefix="p4-")

    def ours() -> tuple[float, float, float]:
        # What a real run computes before sending: mapping, validation, coercion, the
        # fingerprints (change detection) and the batch bodies sent as they are.
        c0, t0 = time.process_time(), time.perf_counter()
        plan = make_plan(df, fields, journal=None, fingerprint=True)
        fingerprinted = time.perf_counter()
        n_bytes = 0
        for _batch, text in plan.iter_batches(plan.send):
            n_bytes += len(text)
        assert len(plan.send) == rows
        return time.perf_counter() - t0, fingerprinted - t0, time.process_time() - c0

    class Lead(BaseModel):
        email: str = Field(pattern=f"^{EMAIL_PATTERN}$", max_length=255)
        firstName: str | None = Field(None, max_length=255)
        lastName: str | None = Field(None, max_length=255)
        company: str | None = Field(None, max_length=255)
        numberOfEmployees: int | None = None
        annualRevenue: float | None = None
        unsubscribed: bool | None = None
        dateOfBirth: date | None = None

        @field_validator("email", mode="before")
        @classmethod
        def _trim(cls, v: Any) -> Any:
            return v.strip().lower() if isinstance(v, str) else v

    names = {
        "first_name": "firstName",
        "last_name": "lastName",
        "company": "company",
        "number_of_employees": "numberOfEmployees",
        "annual_revenue": "annualRevenue",
        "unsubscribed": "unsubscribed",
        "date_of_birth": "dateOfBirth",
        "email": "email",
    }

    def theirs() -> tuple[float, float]:
        c0, t0 = time.process_time(), time.perf_counter()
        ok = 0
        batch: list[str] = []
        for rec in df.to_dict("records"):
            clean = {names[k]: (None if v is None or v != v or v == "" else v)
                     for k, v in rec.items()}  # fmt: skip
            try:
                batch.append(Lead.model_validate(clean).model_dump_json(exclude_none=True))
                ok += 1
            except ValidationError:
                pass
            if len(batch) == 300:
                body = "[" + ",".join(batch) + "]"
                batch = []
                del body
        assert ok == rows
        return time.perf_counter() - t0, time.process_time() - c0

    runs = []
    for _ in range(repeats):
        runs.append((ours(), theirs()))
    (ours_s, fingerprint_s, _), _ = min(runs, key=lambda r: r[0][0])
    theirs_s = min(r[1][0] for r in runs)
    # CPU time (all threads) is steadier than wall time on a loaded machine.
    ours_cpu = min(r[0][2] for r in runs)
    theirs_cpu = min(r[1][1] for r in runs)
    return {
        "rows": rows,
        "repeats": repeats,
        "ours_s": ours_s,
        "ours_rps": rows / ours_s,
        "pydantic_s": theirs_s,
        "pydantic_rps": rows / theirs_s,
        "ratio": theirs_s / ours_s,
        "fingerprint_s": fingerprint_s,
        "ours_cpu_300k": ours_cpu * 300_000 / rows,
        "pydantic_cpu_300k": theirs_cpu * 300_000 / rows,
        "cpu_ratio": theirs_cpu / ours_cpu,
    }


# ----------------------------------------------------------------------------- P6


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _hwm() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def write_csv(path: Path, rows: int, *, chunk: int = 500_000) -> None:
    """A CSV of ``rows`` leads, written chunk by chunk."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        for start in range(0, rows, chunk):
            part = leads_frame(min(chunk, rows - start), prefix=f"p6-{start}-", seed=start)
            part.to_csv(fh, index=False, header=start == 0)


def p6_child(rows: int, path: str, method: str) -> None:
    """Runs in a child process: stream the CSV into the sandbox, print the memory figures."""
    client = MarketoClient.from_env(limits=Limits(rate_calls=1_000_000, rate_window=1.0))
    client.describe()
    baseline = _rss()
    t0 = time.perf_counter()
    # The journal is on, as in a real run (journal.sqlite3 under this child's home).
    result = sync_leads(path, client, list="P6", create_list=True, progress=False,
                        method=method)  # fmt: skip
    elapsed = time.perf_counter() - t0
    # VmHWM: this process's peak RSS. (ru_maxrss survives exec, so a child forked from a
    # big parent would report the parent's size.)
    peak = _hwm()
    print(json.dumps({"rows": rows, "baseline": baseline, "peak": peak, "seconds": elapsed,
                      "counts": result.counts}))  # fmt: skip


def cached_csv(rows: int, cache: Path) -> Path:
    """The P6 input of ``rows`` rows, written once into ``cache`` (10M rows take minutes
    to write and are the same every run); a half-written file is never used."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"p6-{rows}-v1.csv"
    if not path.exists():
        part = path.with_suffix(f".{os.getpid()}.part")
        write_csv(part, rows)
        part.replace(path)
    return path


def p6(rows: int, home: Path, method: str, cache: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": rows, "method": method}
    for label, n in (("small", max(1, rows // 10)), ("big", rows)):
        csv = cached_csv(n, cache)
        with sandbox_process(home / f"p6-{method}-{label}", latency=0.0, rate="0") as info:
            child_env = {**os.environ, "PARAGON_NB_HOME": str(home / f"p6-{method}-{label}"),
                         **{f"MARKETO_{k.upper()}": v for k, v in info.items()}}  # fmt: skip
            run = subprocess.run(
                [sys.executable, __file__, "--p6-child", str(n), str(csv), method],
                env=child_env, capture_output=True, text=True, check=True,
            )  # fmt: skip
        data = json.loads(run.stdout.strip().splitlines()[-1])
        out[label] = data
        assert sum(data["counts"].values()) == n, data["counts"]
    out["peak"] = out["big"]["peak"]
    out["flat"] = out["big"]["peak"] / out["small"]["peak"]
    return out


# ----------------------------------------------------------------------------- table


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a check that all runs")
    ap.add_argument("--rows", type=int, default=30_000, help="P1/P2 rows (default 30000)")
    ap.add_argument("--p1-latency", type=float, default=0.05, help="P1 latency s (default 0.05)")
    ap.add_argument("--p2-latency", type=float, default=0.3, help="P2 latency s (default 0.3)")
    ap.add_argument("--p3-rows", type=int, default=100_000, help="P3 rows (default 100000)")
    ap.add_argument("--p4-rows", type=int, default=1_000_000, help="P4 rows (default 1M)")
    ap.add_argument("--p6-rows", type=int, default=10_000_000, help="P6 rows (default 10M)")
    ap.add_argument("--cache-dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "paragon-nb-bench",
                    help="where the P6 CSV files are kept between runs")  # fmt: skip
    ap.add_argument("--only", default="P1,P2,P3,P4,P6", help="comma list of P1,P2,P3,P4,P6")
    ap.add_argument("--p6-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.p6_child:
        p6_child(int(args.p6_child[0]), args.p6_child[1], args.p6_child[2])
        return 0
    if args.quick:
        args.rows, args.p3_rows, args.p4_rows, args.p6_rows = 1_500, 3_000, 30_000, 20_000
    only = {s.strip().upper() for s in args.only.split(",")}
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PARAGON_NB_HOME"] = tmp
        tmpdir = Path(tmp)
        if "P1" in only:
            r = p1_p3(args.rows, args.p1_latency, tmpdir)
            lines.append(("P1", f"{r['rows']:,} new leads -> list, 100 calls/2 s, "
                          f"{r['latency_ms']:.0f} ms latency",
                          f"{r['fraction']:.2f} of bound end to end ({r['calls']} calls in "
                          f"{r['seconds']:.1f} s); {r['send_fraction']:.2f} while sending; "
                          f"peak {r['peak_window']} calls in a 2 s window; client CPU "
                          f"{r['cpu_ms_per_call']:.1f} ms/call ({r['cpu_at_bound']:.0%} of a "
                          "core at the bound); "
                          f"606={r['606']} 615={r['615']}",
                          ">= 0.9, no 606/615",
                          r["fraction"] >= 0.9 and r["606"] == 0 and r["615"] == 0))  # fmt: skip
        if "P3" in only:
            r = p3(args.p3_rows, tmpdir)
            lines.append(("P3", f"re-sync of {r['rows']:,} unchanged rows (fresh client)",
                          f"{r['reads']} lead read(s), {r['writes']} writes, {r['calls']} calls "
                          f"in all (describe, list lookup) in {r['seconds']:.2f} s; "
                          f"{r['counts']}",
                          "1 read (verification), 0 writes",
                          r["reads"] == 1 and r["writes"] == 0))  # fmt: skip
        if "P2" in only:
            r = p2(args.rows, args.p2_latency, tmpdir)
            lines.append(("P2", f"{r['rows']:,} leads vs marketorestpython, "
                          f"{args.p2_latency * 1000:.0f} ms latency",
                          f"{r['ratio']:.1f}x faster ({r['ours_s']:.1f} s vs "
                          f"{r['theirs_s']:.1f} s)", ">= 2.5x", r["ratio"] >= 2.5))  # fmt: skip
        if "P4" in only:
            r = p4(args.p4_rows)
            lines.append(("P4", f"prepare {r['rows']:,} rows (map+validate+coerce+"
                          "fingerprint+JSON)",
                          f"best of {r['repeats']}: {r['ours_rps']:,.0f} rows/s "
                          f"({r['ours_s']:.1f} s, of which plan "
                          f"with fingerprints {r['fingerprint_s']:.1f} s); pydantic per row "
                          f"{r['pydantic_rps']:,.0f} rows/s: {r['ratio']:.1f}x; CPU per "
                          f"300k rows {r['ours_cpu_300k']:.2f} s vs "
                          f"{r['pydantic_cpu_300k']:.2f} s: {r['cpu_ratio']:.1f}x",
                          ">= 300k rows/s, >= 5x",
                          r["ours_rps"] >= 300_000 and r["ratio"] >= 5))  # fmt: skip
        if "P6" in only:
            for method in ("rest", "bulk"):
                r = p6(args.p6_rows, tmpdir, method, args.cache_dir)
                small, big = r["small"], r["big"]
                lines.append(("P6", f"peak RSS, {r['rows']:,} rows streamed from CSV, "
                              f"{method} path",
                              f"{_mb(big['peak'])} ({big['seconds']:.0f} s); "
                              f"{small['rows']:,} rows: {_mb(small['peak'])}; "
                              f"ratio {r['flat']:.2f}",
                              "<= 500 MB, within 20% of the small run",
                              big["peak"] <= 500 * 2**20 and r["flat"] <= 1.2))  # fmt: skip
    width = [max(len(str(line[i])) for line in lines) for i in range(4)]
    header = ("", "job", "measured", "target")
    print(" | ".join(h.ljust(w) for h, w in zip(header, width, strict=False)) + " | ok")
    print("-+-".join("-" * w for w in width) + "-+---")
    for line in lines:
        cells = " | ".join(str(c).ljust(w) for c, w in zip(line[:4], width, strict=True))
        print(f"{cells} | {'yes' if line[4] else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
