import io

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from booking import selectors
from booking.models import Payment, Reservation, WaitlistEntry
from concerts.models import Concert, ConcertDate, Seat, SeatStatusHistory
from tests.support.checks import assert_consistent
from wallet.models import ChargeHistory

pytestmark = pytest.mark.django_db


def _counts():
    return (
        User.objects.count(),
        Concert.objects.count(),
        ConcertDate.objects.count(),
        Seat.objects.count(),
        SeatStatusHistory.objects.count(),
        ChargeHistory.objects.count(),
        Reservation.objects.count(),
        Payment.objects.count(),
        WaitlistEntry.objects.count(),
    )


def test_seed_demo_builds_the_demo_and_is_idempotent(client):
    call_command("seed_demo", stdout=io.StringIO())
    first = _counts()
    User.objects.filter(email="fan@frontrow.local").update(email_verified_at=None)  # a demo from before verification
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == first
    # The demo accounts may enter waiting rooms at once: their addresses count as verified.
    assert set(User.objects.filter(email_verified_at__isnull=False).values_list("email", flat=True)) == {
        "fan@frontrow.local",
        "staff@frontrow.local",
    }

    now = timezone.now()
    concerts = list(Concert.objects.all())
    assert sum(c.sale_opens_at <= now for c in concerts) >= 3
    assert sum(c.sale_opens_at > now for c in concerts) == 1
    assert all(c.dates.count() >= 2 for c in concerts)
    prices = set(Seat.objects.values_list("price", flat=True))
    assert prices == {165_000, 132_000, 99_000}
    assert Seat.objects.count() == ConcertDate.objects.count() * 50

    fan = User.objects.get(email="fan@frontrow.local")
    assert not fan.is_staff
    charged = ChargeHistory.objects.filter(user=fan, status="SUCCESS").aggregate(total=Sum("amount"))["total"]
    assert fan.balance == charged == 500_000
    assert client.login(email="fan@frontrow.local", password="frontrow-fan")

    staff = User.objects.get(email="staff@frontrow.local")
    assert staff.is_staff and staff.is_superuser
    assert client.login(email="staff@frontrow.local", password="frontrow-staff")


def test_seed_demo_has_a_sold_out_date_with_a_waiting_list_that_the_demo_fan_may_join(client):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # a rerun sells and queues nothing more
    now = timezone.now()
    [sold_out] = [d for d in ConcertDate.objects.all() if selectors.free_seat_count(concert_date=d, now=now) == 0]
    assert sold_out.concert.is_on_sale(now)
    assert sold_out.concert.dates.count() >= 2  # its other dates still have seats
    assert Reservation.objects.filter(seat__concert_date=sold_out, status=Reservation.Status.CONFIRMED).count() == 50
    waiting = WaitlistEntry.objects.filter(concert_date=sold_out, status=WaitlistEntry.Status.WAITING)
    assert waiting.count() == 2
    fan = User.objects.get(email="fan@frontrow.local")
    assert not waiting.filter(user=fan).exists()  # the demo fan tries joining themselves
    # The buyers and the waiting fans are data, not logins: no password, not verified, no staff.
    extras = User.objects.exclude(email__in=["fan@frontrow.local", "staff@frontrow.local"])
    assert extras.count() == 13 + 2
    assert not any(user.has_usable_password() or user.is_staff for user in extras)
    assert_consistent()  # every paid seat's ledger and history reconcile

    client.force_login(fan)
    assert "/waitlist/" in client.get(f"/concerts/{sold_out.concert_id}/").content.decode()


def test_seed_demo_has_a_presale_whose_room_the_demo_fan_may_enter(client):
    from concerts.models import Presale
    from queueing import services as queue_services

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    presale = Presale.objects.get()
    concert = presale.concert
    now = timezone.now()
    assert now < presale.opens_at < presale.closes_at <= concert.prequeue_starts_at
    fan = User.objects.get(email="fan@frontrow.local")
    status = queue_services.join(user=fan, concert=concert, now=now)  # the presale's pre-queue is open
    assert status.prequeued and status.draw_at == presale.opens_at
