"""The yardstick: closed-loop runs on the quiet stack (hello; the queue status poll and the waiting-room page
for waiting fans; the concert page for logged-in fans; the seat map for admitted fans), the same workers for
the same time each, so their requests/s compare."""

import argparse
import asyncio
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from bench.rush.client import YARDSTICK_ADDRESS, Browser, ServerError, http_client, location
from bench.rush.cpu import CpuMeter
from bench.rush.metrics import Metrics
from bench.rush.servers import server_meter

# Issue 14's targets: each endpoint's requests/s as a share of hello's, on the same stack, client and run.
TARGETS = {
    "queue status": 0.90,
    "waiting room page": 0.60,
    "concert page": 0.60,
    "seat map": 0.50,
}


def admission_needed(seconds: float) -> float:
    """Seconds the probes' admission (ACTIVE_SECONDS) must last: run_yardstick admits them once, before its
    first run, and the seat map is its fifth run of `seconds` each (after hello, queue status, the waiting-room
    page and the concert page); 15 s more for the joins and each run's CPU readings."""
    return 5 * float(seconds) + 15


async def closed_loop(
    client: aiohttp.ClientSession,
    bases: Sequence[str],
    endpoint: str,
    path: str,
    cookies_list: Sequence[dict[str, str]] | None,
    concurrency: int,
    seconds: float,
) -> Metrics:
    """`concurrency` workers each send GET path back to back for `seconds`; returns the phase metrics."""
    metrics = Metrics()
    deadline = time.monotonic() + seconds

    async def worker(index: int) -> None:
        cookies = cookies_list[index % len(cookies_list)] if cookies_list else None
        browser = Browser(client, bases, metrics, cookies, address=YARDSTICK_ADDRESS)  # exempt from rate limits
        while time.monotonic() < deadline:
            try:
                response = await browser.get(endpoint, path)
            except ServerError:
                continue
            if response.status_code != 200:
                raise RuntimeError(f"yardstick {endpoint} answered {response.status_code}")

    await asyncio.gather(*(worker(index) for index in range(concurrency)))
    metrics.finish()
    return metrics


async def run_yardstick(
    args: argparse.Namespace,
    bases: Sequence[str],
    probe_concert: str,
    probe_date_id: str,
    probes: Sequence[dict[str, str]],
) -> dict[str, Any]:
    """Closed-loop runs on the quiet stack: hello, queue status and waiting-room page (waiting fans: the probe
    concert's room is full), concert page (every probe, logged in), seat map (admitted fans), hello again."""
    async with http_client(args) as client:
        admitted: list[dict[str, str]] = []
        waiting: list[dict[str, str]] = []
        for cookies in probes:
            browser = Browser(client, bases, Metrics(), cookies, address=YARDSTICK_ADDRESS)
            await browser.get("concert page", f"/concerts/{probe_concert}/")
            joined = await browser.post(
                "queue join (POST)", f"/concerts/{probe_concert}/queue/", {"date": probe_date_id}
            )
            # Admitted at once (room left, nobody waiting) → straight to the seats; otherwise the room.
            target = location(joined) or ""
            (admitted if target.startswith("/dates/") else waiting).append(browser.cookies)
        if not admitted or not waiting:
            raise RuntimeError(f"yardstick probes: {len(admitted)} admitted, {len(waiting)} waiting; need both")
        seconds, concurrency = args.yardstick_seconds, args.concurrency
        plan = [  # in this order: admission_needed counts the runs before the seat map's end
            ("hello", "hello", "/hello/", None),
            ("queue status", "queue status", f"/concerts/{probe_concert}/queue/status/", waiting),
            ("waiting room page", "waiting room page", f"/concerts/{probe_concert}/queue/", waiting),
            ("concert page", "concert page", f"/concerts/{probe_concert}/", [*waiting, *admitted]),
            ("seat map", "seat map", f"/dates/{probe_date_id}/seats/", admitted),
            ("hello (again)", "hello", "/hello/", None),
        ]
        summaries: dict[str, dict[str, Any]] = {}
        for run_name, endpoint, path, run_cookies in plan:
            meter = CpuMeter(args.stack_pid, args.stack_processes, servers=server_meter(args))
            metrics = await closed_loop(client, bases, endpoint, path, run_cookies, concurrency, seconds)
            summaries[run_name] = metrics.summary()
            summaries[run_name]["cpu"] = meter.stop()
            summaries[run_name]["rps"] = summaries[run_name]["endpoints"][endpoint]["rps"]
    hello_rps = (summaries["hello"]["rps"] + summaries["hello (again)"]["rps"]) / 2
    return {
        "runs": summaries,
        "hello_rps": hello_rps,
        "ratios": {name: summaries[name]["rps"] / hello_rps for name in TARGETS},
        "targets": TARGETS,
        "probes": {"admitted": len(admitted), "waiting": len(waiting)},
    }
