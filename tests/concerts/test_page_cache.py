"""The copies of concerts and dates the fans' busiest pages share (concerts.page_cache): read once for many
visitors, forgotten by every staff change once it commits."""

import datetime
import pickle

import pytest
from django.core.cache import cache

from booking import services as booking_services
from concerts import page_cache, services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _shared(settings):
    settings.CONCERT_PAGE_CACHE_SECONDS = 60
    yield
    cache.clear()


def test_a_concert_is_read_once_for_many_visitors(concert_date, django_assert_num_queries):
    page_cache.concert(concert_date.concert_id)
    with django_assert_num_queries(0):
        assert page_cache.concert(concert_date.concert_id).title == "Seoul Jazz Night"


def test_a_date_is_read_once_with_its_concert(concert_date, django_assert_num_queries):
    page_cache.concert_date(concert_date.pk)
    with django_assert_num_queries(0):
        shared = page_cache.concert_date(concert_date.pk)
        assert (shared.pk, shared.concert.title) == (concert_date.pk, "Seoul Jazz Night")


def test_the_waiting_room_read_along_is_shared_too_and_a_missing_one_is_not_read_again(
    concert_date, django_assert_num_queries
):
    from queueing.selectors import challenge_is_on

    concert_id = concert_date.concert_id
    page_cache.concert(concert_id, related=["waiting_room"])  # no room yet
    with django_assert_num_queries(0):
        challenge_is_on(concert=page_cache.concert(concert_id, related=["waiting_room"]))


def test_the_shared_copy_of_the_waiting_room_keeps_no_draw_seed(concert_date, django_assert_num_queries):
    from queueing.models import WaitingRoom
    from queueing.selectors import challenge_is_on

    room = WaitingRoom.objects.create(concert=concert_date.concert)
    page_cache.concert(concert_date.concert_id, related=["waiting_room"])
    shared = cache.get(page_cache.concert_key(concert_date.concert_id))
    assert "draw_seed" in shared.waiting_room.get_deferred_fields()
    assert room.draw_seed.encode() not in pickle.dumps(shared)  # what the shared cache stores
    with django_assert_num_queries(0):  # the page's reads of the room need no seed
        copy = page_cache.concert(concert_date.concert_id, related=["waiting_room"])
        challenge_is_on(concert=copy)
        assert copy.waiting_room.draw_commitment == room.draw_commitment


def test_unknown_ids_are_none_and_not_remembered(db):
    import uuid

    assert page_cache.concert(uuid.uuid4()) is None
    assert page_cache.concert_date(uuid.uuid4()) is None


def test_a_staff_edit_of_the_concert_is_seen_at_once_after_it_commits(concert_date, django_capture_on_commit_callbacks):
    page_cache.concert(concert_date.concert_id)
    page_cache.concert_date(concert_date.pk)
    concert = concert_date.concert
    concert.title = "Seoul Jazz Night (moved hall)"
    with django_capture_on_commit_callbacks(execute=True):
        concert.save()
    assert page_cache.concert(concert.pk).title == "Seoul Jazz Night (moved hall)"
    assert page_cache.concert_date(concert_date.pk).concert.title == "Seoul Jazz Night (moved hall)"


def test_a_rescheduled_date_is_seen_at_once_after_it_commits(concert_date, django_capture_on_commit_callbacks):
    page_cache.concert_date(concert_date.pk)
    later = concert_date.starts_at + datetime.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.reschedule_concert_date(concert_date=concert_date, starts_at=later)
    assert page_cache.concert_date(concert_date.pk).starts_at == later
    assert page_cache.concert(concert_date.concert_id).end_time == later  # the concert's span followed


def test_a_cancelled_date_is_seen_at_once_after_it_commits(concert_date, django_capture_on_commit_callbacks):
    page_cache.concert_date(concert_date.pk)
    with django_capture_on_commit_callbacks(execute=True):
        booking_services.mark_date_cancelled(concert_date=concert_date, reason="storm")
    assert page_cache.concert_date(concert_date.pk).is_cancelled


def test_a_deleted_date_is_gone_at_once_after_it_commits(concert_date, django_capture_on_commit_callbacks):
    page_cache.concert_date(concert_date.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_concert_date(concert_date=concert_date)
    assert page_cache.concert_date(concert_date.pk) is None


def test_a_new_date_moves_the_shared_concerts_span(concert_date, django_capture_on_commit_callbacks):
    page_cache.concert(concert_date.concert_id)
    later = concert_date.starts_at + datetime.timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        factories.ConcertDateFactory(concert=concert_date.concert, starts_at=later)
    assert page_cache.concert(concert_date.concert_id).end_time == later


def test_nothing_is_forgotten_before_the_commit(concert_date, django_capture_on_commit_callbacks):
    """A reader between the save and its commit must not cache the old row again after the forget: the forget
    waits for the commit."""
    page_cache.concert(concert_date.concert_id)
    concert = concert_date.concert
    concert.title = "Renamed"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        concert.save()
        assert page_cache.concert(concert.pk).title == "Seoul Jazz Night"  # still the committed copy
    assert callbacks  # the forget is queued for the commit
