"""The fan's journey through the JSON API (`--api`): the same sale as the pages' (bench/rush/scenario.py), step for
step, as an app on the fan's phone would make it, with the fan's personal access token.

Page step                                  API call (below /api/v1)
concert page                               GET /concerts/{id}                       (dates and seats left, on_sale)
the join form's challenge, then the join   GET /concerts/{id}/queue/challenge, POST /concerts/{id}/queue
waiting page polling queue/status/         GET /concerts/{id}/queue, after each answer's poll_seconds
seat map, hold                             GET /dates/{id}/seats, POST /dates/{id}/holds
checkout page, pay                         GET /dates/{id}/holds, POST /dates/{id}/payments (Idempotency-Key)
wallet page, top-up form (--top-up)        GET /wallet, POST /wallet/top-ups (Idempotency-Key)
My tickets, cancel page, cancel            GET /reservations, GET /reservations/{id}/cancellation, POST .../cancel
leave the waiting room                     DELETE /concerts/{id}/queue

The choices are the page fan's (the same Fan: arrival, pre-queue, abandon, cancel, double pay, top-up), and so are
the pauses and retries, so that the two modes' figures compare. Where an app has no page to read, it keeps what the
API told it: its place (to know whether it holds one, and so whether to solve the entry challenge before entering,
as the page shows its widget only to a fan without a place), the ids of its holds, the fee of the quote.
"""

import argparse
import asyncio
import datetime
import math
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.rush.api_client import (
    BALANCE,
    CANCEL,
    CHALLENGE,
    CONCERT,
    ENTER,
    HOLD,
    HOLDS,
    LEAVE,
    PAY,
    PLACE,
    QUOTE,
    RESERVATIONS,
    SEATS,
    TOP_UP,
    ApiClient,
    problem_code,
    retry_after,
)
from bench.rush.challenge import Solver
from bench.rush.client import Response, ServerError
from bench.rush.metrics import Metrics
from bench.rush.scenario import MAX_POLL_FAILURES, TOP_UP_AMOUNT, Fan, FanGaveUp, journey, poll_wait, think

# Place = the API's PlaceOut as JSON: joined, admitted, prequeue, position, ahead, expires_at, receipt, poll_seconds...
Place = dict[str, Any]


@dataclass
class App:
    """A fan's app: their API client, and the last place the API told it of (None: it holds none, or never asked)."""

    api: ApiClient
    place: Place | None = None

    def holds_place(self, now: datetime.datetime | None = None) -> bool:
        """Whether the app believes it holds a place in the room: joined, and if admitted, not past its end."""
        if not self.place or not self.place.get("joined"):
            return False
        expires_at = self.place.get("expires_at")
        if self.place.get("admitted") and expires_at:
            now = now or datetime.datetime.now(datetime.UTC)
            return datetime.datetime.fromisoformat(expires_at) > now
        return True


def free_seats(answer: Response) -> list[int]:
    """The numbers of the seats a GET /dates/{id}/seats answer shows AVAILABLE."""
    return [seat["number"] for seat in answer.json()["seats"] if seat["state"] == "AVAILABLE"]


def bookable_dates(answer: Response) -> list[str]:
    """The dates a GET /concerts/{id} answer offers to book: on sale, with seats left (the concert page's Book
    buttons)."""
    if answer.status_code != 200:
        return []
    concert = answer.json()
    if not concert.get("on_sale"):
        return []
    return [date["id"] for date in concert.get("dates", []) if date["seats_left"] > 0]


def refusal(answer: Response) -> str:
    """An answer the journey has no next step from, for the fan's notes: its status and problem code."""
    code = problem_code(answer)
    return f"{answer.status_code} {code}" if code else str(answer.status_code)


@dataclass
class ApiRush:
    """One sale through the JSON API: every fan's journey against one concert, over one connection pool and one
    Metrics (per API operation)."""

    args: argparse.Namespace
    client: aiohttp.ClientSession
    bases: list[str]
    concert_id: str
    opens_at: float  # time.monotonic() of the sale opening
    metrics: Metrics
    solver: Solver
    lane: str | None = None

    @property
    def concert_path(self) -> str:
        return f"/concerts/{self.concert_id}"

    @property
    def room_path(self) -> str:
        return f"/concerts/{self.concert_id}/queue"

    def app(self, fan: Fan) -> App:
        return App(ApiClient(self.client, self.bases, self.metrics, fan.token, lane=self.lane, address=fan.address))

    async def run_fan(self, fan: Fan) -> None:
        async def go() -> str:
            app = self.app(fan)
            if fan.prequeue:
                await self.enter_prequeue(fan, app)
            return await self.shop(fan, app)

        await journey(fan, self.opens_at, go)

    async def join(self, fan: Fan, app: App, *, solve: bool) -> Response:
        """POST the entry (with a solved challenge when `solve`), its (sent, answered) times kept for the checks."""
        body: dict[str, object] = {}
        if solve:
            challenge = await app.api.request(CHALLENGE, f"{self.room_path}/challenge")
            if challenge.status_code != 200:
                raise FanGaveUp(f"the challenge answered {refusal(challenge)}")
            body["challenge"] = await self.solver.solve(challenge.json())
        sent = time.time()
        try:
            joined = await app.api.request(ENTER, self.room_path, body)
        except ServerError:
            # No answer (or a 5xx): the server may still have made the place, at any time from now on.
            fan.joins.append((sent, math.inf))
            raise
        fan.joins.append((sent, time.time()))
        if joined.status_code == 200:
            app.place = joined.json()
            if fan.joined_at is None:
                fan.joined_at = time.monotonic() - self.opens_at
        return joined

    async def enter_room(self, fan: Fan, app: App) -> Response:
        """Enter the waiting room: with a solved challenge unless the app holds a place (the page shows the widget
        only to a fan without one, and a place held comes back without a challenge). A place the app thought it
        held but that ended meanwhile is refused with challenge_failed: the app solves one and enters again."""
        solve = not app.holds_place()
        joined = await self.join(fan, app, solve=solve)
        if not solve and joined.status_code == 403 and problem_code(joined) == "challenge_failed":
            app.place = None
            joined = await self.join(fan, app, solve=True)
        return joined

    async def enter_prequeue(self, fan: Fan, app: App) -> None:
        """The concert → enter the pre-queue → poll until the draw's place comes up and admits the fan (who then books
        from the concert like everyone). Returns at once if the sale opened before the fan got there (shop() enters)."""
        concert = await app.api.request(CONCERT, self.concert_path)
        if concert.status_code != 200:
            raise FanGaveUp(f"the concert answered {refusal(concert)}")
        if concert.json().get("on_sale"):
            return
        joined = await self.enter_room(fan, app)
        if joined.status_code != 200:
            raise FanGaveUp(f"the pre-queue refused the fan with {refusal(joined)}")
        place = joined.json()
        if place["admitted"]:
            fan.admitted_at = fan.admitted_at or time.monotonic() - self.opens_at
            return
        fan.receipt = place.get("receipt")
        await self.wait_in_room(fan, app, place)

    async def wait_in_room(self, fan: Fan, app: App, place: Place) -> Place | None:
        """Poll the place after each answer's poll_seconds (jittered as the waiting page's script jitters it) until
        admitted: returns the admitted place, or None when the place ended. A failed poll backs off as the page's
        does (a 429 or 503 waits its Retry-After); MAX_POLL_FAILURES in a row without an answer give up."""
        delay = int(place.get("poll_seconds") or 3)
        in_prequeue = bool(place.get("prequeue"))
        wait, failures = float(delay), 0
        while True:
            await asyncio.sleep(poll_wait(wait, in_prequeue))
            try:
                response = await app.api.request(PLACE, self.room_path)
            except ServerError:
                failures += 1
                if failures > MAX_POLL_FAILURES:
                    raise
                wait = min(60, max(1, delay * 2**failures))
                continue
            if response.status_code != 200:
                failures += 1
                wait = min(60, max(1, retry_after(response) or delay * 2**failures))
                continue
            failures = 0
            place = app.place = response.json()
            if place["admitted"]:
                fan.admitted_at = fan.admitted_at or time.monotonic() - self.opens_at
                return place
            if not place["joined"]:
                return None
            in_prequeue = bool(place.get("prequeue"))
            fan.receipt = place.get("receipt") or fan.receipt
            delay = place.get("poll_seconds") or delay
            wait = delay

    async def shop(self, fan: Fan, app: App) -> str:
        """The concert → pick a date with seats left → waiting room → seats → hold → pay; again while seats return."""
        give_up_at: float | None = None
        while True:
            dates = bookable_dates(await app.api.request(CONCERT, self.concert_path))
            if dates:
                outcome = await self.book_date(fan, app, random.choice(dates))
                if outcome is not None:
                    return outcome
            # Nothing free right now: sold out, or every free seat is held. Keep looking a while; abandoned holds
            # come back when they expire.
            give_up_at = give_up_at or time.monotonic() + self.args.patience
            if time.monotonic() >= give_up_at:
                if fan.joined_at is not None:
                    await app.api.request(LEAVE, self.room_path)
                    app.place = None
                return "sold out"
            await asyncio.sleep(random.uniform(3, 6))

    async def enter(self, fan: Fan, app: App) -> None:
        """Enter the waiting room (an admitted fan gets their admission back) and wait until admitted."""
        for _attempt in range(5):
            joined = await self.enter_room(fan, app)
            if joined.status_code != 200:
                await asyncio.sleep(1)  # refused (e.g. a clock a hair before the opening): again, as the page
                continue
            place = joined.json()
            if place["admitted"]:
                fan.admitted_at = fan.admitted_at or time.monotonic() - self.opens_at
                return
            if await self.wait_in_room(fan, app, place) is not None:
                return
            # The place ended (ran out): enter again.
        raise FanGaveUp("could not get through the waiting room")

    async def book_date(self, fan: Fan, app: App, date_id: str) -> str | None:
        """Seats → hold → (abandon | pay [→ top up] [→ cancel]). None when this date had nothing left for the fan."""
        await self.enter(fan, app)
        seats = await app.api.request(SEATS, f"/dates/{date_id}/seats")
        if seats.status_code == 403:  # not_admitted: the admission ran out between the poll and the call
            return None
        if seats.status_code != 200:
            raise FanGaveUp(f"the seats answered {refusal(seats)}")
        free = free_seats(seats)
        held: list[int] = []
        for _attempt in range(3):
            if not free:
                return None
            await think(self.args)
            wanted = random.sample(free, min(len(free), random.choice((1, 2))))
            response = await app.api.request(HOLD, f"/dates/{date_id}/holds", {"seats": wanted})
            if response.status_code == 201:
                held = wanted
                break
            if response.status_code == 403:
                return None  # not admitted any more
            if response.status_code != 409:  # 429 included: rate limited, a failure of the normal flow
                raise FanGaveUp(f"hold refused with {refusal(response)}")
            # Someone was faster (seat_taken): the app shows the seats again, as the page does.
            seats = await app.api.request(SEATS, f"/dates/{date_id}/seats")
            if seats.status_code != 200:
                return None
            free = free_seats(seats)
        if not held:
            return None
        if fan.abandons:
            return "abandoned hold"
        await think(self.args)
        checkout = await app.api.request(HOLDS, f"/dates/{date_id}/holds")
        holds = checkout.json().get("holds", []) if checkout.status_code == 200 else []
        if not holds:
            # Admission gone, or the holds ran out while the fan looked: start again from the concert.
            fan.notes.append("no holds left at checkout" if checkout.status_code == 200 else "checkout sent back")
            return None
        await think(self.args)
        body = {"reservations": [hold["id"] for hold in holds]}  # the holds it shows
        headers = {"Idempotency-Key": str(uuid.uuid4())}  # one per payment the fan means; a retry sends it again
        path = f"/dates/{date_id}/payments"
        if fan.double_pays:
            # A retry while the first is still in flight, landing on the other instance: one payment, one charge.
            first, second = await asyncio.gather(
                app.api.request(PAY, path, body, headers, base=self.lane or self.bases[0]),
                app.api.request(PAY, path, body, headers, base=self.lane or self.bases[-1]),
            )
            paid = first if first.status_code in (200, 201) else second
        else:
            paid = await app.api.request(PAY, path, body, headers)
        if paid.status_code not in (200, 201):
            raise FanGaveUp(f"payment answered {refusal(paid)}")
        fan.seats = len(held)
        if fan.tops_up:
            await self.top_up(app)
        if not fan.cancels:
            return "bought"
        await asyncio.sleep(random.uniform(2, 8))
        await self.cancel_one(app)
        return "bought, then cancelled one seat"

    async def top_up(self, app: App) -> None:
        """The balance, then a top-up of TOP_UP_AMOUNT won with an Idempotency-Key (--top-up)."""
        await app.api.request(BALANCE, "/wallet")
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        charged = await app.api.request(TOP_UP, "/wallet/top-ups", {"amount": TOP_UP_AMOUNT}, headers)
        if charged.status_code != 201:
            raise FanGaveUp(f"top-up refused with {refusal(charged)}")

    async def cancel_one(self, app: App) -> None:
        """My reservations → the first cancellable one's quote → cancel it, accepting the quote's fee (as the cancel
        page posts the fee it showed)."""
        mine = await app.api.request(RESERVATIONS, "/reservations")
        cancellable = [item for item in mine.json().get("items", []) if item.get("cancellable")]
        if mine.status_code != 200 or not cancellable:
            raise FanGaveUp("no cancellable reservation in my reservations")
        reservation = cancellable[0]["id"]
        quote = await app.api.request(QUOTE, f"/reservations/{reservation}/cancellation")
        if quote.status_code != 200 or not quote.json()["cancellable"]:
            raise FanGaveUp(f"the cancellation quote answered {refusal(quote)}")
        cancelled = await app.api.request(
            CANCEL, f"/reservations/{reservation}/cancel", {"accepted_fee": quote.json()["fee"]}
        )
        if cancelled.status_code != 200:
            raise FanGaveUp(f"cancel refused with {refusal(cancelled)}")
