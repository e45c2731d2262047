"""One fan's app over HTTP (`--api`): the JSON API (/api/v1/) with the fan's personal access token, requests spread
over the web instances as the pages' are, every request timed into a phase's Metrics under its API operation's name
(its method and path as the OpenAPI document lists them: "POST /dates/{id}/holds")."""

import json
import random
import time
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

import aiohttp

from bench.rush.client import Response, ServerError
from bench.rush.metrics import Metrics

PREFIX = "/api/v1"

# The operations a fan's app calls, in the order it meets them (the report lists them so).
CONCERT = "GET /concerts/{id}"
CHALLENGE = "GET /concerts/{id}/queue/challenge"
ENTER = "POST /concerts/{id}/queue"
PLACE = "GET /concerts/{id}/queue"
SEATS = "GET /dates/{id}/seats"
HOLD = "POST /dates/{id}/holds"
HOLDS = "GET /dates/{id}/holds"
PAY = "POST /dates/{id}/payments"
BALANCE = "GET /wallet"
TOP_UP = "POST /wallet/top-ups"
RESERVATIONS = "GET /reservations"
QUOTE = "GET /reservations/{id}/cancellation"
CANCEL = "POST /reservations/{id}/cancel"
LEAVE = "DELETE /concerts/{id}/queue"
OPERATIONS = [
    CONCERT,
    CHALLENGE,
    ENTER,
    PLACE,
    SEATS,
    HOLD,
    HOLDS,
    PAY,
    BALANCE,
    TOP_UP,
    RESERVATIONS,
    QUOTE,
    CANCEL,
    LEAVE,
]

# What the load balancer sends to the booking lane (README "Two lanes": /dates/ and /checkout/, and the API's
# /api/v1/dates/): an admitted fan's seats, holds and payment. Off with --no-booking-lane.
BOOKING_OPERATIONS = frozenset({SEATS, HOLD, HOLDS, PAY})


def problem_code(response: Response) -> str | None:
    """The `code` of an RFC 9457 problem (application/problem+json), or None for any other answer."""
    if not response.headers.get("Content-Type", "").startswith("application/problem+json"):
        return None
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return str(code) if code else None


def retry_after(response: Response) -> int | None:
    """The seconds a 429 or 503 says to wait (its Retry-After header), or None."""
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


class ApiClient:
    """A fan's app: their bearer token, each request sent to the next web instance in turn (the booking operations
    to the booking lane), with the fan's own client address as X-Forwarded-For. No cookies, no CSRF token: a bearer
    request needs neither."""

    def __init__(
        self,
        client: aiohttp.ClientSession,
        bases: Sequence[str],
        metrics: Metrics,
        token: str,
        lane: str | None = None,
        address: str | None = None,
    ) -> None:
        self.client = client
        self.bases = bases
        self.lane = lane
        self.turn = random.randrange(len(bases))
        self.metrics = metrics
        self.token = token
        self.address = address

    def next_base(self) -> str:
        base = self.bases[self.turn % len(self.bases)]
        self.turn += 1
        return base

    async def request(
        self,
        operation: str,
        path: str,
        body: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        base: str | None = None,
    ) -> Response:
        """Call `operation` ("POST /dates/{id}/holds": its method is the first word) at `path` (below /api/v1),
        with `body` as JSON. A 5xx, or no answer, raises ServerError (counted first), as the browser's does."""
        method = operation.split(" ", 1)[0]
        if base is None:
            base = self.lane if self.lane and operation in BOOKING_OPERATIONS else self.next_base()
        sent = {"Accept-Language": "en", "Authorization": f"Bearer {self.token}", **(headers or {})}
        if self.address:
            sent["X-Forwarded-For"] = self.address
        data = None
        if body is not None:
            sent["Content-Type"] = "application/json"
            data = json.dumps(body)
        at, started = time.monotonic(), time.perf_counter()
        try:
            async with self.client.request(
                method, base + PREFIX + path, data=data, headers=sent, allow_redirects=False
            ) as answer:
                response = Response(answer.status, answer.headers, await answer.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.metrics.record(operation, at, time.perf_counter() - started, exc.__class__.__name__)
            raise ServerError(f"{operation}: {exc.__class__.__name__}") from exc
        self.metrics.record(operation, at, time.perf_counter() - started, response.status_code)
        if response.status_code >= 500:
            raise ServerError(f"{operation}: HTTP {response.status_code}")
        return response

    def get(self, operation: str, path: str) -> Coroutine[Any, Any, Response]:
        """A GET (the yardstick's closed loop calls every client so)."""
        return self.request(operation, path)
