import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from concerts.models import Concert, ConcertDate, Seat, SeatStatusHistory
from concerts.pricing import PriceTier
from concerts.services import create_concert_date


def _concert():
    now = timezone.now()
    return Concert.objects.create(title="Test", sale_opens_at=now)


SHOW = datetime.datetime(2030, 1, 1, 19, 0, tzinfo=datetime.UTC)


@pytest.mark.django_db
def test_create_concert_date_creates_priced_seats_with_history(settings):
    tiers = [PriceTier("VIP", 1, 10, 165_000), PriceTier("R", 11, 30, 132_000), PriceTier("S", 31, 50, 99_000)]
    date = create_concert_date(concert=_concert(), starts_at=SHOW, tiers=tiers)
    seats = list(date.seats.order_by("seat_number"))
    assert [s.seat_number for s in seats] == list(range(1, settings.SEATS_PER_DATE + 1))
    assert {s.price for s in seats[:10]} == {165_000}
    assert {s.price for s in seats[30:]} == {99_000}
    assert all(s.status == Seat.Status.AVAILABLE for s in seats)
    assert SeatStatusHistory.objects.filter(seat__concert_date=date, to_status="AVAILABLE").count() == 50


@pytest.mark.django_db
def test_tiers_with_a_gap_create_nothing():
    concert = _concert()
    with pytest.raises(ValidationError):
        create_concert_date(concert=concert, starts_at=SHOW, tiers=[PriceTier("VIP", 1, 10, 165_000)])
    assert not ConcertDate.objects.exists()
