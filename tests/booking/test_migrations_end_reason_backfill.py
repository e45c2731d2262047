"""Migration 0004 fills in why the reservations that ended before it had ended, from the seats' history."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from booking import services
from booking.models import Reservation
from booking.services import cancel_concert_date, end_reservations_of_cancelled_date
from tests import factories
from wallet import services as wallet_services

pytestmark = pytest.mark.django_db

backfill_end_reasons = importlib.import_module("booking.migrations.0004_reservation_end_reason").backfill_end_reasons
# The seat history held English texts then (concerts 0008 made them codes): its reversal writes them back.
history_as_texts = importlib.import_module("concerts.migrations.0008_seat_history_reason_codes").to_texts


def test_the_backfill_reads_each_ended_reservation_s_reason_from_the_seat_history():
    fan = factories.UserFactory()
    wallet_services.charge(user=fan, amount=1_000_000)
    date = factories.ConcertDateFactory()
    for seat in (1, 2, 3, 4):
        services.hold_seats(user=fan, concert_date=date, seat_numbers=[seat])
    services.release_hold(reservation=Reservation.objects.get(seat__seat_number=2))
    services.hold_seats(user=fan, concert_date=date, seat_numbers=[5])
    services.pay(user=fan, concert_date=date, idempotency_key="k")  # 1, 3, 4, 5
    services.cancel(user=fan, reservation=Reservation.objects.get(seat__seat_number=3))
    services.refund_and_cancel(reservation=Reservation.objects.get(seat__seat_number=4))
    services.hold_seats(user=fan, concert_date=date, seat_numbers=[6])
    services.expire_holds(now=timezone.now() + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1))
    end_reservations_of_cancelled_date(cancellation=cancel_concert_date(concert_date=date, reason="x", enqueue=False))
    recorded = dict(Reservation.objects.values_list("seat__seat_number", "end_reason"))
    assert recorded == {
        1: "DATE_CANCELLED",
        2: "STAFF_RELEASED",
        3: "FAN_CANCELLED",
        4: "STAFF_REFUNDED",
        5: "DATE_CANCELLED",
        6: "HOLD_EXPIRED",
    }
    Reservation.objects.update(end_reason="")  # as they were before the field existed
    history_as_texts(apps, None)

    backfill_end_reasons(apps, None)

    assert dict(Reservation.objects.values_list("seat__seat_number", "end_reason")) == recorded
