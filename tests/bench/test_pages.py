"""What the rush bench's scripted browser reads off the pages: which form joins (and whether it carries the
entry challenge's widget), and how long the waiting page waits between polls (static/js/queue.js)."""

import pytest

from bench.rush.challenge import find_form
from bench.rush.scenario import DATE_FORM, PREQUEUE_FORM, poll_wait

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
