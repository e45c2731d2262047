"""The database refuses impossible concerts, dates and seats (numbers out of range, twice-numbered
seats, holds without a holder or expiry)."""

import datetime

import pytest
from django.utils import timezone

from concerts.models import (
    CancellationFeeRule,
    Concert,
    ConcertDate,
    DateExport,
    Presale,
    PresaleCode,
    PresaleEmail,
    Seat,
)
from tests.factories import ConcertDateFactory, ConcertFactory, PresaleFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_concert_cannot_end_before_it_starts(refused):
    concert = ConcertFactory()
    refused(
        "concert_ends_after_start",
        lambda: Concert.objects.filter(pk=concert.pk).update(end_time=concert.start_time - datetime.timedelta(1)),
    )


def test_prequeue_opens_before_the_sale(refused):
    concert = ConcertFactory()
    refused(
        "concert_prequeue_before_sale",
        lambda: Concert.objects.filter(pk=concert.pk).update(prequeue_opens_at=concert.sale_opens_at),
    )
    Concert.objects.filter(pk=concert.pk).update(prequeue_opens_at=concert.sale_opens_at - datetime.timedelta(1))


def test_one_date_per_day_per_concert(refused):
    date = ConcertDateFactory()
    local = timezone.localtime(date.starts_at)
    refused(
        "concert_date_unique_per_concert",
        # Another show the same day at another hour: concert_date is the local day of starts_at.
        lambda: ConcertDate.objects.create(concert=date.concert, starts_at=local.replace(hour=(local.hour + 1) % 24)),
    )
    # The same day for another concert is fine.
    ConcertDate.objects.create(concert=ConcertFactory(), starts_at=date.starts_at)


def test_seat_number_unique_per_date(refused):
    date = ConcertDateFactory()
    seat = date.seats.get(seat_number=2)
    refused("seat_number_unique_per_date", lambda: Seat.objects.filter(pk=seat.pk).update(seat_number=1))
    refused("seat_number_unique_per_date", lambda: Seat.objects.create(concert_date=date, seat_number=3, price=1))


@pytest.mark.parametrize("number", [0, 51])
def test_seat_number_within_1_to_seats_per_date(refused, settings, number):
    assert settings.SEATS_PER_DATE == 50
    seat = ConcertDateFactory().seats.get(seat_number=50)
    refused("seat_number_in_range", lambda: Seat.objects.filter(pk=seat.pk).update(seat_number=number))


def test_seat_price_positive(refused):
    seat = ConcertDateFactory().seats.get(seat_number=1)
    refused("seat_price_positive", lambda: Seat.objects.filter(pk=seat.pk).update(price=0))


def _hold_fields_refused(refused, **fields):
    seat = ConcertDateFactory().seats.get(seat_number=1)
    refused("seat_hold_fields_match_status", lambda: Seat.objects.filter(pk=seat.pk).update(**fields))
    seat.refresh_from_db()
    assert seat.status == Seat.Status.AVAILABLE and seat.held_by is None


def test_held_seat_needs_a_holder(refused):
    _hold_fields_refused(refused, status=Seat.Status.HELD, hold_expire_at=timezone.now())


def test_held_seat_needs_an_expiry(refused):
    _hold_fields_refused(refused, status=Seat.Status.HELD, held_by=UserFactory())


def test_available_seat_has_no_holder(refused):
    _hold_fields_refused(refused, held_by=UserFactory())


def test_available_seat_has_no_expiry(refused):
    _hold_fields_refused(refused, hold_expire_at=timezone.now())


def test_reserved_seat_keeps_no_hold_fields(refused):
    _hold_fields_refused(refused, status=Seat.Status.RESERVED, held_by=UserFactory(), hold_expire_at=timezone.now())


def test_valid_hold_is_accepted():
    seat = ConcertDateFactory().seats.get(seat_number=1)
    user = UserFactory()
    Seat.objects.filter(pk=seat.pk).update(status=Seat.Status.HELD, held_by=user, hold_expire_at=timezone.now())
    seat.refresh_from_db()
    assert seat.held_by == user


def test_cancelled_date_has_a_cancellation_time(refused):
    date = ConcertDateFactory()
    refused(
        "concert_date_cancelled_has_time",
        lambda: ConcertDate.objects.filter(pk=date.pk).update(status=ConcertDate.Status.CANCELLED),
    )
    refused(
        "concert_date_cancelled_has_time",
        lambda: ConcertDate.objects.filter(pk=date.pk).update(cancelled_at=timezone.now()),
    )


def test_ready_export_has_its_csv(refused):
    export = DateExport.objects.create(concert_date=ConcertDateFactory())
    refused(
        "date_export_ready_has_csv",
        lambda: DateExport.objects.filter(pk=export.pk).update(
            status=DateExport.Status.READY, finished_at=timezone.now()
        ),
    )
    refused(
        "date_export_ready_has_csv",
        lambda: DateExport.objects.filter(pk=export.pk).update(
            status=DateExport.Status.READY, filename="x.csv", content="reservation_id\r\n"
        ),
    )
    refused(
        "date_export_ready_has_csv",
        lambda: DateExport.objects.filter(pk=export.pk).update(
            status=DateExport.Status.READY, finished_at=timezone.now(), filename="x.csv"
        ),
    )
    DateExport.objects.filter(pk=export.pk).update(
        status=DateExport.Status.READY, finished_at=timezone.now(), filename="x.csv", content="reservation_id\r\n"
    )


def test_a_presale_closes_after_it_opens_and_sells_at_least_one_seat(refused):
    presale = PresaleFactory()
    refused(
        "presale_closes_after_opening", lambda: Presale.objects.filter(pk=presale.pk).update(closes_at=presale.opens_at)
    )
    refused("presale_quota_positive", lambda: Presale.objects.filter(pk=presale.pk).update(quota=0))


def test_a_presale_code_is_listed_once_and_a_fan_binds_one_code_per_presale(refused):
    presale = PresaleFactory()
    first = PresaleCode.objects.create(presale=presale, code_hash="a" * 64)
    second = PresaleCode.objects.create(presale=presale, code_hash="b" * 64)
    refused("presale_code_unique", lambda: PresaleCode.objects.create(presale=presale, code_hash="a" * 64))
    PresaleCode.objects.create(presale=PresaleFactory(), code_hash="a" * 64)  # another presale's: fine
    fan, now = UserFactory(), timezone.now()
    PresaleCode.objects.filter(pk=first.pk).update(used_by=fan, used_at=now)
    refused(
        "presale_code_one_per_fan", lambda: PresaleCode.objects.filter(pk=second.pk).update(used_by=fan, used_at=now)
    )
    refused("presale_code_used_has_time", lambda: PresaleCode.objects.filter(pk=first.pk).update(used_at=None))


def test_a_presale_email_is_listed_once_in_lower_case(refused):
    presale = PresaleFactory(access=Presale.Access.EMAILS)
    PresaleEmail.objects.create(presale=presale, email="fan@example.com")
    refused("presale_email_unique", lambda: PresaleEmail.objects.create(presale=presale, email="fan@example.com"))
    refused("presale_email_lower_case", lambda: PresaleEmail.objects.create(presale=presale, email="Fan@example.com"))


def test_one_fee_step_per_day_before_the_show(refused):
    concert = ConcertFactory()
    CancellationFeeRule.objects.create(concert=concert, days_before=10, percent=10)
    refused(
        "cancellation_fee_rule_day_unique",
        lambda: CancellationFeeRule.objects.create(concert=concert, days_before=10, percent=20),
    )
    CancellationFeeRule.objects.create(concert=ConcertFactory(), days_before=10, percent=20)  # another concert's


@pytest.mark.parametrize("days_before", [0, 366])
def test_a_fee_step_starts_1_to_365_days_before_the_show(refused, days_before):
    refused(
        "cancellation_fee_rule_days_range",
        lambda: CancellationFeeRule.objects.create(concert=ConcertFactory(), days_before=days_before, percent=10),
    )


def test_a_fee_is_at_most_the_whole_price(refused):
    concert = ConcertFactory()
    refused(
        "cancellation_fee_rule_percent_range",
        lambda: CancellationFeeRule.objects.create(concert=concert, days_before=3, percent=101),
    )
    CancellationFeeRule.objects.create(concert=concert, days_before=3, percent=100)
