"""The fan's journey through a sale: concert page, waiting room, seat map, hold, pay (or abandon, or
cancel later), as the pages make a browser do it; and the rush that sends every fan on their way.

With the pre-queue (the default) most fans arrive during the minutes before the opening: they open the
concert page, enter the pre-queue through its form and wait on the waiting page, which polls the status JSON
exactly as static/js/queue.js does, until the draw's place comes up; the rest arrive after the opening and
queue behind the draw. Without it (--no-prequeue) every fan arrives within a few seconds of the opening.
"""

import argparse
import asyncio
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from bench.rush.challenge import Form, Solver, find_form
from bench.rush.client import Browser, Response, ServerError, http_client, location
from bench.rush.cpu import CpuMeter
from bench.rush.fixtures import FAN_PASSWORD
from bench.rush.metrics import Metrics
from bench.rush.servers import queue_keys, server_meter

DATE_RE = re.compile(r'name="date" value="([0-9a-f-]{36})"')
SEAT_RE = re.compile(r'<input type="checkbox" name="seats" value="(\d+)"')
STATUS_URL_RE = re.compile(r'data-status-url="([^"]+)"')
POLL_RE = re.compile(r'data-poll-seconds="(\d+)"')
PREQUEUE_RE = re.compile(r'data-prequeue="(true|false)"')
KEY_RE = re.compile(r'<input[^>]*name="idempotency_key"[^>]*>')
HOLD_ID_RE = re.compile(r'<input[^>]*name="reservations" value="([0-9a-f-]{36})"')
VALUE_RE = re.compile(r'value="([^"]+)"')
# My tickets links each cancellable seat to its confirmation page, whose form posts back to the same URL.
CANCEL_RE = re.compile(r'href="(/reservations/[0-9a-f-]{36}/cancel/)"')
# The confirmation page's form carries the cancellation fee it showed; the cancel is refused if the fee rose since.
FEE_RE = re.compile(r'<input type="hidden" name="fee" value="(\d+)">')
# The forms a fan submits to join: the concert page's pre-queue box, its date list, the waiting room's button.
PREQUEUE_FORM = 'data-testid="enter-prequeue"'
DATE_FORM = 'class="date-form"'


# Polls in a row without an answer after which the waiting page is given up (about 6 minutes of backing off).
MAX_POLL_FAILURES = 8
# What a fan who tops up (--top-up) adds to their wallet after paying, whole won.
TOP_UP_AMOUNT = 10_000


def poll_wait(seconds: float, prequeue: bool, rng: Callable[[], float] = random.random) -> float:
    """How long static/js/queue.js waits before its next poll: the server's seconds jittered by a fifth
    either way, or in the pre-queue only later (never before the moment the server picked)."""
    factor = 1 + 0.2 * rng() if prequeue else 0.8 + 0.4 * rng()
    return seconds * factor


class FanGaveUp(Exception):
    """The fan stops: no way through, or an answer the pages give no next step from."""


@dataclass
class Fan:
    """One fan: the choices drawn at setup, and what became of them. arrival, joined_at and admitted_at are
    seconds after the opening (negative before it: a pre-queue fan), finished_at the seconds the fan spent
    from arrival to done; joins are the (sent, answered) wall-clock times of every join POST, which the
    checks match to the history's entries."""

    index: int
    email: str
    address: str  # the fan's client address (X-Forwarded-For)
    cookies: dict[str, str]
    arrival: float
    abandons: bool
    cancels: bool
    double_pays: bool
    prequeue: bool = False  # arrives before the opening and enters the pre-queue
    tops_up: bool = False  # tops up the wallet after paying (--top-up)
    token: str = ""  # the fan's personal access token (--api: the fan books through the JSON API)
    outcome: str = "not started"
    seats: int = 0
    joined_at: float | None = None
    admitted_at: float | None = None
    finished_at: float | None = None
    receipt: str | None = None
    joins: list[tuple[float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Rush:
    """One sale: every fan's journey against one concert, over one connection pool and one Metrics."""

    args: argparse.Namespace
    client: aiohttp.ClientSession
    bases: list[str]
    concert_id: str
    opens_at: float  # time.monotonic() of the sale opening
    metrics: Metrics
    solver: Solver
    lane: str | None = None

    async def think(self, scale: float = 1.0) -> None:
        await think(self.args, scale)

    @property
    def concert_path(self) -> str:
        return f"/concerts/{self.concert_id}/"

    @property
    def room_path(self) -> str:
        return f"/concerts/{self.concert_id}/queue/"

    async def run_fan(self, fan: Fan) -> None:
        async def go() -> str:
            browser = Browser(self.client, self.bases, self.metrics, fan.cookies, lane=self.lane, address=fan.address)
            if fan.prequeue:
                await self.enter_prequeue(fan, browser)
            return await self.shop(fan, browser, give_up_at=None)

        await journey(fan, self.opens_at, go)

    async def join(self, fan: Fan, browser: Browser, form: Form, data: dict[str, object]) -> Response:
        """Submit a join form as the browser does: solve its challenge first when it carries one."""
        if form.challenge_url:
            challenge = await browser.get("queue challenge", form.challenge_url)
            if challenge.status_code != 200:
                raise FanGaveUp(f"the challenge answered {challenge.status_code}")
            data = {**data, "altcha": await self.solver.solve(challenge.json())}
        sent = time.time()
        try:
            joined = await browser.post("queue join (POST)", form.action or self.room_path, data)
        except ServerError:
            # No answer (or a 5xx): the server may still have made the place, at any time from now on.
            fan.joins.append((sent, math.inf))
            raise
        fan.joins.append((sent, time.time()))
        if fan.joined_at is None and location(joined) is not None:
            fan.joined_at = time.monotonic() - self.opens_at
        return joined

    async def enter_prequeue(self, fan: Fan, browser: Browser) -> None:
        """Concert page → the pre-queue box's button → the waiting page, polling until the draw's place comes
        up and admits the fan (who then books from the concert page like everyone). Returns at once if the
        sale opened before the fan got there (the page shows the dates instead: shop() joins from them)."""
        page = await browser.get("concert page", self.concert_path)
        form = find_form(page.text, PREQUEUE_FORM)
        if form is None:
            return
        joined = await self.join(fan, browser, form, {})
        target = location(joined)
        if target is None:
            raise FanGaveUp(f"the pre-queue refused the fan with {joined.status_code}")
        if target == self.concert_path or target.startswith("/dates/"):  # admitted at once
            fan.admitted_at = fan.admitted_at or time.monotonic() - self.opens_at
            return
        room = await browser.get("waiting room page", joined.headers["location"])
        receipt = re.search(r"<strong>(P\d+)</strong>", room.text)
        fan.receipt = receipt.group(1) if receipt else None
        await self.wait_in_room(fan, browser, room)

    async def wait_in_room(self, fan: Fan, browser: Browser, room: Response) -> str | None:
        """Poll the status JSON as static/js/queue.js does until admitted: returns the path it moves on to,
        or None when the place ended (the page reloads and shows the join button again)."""
        status_match, poll = STATUS_URL_RE.search(room.text), POLL_RE.search(room.text)
        if status_match is None or poll is None:
            raise FanGaveUp(f"waiting room page without its status URL ({room.status_code})")
        prequeue_match = PREQUEUE_RE.search(room.text)
        in_prequeue = prequeue_match is not None and prequeue_match.group(1) == "true"
        status_url, delay = status_match.group(1).replace("&amp;", "&"), int(poll.group(1))
        wait, failures = float(delay), 0
        while True:
            await asyncio.sleep(poll_wait(wait, in_prequeue))
            try:
                response = await browser.get("queue status", status_url)
            except ServerError:
                # queue.js backs off from a poll with no answer (a timeout, a refused connection) or a 5xx as from
                # any failed poll, and the page stays open; the metrics have counted the failure. A page that gets
                # no answer MAX_POLL_FAILURES times running is given up.
                failures += 1
                if failures > MAX_POLL_FAILURES:
                    raise
                wait = min(60, max(1, delay * 2**failures))
                continue
            if response.status_code != 200:
                # queue.js: wait out a rate limit as its retry_after says, else back off, doubling; 1 s to 60 s.
                failures += 1
                retry_after = response.json().get("retry_after") if response.status_code == 429 else None
                wait = min(60, max(1, retry_after or delay * 2**failures))
                continue
            failures = 0
            status = response.json()
            if status["admitted"] and status["next_url"]:
                fan.admitted_at = fan.admitted_at or time.monotonic() - self.opens_at
                next_url: str = status["next_url"]
                return urlsplit(next_url).path
            if not status["joined"]:
                return None
            in_prequeue = bool(status.get("prequeue"))
            fan.receipt = status.get("receipt") or fan.receipt
            delay = status["poll_seconds"] or delay
            wait = delay

    async def shop(self, fan: Fan, browser: Browser, give_up_at: float | None) -> str:
        """Concert page → pick a date → waiting room → seats → hold → pay; try again while seats return."""
        while True:
            page = await browser.get("concert page", self.concert_path)
            dates = DATE_RE.findall(page.text)
            form = find_form(page.text, DATE_FORM)
            if dates and form is not None:
                outcome = await self.book_date(fan, browser, random.choice(dates), form)
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

    async def enter(self, fan: Fan, browser: Browser, date_id: str, form: Form) -> str:
        """Join the waiting room for this date's seats (a fan admitted already goes straight through) and wait
        until admitted; return the seat map path."""
        for _attempt in range(5):
            joined = await self.join(fan, browser, form, {"date": date_id})
            target = location(joined)
            if target is None:
                await asyncio.sleep(1)  # refused (e.g. a clock a hair before the opening): click again
                continue
            if target.startswith("/dates/"):  # admitted (at once, or already)
                fan.admitted_at = fan.admitted_at or time.monotonic() - self.opens_at
                return target
            room = await browser.get("waiting room page", joined.headers["location"])
            admitted_to = await self.wait_in_room(fan, browser, room)
            if admitted_to is not None:
                return admitted_to
            # The place ended (ran out): the page reloads and shows its join button, which the fan clicks.
            form = find_form(room.text, 'data-testid="join-queue"') or form
        raise FanGaveUp("could not get through the waiting room")

    async def book_date(self, fan: Fan, browser: Browser, date_id: str, form: Form) -> str | None:
        """Seats → hold → (abandon | pay [→ cancel]). None when this date had nothing left for the fan."""
        seat_path = await self.enter(fan, browser, date_id, form)
        page = await browser.get("seat map", seat_path)
        if page.is_redirect:  # admission ran out between the status poll and the click
            return None
        free = SEAT_RE.findall(page.text)
        held: list[str] = []
        for _attempt in range(3):
            if not free:
                return None
            await self.think()
            wanted = random.sample(free, min(len(free), random.choice((1, 2))))
            response = await browser.post("hold (POST)", f"/dates/{date_id}/hold/", {"seats": wanted})
            target = location(response) or ""  # a redirect's path
            if target.startswith("/checkout/"):
                held = wanted
                break
            if target.startswith(f"/dates/{date_id}/seats/"):
                # Someone was faster: the refusal sends the browser back to the seat map (303, the
                # message and the seats still free kept), which shows what is left.
                page = await browser.get("seat map", target)
                free = SEAT_RE.findall(page.text)
                continue
            if response.is_redirect:
                return None  # sent back to the waiting room
            if response.status_code != 409:  # 429 included: rate limited, a failure of the normal flow
                raise FanGaveUp(f"hold refused with {response.status_code}")
            free = SEAT_RE.findall(response.text)  # someone was faster: the page shows what is left
        if not held:
            return None
        if fan.abandons:
            return "abandoned hold"
        await self.think()
        checkout = await browser.get("checkout page", f"/checkout/{date_id}/")
        key_input = KEY_RE.search(checkout.text)
        if key_input is None:
            # Sent back to the waiting room, or the holds ran out while the page loaded (an overloaded
            # opening can take longer than HOLD_SECONDS): start again from the concert page.
            fan.notes.append("no holds left at checkout" if not checkout.is_redirect else "checkout sent back")
            return None
        key_value = VALUE_RE.search(key_input.group(0))
        if key_value is None:
            raise ValueError("the checkout form's key has no value")
        key = key_value.group(1)
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
        if not (location(paid) or "").startswith("/reservations/"):
            raise FanGaveUp(f"payment answered {paid.status_code} {location(paid) or ''}".strip())
        fan.seats = len(held)
        if fan.tops_up:
            await self.top_up(browser)
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
        fee = FEE_RE.search(confirm.text)  # posted back as a browser posts the form (no fee read: the page's 0)
        cancelled = await browser.post("cancel (POST)", cancel_path.group(1), {"fee": fee.group(1)} if fee else None)
        if not cancelled.is_redirect:
            raise FanGaveUp(f"cancel refused with {cancelled.status_code}")
        return "bought, then cancelled one seat"

    async def top_up(self, browser: Browser) -> None:
        """The wallet page, then its top-up form (--top-up): TOP_UP_AMOUNT won."""
        await browser.get("wallet page", "/wallet/")
        charged = await browser.post("top-up (POST)", "/wallet/charge/", {"amount": TOP_UP_AMOUNT})
        if not charged.is_redirect:
            raise FanGaveUp(f"top-up refused with {charged.status_code}")


async def think(args: argparse.Namespace, scale: float = 1.0) -> None:
    """A fan's pause between two clicks (or two calls of their app): args.think on average, give or take half."""
    if args.think > 0:
        await asyncio.sleep(random.uniform(0.5, 1.5) * args.think * scale)


async def journey(fan: Fan, opens_at: float, go: Callable[[], Awaitable[str]]) -> None:
    """Wait for the fan's arrival (seconds from `opens_at`, a time.monotonic()), then run their journey (`go`,
    returning its outcome) and keep what became of it: the outcome, or why it stopped, and how long it took."""
    await asyncio.sleep(max(0.0, opens_at + fan.arrival - time.monotonic()))
    started = time.monotonic()
    try:
        fan.outcome = await go()
    except ServerError as exc:
        fan.outcome = "server error"
        fan.notes.append(str(exc))
    except FanGaveUp as exc:
        fan.outcome = "gave up"
        fan.notes.append(str(exc))
    except Exception as exc:  # an answer the scenario did not expect: say so instead of losing the fan
        fan.outcome = "bench error"
        fan.notes.append(f"{exc.__class__.__name__}: {exc}")
    finally:
        fan.finished_at = time.monotonic() - started


@dataclass
class WindowMeter:
    """CPU over one window of the rush (e.g. the opening's first 30 s): started and stopped at its bounds, or
    when the rush ends first."""

    args: argparse.Namespace
    start: float  # time.monotonic()
    end: float
    meter: CpuMeter | None = None
    reading: dict[str, Any] | None = None

    async def run(self) -> None:
        await asyncio.sleep(max(0.0, self.start - time.monotonic()))
        self.meter = CpuMeter(self.args.stack_pid, self.args.stack_processes, servers=server_meter(self.args))
        await asyncio.sleep(max(0.0, self.end - time.monotonic()))
        self.stop()

    def stop(self) -> None:
        if self.meter is not None and self.reading is None:
            self.reading = self.meter.stop()


async def read_queue_keys(args: argparse.Namespace, concert_id: str, metrics: Metrics, name: str, at: float) -> None:
    """At `at` (a time.monotonic()), the concert's Redis queue keys: what the waiting fans cost Redis then."""
    from django.conf import settings

    await asyncio.sleep(max(0.0, at - time.monotonic()))
    _database, redis_url = args.servers
    metrics.queue_keys[name] = await asyncio.to_thread(queue_keys, redis_url, settings.QUEUE_REDIS_PREFIX, concert_id)


class Journeys(Protocol):
    """Sends one fan on their way: through the pages (Rush) or the JSON API (api_scenario.ApiRush)."""

    async def run_fan(self, fan: Fan) -> None: ...


async def run_rush(
    args: argparse.Namespace,
    bases: list[str],
    concert_id: str,
    fans: Sequence[Fan],
    opens_at: float,
    solver: Solver,
    alongside: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
) -> Metrics:
    """Every fan's journey, each started at their arrival (seconds from `opens_at`, a time.monotonic()), and
    `alongside` (e.g. the bots) at the same time; until all are done or args.timeout. The metrics' window
    starts at the first arrival; their CPU readings cover it whole, the pre-queue before the opening, and the
    opening's first args.opening_window seconds."""
    if args.api:
        from bench.rush.api_client import OPERATIONS
        from bench.rush.api_scenario import ApiRush  # which builds on this module

        metrics = Metrics(order=OPERATIONS)
    else:
        metrics = Metrics()
    async with http_client(args) as client:
        rush: Journeys
        if args.api:
            rush = ApiRush(args, client, bases, concert_id, opens_at, metrics, solver, lane=args.lane)
        else:
            rush = Rush(args, client, bases, concert_id, opens_at, metrics, solver, lane=args.lane)
        others = [asyncio.create_task(start()) for start in alongside]  # they wait for their own start
        for fan in fans[: args.form_logins]:
            # The real log-in form (Argon2) for a few fans, so the session path through it is exercised (none with
            # --api: an app's fan comes with a token).
            browser = Browser(client, bases, metrics, address=fan.address)
            await browser.get("login page", "/accounts/login/")
            response = await browser.post(
                "login (POST)", "/accounts/login/", {"username": fan.email, "password": FAN_PASSWORD}
            )
            if not response.is_redirect:
                raise RuntimeError(f"form login failed for {fan.email}: {response.status_code}")
            fan.cookies = browser.cookies
        first = opens_at + min([0.0, *(fan.arrival for fan in fans)])
        await asyncio.sleep(max(0.0, first - time.monotonic()))
        metrics.started = first
        meter = CpuMeter(args.stack_pid, args.stack_processes, servers=server_meter(args))
        windows = {
            "before the opening": WindowMeter(args, first, opens_at),
            "opening": WindowMeter(args, opens_at, opens_at + args.opening_window),
        }
        window_tasks = [asyncio.create_task(window.run()) for window in windows.values() if window.end > window.start]
        if getattr(args, "servers", None):
            moments = {"just before the opening": opens_at - 0.5, "15 s after the opening": opens_at + 15}
            window_tasks += [
                asyncio.create_task(read_queue_keys(args, concert_id, metrics, name, at))
                for name, at in moments.items()
                if at > first
            ]
        tasks = [asyncio.create_task(rush.run_fan(fan)) for fan in fans]
        _done, pending = await asyncio.wait(tasks + others, timeout=args.timeout)
        metrics.cpu = meter.stop()
        for window in windows.values():
            window.stop()
        metrics.window_cpu = {name: window.reading for name, window in windows.items() if window.reading}
        for task in [*pending, *window_tasks]:
            task.cancel()
        metrics.finish()
        for fan, task in zip(fans, tasks, strict=True):
            if task in pending:
                fan.outcome = "still going at the timeout"
    return metrics
