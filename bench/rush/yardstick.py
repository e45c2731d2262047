"""The yardstick: closed-loop runs on the quiet stack (hello; the queue status poll and the waiting-room page
for waiting fans; the concert page for logged-in fans; the seat map for admitted fans), the same workers for
the same time each, so their requests/s compare. With --api, the API operations that do the pages' work (the place,
the concert, the seats) instead of the pages, beside the same hello."""

import argparse
import asyncio
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from bench.rush.api_client import CONCERT, ENTER, PLACE, SEATS, ApiClient
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
# With --api: the operation that does each page's work, held to that page's target so the two modes compare (the
# waiting-room page has none: an app draws its own).
API_TARGETS = {PLACE: TARGETS["queue status"], CONCERT: TARGETS["concert page"], SEATS: TARGETS["seat map"]}


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
    tokens: Sequence[str] | None = None,
) -> Metrics:
    """`concurrency` workers each send GET path back to back for `seconds`; returns the phase metrics. With
    `tokens`, each worker is an app calling the API (path below /api/v1) with one of them."""
    metrics = Metrics()
    deadline = time.monotonic() + seconds

    async def worker(index: int) -> None:
        agent: Browser | ApiClient
        if tokens:
            agent = ApiClient(client, bases, metrics, tokens[index % len(tokens)], address=YARDSTICK_ADDRESS)
        else:
            cookies = cookies_list[index % len(cookies_list)] if cookies_list else None
            agent = Browser(client, bases, metrics, cookies, address=YARDSTICK_ADDRESS)  # exempt from rate limits
        while time.monotonic() < deadline:
            try:
                response = await agent.get(endpoint, path)
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
    tokens: Sequence[str] = (),
) -> dict[str, Any]:
    """Closed-loop runs on the quiet stack: hello, queue status and waiting-room page (waiting fans: the probe
    concert's room is full), concert page (every probe, logged in), seat map (admitted fans), hello again. With
    `tokens` (--api), the probes are apps: hello, the API's place (waiting), concert and seats (admitted), hello."""
    if tokens:
        return await run_api_yardstick(args, bases, probe_concert, probe_date_id, tokens)
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
    return yardstick_result(summaries, TARGETS, admitted=len(admitted), waiting=len(waiting))


def yardstick_result(
    summaries: dict[str, dict[str, Any]], targets: dict[str, float], *, admitted: int, waiting: int
) -> dict[str, Any]:
    hello_rps = (summaries["hello"]["rps"] + summaries["hello (again)"]["rps"]) / 2
    return {
        "runs": summaries,
        "hello_rps": hello_rps,
        "ratios": {name: summaries[name]["rps"] / hello_rps for name in targets},
        "targets": targets,
        "probes": {"admitted": admitted, "waiting": waiting},
    }


async def run_api_yardstick(
    args: argparse.Namespace, bases: Sequence[str], probe_concert: str, probe_date_id: str, tokens: Sequence[str]
) -> dict[str, Any]:
    """The yardstick with --api: the probes enter the probe concert's room through the API (the first few are
    admitted, the rest wait), then hello, the place (waiting apps), the concert (every app), the seats (admitted
    apps), hello again; each run named by its API operation."""
    async with http_client(args) as client:
        admitted: list[str] = []
        waiting: list[str] = []
        for token in tokens:
            app = ApiClient(client, bases, Metrics(), token, address=YARDSTICK_ADDRESS)
            entered = await app.request(ENTER, f"/concerts/{probe_concert}/queue", {})
            if entered.status_code != 200:
                raise RuntimeError(f"yardstick probes: entering answered {entered.status_code}")
            (admitted if entered.json()["admitted"] else waiting).append(token)
        if not admitted or not waiting:
            raise RuntimeError(f"yardstick probes: {len(admitted)} admitted, {len(waiting)} waiting; need both")
        seconds, concurrency = args.yardstick_seconds, args.concurrency
        plan: list[tuple[str, str, str, Sequence[str] | None]] = [  # in the pages' order (admission_needed)
            ("hello", "hello", "/hello/", None),
            (PLACE, PLACE, f"/concerts/{probe_concert}/queue", waiting),
            (CONCERT, CONCERT, f"/concerts/{probe_concert}", [*waiting, *admitted]),
            (SEATS, SEATS, f"/dates/{probe_date_id}/seats", admitted),
            ("hello (again)", "hello", "/hello/", None),
        ]
        summaries: dict[str, dict[str, Any]] = {}
        for run_name, endpoint, path, run_tokens in plan:
            meter = CpuMeter(args.stack_pid, args.stack_processes, servers=server_meter(args))
            metrics = await closed_loop(client, bases, endpoint, path, None, concurrency, seconds, tokens=run_tokens)
            summaries[run_name] = metrics.summary()
            summaries[run_name]["cpu"] = meter.stop()
            summaries[run_name]["rps"] = summaries[run_name]["endpoints"][endpoint]["rps"]
    return yardstick_result(summaries, API_TARGETS, admitted=len(admitted), waiting=len(waiting))
