"""The rush: a sale day played against the full stack over real HTTP (`make bench`; see bench/README.md).

1. Stack: starts `honcho start -f Procfile` (two gunicorn instances, Celery worker + beat, RQ worker) with
   the production settings, unless --no-stack points it at one already running.
2. Setup (not timed): a concert with enough dates for the fans, its waiting room, N fans with wallets
   topped up through wallet.services.charge and sessions created server-side (a few log in through the
   real form; Argon2 on two cores would otherwise be the whole benchmark).
3. Yardstick (closed loop, quiet stack): the plain /hello/ view, the queue status poll and the seat map,
   each hammered by the same number of workers for the same time, so their requests/s compare.
4. Rush: every fan opens the concert page within a few seconds of the sale opening, picks a date, joins
   the waiting room, polls the status as the page's JavaScript does (poll_seconds and jitter), and once
   admitted opens the seat map, holds 1-2 random free seats and pays; 10% abandon their hold, 5% cancel
   later, a few double-click "pay". Every request goes to the other instance than the fan's last one.
5. Checks against the database: no seat with two live reservations, every RESERVED seat has exactly one
   CONFIRMED reservation with one SUCCESS payment, wallets reconcile, admission was FIFO, no 5xx.

Prints the report and writes it (JSON and text) to bench/results/. Exit status 1 if a check failed.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
sys.path.insert(0, str(BASE_DIR))

FAN_PASSWORD = "bench-fan-password-not-secret"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
DATE_RE = re.compile(r'name="date" value="([0-9a-f-]{36})"')
SEAT_RE = re.compile(r'<input type="checkbox" name="seats" value="(\d+)"')
STATUS_URL_RE = re.compile(r'data-status-url="([^"]+)"')
POLL_RE = re.compile(r'data-poll-seconds="(\d+)"')
KEY_RE = re.compile(r'<input[^>]*name="idempotency_key"[^>]*>')
HOLD_ID_RE = re.compile(r'<input[^>]*name="reservations" value="([0-9a-f-]{36})"')
VALUE_RE = re.compile(r'value="([^"]+)"')
# My tickets links each cancellable seat to its confirmation page, whose form posts back to the same URL.
CANCEL_RE = re.compile(r'href="(/reservations/[0-9a-f-]{36}/cancel/)"')

# The endpoints the report lists, in the order a fan meets them.
ENDPOINTS = [
    "hello",
    "concert page",
    "queue join (POST)",
    "waiting room page",
    "queue status",
    "seat map",
    "hold (POST)",
    "checkout page",
    "pay (POST)",
    "reservations page",
    "cancel page",
    "cancel (POST)",
    "queue leave (POST)",
    "login page",
    "login (POST)",
]


# What a load balancer would send to the booking lane (--booking-lane): the admitted fans' pages.
BOOKING_ENDPOINTS = frozenset({"seat map", "hold (POST)", "checkout page", "pay (POST)"})


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--fans", type=int, default=2000, help="fans in the rush (default 2000)")
    add("--dates", type=int, default=None, help="concert dates on sale (default: fans / seats per date)")
    add("--spread", type=float, default=3.0, help="fans arrive within this many seconds of the opening")
    add("--lead", type=float, default=5.0, help="seconds between the end of setup and the sale opening")
    add("--max-active", type=int, default=100, help="fans admitted at once (the waiting room's max_active)")
    add("--think", type=float, default=1.0, help="mean seconds a fan takes between two clicks (0 = none)")
    add("--patience", type=float, default=15.0, help="seconds a fan keeps looking for returned seats")
    add("--abandon", type=float, default=0.10, help="share of fans who hold and never pay")
    add("--cancel", type=float, default=0.05, help="share of fans who cancel after paying")
    add("--double-pay", type=float, default=0.03, help="share of payers who double-click pay (two instances)")
    add("--form-logins", type=int, default=10, help="fans who log in through the real login form")
    add("--yardstick-seconds", type=float, default=8.0, help="seconds per closed-loop yardstick run")
    add("--concurrency", type=int, default=32, help="workers per closed-loop yardstick run")
    add("--connections", type=int, default=400, help="most HTTP connections the load generator opens")
    add("--timeout", type=float, default=900.0, help="give up on the rush after this many seconds")
    add("--hold-seconds", type=int, default=30, help="HOLD_SECONDS for the stack this script starts")
    add("--active-seconds", type=int, default=90, help="ACTIVE_SECONDS for the stack this script starts")
    add("--web-workers", type=int, default=None, help="gunicorn workers per instance (stack default: CPUs / 2)")
    add("--web-threads", type=int, default=None, help="gunicorn threads per worker (stack default 8)")
    add("--access-log", action="store_true", help="keep gunicorn's per-request JSON access log on")
    add(
        "--booking-lane",
        action="store_true",
        help="a third instance (web3, WEB3_PORT 8003) takes seat map, hold, checkout and pay; the rest round-robin",
    )
    add("--no-stack", action="store_true", help="use a stack already running on --ports")
    add("--ports", default=None, help="web instance ports, comma-separated (default WEB1_PORT,WEB2_PORT)")
    add("--skip-yardstick", action="store_true", help="rush only")
    add("--yardstick-only", action="store_true", help="no rush: hello, queue status and seat map only")
    add("--seed", type=int, default=None, help="random seed for the fans' choices")
    args = parser.parse_args(argv)
    return args


# --- Measurements ----------------------------------------------------------------------------------


class Metrics:
    """Every request of a phase: when it started, how long it took, what it answered, per endpoint."""

    def __init__(self):
        self.samples = defaultdict(list)  # endpoint -> [(started, seconds, status or transport error)]
        self.started = time.monotonic()
        self.ended = None
        self.cpu = None

    def record(self, endpoint, started, seconds, status):
        self.samples[endpoint].append((started, seconds, status))

    def finish(self):
        self.ended = time.monotonic()

    @property
    def duration(self):
        return (self.ended or time.monotonic()) - self.started

    def summary(self, since=None, until=None):
        """Per-endpoint figures for the requests started in [since, until) (default: the whole phase)."""
        since = self.started if since is None else since
        until = (self.ended or time.monotonic()) if until is None else until
        duration = max(until - since, 1e-9)
        rows = {}
        for endpoint in sorted(self.samples, key=lambda name: ENDPOINTS.index(name) if name in ENDPOINTS else 99):
            window = [(seconds, status) for at, seconds, status in self.samples[endpoint] if since <= at < until]
            if not window:
                continue
            values = sorted(seconds for seconds, _ in window)
            statuses = Counter(status for _, status in window if isinstance(status, int))
            errors = Counter(status for _, status in window if not isinstance(status, int))
            rows[endpoint] = {
                "requests": len(values),
                "rps": len(values) / duration,
                "p50_ms": percentile(values, 50) * 1000,
                "p95_ms": percentile(values, 95) * 1000,
                "p99_ms": percentile(values, 99) * 1000,
                "max_ms": values[-1] * 1000,
                "status": {str(code): count for code, count in sorted(statuses.items())},
                "5xx": sum(count for code, count in statuses.items() if code >= 500),
                "transport_errors": dict(errors),
            }
        return {"duration_s": duration, "endpoints": rows, "cpu": self.cpu}


def percentile(values, pct):
    """Nearest-rank percentile of sorted values (0.0 for none)."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(values)))
    return values[rank - 1]


class ServerError(Exception):
    """A 5xx answer: counted, and the fan stops (a real fan would see an error page)."""


class FanGaveUp(Exception):
    pass


def process_table():
    """{pid: {"ppid", "cpu_ticks", "started"}} for every process /proc shows."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                parts = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = {
            "ppid": int(parts[1]),
            # utime + stime + the reaped children's (RQ forks a work horse per job that exits after it)
            "cpu_ticks": int(parts[11]) + int(parts[12]) + int(parts[13]) + int(parts[14]),
            "started": int(parts[19]),  # start time: tells a process from a later one with its pid
        }
    return table


def descendants(root, table=None):
    """Every pid below root in the process tree (honcho starts each process in a session of its own)."""
    table = table or process_table()
    children = defaultdict(list)
    for pid, row in table.items():
        children[row["ppid"]].append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children[todo.pop()]:
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class CpuMeter:
    """CPU seconds used during a phase: by this load generator, by the stack's processes, by the machine.

    Reads /proc (Linux): the stack is the honcho this script started and every process below it (a
    process that exits during the phase takes its CPU time with it); "machine" is all CPUs' busy time,
    so machine - stack - generator is PostgreSQL, Redis and whatever else runs on the box (other
    people's work included).
    """

    TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, stack_pid=None, processes=None):
        self.stack_pid = stack_pid
        self.processes = processes or {}  # Procfile name -> pid, for a per-process breakdown
        self.start = self._read()

    def _read(self):
        own = os.times()
        reading = {"wall": time.monotonic(), "generator": own.user + own.system, "stack": 0.0, "machine": 0.0}
        try:
            with open("/proc/stat") as stat:
                fields = [int(value) for value in stat.readline().split()[1:]]
            idle = fields[3] + fields[4]  # idle + iowait
            reading["machine"] = (sum(fields[:8]) - idle) / self.TICKS
        except OSError:
            pass
        if self.stack_pid:
            table = process_table()

            def tree_cpu(root):
                return sum(table[pid]["cpu_ticks"] for pid in descendants(root, table) | {root} if pid in table)

            reading["stack"] = tree_cpu(self.stack_pid) / self.TICKS
            reading["processes"] = {name: tree_cpu(pid) / self.TICKS for name, pid in self.processes.items()}
        return reading

    def stop(self):
        end = self._read()
        wall = end["wall"] - self.start["wall"]
        used = {name: end[name] - self.start[name] for name in ("generator", "stack", "machine")}
        used["other"] = max(0.0, used["machine"] - used["generator"] - used["stack"])
        per_process = {
            name: end["processes"][name] - self.start["processes"].get(name, 0.0) for name in end.get("processes", {})
        }
        return {
            "wall_s": wall,
            "cpus": os.cpu_count(),
            **{f"{name}_cpu_s": value for name, value in used.items()},
            "stack_processes_cpu_s": per_process,
        }


# --- One fan's browser -----------------------------------------------------------------------------


@dataclass
class Response:
    """What a fan's browser keeps of an answer: status, headers, body."""

    status_code: int
    headers: object  # aiohttp's case-insensitive multidict
    text: str

    @property
    def is_redirect(self):
        return self.status_code in (301, 302, 303, 307, 308) and "Location" in self.headers

    def json(self):
        return json.loads(self.text)


class Browser:
    """A fan's browser: its own cookies, each request sent to the next web instance in turn."""

    def __init__(self, client, bases, metrics, cookies=None, lane=None):
        self.client = client
        self.bases = bases
        self.lane = lane  # with --booking-lane: the instance the booking endpoints go to
        self.turn = random.randrange(len(bases))
        self.metrics = metrics
        self.cookies = dict(cookies or {})
        self.csrf = None

    def next_base(self):
        base = self.bases[self.turn % len(self.bases)]
        self.turn += 1
        return base

    async def request(self, endpoint, method, path, data=None, base=None):
        if base is None:
            base = self.lane if self.lane and endpoint in BOOKING_ENDPOINTS else self.next_base()
        headers = {"Accept-Language": "en"}
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

    def get(self, endpoint, path):
        return self.request(endpoint, "GET", path)

    def post(self, endpoint, path, data=None, base=None):
        return self.request(endpoint, "POST", path, data={"csrfmiddlewaretoken": self.csrf, **(data or {})}, base=base)

    def _keep_cookies(self, response):
        for header in response.headers.getall("Set-Cookie", []):
            jar = SimpleCookie()
            try:
                jar.load(header)
            except CookieError:
                continue
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value


def http_client(args):
    """One connection pool for every fan (aiohttp: a fraction of httpx's CPU per request, which matters
    when the load generator shares the machine with the stack). Its cookie jar keeps nothing: each
    Browser sends its own cookies."""
    # Idle connections are dropped after 2 s, before gunicorn's keep-alive (WEB_KEEPALIVE, 5 s) closes
    # them from its side: reusing a connection the server is closing at that instant fails the request.
    connector = aiohttp.TCPConnector(limit=args.connections, limit_per_host=0, keepalive_timeout=2)
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=60)
    )


def location(response):
    """The path a redirect points to (None for any other answer)."""
    return urlsplit(response.headers["Location"]).path if response.is_redirect else None


# --- The fans --------------------------------------------------------------------------------------


@dataclass
class Fan:
    index: int
    email: str
    cookies: dict
    arrival: float
    abandons: bool
    cancels: bool
    double_pays: bool
    outcome: str = "not started"
    seats: int = 0
    joined_at: float | None = None
    admitted_at: float | None = None
    finished_at: float | None = None
    notes: list = field(default_factory=list)


@dataclass
class Rush:
    args: argparse.Namespace
    client: aiohttp.ClientSession
    bases: list
    concert_id: str
    opens_at: float  # time.monotonic() of the sale opening
    metrics: Metrics
    lane: str | None = None

    async def think(self, scale=1.0):
        if self.args.think > 0:
            await asyncio.sleep(random.uniform(0.5, 1.5) * self.args.think * scale)

    @property
    def concert_path(self):
        return f"/concerts/{self.concert_id}/"

    async def run_fan(self, fan):
        await asyncio.sleep(max(0.0, self.opens_at + fan.arrival - time.monotonic()))
        browser = Browser(self.client, self.bases, self.metrics, fan.cookies, lane=self.lane)
        started = time.monotonic()
        try:
            fan.outcome = await self.shop(fan, browser, give_up_at=None)
        except ServerError as exc:
            fan.outcome = "server error"
            fan.notes.append(str(exc))
        except FanGaveUp as exc:
            fan.outcome = "gave up"
            fan.notes.append(str(exc))
        except Exception as exc:  # a page this script did not expect: say so instead of losing the fan
            fan.outcome = "bench error"
            fan.notes.append(f"{exc.__class__.__name__}: {exc}")
        finally:
            fan.finished_at = time.monotonic() - started

    async def shop(self, fan, browser, give_up_at):
        """Concert page → pick a date → waiting room → seats → hold → pay; try again while seats return."""
        while True:
            page = await browser.get("concert page", self.concert_path)
            dates = DATE_RE.findall(page.text)
            if dates:
                outcome = await self.book_date(fan, browser, random.choice(dates))
                if outcome is not None:
                    return outcome
            # Nothing free right now: sold out, or every free seat is held. Keep the page open a while;
            # abandoned holds come back when they expire.
            give_up_at = give_up_at or time.monotonic() + self.args.patience
            if time.monotonic() >= give_up_at:
                if fan.joined_at is not None:
                    await browser.post("queue leave (POST)", f"/concerts/{self.concert_id}/queue/leave/")
                return "sold out"
            await asyncio.sleep(random.uniform(3, 6))

    async def enter(self, fan, browser, date_id):
        """Join the waiting room for this date's seats and wait until admitted; return the seat map path."""
        for _attempt in range(5):
            joined = await browser.post("queue join (POST)", f"/concerts/{self.concert_id}/queue/", {"date": date_id})
            if fan.joined_at is None:
                fan.joined_at = time.monotonic() - self.opens_at
            target = location(joined)
            if target is None:
                await asyncio.sleep(1)  # refused (e.g. a clock a hair before the opening): click again
                continue
            if target.startswith("/dates/"):  # admitted at once
                fan.admitted_at = fan.admitted_at or time.monotonic() - self.opens_at
                return target
            room = await browser.get("waiting room page", joined.headers["location"])
            status_url, poll = STATUS_URL_RE.search(room.text), POLL_RE.search(room.text)
            if status_url is None or poll is None:
                raise FanGaveUp(f"waiting room page without its status URL ({room.status_code})")
            status_url, delay = status_url.group(1).replace("&amp;", "&"), int(poll.group(1))
            failures = 0
            while True:
                # queue.js: poll after poll_seconds plus up to a second of jitter; back off on errors.
                await asyncio.sleep(delay + random.random())
                response = await browser.get("queue status", status_url)
                if response.status_code != 200:
                    failures += 1
                    delay = min(60, delay * 2**failures)
                    continue
                failures = 0
                status = response.json()
                if status["admitted"] and status["next_url"]:
                    fan.admitted_at = fan.admitted_at or time.monotonic() - self.opens_at
                    return urlsplit(status["next_url"]).path
                if not status["joined"]:
                    break  # the place ended (ran out): join again, as the page's reload would
                delay = status["poll_seconds"] or delay
        raise FanGaveUp("could not get through the waiting room")

    async def book_date(self, fan, browser, date_id):
        """Seats → hold → (abandon | pay [→ cancel]). None when this date had nothing left for the fan."""
        seat_path = await self.enter(fan, browser, date_id)
        page = await browser.get("seat map", seat_path)
        if page.is_redirect:  # admission ran out between the status poll and the click
            return None
        free = SEAT_RE.findall(page.text)
        held = []
        for _attempt in range(3):
            if not free:
                return None
            await self.think()
            wanted = random.sample(free, min(len(free), random.choice((1, 2))))
            response = await browser.post("hold (POST)", f"/dates/{date_id}/hold/", {"seats": wanted})
            if response.is_redirect and location(response).startswith("/checkout/"):
                held = wanted
                break
            if response.is_redirect and location(response).startswith(f"/dates/{date_id}/seats/"):
                # Someone was faster: the refusal sends the browser back to the seat map (303, the
                # message and the seats still free kept), which shows what is left.
                page = await browser.get("seat map", location(response))
                free = SEAT_RE.findall(page.text)
                continue
            if response.is_redirect:
                return None  # sent back to the waiting room
            if response.status_code != 409:
                raise FanGaveUp(f"hold refused with {response.status_code}")
            free = SEAT_RE.findall(response.text)  # someone was faster: the page shows what is left
        if not held:
            return None
        if fan.abandons:
            return "abandoned hold"
        await self.think()
        checkout = await browser.get("checkout page", f"/checkout/{date_id}/")
        form = KEY_RE.search(checkout.text)
        if form is None:
            # Sent back to the waiting room, or the holds ran out while the page loaded (an overloaded
            # opening can take longer than HOLD_SECONDS): start again from the concert page.
            fan.notes.append("no holds left at checkout" if not checkout.is_redirect else "checkout sent back")
            return None
        key = VALUE_RE.search(form.group(0)).group(1)
        await self.think()
        data = {"idempotency_key": key, "reservations": HOLD_ID_RE.findall(checkout.text)}  # the holds it shows
        if fan.double_pays:
            # A double click that lands on both instances at once: one payment, one charge.
            first, second = await asyncio.gather(
                browser.post("pay (POST)", f"/checkout/{date_id}/", data, base=self.lane or self.bases[0]),
                browser.post("pay (POST)", f"/checkout/{date_id}/", data, base=self.lane or self.bases[-1]),
            )
            # Whichever lands second may find the admission already ended by the first (sent back to
            # the waiting room); the fan is done if either reached the reservations page.
            paid = first if (location(first) or "").startswith("/reservations/") else second
        else:
            paid = await browser.post("pay (POST)", f"/checkout/{date_id}/", data)
        if not (paid.is_redirect and location(paid).startswith("/reservations/")):
            raise FanGaveUp(f"payment answered {paid.status_code} {location(paid) or ''}".strip())
        fan.seats = len(held)
        if not fan.cancels:
            return "bought"
        await asyncio.sleep(random.uniform(2, 8))
        mine = await browser.get("reservations page", "/reservations/")
        cancel_path = CANCEL_RE.search(mine.text)
        if cancel_path is None:
            raise FanGaveUp("no cancel button on the reservations page")
        confirm = await browser.get("cancel page", cancel_path.group(1))
        if confirm.status_code != 200:
            raise FanGaveUp(f"cancel page answered {confirm.status_code}")
        cancelled = await browser.post("cancel (POST)", cancel_path.group(1))
        if not cancelled.is_redirect:
            raise FanGaveUp(f"cancel refused with {cancelled.status_code}")
        return "bought, then cancelled one seat"


# --- Closed-loop yardstick -------------------------------------------------------------------------


async def closed_loop(client, bases, endpoint, path, cookies_list, concurrency, seconds):
    """`concurrency` workers each send GET path back to back for `seconds`; returns the phase metrics."""
    metrics = Metrics()
    deadline = time.monotonic() + seconds

    async def worker(index):
        browser = Browser(client, bases, metrics, cookies_list[index % len(cookies_list)] if cookies_list else None)
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


# --- Setup and checks (Django ORM, outside the event loop) ------------------------------------------


def django_setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_production")
    os.environ["DB_POOL"] = "false"  # this process is one thread; a pool buys nothing
    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the report


def create_fans(run_id, count, prefix):
    """Bulk-create fans sharing one precomputed password hash; top up each wallet through the service."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from wallet import services as wallet_services

    password_hash = make_password(FAN_PASSWORD)
    users = User.objects.bulk_create(
        User(email=f"{prefix}{index:05d}.{run_id}@bench.frontrow.test", name=f"Fan {index}", password=password_hash)
        for index in range(count)
    )
    for user in users:
        wallet_services.charge(user=user, amount=1_000_000)
    return users


def session_cookies(user):
    """A logged-in session made the way django.contrib.auth.login makes one (cached_db: Redis + PostgreSQL)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {settings.SESSION_COOKIE_NAME: session.session_key}


def create_concert(run_id, title, *, dates, opens_at, max_active):
    from django.utils import timezone

    from concerts.models import Concert
    from concerts.services import create_concert_date
    from queueing.models import WaitingRoom

    first = timezone.localtime().replace(hour=19, minute=0, second=0, microsecond=0) + timedelta(days=30)
    concert = Concert.objects.create(title=f"{title} {run_id}", venue="Bench Arena", sale_opens_at=opens_at)
    for offset in range(dates):
        create_concert_date(concert=concert, starts_at=first + timedelta(days=offset))
    WaitingRoom.objects.update_or_create(concert=concert, defaults={"max_active": max_active})
    return concert


def check_database(concert, fans, opens_at):
    """The invariants after the rush. Returns (checks, facts): checks maps a name to (ok, detail)."""
    from django.db.models import Count, Max, Q, Sum

    from accounts.models import User
    from booking.models import Payment, Reservation
    from concerts.models import Seat, SeatStatusHistory
    from queueing.models import QueueEntryHistory
    from wallet.models import ChargeHistory, UsageHistory

    checks = {}
    seats = Seat.objects.filter(concert_date__concert=concert)
    reservations = Reservation.objects.filter(seat__concert_date__concert=concert)
    live = ["HOLD", "CONFIRMED"]

    doubled = reservations.filter(status__in=live).values("seat").annotate(n=Count("id")).filter(n__gt=1).count()
    checks["no seat with two live reservations"] = (doubled == 0, f"{doubled} seats")

    reserved = seats.filter(status=Seat.Status.RESERVED).annotate(
        confirmed=Count("reservations", filter=Q(reservations__status="CONFIRMED"), distinct=True),
    )
    wrong_confirmed = reserved.exclude(confirmed=1).count()
    confirmed = reservations.filter(status="CONFIRMED").annotate(
        paid=Count("payments", filter=Q(payments__status="SUCCESS"))
    )
    wrong_paid = confirmed.exclude(paid=1).count()
    not_reserved = confirmed.exclude(seat__status=Seat.Status.RESERVED).count()
    checks["every RESERVED seat: one CONFIRMED reservation, one SUCCESS payment"] = (
        wrong_confirmed == 0 and wrong_paid == 0 and not_reserved == 0 and reserved.count() == confirmed.count(),
        f"{reserved.count()} reserved seats, {confirmed.count()} confirmed reservations; "
        f"{wrong_confirmed} seats without exactly one, {wrong_paid} reservations without exactly one payment, "
        f"{not_reserved} confirmed on a seat not RESERVED",
    )
    cancelled = reservations.filter(status="CANCELLED")
    unrefunded = cancelled.exclude(usages__action_type="CANCELLATION", usages__status="SUCCESS").count()
    checks["every cancelled reservation refunded once"] = (unrefunded == 0, f"{cancelled.count()} cancelled")

    fan_ids = [fan.pk for fan in fans]

    def totals(queryset, field_name):
        return dict(queryset.filter(user_id__in=fan_ids).values_list("user_id").annotate(total=Sum(field_name)))

    charged = totals(ChargeHistory.objects.filter(status="SUCCESS"), "amount")
    spent = totals(UsageHistory.objects.filter(status="SUCCESS", action_type="RESERVATION"), "amount")
    refunded = totals(UsageHistory.objects.filter(status="SUCCESS", action_type="CANCELLATION"), "amount")
    payments = totals(Payment.objects.filter(status="SUCCESS"), "amount")
    off = 0
    for user_id, balance in User.objects.filter(pk__in=fan_ids).values_list("pk", "balance"):
        expected = charged.get(user_id, 0) - spent.get(user_id, 0) + refunded.get(user_id, 0)
        off += balance != expected or payments.get(user_id, 0) != spent.get(user_id, 0)
    checks["wallets reconcile (balance = top-ups - payments + refunds)"] = (off == 0, f"{off} of {len(fan_ids)} off")

    entries = list(
        QueueEntryHistory.objects.filter(concert=concert)
        .order_by("queue_position")
        .values_list("queue_position", "admitted_at", "exited_at", "entered_at")
    )
    # FIFO: nobody is admitted while someone who joined earlier is waiting. Fan i (earlier place) waits
    # from entered_at until admitted (or until they left); fan j > i jumped them if j was admitted inside
    # that window. Fans admitted the moment they joined never wait, so they cannot be jumped.
    never = datetime.max.replace(tzinfo=UTC)
    waiting_windows = []  # (entered_at, stopped_waiting_at) of every earlier fan who actually waited
    out_of_order = 0
    for _position, admitted_at, exited_at, entered_at in entries:
        if admitted_at is not None and any(start < admitted_at < end for start, end in waiting_windows):
            out_of_order += 1
        stopped_waiting = admitted_at or exited_at or never
        if stopped_waiting > entered_at:
            waiting_windows.append((entered_at, stopped_waiting))
    checks["admission was FIFO (QueueEntryHistory)"] = (
        out_of_order == 0,
        f"{out_of_order} of {sum(1 for entry in entries if entry[1])} admissions jumped someone still waiting",
    )

    total_seats = seats.count()
    reserved_count = seats.filter(status=Seat.Status.RESERVED).count()
    last_sale = reservations.filter(status="CONFIRMED").aggregate(last=Max("confirmed_at"))["last"]
    # Replay the seat history to find the first moment no seat was AVAILABLE (all held or paid). An
    # expired hold counts as taken until the beat sweep writes it back (a few seconds late at most).
    available, gone_at = total_seats, None
    history = SeatStatusHistory.objects.filter(seat__concert_date__concert=concert, changed_at__gte=opens_at)
    for from_status, to_status, changed_at in history.order_by("changed_at").values_list(
        "from_status", "to_status", "changed_at"
    ):
        available += (to_status == Seat.Status.AVAILABLE) - (from_status == Seat.Status.AVAILABLE)
        if available == 0 and gone_at is None:
            gone_at = changed_at
    facts = {
        "seats": total_seats,
        "reserved": reserved_count,
        "sold_out": reserved_count == total_seats,
        "no_seat_free_after_opening_s": (gone_at - opens_at).total_seconds() if gone_at else None,
        "last_sale_after_opening_s": (last_sale - opens_at).total_seconds() if last_sale else None,
        "reservations": dict(Counter(reservations.values_list("status", flat=True))),
        "queue_entries": len(entries),
        # When each fan was first admitted, server-side: the report compares it with when the fan's
        # status poll noticed.
        "first_admitted_at": dict(
            QueueEntryHistory.objects.filter(concert=concert, admitted_at__isnull=False)
            .order_by("-admitted_at")  # the earliest comes last and stays
            .values_list("user__email", "admitted_at")
        ),
        "won_paid": sum(payments.values()),
        "won_refunded": sum(refunded.values()),
    }
    return checks, facts


# --- The stack -------------------------------------------------------------------------------------


class Stack:
    """`honcho start -f Procfile` in its own process group, output to a log file."""

    def __init__(self, args, ports, log_path):
        env = {
            **os.environ,
            "WEB1_PORT": str(ports[0]),
            "WEB2_PORT": str(ports[1]),
            "HOLD_SECONDS": str(args.hold_seconds),
            "ACTIVE_SECONDS": str(args.active_seconds),
            "ACCESS_LOG": "true" if args.access_log else "false",
            # Confirmation e-mails are still rendered (QR codes and all) by the RQ worker, then dropped
            # instead of printed into the stack's log.
            "EMAIL_URL": os.environ.get("BENCH_EMAIL_URL", "dummymail://"),
        }
        if args.web_workers:
            env["WEB_WORKERS"] = str(args.web_workers)
        if args.web_threads:
            env["WEB_THREADS"] = str(args.web_threads)
        env.pop("DB_POOL", None)  # the Procfile decides per process
        procfile = BASE_DIR / "Procfile"
        if args.lane:
            # Scaling out is one more Procfile line: the same web process on a third port.
            env.update(WEB3_PORT=str(ports[2]), WEB_INSTANCES="3")
            lane_procfile = log_path.with_name(f"Procfile-{log_path.stem}")
            lane_procfile.write_text(
                procfile.read_text()
                + "web3: env PORT=${WEB3_PORT:-8003} gunicorn -c config/gunicorn.conf.py config.wsgi\n"
            )
            procfile = lane_procfile
        self.log_path = log_path
        self.log = log_path.open("w")
        honcho = Path(sys.executable).with_name("honcho")
        self.process = subprocess.Popen(
            [str(honcho), "start", "-f", str(procfile), "-d", str(BASE_DIR)],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def processes(self):
        """{"web1.1": pid, ...} from honcho's "web1.1 started (pid=...)" lines."""
        started = re.findall(r"\| (\S+) started \(pid=(\d+)\)", self.log_path.read_text(errors="replace"))
        return {name.removesuffix(".1"): int(pid) for name, pid in started}

    def wait_ready(self, bases, timeout=90):
        deadline = time.monotonic() + timeout
        wanted = ("celery@", "beat: Starting", "Listening on")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited; see {self.log_path}")
            text = self.log_path.read_text(errors="replace")
            try:
                web_ok = all(httpx.get(f"{base}/healthz/", timeout=2).status_code == 200 for base in bases)
            except httpx.HTTPError:
                web_ok = False
            if web_ok and all(marker in text for marker in wanted) and " ready." in text:
                return
            time.sleep(0.5)
        raise RuntimeError(f"the stack did not come up in {timeout}s; see {self.log_path}")

    def stop(self):
        table = process_table()
        ours = {pid: table[pid]["started"] for pid in descendants(self.process.pid, table)}
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # honcho stops its processes in turn
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid, row in process_table().items():  # anything of ours that honcho left behind
            if ours.get(pid) == row["started"]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.log.close()


def port_in_use(port):
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.ConnectError:
        return False
    except httpx.HTTPError:
        return True
    return True


# --- Report ----------------------------------------------------------------------------------------


def table(summary, title):
    lines = [
        f"{title} ({summary['duration_s']:.1f} s)",
        f"  {'endpoint':<20} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  "
        "statuses",
    ]
    for name, row in summary["endpoints"].items():
        statuses = " ".join(f"{code}×{count}" for code, count in row["status"].items())
        if row["transport_errors"]:
            statuses += " " + " ".join(f"{kind}×{count}" for kind, count in row["transport_errors"].items())
        lines.append(
            f"  {name:<20} {row['requests']:>8} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
            f"{row['p99_ms']:>8.1f} {row['max_ms']:>8.1f}  {statuses}"
        )
    cpu = summary.get("cpu")
    if cpu:
        lines.append(
            f"  CPU over {cpu['wall_s']:.1f} s on {cpu['cpus']} CPUs: stack {cpu['stack_cpu_s']:.1f} s, "
            f"load generator {cpu['generator_cpu_s']:.1f} s, everything else {cpu['other_cpu_s']:.1f} s "
            f"(machine busy {cpu['machine_cpu_s'] / (cpu['wall_s'] * cpu['cpus']) * 100:.0f}%)"
        )
        if cpu.get("stack_processes_cpu_s"):
            lines.append(
                "  stack CPU by process: "
                + ", ".join(f"{name} {value:.1f} s" for name, value in cpu["stack_processes_cpu_s"].items())
            )
    return "\n".join(lines)


def render_yardstick(yardstick, concurrency):
    out = [
        table(summary, f"Yardstick: {name}, closed loop, {concurrency} workers")
        for name, summary in yardstick["runs"].items()
    ]
    out.append("")
    out.append(f"  hello (mean of two runs): {yardstick['hello_rps']:.1f} req/s")
    for name, ratio in yardstick["ratios"].items():
        out.append(f"  {name}: {ratio * 100:.0f}% of hello's requests/s (target ≥ 50%)")
    return "\n".join(out)


def render_report(report):
    out = [f"Frontrow rush — {report['run_id']} — {report['machine']}", ""]
    cfg = report["config"]
    out.append(
        f"{cfg['fans']} fans, {cfg['dates']} dates × {cfg['seats_per_date']} seats, max_active {cfg['max_active']}, "
        f"think {cfg['think']} s, hold {cfg['hold_seconds']} s, web {cfg['web']}"
        + (
            f"; booking lane: seat map, hold, checkout and pay on {cfg['booking_lane']}"
            if cfg.get("booking_lane")
            else ""
        )
    )
    out.append("")
    if report.get("yardstick"):
        out.append(render_yardstick(report["yardstick"], cfg["concurrency"]))
        out.append("")
    out.append(table(report["rush"]["metrics"], "Rush, from the opening to the last fan"))
    out.append("")
    for title, summary in report["rush"]["windows"].items():
        out.append(table(summary, f"Rush, {title}"))
        out.append("")
    rush = report["rush"]
    facts = rush["facts"]
    gone, last = facts["no_seat_free_after_opening_s"], facts["last_sale_after_opening_s"]
    sold = f"every seat held or paid {gone:.1f} s after the sale opened" if gone else "some seat was always free"
    if facts["sold_out"]:
        sold += f"; every seat paid {last:.1f} s after (the last sale)"
    else:
        sold += f"; {facts['reserved']} of {facts['seats']} seats paid at the end" + (
            f", the last {last:.1f} s after opening" if last else ""
        )
    out.append(f"Time to sell out: {sold}")
    out.append(f"Rush wall time (first arrival to last fan done): {rush['wall_s']:.1f} s")
    out.append(f"Fans: {', '.join(f'{count} {name}' for name, count in rush['outcomes'].items())}")
    admitted_waits = rush["admission_wait_s"]
    if admitted_waits:
        out.append(
            f"Wait from joining to admission: p50 {admitted_waits['p50']:.1f} s, p95 {admitted_waits['p95']:.1f} s, "
            f"max {admitted_waits['max']:.1f} s"
        )
    noticed = rush.get("admission_noticed_after_s")
    if noticed:
        out.append(
            f"Admission noticed by the fan's next status poll after: p50 {noticed['p50']:.1f} s, "
            f"p95 {noticed['p95']:.1f} s (the place is idle meanwhile)"
        )
    out.append(
        f"Reservations: {facts['reservations']}; won paid {facts['won_paid']:,}, refunded {facts['won_refunded']:,}"
    )
    out.append("")
    out.append("Targets:")
    for name, (ok, detail) in report["targets"].items():
        out.append(f"  [{'PASS' if ok else 'MISS'}] {name}: {detail}")
    out.append("")
    out.append("Checks:")
    for name, (ok, detail) in report["checks"].items():
        out.append(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    return "\n".join(out)


def machine_description():
    cpus = os.cpu_count()
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return f"{cpus} CPUs, load average {load:.2f} at start"


# --- Main ------------------------------------------------------------------------------------------


async def run_yardstick(args, bases, probe_concert, probe_date_id, probes):
    """Closed-loop runs on the quiet stack: hello, queue status (waiting fans), seat map (admitted fans)."""
    async with http_client(args) as client:
        admitted, waiting = [], []
        for cookies in probes:
            browser = Browser(client, bases, Metrics(), cookies)
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
        plan = [
            ("hello", "hello", "/hello/", None),
            ("queue status", "queue status", f"/concerts/{probe_concert}/queue/status/", waiting),
            ("seat map", "seat map", f"/dates/{probe_date_id}/seats/", admitted),
            ("hello (again)", "hello", "/hello/", None),
        ]
        summaries = {}
        for run_name, endpoint, path, cookies in plan:
            meter = CpuMeter(args.stack_pid, args.stack_processes)
            metrics = await closed_loop(client, bases, endpoint, path, cookies, concurrency, seconds)
            summaries[run_name] = metrics.summary()
            summaries[run_name]["cpu"] = meter.stop()
            summaries[run_name]["rps"] = summaries[run_name]["endpoints"][endpoint]["rps"]
    hello_rps = (summaries["hello"]["rps"] + summaries["hello (again)"]["rps"]) / 2
    return {
        "runs": summaries,
        "hello_rps": hello_rps,
        "ratios": {name: summaries[name]["rps"] / hello_rps for name in ("queue status", "seat map")},
        "probes": {"admitted": len(admitted), "waiting": len(waiting)},
    }


async def run_rush(args, bases, concert_id, fans, opens_at):
    metrics = Metrics()
    async with http_client(args) as client:
        rush = Rush(args, client, bases, concert_id, opens_at, metrics, lane=args.lane)
        for fan in fans[: args.form_logins]:
            # The real log-in form (Argon2) for a few fans, so the session path through it is exercised.
            browser = Browser(client, bases, metrics)
            await browser.get("login page", "/accounts/login/")
            response = await browser.post(
                "login (POST)", "/accounts/login/", {"username": fan.email, "password": FAN_PASSWORD}
            )
            if not response.is_redirect:
                raise RuntimeError(f"form login failed for {fan.email}: {response.status_code}")
            fan.cookies = browser.cookies
        await asyncio.sleep(max(0.0, opens_at - time.monotonic()))
        metrics.started = opens_at
        meter = CpuMeter(args.stack_pid, args.stack_processes)
        tasks = [asyncio.create_task(rush.run_fan(fan)) for fan in fans]
        _done, pending = await asyncio.wait(tasks, timeout=args.timeout)
        metrics.cpu = meter.stop()
        for task in pending:
            task.cancel()
        metrics.finish()
        for fan, task in zip(fans, tasks, strict=True):
            if task in pending:
                fan.outcome = "still going at the timeout"
    return metrics


def main(argv=None):
    args = parse_args(argv)
    if args.seed is not None:
        random.seed(args.seed)
    args.probe_admitted = max(1, args.concurrency // 4)
    args.stack_pid, args.stack_processes = None, {}
    ports = [
        int(port)
        for port in (args.ports or f"{os.environ.get('WEB1_PORT', 8001)},{os.environ.get('WEB2_PORT', 8002)}").split(
            ","
        )
    ]
    args.lane = None
    if args.booking_lane:
        ports.append(int(os.environ.get("WEB3_PORT", 8003)))
        args.lane = f"http://127.0.0.1:{ports[2]}"
    bases = [f"http://127.0.0.1:{port}" for port in ports[:2]]
    run_id = time.strftime("%Y%m%d-%H%M%S")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)

    stack = None
    if not args.no_stack:
        busy = [port for port in ports if port_in_use(port)]
        if busy:
            sys.exit(f"ports {busy} are in use: stop that server, or pass --no-stack to bench the stack running there")
        stack = Stack(args, ports, RESULTS_DIR / f"stack-{run_id}.log")
        args.stack_pid = stack.process.pid
    try:
        django_setup()
        from django.conf import settings
        from django.utils import timezone

        machine = machine_description()
        if stack:
            print(f"starting the stack (honcho, log in {stack.log_path}) ...", flush=True)
            stack.wait_ready(bases + ([args.lane] if args.lane else []))
            args.stack_processes = stack.processes()

        dates = args.dates or max(1, math.ceil(args.fans / settings.SEATS_PER_DATE))
        print(f"setup: {args.fans} fans, {dates} dates ...", flush=True)
        setup_started = time.monotonic()
        users = create_fans(run_id, args.fans, "fan")
        probe_users = create_fans(run_id, args.concurrency, "probe")
        fans = []
        for index, user in enumerate(users):
            fans.append(
                Fan(
                    index=index,
                    email=user.email,
                    cookies={} if index < args.form_logins else session_cookies(user),
                    arrival=random.uniform(0.05, args.spread),
                    abandons=random.random() < args.abandon,
                    cancels=random.random() < args.cancel,
                    double_pays=random.random() < args.double_pay,
                )
            )
        probes = [session_cookies(user) for user in probe_users]
        probe_concert = create_concert(
            run_id,
            "Bench yardstick",
            dates=1,
            opens_at=timezone.now() - timedelta(hours=1),
            max_active=args.probe_admitted,
        )
        probe_date = probe_concert.dates.get()
        print(f"setup took {time.monotonic() - setup_started:.1f} s", flush=True)

        yardstick = None
        if not args.skip_yardstick:
            print("yardstick: hello, queue status, seat map (closed loop) ...", flush=True)
            yardstick = asyncio.run(run_yardstick(args, bases, str(probe_concert.pk), str(probe_date.pk), probes))
        if args.yardstick_only:
            print()
            print(render_yardstick(yardstick, args.concurrency))
            return 0

        concert = create_concert(
            run_id, "Bench rush", dates=dates, opens_at=timezone.now() + timedelta(days=1), max_active=args.max_active
        )
        opens_wall = timezone.now() + timedelta(seconds=args.lead)
        opens_at = time.monotonic() + args.lead
        type(concert).objects.filter(pk=concert.pk).update(sale_opens_at=opens_wall)
        print(f"rush: the sale opens in {args.lead:.0f} s for {args.fans} fans ...", flush=True)
        rush_metrics = asyncio.run(run_rush(args, bases, str(concert.pk), fans, opens_at))
        wall = max((fan.arrival + (fan.finished_at or 0) for fan in fans), default=0.0)

        checks, facts = check_database(concert, users, opens_wall)
        rush_summary = rush_metrics.summary()
        every_request = rush_metrics.summary(since=0.0)["endpoints"]  # the form log-ins before the opening too
        five_xx = sum(row["5xx"] for row in every_request.values())
        transport = sum(sum(row["transport_errors"].values()) for row in every_request.values())
        # The opening burst (until the last fan's join answered) and the rest of the sale, apart: the
        # burst is where every fan's first three requests land within a few seconds.
        last_join = max((fan.joined_at for fan in fans if fan.joined_at is not None), default=0.0)
        windows = {
            f"opening burst: the first {last_join:.1f} s, until every fan had joined": rush_metrics.summary(
                until=opens_at + last_join
            ),
            "after every fan had joined": rush_metrics.summary(since=opens_at + last_join),
        }
        checks["no request answered 5xx (or failed to connect)"] = (
            five_xx == 0 and transport == 0,
            f"{five_xx} 5xx, {transport} transport errors",
        )
        waits = sorted(fan.admitted_at - fan.joined_at for fan in fans if fan.admitted_at and fan.joined_at)
        # How long an admission sat unnoticed until the fan's next status poll (their place is idle meanwhile).
        first_admitted = facts.pop("first_admitted_at")
        lags = sorted(
            max(0.0, fan.admitted_at - (first_admitted[fan.email] - opens_wall).total_seconds())
            for fan in fans
            if fan.admitted_at and fan.email in first_admitted
        )
        endpoints = rush_summary["endpoints"]
        targets = {}
        if yardstick:
            for name, ratio in yardstick["ratios"].items():
                targets[f"{name} ≥ 50% of hello req/s"] = (ratio >= 0.5, f"{ratio * 100:.0f}%")
        after = windows["after every fan had joined"]["endpoints"]
        for name in ("hold (POST)", "pay (POST)"):
            if name in endpoints:
                p99 = endpoints[name]["p99_ms"]
                detail = f"{p99:.0f} ms"
                if name in after:
                    detail += f" (after the opening burst: {after[name]['p99_ms']:.0f} ms)"
                targets[f"{name} p99 < 250 ms during the rush"] = (p99 < 250, detail)
        targets["zero double bookings, zero lost won, zero 5xx"] = (
            all(ok for ok, _ in checks.values()),
            "see checks",
        )
        web_workers = args.web_workers or os.environ.get("WEB_WORKERS") or max(1, (os.cpu_count() or 2) // 2)
        report = {
            "run_id": run_id,
            "machine": machine,
            "config": {
                "fans": args.fans,
                "dates": dates,
                "seats_per_date": settings.SEATS_PER_DATE,
                "max_active": args.max_active,
                "think": args.think,
                "hold_seconds": args.hold_seconds,
                "active_seconds": args.active_seconds,
                "patience": args.patience,
                "concurrency": args.concurrency,
                "web": f"{len(bases)} instances ({web_workers} workers × "
                f"{args.web_threads or os.environ.get('WEB_THREADS', 8)} threads)",
                "access_log": args.access_log,
                "booking_lane": args.lane,
            },
            "yardstick": yardstick,
            "rush": {
                "metrics": rush_summary,
                "windows": windows,
                "wall_s": wall,
                "facts": facts,
                "outcomes": dict(Counter(fan.outcome for fan in fans).most_common()),
                "admission_noticed_after_s": {"p50": percentile(lags, 50), "p95": percentile(lags, 95)}
                if lags
                else None,
                "admission_wait_s": {
                    "p50": percentile(waits, 50),
                    "p95": percentile(waits, 95),
                    "max": waits[-1],
                }
                if waits
                else None,
                "fan_notes": Counter(note for fan in fans for note in fan.notes).most_common(10),
            },
            "checks": checks,
            "targets": targets,
        }
        text = render_report(report)
        print()
        print(text)
        (RESULTS_DIR / f"rush-{run_id}.json").write_text(json.dumps(report, indent=2, default=str))
        (RESULTS_DIR / f"rush-{run_id}.txt").write_text(text + "\n")
        print(f"\nwritten to {RESULTS_DIR / f'rush-{run_id}.txt'} (and .json)")
        if report["rush"]["fan_notes"]:
            print("fan notes:", report["rush"]["fan_notes"])
        return 0 if all(ok for ok, _ in checks.values()) else 1
    finally:
        if stack:
            print("stopping the stack ...", flush=True)
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
