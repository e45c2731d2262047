"""Bots: scripted clients with accounts of their own that skip the pages. From before the pre-queue opens
until a while after the sale opens each one hammers the join POST (solving the entry challenge as fast as
it can, and sending the join without a solution meanwhile), polls the status far faster than poll_seconds,
tries the hold URL without being admitted, and once admitted holds and pays as fast as it can. Their
refusals (4xx, 429) are expected and counted; a 5xx is not. They have a Metrics of their own, so the fans'
figures stay the fans'."""

import argparse
import asyncio
import math
import random
import time
from dataclasses import dataclass, field

import aiohttp

from bench.rush.challenge import Solver
from bench.rush.client import Browser, ServerError, http_client, location
from bench.rush.metrics import Metrics
from bench.rush.scenario import HOLD_ID_RE, KEY_RE, SEAT_RE, VALUE_RE


@dataclass
class Bot:
    """One bot and what became of it (joined_at and admitted_at in seconds after the opening); joins are the
    (sent, answered) wall-clock times of its join POSTs."""

    index: int
    email: str
    cookies: dict[str, str]
    address: str  # sent as X-Forwarded-For
    outcome: str = "not started"
    joined_at: float | None = None
    admitted_at: float | None = None
    seats: int = 0
    joins: list[tuple[float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class BotArmy:
    """The bots of one sale: they start `start_at` (a time.monotonic(), before the pre-queue opens)."""

    args: argparse.Namespace
    bases: list[str]
    concert_id: str
    date_ids: list[str]
    opens_at: float
    start_at: float
    solver: Solver
    bots: list[Bot]
    metrics: Metrics = field(default_factory=Metrics)

    @property
    def room_path(self) -> str:
        return f"/concerts/{self.concert_id}/queue/"

    async def run(self) -> None:
        async with http_client(self.args) as client:
            await asyncio.sleep(max(0.0, self.start_at - time.monotonic()))
            self.metrics.started = time.monotonic()
            await asyncio.gather(*(self.run_bot(client, bot) for bot in self.bots))
            self.metrics.finish()

    async def run_bot(self, client: aiohttp.ClientSession, bot: Bot) -> None:
        browser = Browser(client, self.bases, self.metrics, bot.cookies, address=bot.address)
        admitted = asyncio.Event()
        try:
            # One page, for the CSRF token every POST needs; no page after it.
            await browser.get("bot: concert page", f"/concerts/{self.concert_id}/")
            await asyncio.gather(self.hammer_join(bot, browser, admitted), self.poll_and_sneak(bot, browser, admitted))
            bot.outcome = await self.buy(bot, browser) if admitted.is_set() else "never admitted"
        except ServerError as exc:
            bot.outcome = "server error"
            bot.notes.append(str(exc))
        except Exception as exc:  # an answer the bot did not expect: say so instead of losing it
            bot.outcome = "bench error"
            bot.notes.append(f"{exc.__class__.__name__}: {exc}")

    async def solution(self, browser: Browser) -> str | None:
        """A fresh solution of the room's challenge (None: no challenge to be had, or refused)."""
        challenge = await browser.get("bot: challenge", f"{self.room_path}challenge/")
        if challenge.status_code != 200:
            return None
        return await self.solver.solve(challenge.json())

    async def hammer_join(self, bot: Bot, browser: Browser, admitted: asyncio.Event) -> None:
        """POST the join every args.bot_interval from the start until args.bot_hammer seconds after the opening
        (or admission): with a solved challenge whenever one is ready, without one meanwhile."""
        until = self.opens_at + self.args.bot_hammer
        solving: asyncio.Task[str | None] | None = None
        challenge_found = True
        while time.monotonic() < until and not admitted.is_set():
            data: dict[str, object] = {}
            if solving is None and challenge_found:
                solving = asyncio.create_task(self.solution(browser))
            elif solving is not None and solving.done():
                payload = solving.result()
                solving = None
                if payload is None:
                    challenge_found = bot.joined_at is None  # keep asking until in; then no more
                else:
                    data["altcha"] = payload
            sent = time.time()
            try:
                joined = await browser.post("bot: join (POST)", self.room_path, data)
            except ServerError:
                bot.joins.append((sent, math.inf))  # the place may have been made all the same
                raise
            bot.joins.append((sent, time.time()))
            if location(joined) is not None and bot.joined_at is None:
                bot.joined_at = time.monotonic() - self.opens_at
            await asyncio.sleep(self.args.bot_interval)
        if solving is not None:
            solving.cancel()

    async def poll_and_sneak(self, bot: Bot, browser: Browser, admitted: asyncio.Event) -> None:
        """Poll the status every args.bot_poll seconds until admitted, and every tenth poll try to hold a seat
        (or open a seat map) without admission; gives up once its place is gone and the hammering is over."""
        status_url = f"{self.room_path}status/"
        polls = 0
        deadline = self.opens_at + self.args.timeout
        while time.monotonic() < deadline:
            response = await browser.get("bot: status", status_url)
            if response.status_code == 200:
                status = response.json()
                if status["admitted"]:
                    bot.admitted_at = time.monotonic() - self.opens_at
                    admitted.set()
                    return
                if (
                    not status["joined"]
                    and bot.joined_at is not None
                    and time.monotonic() > (self.opens_at + self.args.bot_hammer)
                ):
                    bot.notes.append("lost its place")
                    return
            polls += 1
            if polls % 10 == 0:
                date_id = random.choice(self.date_ids)
                if polls % 20 == 0:
                    await browser.get("bot: seat map (not admitted)", f"/dates/{date_id}/seats/")
                else:
                    sneak = await browser.post(
                        "bot: hold (not admitted)", f"/dates/{date_id}/hold/", {"seats": [random.randint(1, 50)]}
                    )
                    if (location(sneak) or "").startswith("/checkout/"):
                        # Admitted since its last poll (the database check tells whether it was by then).
                        bot.notes.append("a blind hold went through: admitted meanwhile")
                        bot.admitted_at = time.monotonic() - self.opens_at
                        admitted.set()
                        return
            await asyncio.sleep(self.args.bot_poll)

    async def buy(self, bot: Bot, browser: Browser) -> str:
        """Admitted: seat map, hold up to two free seats, checkout, pay, with no pause; another date on a 409."""
        for _attempt in range(6):
            date_id = random.choice(self.date_ids)
            page = await browser.get("bot: seat map", f"/dates/{date_id}/seats/")
            if page.is_redirect:
                return "lost its admission"
            free = SEAT_RE.findall(page.text)
            if not free:
                continue
            wanted = random.sample(free, min(len(free), 2))
            held = await browser.post("bot: hold (POST)", f"/dates/{date_id}/hold/", {"seats": wanted})
            if not (location(held) or "").startswith("/checkout/"):
                continue
            checkout = await browser.get("bot: checkout page", f"/checkout/{date_id}/")
            form = KEY_RE.search(checkout.text)
            key = VALUE_RE.search(form.group(0)) if form else None
            if key is None:
                return "no holds at checkout"
            data = {"idempotency_key": key.group(1), "reservations": HOLD_ID_RE.findall(checkout.text)}
            paid = await browser.post("bot: pay (POST)", f"/checkout/{date_id}/", data)
            if not (location(paid) or "").startswith("/reservations/"):
                return f"payment answered {paid.status_code}"
            bot.seats = len(wanted)
            return "bought"
        return "found nothing"
