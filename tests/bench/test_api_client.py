"""The rush's app client (bench/rush/api_client.py, `--api`) against a small HTTP server of its own: what it sends
(the bearer token, the fan's address, JSON), where (the instances in turn, the booking lane for the booking
operations) and how it counts the answers."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from aiohttp import web

from bench.rush.api_client import CONCERT, ENTER, HOLD, PAY, PLACE, SEATS, ApiClient, problem_code, retry_after
from bench.rush.client import ServerError, http_client
from bench.rush.metrics import Metrics
from tests.support.bench_api import answer, problem


async def echo(request):
    """Answers what it was sent: the instance (its port), the method, path, headers and JSON body; /api/v1/boom 503."""
    if request.path.endswith("/boom"):
        return web.json_response({}, status=503)
    body = await request.text()
    return web.json_response(
        {
            "port": request.url.port,
            "method": request.method,
            "path": request.path,
            "authorization": request.headers.get("Authorization"),
            "forwarded_for": request.headers.get("X-Forwarded-For"),
            "content_type": request.headers.get("Content-Type"),
            "key": request.headers.get("Idempotency-Key"),
            "body": json.loads(body) if body else None,
        }
    )


async def calls(script):
    """Three instances of the echo server (web1, web2 and the booking lane); runs script(api) against them."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    sites = [web.TCPSite(runner, "127.0.0.1", 0) for _ in range(3)]
    for site in sites:
        await site.start()
    ports = [site._server.sockets[0].getsockname()[1] for site in sites]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    metrics = Metrics()
    try:
        async with http_client(SimpleNamespace(connections=10)) as client:
            api = ApiClient(client, bases[:2], metrics, "frt_secret", lane=bases[2], address="10.0.0.9")
            return ports, metrics, await script(api)
    finally:
        await runner.cleanup()


def run(script):
    with ThreadPoolExecutor(max_workers=1) as thread:  # see tests/bench/test_pages.py: Playwright's loop
        return thread.submit(asyncio.run, calls(script)).result()


def test_each_call_carries_the_token_and_the_fans_address_and_its_body_as_json():
    async def script(api):
        return (await api.request(ENTER, "/concerts/c1/queue", {"challenge": "x"}, {"Idempotency-Key": "k"})).json()

    _ports, _metrics, sent = run(script)
    assert sent["method"] == "POST" and sent["path"] == "/api/v1/concerts/c1/queue"
    assert sent["authorization"] == "Bearer frt_secret" and sent["forwarded_for"] == "10.0.0.9"
    assert sent["content_type"] == "application/json" and sent["body"] == {"challenge": "x"}
    assert sent["key"] == "k"


BOOKING_CALLS = [(SEATS, None), (HOLD, {"seats": [1]}), (PAY, {})]


def test_calls_alternate_between_the_instances_and_the_booking_operations_go_to_the_lane():
    async def script(api):
        public = [(await api.request(op, "/concerts/c1/queue")).json()["port"] for op in (PLACE, PLACE, CONCERT)]
        booking = [(await api.request(op, "/dates/d1/x", body)).json()["port"] for op, body in BOOKING_CALLS]
        return public, booking

    ports, metrics, (public, booking) = run(script)
    assert set(public) == set(ports[:2]) and public[0] != public[1] and public[1] != public[2]
    assert booking == [ports[2]] * 3
    counted = {name: len(samples) for name, samples in metrics.samples.items()}
    assert counted == {PLACE: 2, CONCERT: 1, SEATS: 1, HOLD: 1, PAY: 1}
    assert metrics.samples[PLACE][0][2] == 200


def test_a_5xx_is_counted_then_raised():
    async def script(api):
        with pytest.raises(ServerError):
            await api.request(PLACE, "/boom")

    _ports, metrics, _ = run(script)
    assert [status for _at, _s, status in metrics.samples[PLACE]] == [503]


def test_a_problems_code_and_a_retry_after_are_read_off_the_answer():
    refused = problem(429, "rate_limited", **{"Retry-After": "17"})
    assert (problem_code(refused), retry_after(refused)) == ("rate_limited", 17)
    assert (problem_code(answer(200, {"code": "not a problem"})), retry_after(answer(200, {}))) == (None, None)
