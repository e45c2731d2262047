"""The rush bench's checks (bench/rush/checks.py): each rule alone on hand-made history rows, and check_database
on a small sale made through the real services, which passes, and fails once its history is tampered with."""

import datetime
import math
import random

import pytest
from django.utils import timezone

from bench.rush.checks import NEVER, Visit, admission_jumps, bot_problems, check_database, draw_problems, late_problems
from queueing import services
from queueing.draw import commitment, draw_order, receipt_for
from queueing.models import QueueEntryHistory
from tests.factories import ConcertDateFactory, UserFactory

T0 = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
SECOND = datetime.timedelta(seconds=1)
SEED = "ab" * 32


def visit(email, position, *, receipt="", entered=0, admitted=None, exited=None):
    return Visit(
        email=email,
        position=position,
        receipt=receipt,
        entered_at=T0 + entered * SECOND,
        admitted_at=None if admitted is None else T0 + admitted * SECOND,
        exited_at=None if exited is None else T0 + exited * SECOND,
    )


def drawn_visits(count, seed=SEED):
    """Pre-queue visits placed as the seed orders their receipts, admitted in place order after the opening."""
    order = draw_order(seed, [receipt_for(n) for n in range(1, count + 1)])
    return [
        visit(f"fan{n}", place, receipt=receipt, entered=-60 + n, admitted=10 + place)
        for place, receipt in enumerate(order, start=1)
        for n in [int(receipt[1:])]
    ]


# --- admission followed places ---------------------------------------------------------------------


def test_admission_in_place_order_jumps_nobody():
    assert admission_jumps(drawn_visits(5)) == []


def test_an_admission_while_an_earlier_place_waits_is_a_jump():
    visits = [visit("a", 1, entered=0, admitted=20), visit("b", 2, entered=1, admitted=10)]
    assert [v.email for v in admission_jumps(visits)] == ["b"]


def test_places_admitted_in_one_batch_jump_nobody():
    visits = [visit("a", 1, entered=0, admitted=10), visit("b", 2, entered=1, admitted=10)]
    assert admission_jumps(visits) == []


def test_an_earlier_place_that_left_before_the_admission_was_not_jumped():
    visits = [visit("a", 1, entered=0, exited=5), visit("b", 2, entered=1, admitted=10)]
    assert admission_jumps(visits) == []


def test_prequeue_entries_that_left_before_the_draw_have_no_place_and_are_skipped():
    visits = [visit("gone", None, receipt="P000001", entered=-30, exited=-10), visit("b", 1, entered=-5, admitted=3)]
    assert admission_jumps(visits) == []


def jumps_pair_by_pair(visits):
    """The rule as first written, every admission against every earlier place's window: the reference."""
    windows, jumped = [], []
    for v in sorted((v for v in visits if v.position is not None), key=lambda v: v.position):
        if v.admitted_at is not None and any(start < v.admitted_at < end for start, end in windows):
            jumped.append(v)
        stopped = v.admitted_at or v.exited_at or NEVER
        if stopped > v.entered_at:
            windows.append((v.entered_at, stopped))
    return jumped


@pytest.mark.parametrize("seed", range(20))
def test_the_fast_rule_finds_exactly_the_jumps_the_pair_by_pair_rule_finds(seed):
    # Random histories on a coarse clock, so that entries, admissions and exits often share an instant
    # (the windows are open at both ends): some still waiting, some gone, some admitted out of order.
    rng = random.Random(seed)
    visits = []
    for place in range(1, 301):
        entered = rng.randint(0, 60)
        end = entered + rng.randint(0, 40)
        kind = rng.random()
        visits.append(
            visit(
                f"fan{place}",
                place if kind > 0.05 else None,
                entered=entered,
                admitted=end if kind < 0.8 else None,
                exited=end if 0.8 <= kind < 0.95 else None,
            )
        )
    expected = jumps_pair_by_pair(visits)
    assert expected  # the histories do have jumps to find
    assert admission_jumps(visits) == expected


# --- the draw --------------------------------------------------------------------------------------


def test_a_draw_in_the_seeds_order_has_no_problem():
    assert draw_problems(seed=SEED, committed=commitment(SEED), draw_size=6, visits=drawn_visits(6)) == []


def test_a_draw_out_of_the_seeds_order_is_reported():
    visits = drawn_visits(6)
    first, second = visits[0], visits[1]
    swapped = [
        visit(first.email, 2, receipt=first.receipt),
        visit(second.email, 1, receipt=second.receipt),
        *visits[2:],
    ]
    problems = draw_problems(seed=SEED, committed=commitment(SEED), draw_size=6, visits=swapped)
    assert problems == ["2 of 6 receipts not at the place the seed gives them"]


def test_a_seed_that_is_not_the_commitment_is_reported():
    problems = draw_problems(seed=SEED, committed=commitment("cd" * 32), draw_size=3, visits=drawn_visits(3))
    assert problems == ["the seed's SHA-256 is not the published commitment"]


def test_a_draw_with_a_gap_or_a_wrong_size_is_reported():
    visits = drawn_visits(3)
    gap = [*visits[:2], visit(visits[2].email, 4, receipt=visits[2].receipt)]
    problems = draw_problems(seed=SEED, committed=commitment(SEED), draw_size=4, visits=gap)
    assert problems == ["the drawn places are not 1, 2, ... n", "3 drawn entries in the history, the room says 4"]


# --- arrivals after the opening -------------------------------------------------------------------


def late(email, position, entered):
    return visit(email, position, entered=entered)


def span(entered, before=0.05, after=0.05):
    at = (T0 + entered * SECOND).timestamp()
    return [(at - before, at + after)]


def test_late_arrivals_behind_the_draw_in_arrival_order_have_no_problem():
    visits = [*drawn_visits(3), late("x", 4, 1), late("y", 5, 2), late("z", 6, 3)]
    joins = {"x": span(1), "y": span(2), "z": span(3)}
    assert late_problems(drawn=3, visits=visits, joins=joins) == []


def test_a_late_arrival_among_the_drawn_places_is_reported():
    visits = [*drawn_visits(3)[:2], late("x", 3, 1)]
    assert late_problems(drawn=3, visits=visits, joins={"x": span(1)}) == ["1 placed among the drawn entrants"]


def test_a_later_join_placed_ahead_of_an_answered_one_is_reported():
    visits = [late("x", 5, 1), late("y", 4, 2)]  # y joined a second after x's answer, yet got the earlier place
    problems = late_problems(drawn=3, visits=visits, joins={"x": span(1), "y": span(2)})
    assert problems == ["1 placed behind a join answered before theirs was sent"]


def test_joins_in_flight_together_may_be_placed_either_way():
    visits = [late("x", 5, 1.0), late("y", 4, 1.1)]  # y's request was sent before x's was answered
    assert late_problems(drawn=3, visits=visits, joins={"x": span(1.0, after=0.5), "y": span(1.1, before=0.5)}) == []


def test_a_join_that_got_no_answer_may_have_made_a_place_at_any_later_time():
    visits = [late("x", 4, 1), late("y", 5, 70)]  # x's answer never came; the server placed it after all
    joins = {"x": [((T0 + SECOND).timestamp() - 0.05, math.inf)], "y": span(70)}
    assert late_problems(drawn=3, visits=visits, joins=joins) == []


def test_a_late_visit_no_join_of_theirs_could_have_made_is_reported():
    visits = [late("x", 4, 1)]
    problems = late_problems(drawn=3, visits=visits, joins={"x": span(9)})
    assert problems == ["1 without a join POST of theirs that could have made them"]


# --- bots -----------------------------------------------------------------------------------------


def test_bots_admitted_in_their_place_and_holding_after_it_have_no_problem():
    visits = drawn_visits(4)
    bots = {visits[1].email}
    holds = [(visits[1].email, visits[1].admitted_at + SECOND)]
    assert bot_problems(bots=bots, visits=visits, jumped=admission_jumps(visits), holds=holds) == []


def test_a_bot_that_jumped_held_early_or_was_admitted_unplaced_is_reported():
    visits = [
        visit("fan", 1, entered=0, admitted=20),
        visit("bot", 2, entered=1, admitted=10),  # ahead of place 1
        visit("sneak", None, receipt="P000009", entered=-5, admitted=1),  # admitted without a place
    ]
    holds = [("bot", T0 + 5 * SECOND), ("fan", T0)]  # the bot held before its admission; fans are not judged here
    problems = bot_problems(bots={"bot", "sneak"}, visits=visits, jumped=admission_jumps(visits), holds=holds)
    assert problems == [
        "1 bot admissions ahead of an earlier place",
        "1 bot admissions without a drawn place",
        "1 seats held by bots before they were admitted",
    ]


# --- check_database on a sale made through the services --------------------------------------------


@pytest.fixture
def sale(db):
    """A concert whose sale opened a minute ago: five fans entered its pre-queue before, three came after (their
    join POSTs' spans as the load generator would have seen them), and admission ran once."""
    opening = (timezone.now() - datetime.timedelta(minutes=1)).replace(microsecond=0)
    concert = ConcertDateFactory(concert__sale_opens_at=opening).concert
    early, after = [UserFactory() for _ in range(5)], [UserFactory() for _ in range(3)]
    for n, fan in enumerate(early):
        services.join(user=fan, concert=concert, now=opening - (10 - n) * datetime.timedelta(minutes=1))
    joins = {}
    for n, fan in enumerate(after, start=1):
        at = opening + n * SECOND
        services.join(user=fan, concert=concert, now=at)
        joins[fan.email] = [(at.timestamp() - 0.01, at.timestamp() + 0.01)]
    services.admit_batch(concert=concert, now=opening + 10 * SECOND)
    return concert, [*early, *after], opening, joins


QUEUE_CHECKS = (
    "admission followed places (QueueEntryHistory)",
    "the draw followed its committed seed",
    "arrivals after the opening queued behind the draw, first come first served",
)


def test_a_fair_sale_passes_every_check(sale):
    concert, fans, opening, joins = sale
    checks, facts = check_database(concert, fans, opening, joins=joins)
    assert {name: ok for name, (ok, _) in checks.items() if not ok} == {}
    assert all(name in checks for name in QUEUE_CHECKS)
    assert checks["the draw followed its committed seed"][1] == "5 entrants placed in the seed's order"
    assert (facts["draw"]["size"], facts["draw"]["late_visits"], facts["draw"]["left_before"]) == (5, 3, 0)


def test_a_tampered_history_fails_the_draw_and_arrival_checks(sale):
    concert, fans, opening, joins = sale
    history = QueueEntryHistory.objects.filter(concert=concert)
    for a, b in ((1, 2), (6, 8)):  # two drawn entrants trade places, and two late arrivals
        first, second = history.get(queue_position=a), history.get(queue_position=b)
        history.filter(pk=first.pk).update(queue_position=b)
        history.filter(pk=second.pk).update(queue_position=a)

    checks, _facts = check_database(concert, fans, opening, joins=joins)

    failed = {name for name, (ok, _) in checks.items() if not ok}
    assert failed == {
        "the draw followed its committed seed",
        "arrivals after the opening queued behind the draw, first come first served",
    }
