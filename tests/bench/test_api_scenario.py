"""The rush's fans through the JSON API (bench/rush/api_scenario.py, `--api`): each step against scripted answers
(when the app solves the entry challenge, how it paces its polls, what it sends to pay, cancel and top up), then
whole journeys against the real API in process, which the rush's database checks pass unchanged."""

import argparse
import asyncio
import datetime
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone
from multidict import CIMultiDict, CIMultiDictProxy

from bench.rush import api_scenario
from bench.rush.api_client import (
    BALANCE,
    CANCEL,
    CHALLENGE,
    CONCERT,
    ENTER,
    HOLD,
    HOLDS,
    OPERATIONS,
    PAY,
    PLACE,
    QUOTE,
    RESERVATIONS,
    SEATS,
    TOP_UP,
)
from bench.rush.api_scenario import ApiRush, App, bookable_dates, free_seats
from bench.rush.challenge import solve_payload
from bench.rush.checks import check_database
from bench.rush.client import Response, ServerError
from bench.rush.fixtures import api_tokens, create_fans
from bench.rush.metrics import Metrics
from bench.rush.scenario import MAX_POLL_FAILURES, TOP_UP_AMOUNT, Fan, FanGaveUp
from tests.factories import ConcertDateFactory, ConcertFactory
from tests.support.bench_api import answer, problem
from tests.support.challenges import challenge_room

LATER = "2999-01-01T00:00:00+00:00"  # an admission that runs out long after any test (import time is no anchor)
WAITING = {"joined": True, "admitted": False, "prequeue": False, "position": 3, "ahead": 2, "poll_seconds": 5}
ADMITTED = {"joined": True, "admitted": True, "prequeue": False, "expires_at": LATER, "poll_seconds": 3}
CHALLENGE_JSON = {"algorithm": "SHA-256", "challenge": "c", "maxNumber": 10, "salt": "s", "signature": "x"}


class ScriptedApi:
    """An app's API client whose answers are scripted per operation, in turn; keeps every call."""

    def __init__(self, **answers):
        self.answers = {operation: list(queue) for operation, queue in answers.items()}
        self.calls = []

    async def request(self, operation, path, body=None, headers=None, base=None):
        self.calls.append({"operation": operation, "path": path, "body": body, "headers": headers, "base": base})
        queue = self.answers[operation]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def sent(self, operation):
        return [call for call in self.calls if call["operation"] == operation]


class Solved:
    """A solver of the entry challenge that answers at once."""

    solves = 0

    async def solve(self, challenge):
        self.solves += 1
        return "solved"


def run(coroutine_function, *args):
    # In a thread of its own: the browser tests' Playwright keeps an event loop running in the main thread for the
    # rest of the session, where asyncio.run refuses to start another (as tests/bench/test_pages.py does).
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine_function(*args)).result()


def rush_with(api, *, solver=None, **options):
    args = argparse.Namespace(think=0, patience=0, **options)
    rush = ApiRush(args, None, ["http://web1", "http://web2"], "c1", time.monotonic(), Metrics(), solver or Solved())
    rush.app = lambda fan: App(api)
    return rush


def fan(**choices):
    defaults = {"email": "fan@bench", "abandons": False, "cancels": False, "double_pays": False}
    return Fan(index=0, address="10.0.0.1", cookies={}, arrival=0, **{**defaults, **choices})


@pytest.fixture
def waits(monkeypatch):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(api_scenario.asyncio, "sleep", sleep)
    monkeypatch.setattr(api_scenario, "poll_wait", lambda seconds, prequeue: seconds)
    return slept


def test_an_app_without_a_place_solves_the_challenge_first_and_one_admitted_enters_without(waits):
    api = ScriptedApi(**{CHALLENGE: [answer(200, CHALLENGE_JSON)], ENTER: [answer(200, ADMITTED)]})
    rush, app, someone = rush_with(api), App(api), fan()

    run(rush.enter, someone, app)
    run(rush.enter, someone, app)  # admitted already: the place comes back, no challenge

    assert [call["body"] for call in api.sent(ENTER)] == [{"challenge": "solved"}, {}]
    assert len(api.sent(CHALLENGE)) == 1 and rush.solver.solves == 1
    assert len(someone.joins) == 2 and someone.joined_at is not None and someone.admitted_at is not None


def test_an_admission_that_ran_out_is_not_a_place_held_and_a_refused_entry_is_solved_and_sent_again(waits):
    app = App(None, place={**ADMITTED, "expires_at": (timezone.now() - datetime.timedelta(seconds=1)).isoformat()})
    assert not app.holds_place()
    api = ScriptedApi(
        **{
            CHALLENGE: [answer(200, CHALLENGE_JSON)],
            ENTER: [problem(403, "challenge_failed"), answer(200, ADMITTED)],  # the app thought it waited still
        }
    )
    rush, app = rush_with(api), App(api, place=WAITING)

    run(rush.enter, fan(), app)

    assert [call["body"] for call in api.sent(ENTER)] == [{}, {"challenge": "solved"}]


def test_the_app_polls_after_each_answers_poll_seconds_and_waits_out_a_retry_after(waits):
    api = ScriptedApi(
        **{
            PLACE: [
                answer(200, {**WAITING, "poll_seconds": 7}),
                problem(429, "rate_limited", **{"Retry-After": "11"}),
                answer(200, {**WAITING, "poll_seconds": 4}),
                answer(200, ADMITTED),
            ]
        }
    )
    rush, someone = rush_with(api), fan()

    place = run(rush.wait_in_room, someone, App(api), WAITING)

    assert place["admitted"] is True and someone.admitted_at is not None
    assert waits == [5, 7, 11, 4]  # the entry's 5 s, then each answer's, a 429 its Retry-After


def test_a_poll_without_an_answer_backs_off_as_the_page_does_and_is_given_up_after_its_limit(waits):
    api = ScriptedApi(**{PLACE: [ServerError("GET /concerts/{id}/queue: TimeoutError")]})

    with pytest.raises(ServerError):
        run(rush_with(api).wait_in_room, fan(), App(api), WAITING)

    assert len(api.sent(PLACE)) == MAX_POLL_FAILURES + 1
    assert waits[:4] == [5, 10, 20, 40] and max(waits) == 60


def test_a_place_that_ended_while_waiting_sends_the_app_back_to_enter(waits):
    api = ScriptedApi(**{PLACE: [answer(200, {"joined": False, "admitted": False, "prequeue": False})]})
    assert run(rush_with(api).wait_in_room, fan(), App(api), WAITING) is None


def seats(*free, taken=()):
    states = [{"number": n, "state": "AVAILABLE"} for n in free] + [{"number": n, "state": "HELD"} for n in taken]
    return answer(200, {"seats": states})


def holds(*ids):
    return answer(200, {"holds": [{"id": hold_id} for hold_id in ids], "total": 0, "balance": 0, "expires_at": None})


def booking_api(**more):
    return ScriptedApi(
        **{
            CHALLENGE: [answer(200, CHALLENGE_JSON)],
            ENTER: [answer(200, ADMITTED)],
            SEATS: [seats(7, taken=[1])],
            HOLD: [answer(201, {})],
            HOLDS: [holds("r7")],
            PAY: [answer(201, {})],
            **more,
        }
    )


def test_a_taken_seat_shows_the_seats_again_and_the_app_picks_from_what_is_left(waits):
    api = booking_api(**{SEATS: [seats(7, 8), seats(8)], HOLD: [problem(409, "seat_taken"), answer(201, {})]})

    outcome = run(rush_with(api).book_date, fan(), App(api), "d1")

    assert outcome == "bought"
    assert api.sent(HOLD)[-1]["body"] == {"seats": [8]}
    assert [call["path"] for call in api.sent(SEATS)] == ["/dates/d1/seats"] * 2


def test_a_payer_sends_the_holds_it_saw_with_a_key_of_its_own_and_a_double_pay_sends_that_key_to_both_instances(
    waits,
):
    api = booking_api(**{PAY: [answer(201, {}), answer(200, {"replayed": True})]})

    assert run(rush_with(api).book_date, fan(double_pays=True), App(api), "d1") == "bought"

    first, second = api.sent(PAY)
    assert first["body"] == second["body"] == {"reservations": ["r7"]}
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert {first["base"], second["base"]} == {"http://web1", "http://web2"}


def test_a_fan_who_abandons_holds_and_never_pays(waits):
    api = booking_api()
    assert run(rush_with(api).book_date, fan(abandons=True), App(api), "d1") == "abandoned hold"
    assert not api.sent(PAY) and not api.sent(HOLDS)


def test_admission_gone_before_the_seats_sends_the_fan_back_to_the_concert(waits):
    api = booking_api(**{SEATS: [problem(403, "not_admitted")]})
    assert run(rush_with(api).book_date, fan(), App(api), "d1") is None


def test_a_cancelling_fan_accepts_the_fee_the_quote_returned_and_a_topping_up_fan_sends_its_own_key(waits):
    mine = {"items": [{"id": "old", "cancellable": False}, {"id": "r7", "cancellable": True}], "next_cursor": None}
    api = booking_api(
        **{
            BALANCE: [answer(200, {"balance": 1})],
            TOP_UP: [answer(201, {})],
            RESERVATIONS: [answer(200, mine)],
            QUOTE: [answer(200, {"fee": 19800, "cancellable": True})],
            CANCEL: [answer(200, {})],
        }
    )
    someone = fan(cancels=True, tops_up=True)

    assert run(rush_with(api).book_date, someone, App(api), "d1") == "bought, then cancelled one seat"

    (top_up,) = api.sent(TOP_UP)
    assert top_up["body"] == {"amount": TOP_UP_AMOUNT} and top_up["headers"]["Idempotency-Key"]
    assert top_up["headers"]["Idempotency-Key"] != api.sent(PAY)[0]["headers"]["Idempotency-Key"]
    assert api.sent(QUOTE)[0]["path"] == "/reservations/r7/cancellation"
    assert api.sent(CANCEL)[0]["body"] == {"accepted_fee": 19800}
    assert someone.seats == 1


def test_a_refused_payment_stops_the_fan_with_its_problem_code(waits):
    api = booking_api(**{PAY: [problem(402, "insufficient_balance")]})
    with pytest.raises(FanGaveUp, match="402 insufficient_balance"):
        run(rush_with(api).book_date, fan(), App(api), "d1")


def test_the_dates_an_app_may_book_are_those_on_sale_with_seats_left_and_the_free_seats_those_available():
    concert = {"on_sale": True, "dates": [{"id": "a", "seats_left": 0}, {"id": "b", "seats_left": 3}]}
    assert bookable_dates(answer(200, concert)) == ["b"]
    assert bookable_dates(answer(200, {**concert, "on_sale": False})) == []
    assert bookable_dates(problem(429, "rate_limited")) == []
    assert free_seats(seats(2, 5, taken=[1, 3])) == [2, 5]


# --- whole journeys against the real API, in process ------------------------------------------------------------


class InProcessApi:
    """An app's API client that calls the real API through Django's test client (in one thread of its own, where no
    event loop runs: Django refuses database work from a thread running one), answering as ApiClient does."""

    def __init__(self, token, metrics, thread):
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
        self.metrics, self.thread = metrics, thread

    def _call(self, operation, path, body, headers):
        method = operation.split(" ", 1)[0].lower()
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()}
        if body is None:
            return getattr(self.client, method)("/api/v1" + path, **extra)
        return getattr(self.client, method)("/api/v1" + path, body, content_type="application/json", **extra)

    async def request(self, operation, path, body=None, headers=None, base=None):
        at = time.monotonic()
        reply = await asyncio.get_running_loop().run_in_executor(
            self.thread, self._call, operation, path, body, headers
        )
        self.metrics.record(operation, at, time.monotonic() - at, reply.status_code)
        response = Response(reply.status_code, CIMultiDictProxy(CIMultiDict(reply.headers.items())), reply.text)
        if response.status_code >= 500:
            raise ServerError(f"{operation}: HTTP {response.status_code}")
        return response


class SolvedHere:
    """The entry challenge solved by the altcha package in this process (the rush's Solver does it in workers)."""

    solves = 0

    async def solve(self, challenge):
        self.solves += 1
        return solve_payload(challenge)[0]


def journey(concert, someone, token, *, opens_at):
    """Run one fan's journey through the real API; returns the Metrics."""
    metrics = Metrics(order=OPERATIONS)
    args = argparse.Namespace(think=0, patience=0)

    async def go():
        with ThreadPoolExecutor(max_workers=1) as thread:
            rush = ApiRush(args, None, ["http://web1", "http://web2"], str(concert.pk), opens_at, metrics, SolvedHere())
            rush.app = lambda fan: App(InProcessApi(token, metrics, thread))
            try:
                await rush.run_fan(someone)
            finally:
                await asyncio.get_running_loop().run_in_executor(thread, connections.close_all)

    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, go()).result()
    return metrics


@pytest.fixture
def short_waits(monkeypatch):
    """The journey's pauses (between polls, before cancelling) last a few milliseconds instead of seconds."""
    sleep = asyncio.sleep

    async def short(seconds):
        await sleep(min(seconds, 0.02))

    monkeypatch.setattr(api_scenario.asyncio, "sleep", short)


@pytest.mark.django_db(transaction=True)
def test_a_fan_books_pays_twice_at_once_tops_up_and_cancels_through_the_api_and_the_rush_checks_pass(short_waits):
    # The show five days away: cancelling costs 20% (the standard schedule), which the app accepts from the quote.
    date = ConcertDateFactory(starts_at=timezone.now() + datetime.timedelta(days=5))
    concert = date.concert
    challenge_room(concert)
    (user,) = create_fans("api1", 1, "fan")
    (token,) = api_tokens([user])
    someone = fan(email=user.email, cancels=True, double_pays=True, tops_up=True)

    metrics = journey(concert, someone, token, opens_at=time.monotonic())

    assert someone.outcome == "bought, then cancelled one seat", someone.notes
    statuses = {name: {code for _at, _s, code in samples} for name, samples in metrics.samples.items()}
    assert statuses == {
        CONCERT: {200},
        CHALLENGE: {200},
        ENTER: {200},
        SEATS: {200},
        HOLD: {201},
        HOLDS: {200},
        PAY: {200, 201},  # one payment, and its retry answered with it (replayed)
        BALANCE: {200},
        TOP_UP: {201},
        RESERVATIONS: {200},
        QUOTE: {200},
        CANCEL: {200},
    }
    checks, facts = check_database(concert, [user], concert.sale_opens_at, joins={user.email: someone.joins})
    assert all(ok for ok, _detail in checks.values()), checks
    user.refresh_from_db()
    fee = user.usages.get(action_type="CANCELLATION_FEE").amount
    assert fee > 0 and facts["reservations"]["CANCELLED"] == 1
    assert user.charges.filter(status="SUCCESS").count() == 2  # the fixture's top-up and the app's


@pytest.mark.django_db(transaction=True)
def test_a_fan_enters_the_prequeue_through_the_api_is_drawn_at_the_opening_and_admitted(short_waits):
    opens = timezone.now() + datetime.timedelta(seconds=1.5)
    concert = ConcertFactory(sale_opens_at=opens)
    ConcertDateFactory(concert=concert)
    challenge_room(concert)
    (user,) = create_fans("api2", 1, "fan")
    (token,) = api_tokens([user])
    someone = fan(email=user.email, prequeue=True)

    # The opening on the journey's clock, from the time left now (making the fan and its token took some of it).
    journey(concert, someone, token, opens_at=time.monotonic() + (opens - timezone.now()).total_seconds())

    assert someone.outcome == "bought", someone.notes
    assert someone.receipt and someone.joined_at < 0 < someone.admitted_at  # entered before the opening
    checks, facts = check_database(concert, [user], opens, joins={user.email: someone.joins})
    assert all(ok for ok, _detail in checks.values()), checks
    assert facts["draw"]["size"] == 1
