"""End-to-end runs of the seed workflow against an in-process sandbox with Marketo's real
limits (100 calls / 20 s, 10 in flight) and a per-call latency, with and without batching of
concurrent runs' Marketo writes (runtime.batcher). Prints events/s and Marketo calls.

    python benchmarks/bench_runs.py --events 300 --workers 50 --latency 0.1
    python benchmarks/bench_runs.py --events 60 --workers 50 --latency 0.1 --no-coalesce

Without coalescing every event costs one upsert and one list add, so the rate limit bounds the
flow at 100 / 20 / 2 = 2.5 events/s (2.25/s with the client's 90-call pacing).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from paragon_nb.marketo.client import MarketoClient
from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.app import LOCAL_ORIGIN, SandboxApp

SPEC = """\
name: Sync new leads to Marketo
trigger: {app_event: Lead Created}
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
WF = "Sync new leads to Marketo"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--workers", type=int, default=50, help="runs at once (default 50)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per Marketo call")
    parser.add_argument("--no-coalesce", action="store_true", help="one call per run and step")
    args = parser.parse_args()

    app = SandboxApp(latency=args.latency)  # Marketo's limits: 100 calls / 20 s, 10 in flight
    list_id = app.create_list("Newsletter")["id"]

    def factory(creds: object) -> MarketoClient:
        return MarketoClient(
            creds.endpoint,  # type: ignore[attr-defined]
            creds.client_id,  # type: ignore[attr-defined]
            creds.client_secret,  # type: ignore[attr-defined]
            identity=creds.identity,  # type: ignore[attr-defined]
            transport=app.transport(),
        )

    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(
            "Bench",
            path=Path(tmp) / "bench",
            client_factory=factory,
            workers=args.workers,
            coalesce=not args.no_coalesce,
        )
        project.define_app_event("Lead Created", example={"email": "a@x.com", "first_name": "A"})
        project.add_workflow(SPEC)
        project.deploy(WF)
        project.connect_user(
            "user-1",
            "marketo",
            endpoint=f"{LOCAL_ORIGIN}/rest",
            identity=f"{LOCAL_ORIGIN}/identity",
            client_id=app.client_id,
            client_secret=app.client_secret,
        )
        project.set_workflow_settings("user-1", WF, {"marketo_list": list_id})
        project.enable_workflow("user-1", WF)
        app.reset_stats()
        start = time.perf_counter()
        for i in range(args.events):
            project.trigger_event(
                "user-1", "Lead Created", {"email": f"lead{i}@example.com", "first_name": "L"}
            )
        project.wait_idle(3600)
        elapsed = time.perf_counter() - start
        statuses = project.runs()["status"].value_counts().to_dict()
        project.close()

    calls = app.stats.calls_total
    mode = "off" if args.no_coalesce else "on"
    print(
        f"coalescing {mode}, {args.workers} workers, {args.latency * 1000:.0f} ms per call, "
        f"Marketo limits 100 calls / 20 s:"
    )
    print(f"  {args.events} events in {elapsed:.1f} s = {args.events / elapsed:.1f} events/s")
    print(f"  runs {statuses}; list members {len(app.list_members(list_id))}")
    print(f"  Marketo calls {calls} ({calls / args.events:.2f} per event; 2.00 without batching)")
    print("  bound of one call pair per event: 2.50 events/s (2.25/s at the client's pacing)")


if __name__ == "__main__":
    main()
