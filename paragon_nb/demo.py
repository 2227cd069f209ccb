"""``./dev demo``: a short end-to-end run against the local Marketo, no credentials needed.

It starts a sandbox on 127.0.0.1 (Marketo's limits enforced), then does what the tutorial's
workflow does for a handful of leads: upsert them, create a static list, add them to it,
read the list back, and prints what happened and how many API calls it cost.

    python -m paragon_nb.demo            # or: ./dev demo
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from paragon_nb.marketo.client import MarketoClient
from paragon_nb.sandbox.server import MarketoSandbox

__all__ = ["main", "run_demo"]

LEADS = [
    {
        "email": "bowie@useparagon.com",
        "firstName": "Bowie",
        "lastName": "Foo",
        "company": "Paragon",
        "title": "Chief Dog Officer",
    },
    {
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "company": "Analytical Engines",
        "title": "Analyst",
    },
    {
        "email": "grace@example.com",
        "firstName": "Grace",
        "lastName": "Hopper",
        "company": "Navy",
        "title": "Rear Admiral",
    },
    {"email": "not-an-email", "firstName": "Broken", "lastName": "Row"},
]


def run_demo(client: MarketoClient, *, list_name: str = "Demo: new leads", out=print) -> int:
    """Upsert :data:`LEADS`, add the synced ones to ``list_name``; returns the member count."""
    out(f"Marketo at {client.endpoint} (client id {client.client_id})")
    results = client.sync_leads(LEADS, action="createOrUpdate", lookup_field="email")
    for lead, res in zip(LEADS, results, strict=True):
        detail = f"id {res.id}" if res.id is not None else f"{res.reason_code}: {res.reason}"
        out(f"  {lead['email']:<24} {res.status.value:<8} {detail}")
    lead_ids = [r.id for r in results if r.id is not None]

    static_list = client.get_list_by_name(list_name) or client.create_list(list_name)
    client.add_to_list(static_list.id, lead_ids)
    members = client.list_members(static_list.id, fields=["email", "firstName"])
    out(f"List {static_list.name!r} (id {static_list.id}) now has {len(members)} members:")
    for member in members:
        out(f"  {member['id']:>4}  {member.get('email')}")
    out(f"API calls made by this client: {client.stats.calls}")
    return len(members)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paragon_nb.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="sandbox port (default: any free)")
    args = parser.parse_args(argv)
    with MarketoSandbox(port=args.port) as sandbox:
        print(f"Local Marketo sandbox serving at {sandbox.base_url}")
        with sandbox.client() as client:
            run_demo(client)
    print(
        "\nNext: `./dev test` runs the test suite; `paragon-nb sandbox` serves a sandbox "
        "for your own code (see README)."
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
