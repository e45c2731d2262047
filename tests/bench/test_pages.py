"""What the rush bench's scripted browser reads off the pages: which form joins (and whether it carries the
entry challenge's widget), and how long the waiting page waits between polls and after a failed one
(static/js/queue.js)."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from bench.rush import scenario
from bench.rush.challenge import find_form
from bench.rush.client import Response, ServerError
from bench.rush.scenario import DATE_FORM, PREQUEUE_FORM, Fan, Rush, poll_wait

PAGE = """
<form method="post" action="/i18n/setlang/"><select name="language"></select></form>
<div class="sale-box">
  <form method="post" action="/concerts/c1/queue/" class="join-box">
    <input type="hidden" name="csrfmiddlewaretoken" value="t">
    <div class="queue-challenge"><altcha-widget name="altcha" auto="onsubmit"
         challengeurl="/concerts/c1/queue/challenge/?a=1&amp;b=2"></altcha-widget></div>
    <button type="submit" data-testid="enter-prequeue">Enter the pre-queue</button>
  </form>
</div>
<form method="post" action="/concerts/c1/queue/" class="date-form">
  <button type="submit" name="date" value="d1">Book</button>
</form>
"""


def test_the_prequeue_form_is_found_with_its_challenge_url():
    form = find_form(PAGE, PREQUEUE_FORM)
    assert form is not None
    assert (form.action, form.challenge_url) == ("/concerts/c1/queue/", "/concerts/c1/queue/challenge/?a=1&b=2")


def test_a_form_without_the_widget_has_no_challenge():
    form = find_form(PAGE, DATE_FORM)
    assert form is not None
    assert (form.action, form.challenge_url) == ("/concerts/c1/queue/", None)


def test_a_page_without_the_form_has_none():
    assert find_form("<p>Sold out</p>", PREQUEUE_FORM) is None


def test_polls_wait_the_servers_seconds_give_or_take_a_fifth():
    assert poll_wait(10, prequeue=False, rng=lambda: 0.0) == pytest.approx(8.0)
    assert poll_wait(10, prequeue=False, rng=lambda: 1.0) == pytest.approx(12.0)


def test_prequeue_polls_never_come_before_the_moment_the_server_picked():
    assert poll_wait(10, prequeue=True, rng=lambda: 0.0) == 10.0
    assert poll_wait(10, prequeue=True, rng=lambda: 1.0) == pytest.approx(12.0)


class Polls:
    """A waiting page's status answers in turn: an exception is raised (no answer), a dict answered as JSON."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = 0

    async def get(self, endpoint, path):
        self.sent += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Response(200, CIMultiDictProxy(CIMultiDict()), json.dumps(answer))


ROOM = Response(
    200,
    CIMultiDictProxy(CIMultiDict()),
    '<div data-status-url="/concerts/c1/queue/status/" data-poll-seconds="5" data-prequeue="false"></div>',
)
WAITING = {"admitted": False, "joined": True, "prequeue": False, "poll_seconds": 5}
ADMITTED = {"admitted": True, "joined": True, "next_url": "/concerts/c1/"}


@pytest.fixture
def waits(monkeypatch):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(scenario.asyncio, "sleep", sleep)
    monkeypatch.setattr(scenario, "poll_wait", lambda seconds, prequeue: seconds)
    return slept


def wait_in_room(polls):
    fan = Fan(index=0, email="", address="", cookies={}, arrival=0, abandons=False, cancels=False, double_pays=False)
    rush = SimpleNamespace(opens_at=0.0)
    # In a thread of its own: the browser tests' Playwright keeps an event loop running in the main thread for
    # the rest of the session, where asyncio.run refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, Rush.wait_in_room(rush, fan, polls, ROOM)).result()


def test_a_poll_without_an_answer_is_retried_after_a_back_off_as_the_page_does(waits):
    polls = Polls(ServerError("queue status: TimeoutError"), ServerError("queue status: HTTP 503"), WAITING, ADMITTED)
    assert wait_in_room(polls) == "/concerts/c1/"
    assert polls.sent == 4
    assert waits == [5, 10, 20, 5]  # queue.js: the delay doubled per failure in a row, then the server's again


def test_a_page_that_never_gets_an_answer_is_given_up(waits):
    polls = Polls(*[ServerError("queue status: TimeoutError")] * (scenario.MAX_POLL_FAILURES + 1))
    with pytest.raises(ServerError):
        wait_in_room(polls)
    assert max(waits) == 60


@pytest.mark.django_db
def test_the_cancel_pages_fee_is_found_as_the_rush_posts_it_back(client):
    """The rush's fans post the cancel form's fee back as a browser does (bench.rush.scenario.FEE_RE)."""
    from django.utils import timezone

    from bench.rush.scenario import FEE_RE
    from tests import factories
    from tests.support.sales import paid_fan

    date = factories.ConcertDateFactory(starts_at=timezone.now() + timezone.timedelta(days=5))
    fan, result = paid_fan(concert_date=date, seats=[1])
    client.force_login(fan)
    page = client.get(f"/reservations/{result.reservations[0].pk}/cancel/").content.decode()
    assert FEE_RE.search(page).group(1) == "19800"  # 20% five days before the show (the standard schedule)


@pytest.mark.django_db
def test_the_wallet_pages_top_up_form_takes_what_the_rush_posts(client):
    """The rush's fans who top up (--top-up) open the wallet page and post its form's amount to its action."""
    from bench.rush.scenario import TOP_UP_AMOUNT
    from tests.factories import UserFactory

    fan = UserFactory()
    client.force_login(fan)
    page = client.get("/wallet/").content.decode()
    assert 'action="/wallet/charge/"' in page and 'name="amount"' in page
    response = client.post("/wallet/charge/", {"amount": TOP_UP_AMOUNT})
    fan.refresh_from_db()
    assert response.status_code == 302 and fan.balance == TOP_UP_AMOUNT


def test_a_fan_who_tops_up_opens_the_wallet_page_then_posts_its_form():
    """bench.rush.scenario.Rush.top_up: what the browser sends (the form checked above takes it)."""
    from bench.rush.scenario import TOP_UP_AMOUNT

    class Wallet:
        sent = []

        async def get(self, endpoint, path):
            self.sent.append((endpoint, path, None))
            return Response(200, CIMultiDictProxy(CIMultiDict()), "<form></form>")

        async def post(self, endpoint, path, data=None, base=None):
            self.sent.append((endpoint, path, data))
            return Response(302, CIMultiDictProxy(CIMultiDict({"Location": "/wallet/"})), "")

    browser = Wallet()
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, Rush.top_up(SimpleNamespace(), browser)).result()
    assert browser.sent == [
        ("wallet page", "/wallet/", None),
        ("top-up (POST)", "/wallet/charge/", {"amount": TOP_UP_AMOUNT}),
    ]
