"""The draw's public record (draw_record, draw_entries, draw_page, draw_place_of) and its check (verify_draw),
on both backends: a real draw checks, and every kind of tampering with the history is named."""

import datetime

import pytest
from django.db.models import F

from queueing import selectors, services
from queueing.draw import commitment, draw_order
from queueing.models import QueueEntryHistory, WaitingRoom
from queueing.selectors import DrawState
from tests.factories import UserFactory
from tests.support.draws import run_a_draw, sale_opening_soon

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawn(queue_backend):
    return run_a_draw(entrants=6, leavers=1, later=2)


def test_a_real_draw_is_public_and_checks(drawn):
    room = WaitingRoom.objects.get(pk=drawn.concert.pk)
    record = selectors.draw_record(drawn.concert)

    assert record.state == DrawState.DRAWN and record.is_drawn
    assert record.seed == room.draw_seed
    assert record.commitment == commitment(room.draw_seed) == room.draw_commitment
    assert record.drawn_at == drawn.opens + datetime.timedelta(seconds=1)
    assert record.draw_size == 5
    entries = list(selectors.draw_entries(drawn.concert))
    receipts = [drawn.history(fan).receipt for fan in drawn.prequeued]
    assert entries == [(receipt, place) for place, receipt in enumerate(draw_order(room.draw_seed, receipts), 1)]
    assert selectors.verify_draw(drawn.concert) == []


def test_the_fans_after_the_opening_queue_behind_the_draw_in_arrival_order(drawn):
    later = [drawn.history(fan) for fan in drawn.later]
    assert [row.queue_position for row in later] == [6, 7]
    assert all(row.receipt == "" for row in later)
    left = drawn.history(drawn.left[0])
    assert left.receipt and left.queue_position is None
    assert left.receipt not in [receipt for receipt, _ in selectors.draw_entries(drawn.concert)]


def test_the_entries_are_a_lazy_query_and_a_page_is_a_range_of_places(drawn, django_assert_num_queries):
    entries = selectors.draw_entries(drawn.concert)
    assert not isinstance(entries, list)
    record = selectors.draw_record(drawn.concert)
    with django_assert_num_queries(1):
        second = selectors.draw_page(record, page=2, per_page=2)
    assert (second.number, second.num_pages, second.first_place, second.last_place) == (2, 3, 3, 4)
    assert [place for _, place in second.entries] == [3, 4]
    last = selectors.draw_page(record, page=99, per_page=2)
    assert (last.number, [place for _, place in last.entries]) == (3, [5])
    assert selectors.draw_page(record, page=-4, per_page=2).number == 1


def test_a_receipt_finds_its_place(drawn):
    receipt, place = list(selectors.draw_entries(drawn.concert))[2]
    assert selectors.draw_place_of(drawn.concert, receipt.lower()) == place == 3
    assert selectors.draw_place_of(drawn.concert, drawn.history(drawn.left[0]).receipt) is None
    assert selectors.draw_place_of(drawn.concert, "P999999") is None
    assert selectors.draw_place_of(drawn.concert, "") is None


@pytest.mark.parametrize(
    ("minutes_before", "state"),
    [(45, DrawState.NOT_OPEN), (10, DrawState.PREQUEUE), (-1, DrawState.DUE)],
)
def test_before_the_draw_the_commitment_is_shown_and_the_seed_is_not(queue_backend, minutes_before, state):
    concert = sale_opening_soon()
    services.join(user=UserFactory(), concert=concert, now=concert.sale_opens_at - datetime.timedelta(minutes=10))
    room = WaitingRoom.objects.get(pk=concert.pk)

    record = selectors.draw_record(concert, now=concert.sale_opens_at - datetime.timedelta(minutes=minutes_before))

    assert record.state == state and not record.is_drawn
    # Public from the pre-queue's opening: before it the room may still serve a presale first (with another seed).
    assert record.commitment == ("" if state == DrawState.NOT_OPEN else room.draw_commitment)
    assert record.seed is None and record.drawn_at is None and record.draw_size == 0
    assert record.prequeue_opens_at == concert.sale_opens_at - datetime.timedelta(minutes=30)
    assert list(selectors.draw_entries(concert)) == []
    assert selectors.draw_page(record, page=1, per_page=500).entries == []
    assert selectors.verify_draw(concert) == [f"The draw of {concert.title} has not run yet."]


def test_a_concert_without_a_waiting_room_has_no_commitment_yet(db):
    concert = sale_opening_soon()
    record = selectors.draw_record(concert, now=concert.sale_opens_at - datetime.timedelta(hours=2))
    assert (record.state, record.commitment, record.seed) == (DrawState.NOT_OPEN, "", None)


def test_a_draw_of_nobody_checks(queue_backend):
    concert = sale_opening_soon()
    assert services.run_draw(concert=concert, now=concert.sale_opens_at)
    services.join(user=UserFactory(), concert=concert, now=concert.sale_opens_at + datetime.timedelta(seconds=1))
    assert selectors.draw_record(concert).draw_size == 0
    assert selectors.verify_draw(concert) == []


def test_the_prequeue_size_counts_the_entries_waiting_for_the_draw(queue_backend):
    concert = sale_opening_soon()
    before = concert.sale_opens_at - datetime.timedelta(minutes=3)
    for fan in UserFactory.create_batch(3):
        services.join(user=fan, concert=concert, now=before)
    room = WaitingRoom.objects.get(pk=concert.pk)
    assert selectors.prequeue_size(room=room) == 3
    services.run_draw(concert=concert, now=concert.sale_opens_at)
    assert selectors.prequeue_size(room=room) == 0


def test_the_prequeue_size_is_none_when_redis_is_down(settings, redis_prefix):
    settings.QUEUE_BACKEND = "redis"
    concert = sale_opening_soon()
    room = WaitingRoom.objects.create(concert=concert)
    settings.REDIS_URL = "redis://127.0.0.1:1/3"
    assert selectors.prequeue_size(room=room) is None


def test_the_addresses_with_the_most_live_places_come_first(queue_backend):
    concert = sale_opening_soon()
    before = concert.sale_opens_at - datetime.timedelta(minutes=3)
    for address, count in [("198.51.100.1", 1), ("203.0.113.9", 3), ("2001:db8::1", 2)]:
        for fan in UserFactory.create_batch(count):
            services.join(user=fan, concert=concert, now=before, client_ip=address)
    gone = QueueEntryHistory.objects.filter(client_ip="203.0.113.9").first().user
    services.leave(user=gone, concert=concert, now=before)

    rows = selectors.live_places_by_address(concert=concert)

    assert [(row.client_ip, row.places) for row in rows] == [
        ("203.0.113.9", 2),
        ("2001:db8::", 2),
        ("198.51.100.1", 1),
    ]
    assert selectors.live_places_by_address(concert=concert, limit=1)[0].client_ip == "203.0.113.9"


# --- tampering: every kind is named ------------------------------------------------------------------


def drawn_row(draw, place):
    return QueueEntryHistory.objects.get(concert=draw.concert, queue_position=place)


def test_swapping_two_places_names_both_receipts(drawn):
    first, third = drawn_row(drawn, 1), drawn_row(drawn, 3)
    QueueEntryHistory.objects.filter(pk=first.pk).update(queue_position=3)
    QueueEntryHistory.objects.filter(pk=third.pk).update(queue_position=1)

    # In the draw's order: the receipt the seed puts first, then the one it puts third.
    assert selectors.verify_draw(drawn.concert) == [
        f"Receipt {first.receipt} has place 3; the seed gives it place 1.",
        f"Receipt {third.receipt} has place 1; the seed gives it place 3.",
    ]


def test_a_changed_seed_does_not_match_the_commitment(drawn):
    other = "ab" * 32
    WaitingRoom.objects.filter(pk=drawn.concert.pk).update(draw_seed=other)

    problems = selectors.verify_draw(drawn.concert)

    assert problems[0].startswith(f"The seed's SHA-256 is {commitment(other)}, not the published commitment")
    # The places no longer follow either (unless this seed happens to give the same order: 1 in 120).
    assert all("the seed gives it place" in line for line in problems[1:])


def test_a_changed_commitment_is_the_only_problem(drawn):
    WaitingRoom.objects.filter(pk=drawn.concert.pk).update(draw_commitment="0" * 64)
    room = WaitingRoom.objects.get(pk=drawn.concert.pk)
    assert selectors.verify_draw(drawn.concert) == [
        f"The seed's SHA-256 is {commitment(room.draw_seed)}, not the published commitment {'0' * 64}."
    ]


def test_a_seed_that_is_not_hex_is_named(drawn):
    WaitingRoom.objects.filter(pk=drawn.concert.pk).update(draw_seed="not-a-seed")
    assert selectors.verify_draw(drawn.concert) == [
        "The seed 'not-a-seed' is not 64 hexadecimal digits; no order can be computed from it."
    ]


def test_a_drawn_entry_without_its_place_is_named(drawn):
    second = drawn_row(drawn, 2)
    QueueEntryHistory.objects.filter(pk=second.pk).update(queue_position=None)
    assert selectors.verify_draw(drawn.concert) == [
        f"Receipt {second.receipt} has no place, but it was still in the pre-queue when the draw ran; "
        "the seed gives it place 2."
    ]


def test_a_later_arrival_placed_inside_the_draw_is_named(drawn):
    later = drawn.history(drawn.later[0])
    QueueEntryHistory.objects.filter(pk=later.pk).update(queue_position=2)
    problems = selectors.verify_draw(drawn.concert)
    assert problems == [
        f"Place 2 belongs to a fan who arrived after the opening ({later.entered_at.isoformat()}, no receipt), "
        "inside the drawn places 1-5."
    ]


def test_a_leaver_given_a_place_is_named(drawn):
    left = drawn.history(drawn.left[0])
    QueueEntryHistory.objects.filter(pk=left.pk).update(queue_position=9)
    assert selectors.verify_draw(drawn.concert) == [
        f"Receipt {left.receipt} has place 9, but it left the pre-queue before the draw ({left.exited_at.isoformat()})."
    ]


def test_a_wrong_draw_size_is_named(drawn):
    WaitingRoom.objects.filter(pk=drawn.concert.pk).update(draw_size=F("draw_size") + 1)
    assert selectors.verify_draw(drawn.concert) == [
        "The room records 6 entries drawn, but 5 pre-queue entries were there at the draw."
    ]


def test_an_exit_right_at_the_draw_may_go_either_way(drawn):
    """A leave that raced the draw (its time taken before the draw's, written after it) keeps its place."""
    row = drawn_row(drawn, 4)
    QueueEntryHistory.objects.filter(pk=row.pk).update(
        exited_at=drawn.opens, exit_reason=services.EXIT_LEFT
    )  # a second before drawn_at
    assert selectors.verify_draw(drawn.concert) == []


def test_past_a_hundred_problems_of_a_kind_the_rest_are_counted(queue_backend):
    draw = run_a_draw(entrants=1, leavers=0, later=0)
    fan = UserFactory()
    QueueEntryHistory.objects.bulk_create(
        QueueEntryHistory(
            user=fan,
            concert=draw.concert,
            token=f"00000000-0000-0000-0000-{i:012d}",
            queue_position=1,
            entered_at=draw.opens + datetime.timedelta(seconds=5),
        )
        for i in range(103)
    )
    problems = selectors.verify_draw(draw.concert)
    assert len(problems) == 100 + 1
    assert problems[0].startswith("Place 1 belongs to a fan who arrived after the opening")
    assert problems[-1] == "... and 3 more problem(s) of this kind (intruder)."
