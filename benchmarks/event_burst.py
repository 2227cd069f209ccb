"""What the App Event benchmarks (bench_events.py, bench_scaleout.py) send: the seed event's
payload and a burst of it over HTTP, as an app's backend would post it.

    first, last_201 = post_burst(url, [token], events=3000, threads=16, tag="e")
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

__all__ = ["EVENT", "lead", "post_burst"]

EVENT = "Lead Created"


def lead(tag: str, n: int) -> dict[str, str]:
    """The ``n``-th lead of a burst tagged ``tag`` (a payload of the seed event)."""
    return {
        "first_name": "Ada",
        "last_name": f"L{n}",
        "email": f"{tag}{n}@example.com",
        "company": "Analytical Engines",
        "title": "Engineer",
    }


def post_burst(
    url: str, tokens: Sequence[str], *, events: int, threads: int, tag: str
) -> tuple[float, float]:
    """POST ``events`` seed events to ``url`` from ``threads`` clients, round robin over the
    users' ``tokens``; a 429 is retried after its Retry-After. Returns (first post, last
    201) as epoch seconds; RuntimeError when any event was refused."""
    refused: list[str] = []

    def client(i: int) -> None:
        with httpx.Client(timeout=60) as http:
            for n in range(i, events, threads):
                body = {"name": EVENT, "payload": lead(tag, n)}
                headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
                while True:
                    response = http.post(url, json=body, headers=headers)
                    if response.status_code != 429:
                        break
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                if response.status_code != 201:
                    refused.append(f"{response.status_code} {response.text[:200]}")

    start = time.time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(client, range(threads)))
    if refused:
        raise RuntimeError(f"{len(refused)} events refused, e.g. {refused[0]}")
    return start, time.time()
