"""The fan's journey through a sale: concert page, waiting room, seat map, hold, pay (or abandon, or
cancel later), as the pages make a browser do it; and the rush that sends every fan at the opening."""

import argparse
import asyncio
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

from bench.rush.client import Browser, ServerError, http_client, location
from bench.rush.cpu import CpuMeter
from bench.rush.fixtures import FAN_PASSWORD
from bench.rush.metrics import Metrics

DATE_RE = re.compile(r'name="date" value="([0-9a-f-]{36})"')
SEAT_RE = re.compile(r'<input type="checkbox" name="seats" value="(\d+)"')
STATUS_URL_RE = re.compile(r'data-status-url="([^"]+)"')
POLL_RE = re.compile(r'data-poll-seconds="(\d+)"')
KEY_RE = re.compile(r'<input[^>]*name="idempotency_key"[^>]*>')
HOLD_ID_RE = re.compile(r'<input[^>]*name="reservations" value="([0-9a-f-]{36})"')
VALUE_RE = re.compile(r'value="([^"]+)"')
# My tickets links each cancellable seat to its confirmation page, whose form posts back to the same URL.
CANCEL_RE = re.compile(r'href="(/reservations/[0-9a-f-]{36}/cancel/)"')


class FanGaveUp(Exception):
    """The fan stops: no way through, or an answer the pages give no next step from."""


@dataclass
class Fan:
    """One fan: the choices drawn at setup, and what became of them (joined_at and admitted_at are seconds
    after the opening, finished_at the seconds the fan spent from arrival to done)."""

    index: int
    email: str
    address: str  # the fan's client address (X-Forwarded-For)
    cookies: dict[str, str]
    arrival: float
    abandons: bool
    cancels: bool
    double_pays: bool
    outcome: str = "not started"
    seats: int = 0
    joined_at: float | None = None
    admitted_at: float | None = None
    finished_at: float | None = None
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
    lane: str | None = None

    async def think(self, scale: float = 1.0) -> None:
        if self.args.think > 0:
            await asyncio.sleep(random.uniform(0.5, 1.5) * self.args.think * scale)

    @property
    def concert_path(self) -> str:
        return f"/concerts/{self.concert_id}/"

    async def run_fan(self, fan: Fan) -> None:
        await asyncio.sleep(max(0.0, self.opens_at + fan.arrival - time.monotonic()))
        browser = Browser(self.client, self.bases, self.metrics, fan.cookies, lane=self.lane, address=fan.address)
        started = time.monotonic()
        try:
            fan.outcome = await self.shop(fan, browser, give_up_at=None)
        except ServerError as exc:
            fan.outcome = "server error"
            fan.notes.append(str(exc))
        except FanGaveUp as exc:
            fan.outcome = "gave up"
            fan.notes.append(str(exc))
        except Exception as exc:  # a page the scenario did not expect: say so instead of losing the fan
            fan.outcome = "bench error"
            fan.notes.append(f"{exc.__class__.__name__}: {exc}")
        finally:
            fan.finished_at = time.monotonic() - started

    async def shop(self, fan: Fan, browser: Browser, give_up_at: float | None) -> str:
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

    async def enter(self, fan: Fan, browser: Browser, date_id: str) -> str:
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
            status_match, poll = STATUS_URL_RE.search(room.text), POLL_RE.search(room.text)
            if status_match is None or poll is None:
                raise FanGaveUp(f"waiting room page without its status URL ({room.status_code})")
            status_url, delay = status_match.group(1).replace("&amp;", "&"), int(poll.group(1))
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
                    next_url: str = status["next_url"]
                    return urlsplit(next_url).path
                if not status["joined"]:
                    break  # the place ended (ran out): join again, as the page's reload would
                delay = status["poll_seconds"] or delay
        raise FanGaveUp("could not get through the waiting room")

    async def book_date(self, fan: Fan, browser: Browser, date_id: str) -> str | None:
        """Seats → hold → (abandon | pay [→ cancel]). None when this date had nothing left for the fan."""
        seat_path = await self.enter(fan, browser, date_id)
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
        form = KEY_RE.search(checkout.text)
        if form is None:
            # Sent back to the waiting room, or the holds ran out while the page loaded (an overloaded
            # opening can take longer than HOLD_SECONDS): start again from the concert page.
            fan.notes.append("no holds left at checkout" if not checkout.is_redirect else "checkout sent back")
            return None
        key_value = VALUE_RE.search(form.group(0))
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


async def run_rush(
    args: argparse.Namespace, bases: list[str], concert_id: str, fans: Sequence[Fan], opens_at: float
) -> Metrics:
    metrics = Metrics()
    async with http_client(args) as client:
        rush = Rush(args, client, bases, concert_id, opens_at, metrics, lane=args.lane)
        for fan in fans[: args.form_logins]:
            # The real log-in form (Argon2) for a few fans, so the session path through it is exercised.
            browser = Browser(client, bases, metrics, address=fan.address)
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
