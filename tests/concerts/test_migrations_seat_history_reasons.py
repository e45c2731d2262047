"""Migration 0008 turns the seat history's English reasons into codes (the staff's own words into `note`), and
its reversal gives back the texts the services wrote before."""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from booking import services
from booking.models import Reservation
from concerts.models import SeatStatusHistory
from tests import factories
from tests.support.sales import holding_fan, paid_fan

BEFORE = [("concerts", "0007_presales")]
AFTER = [("concerts", "0008_seat_history_reason_codes")]
Reason = SeatStatusHistory.Reason


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def _rows(apps):
    History = apps.get_model("concerts", "SeatStatusHistory")
    fields = ["seat__seat_number", "from_status", "to_status", "reason"]
    if "note" in {field.name for field in History._meta.get_fields()}:
        fields.append("note")
    return sorted(History.objects.values_list(*fields), key=lambda row: tuple(str(value) for value in row))


@pytest.mark.django_db(transaction=True)
def test_every_reason_the_services_write_goes_back_to_its_english_text_and_forward_to_the_same_code():
    staff = factories.StaffFactory()
    date = factories.ConcertDateFactory()  # 50 seats, each with its "seat created" row
    fan, _result = paid_fan(concert_date=date, seats=[1, 2, 3, 4])
    services.cancel(user=fan, reservation=Reservation.objects.get(seat__seat_number=1))
    services.refund_and_cancel(reservation=Reservation.objects.get(seat__seat_number=2), by=staff, reason="goodwill")
    services.refund_and_cancel(reservation=Reservation.objects.get(seat__seat_number=3), by=staff)
    holding_fan(concert_date=date, seats=[5])
    services.release_hold(reservation=Reservation.objects.get(seat__seat_number=5), by=staff)
    holding_fan(concert_date=date, seats=[6])
    services.expire_holds(now=timezone.now() + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1))
    other = factories.ConcertDateFactory()
    paid_fan(concert_date=other, seats=[7])
    services.end_reservations_of_cancelled_date(
        cancellation=services.cancel_concert_date(concert_date=other, by=staff, reason="storm", enqueue=False)
    )
    written = _rows(_migrate(AFTER))
    try:
        apps = _migrate(BEFORE)
        texts = {(number, to, reason) for number, _from, to, reason in _rows(apps) if reason != "seat created"}
        assert texts == {
            *((n, "HELD", "held") for n in (1, 2, 3, 4, 5, 6, 7)),
            *((n, "RESERVED", "paid") for n in (1, 2, 3, 4, 7)),
            (1, "AVAILABLE", "cancelled by the fan"),
            (2, "AVAILABLE", "goodwill"),
            (3, "AVAILABLE", "refunded by staff"),
            (5, "AVAILABLE", "released by staff"),
            (6, "AVAILABLE", "hold expired"),
            (7, "AVAILABLE", "date cancelled: storm"),
        }
        assert len(_rows(apps)) == len(written)

        assert _rows(_migrate(AFTER)) == written
        codes = {(number, to, reason, note) for number, _from, to, reason, note in written}
        assert (2, "AVAILABLE", Reason.STAFF_REFUNDED, "goodwill") in codes
        assert (3, "AVAILABLE", Reason.STAFF_REFUNDED, "") in codes
        assert (7, "AVAILABLE", Reason.DATE_CANCELLED, "storm") in codes
        assert {reason for _n, _to, reason, _note in codes} == {
            Reason.SEAT_CREATED,
            Reason.HELD,
            Reason.PAID,
            Reason.FAN_CANCELLED,
            Reason.STAFF_REFUNDED,
            Reason.STAFF_RELEASED,
            Reason.HOLD_EXPIRED,
            Reason.DATE_CANCELLED,
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_older_texts_map_to_codes_and_words_typed_by_staff_become_the_note():
    staff = factories.StaffFactory()
    date = factories.ConcertDateFactory()
    paid_fan(concert_date=date, seats=[1, 2, 3])
    for number in (1, 2):
        services.refund_and_cancel(reservation=Reservation.objects.get(seat__seat_number=number), by=staff)
    try:
        apps = _migrate(BEFORE)
        History = apps.get_model("concerts", "SeatStatusHistory")
        freed = History.objects.filter(seat__concert_date_id=date.pk, from_status="RESERVED", to_status="AVAILABLE")
        # The admin's refund form once offered its default reason translated, and staff typed their own.
        freed.filter(seat__seat_number=1).update(reason="스태프 환불")
        freed.filter(seat__seat_number=2).update(reason="double booking, refunded")
        History.objects.filter(seat__concert_date_id=date.pk, seat__seat_number=3, to_status="HELD").update(
            reason="fixed by hand"
        )
        History.objects.filter(seat__concert_date_id=date.pk, seat__seat_number=50).update(
            reason="date cancelled: artist ill"
        )

        _migrate(AFTER)
        rows = {
            (row.seat.seat_number, row.to_status): (row.reason, row.note)
            for row in SeatStatusHistory.objects.filter(seat__concert_date=date).exclude(reason=Reason.SEAT_CREATED)
        }
        assert rows[1, "AVAILABLE"] == (Reason.STAFF_REFUNDED, "")
        assert rows[2, "AVAILABLE"] == (Reason.STAFF_REFUNDED, "double booking, refunded")
        assert rows[3, "HELD"] == (Reason.OTHER, "fixed by hand")
        assert rows[50, "AVAILABLE"] == (Reason.DATE_CANCELLED, "artist ill")
        assert not SeatStatusHistory.objects.exclude(reason__in=Reason.values).exists()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
