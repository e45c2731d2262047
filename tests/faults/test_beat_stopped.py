"""Celery beat stopped: neither expire_holds nor admit_queue_batches ever runs in these tests, and still
expired holds read and act as free seats, and the waiting room keeps admitting (a fan's status poll runs
the overdue admission itself). Both queue backends."""

import datetime
import uuid

import pytest
import redis
import time_machine
from django.urls import reverse
from django.utils import timezone

from booking import selectors
from booking.models import Reservation
from concerts import selectors as concert_selectors
from concerts.models import Seat
from queueing import services as queue_services
from tests.security.fixtures import admit, hold, login_client
from tests.support.checks import assert_consistent

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["database", "redis"])
def queue_backend(request, settings):
    settings.QUEUE_BACKEND = request.param
    if request.param == "redis":
        settings.QUEUE_REDIS_PREFIX = prefix = f"beat-stopped:{uuid.uuid4().hex[:10]}"
        yield request.param
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    else:
        yield request.param


def test_an_expired_hold_is_free_for_readers_and_writers_without_the_sweep(
    queue_backend, settings, alice, mallory, concert_date
):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        admit(alice, concert_date.concert)
        hold(alice, concert_date, 1, 2)
        clock.shift(datetime.timedelta(seconds=settings.HOLD_SECONDS + 1))
        admit(mallory, concert_date.concert)
        mallory_client, alice_client = login_client(mallory), login_client(alice)

        # Nothing swept them: the rows still say HELD...
        assert set(
            Seat.objects.filter(concert_date=concert_date, seat_number__in=[1, 2]).values_list("status", flat=True)
        ) == {"HELD"}
        # ...but every reader sees them free.
        seat_map = {s.number: s.status for s in selectors.seat_map(concert_date=concert_date, user=mallory)}
        assert seat_map[1] == seat_map[2] == "AVAILABLE"
        assert concert_selectors.bookable_dates(concert=concert_date.concert)[0].seats_left == settings.SEATS_PER_DATE
        page = mallory_client.get(reverse("booking:seats", args=[concert_date.pk])).content.decode()
        assert 'name="seats" value="1"' in page and 'name="seats" value="2"' in page
        assert alice_client.get(reverse("booking:checkout", args=[concert_date.pk])).context["holds"] == []

        # A writer takes seat 1 over; Alice can no longer pay for either seat.
        assert mallory_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["1"]}).status_code == 302
        paid = alice_client.post(
            reverse("booking:checkout", args=[concert_date.pk]), {"idempotency_key": str(uuid.uuid4())}
        )
        assert paid.status_code == 409
        assert Reservation.objects.get(seat__seat_number=1, status="HOLD").user_id == mallory.pk
        assert set(Reservation.objects.filter(user=alice).values_list("status", flat=True)) == {"EXPIRED"}
        assert_consistent()


def _one_place(concert, first, second):
    room = queue_services.set_paused(concert=concert, paused=False)
    room.max_active = 1
    room.save(update_fields=["max_active"])
    admit(first, concert)
    waiting = queue_services.join(user=second, concert=concert)
    assert not waiting.admitted
    return waiting


def test_the_queue_admits_the_next_fan_when_one_leaves_without_beat(
    queue_backend, settings, alice, mallory, concert_date
):
    concert = concert_date.concert
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _one_place(concert, alice, mallory)
        alice_client, mallory_client = login_client(alice), login_client(mallory)
        assert alice_client.post(reverse("queueing:leave", args=[concert.pk])).status_code == 302
        clock.shift(datetime.timedelta(seconds=10 * settings.ADMIT_QUEUE_EVERY_SECONDS))

        status = mallory_client.get(reverse("queueing:status", args=[concert.pk])).json()
        assert status["admitted"] is True
        assert mallory_client.get(reverse("booking:seats", args=[concert_date.pk])).status_code == 200


def test_the_queue_admits_the_next_fan_when_an_admission_runs_out_without_beat(
    queue_backend, settings, alice, mallory, concert_date
):
    concert = concert_date.concert
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _one_place(concert, alice, mallory)
        mallory_client = login_client(mallory)
        assert mallory_client.get(reverse("queueing:status", args=[concert.pk])).json()["admitted"] is False
        # Alice walks away; her admission runs out (it slides with activity, up to twice ACTIVE_SECONDS).
        clock.shift(datetime.timedelta(seconds=2 * settings.ACTIVE_SECONDS + 1))

        page = mallory_client.get(reverse("queueing:room", args=[concert.pk]))
        assert page.status_code == 200
        assert mallory_client.get(reverse("queueing:status", args=[concert.pk])).json()["admitted"] is True
        assert not queue_services.touch(user=alice, concert=concert)
