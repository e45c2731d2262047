"""One fan's browser over HTTP: the shared aiohttp connection pool, each fan's own cookies and CSRF token,
requests spread over the web instances, every request timed into a phase's Metrics."""

import argparse
import ipaddress
import json
import random
import re
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from bench.rush.metrics import Metrics

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# What the load balancer sends to the booking lane (README "Two lanes"; off with --no-booking-lane): the admitted
# fans' pages.
BOOKING_ENDPOINTS = frozenset({"seat map", "hold (POST)", "checkout page", "pay (POST)"})

# Every request carries X-Forwarded-For, as a load balancer in front of the stack would add it (the stack
# trusts one proxy: TRUSTED_PROXY_COUNT=1, see stack.py). Each fan has an address of their own, from
# 10.0.0.0/8, so the rate limits per client address (config/ratelimit.py) see thousands of fans, not one
# load generator. The yardstick's probes hammer one endpoint on purpose, from the benchmarking range
# 198.18.0.0/15 (RFC 2544), which the stack exempts from the rate limits; the fans are never exempt.
YARDSTICK_NETWORK = "198.18.0.0/15"
YARDSTICK_ADDRESS = "198.18.0.1"


def fan_address(index: int) -> str:
    """Fan `index`'s own client address: 10.0.0.1, 10.0.0.2, ..."""
    return str(ipaddress.IPv4Address(0x0A000001 + index))


def bot_address(index: int, addresses: int = 0) -> str:
    """Bot `index`'s client address, from 172.16.0.0/12 (never a fan's): its own, or one of `addresses`
    shared by all the bots (a farm behind a few addresses)."""
    return str(ipaddress.IPv4Address(0xAC100001 + (index % addresses if addresses else index)))


class ServerError(Exception):
    """A 5xx answer, or none: counted, and the fan stops (a real fan would see an error page), except on the
    waiting page, whose polls back off and try again as static/js/queue.js does (scenario.Rush.wait_in_room)."""


@dataclass
class Response:
    """What a fan's browser keeps of an answer: status, headers, body."""

    status_code: int
    headers: CIMultiDictProxy[str]  # case-insensitive
    text: str

    @property
    def is_redirect(self) -> bool:
        return self.status_code in (301, 302, 303, 307, 308) and "Location" in self.headers

    def json(self) -> Any:
        return json.loads(self.text)


class Browser:
    """A fan's browser: its own cookies, each request sent to the next web instance in turn."""

    def __init__(
        self,
        client: aiohttp.ClientSession,
        bases: Sequence[str],
        metrics: Metrics,
        cookies: Mapping[str, str] | None = None,
        lane: str | None = None,
        address: str | None = None,
    ) -> None:
        self.client = client
        self.bases = bases
        self.lane = lane  # the booking lane: the instance the booking endpoints go to (None: --no-booking-lane)
        self.turn = random.randrange(len(bases))
        self.metrics = metrics
        self.cookies = dict(cookies or {})
        self.csrf: str | None = None
        self.address = address  # sent as X-Forwarded-For

    def next_base(self) -> str:
        base = self.bases[self.turn % len(self.bases)]
        self.turn += 1
        return base

    async def request(
        self, endpoint: str, method: str, path: str, data: Mapping[str, object] | None = None, base: str | None = None
    ) -> Response:
        if base is None:
            base = self.lane if self.lane and endpoint in BOOKING_ENDPOINTS else self.next_base()
        headers = {"Accept-Language": "en"}
        if self.address:
            headers["X-Forwarded-For"] = self.address
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if method == "POST":
            headers["Origin"] = base  # what a browser sends; Django checks it against the Host
        form = None
        if data is not None:  # repeated fields (seats=7&seats=8) as a list of pairs
            form = [
                (key, str(item))
                for key, value in data.items()
                for item in (value if isinstance(value, list) else [value])
            ]
        at, started = time.monotonic(), time.perf_counter()
        try:
            async with self.client.request(
                method, base + path, data=form, headers=headers, allow_redirects=False
            ) as answer:
                response = Response(answer.status, answer.headers, await answer.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.metrics.record(endpoint, at, time.perf_counter() - started, exc.__class__.__name__)
            raise ServerError(f"{endpoint}: {exc.__class__.__name__}") from exc
        self.metrics.record(endpoint, at, time.perf_counter() - started, response.status_code)
        self._keep_cookies(response)
        if response.status_code >= 500:
            raise ServerError(f"{endpoint}: HTTP {response.status_code}")
        if "text/html" in response.headers.get("Content-Type", ""):
            match = CSRF_RE.search(response.text)
            if match:
                self.csrf = match.group(1)
        return response

    def get(self, endpoint: str, path: str) -> Coroutine[Any, Any, Response]:
        return self.request(endpoint, "GET", path)

    def post(
        self, endpoint: str, path: str, data: Mapping[str, object] | None = None, base: str | None = None
    ) -> Coroutine[Any, Any, Response]:
        return self.request(endpoint, "POST", path, data={"csrfmiddlewaretoken": self.csrf, **(data or {})}, base=base)

    def _keep_cookies(self, response: Response) -> None:
        for header in response.headers.getall("Set-Cookie", []):
            kept = parse_set_cookie(header)
            if kept is None:
                continue
            name, value, deleted = kept
            if deleted:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value


def parse_set_cookie(header: str) -> tuple[str, str, bool] | None:
    """(name, value, deleted) from a Set-Cookie header, as a browser keeps it: the value as sent (quotes and
    all: the browser sends it back unchanged), deleted when it expires at once (Max-Age=0, or Django's
    delete_cookie's 1970 date). None for a header without a name=value pair. A few string operations instead
    of http.cookies.SimpleCookie, whose parse cost more than the rest of a status poll in the load generator."""
    pair, _, attributes = header.partition(";")
    name, equals, value = pair.partition("=")
    name = name.strip()
    if not equals or not name:
        return None
    deleted = False
    for attribute in attributes.split(";"):
        key, _, setting = attribute.partition("=")
        key = key.strip().lower()
        if (key == "max-age" and setting.strip().lstrip("-").isdigit() and int(setting) <= 0) or (
            key == "expires" and "1970" in setting
        ):
            deleted = True
    return name, value.strip(), deleted


def http_client(args: argparse.Namespace) -> aiohttp.ClientSession:
    """One connection pool for every fan (aiohttp: a fraction of httpx's CPU per request, which matters
    when the load generator shares the machine with the stack). Its cookie jar keeps nothing: each
    Browser sends its own cookies."""
    # Idle connections are dropped after 2 s, before gunicorn's keep-alive (WEB_KEEPALIVE, 5 s) closes
    # them from its side: reusing a connection the server is closing at that instant fails the request.
    connector = aiohttp.TCPConnector(limit=args.connections, limit_per_host=0, keepalive_timeout=2)
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=60)
    )


def location(response: Response) -> str | None:
    """The path a redirect points to (None for any other answer)."""
    return urlsplit(response.headers["Location"]).path if response.is_redirect else None
