"""The fan's cancellation charges the concert's fee (booking.services.cancel): the refund and the fee are ledger
rows that reconcile, the fee is the one the quote showed or the fan is refused, and staff refunds and date
cancellations stay free. On PostgreSQL, times given as `now`."""

import datetime
import zoneinfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from booking import selectors, services
from booking.exceptions import CancellationFeeChanged, CancellationOnShowDay
from booking.models import Reservation
from concerts.models import CancellationFeeRule, Seat
from concerts.pricing import PriceTier
from tests.factories import ConcertDateFactory, ConcertFactory, StaffFactory
from tests.support.checks import assert_consistent, seat_snapshot
from tests.support.concurrency import run_at_once
from wallet.models import UsageHistory
from wallet.selectors import balance, unbalanced_cancellations

pytestmark = pytest.mark.django_db

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


def seoul(day, hour, minute=0, second=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute, second), tzinfo=SEOUL)


@pytest.fixture
def show(now):
    """A 19:00 show (Seoul) 40 days away, its seats at 55,555 won (a price whose fee needs rounding)."""
    day = (now + datetime.timedelta(days=40)).astimezone(SEOUL).date()
    return ConcertDateFactory(starts_at=seoul(day, 19), tiers=[PriceTier("R", 1, 50, 55_555)])


@pytest.fixture
def bought(funded_fan, show, now):
    """The funded fan paid seat 1 of the show now (its free week ends 33 days before the show)."""
    services.hold_seats(user=funded_fan, concert_date=show, seat_numbers=[1], now=now)
    return services.pay(user=funded_fan, concert_date=show, idempotency_key="fee", now=now).reservations[0]


def day_before_show(show, days, hour=12, minute=0, second=0):
    return seoul(show.concert_date - datetime.timedelta(days=days), hour, minute, second)


def ledger(reservation):
    return sorted(
        UsageHistory.objects.filter(reservation=reservation, status="SUCCESS").values_list("action_type", "amount")
    )


def test_cancelling_5_days_before_charges_20_percent_as_a_ledger_entry_and_reconciles(funded_fan, show, bought):
    before = balance(user=funded_fan)
    at = day_before_show(show, 5)

    cancelled = services.cancel(user=funded_fan, reservation=bought, now=at)

    assert (cancelled.fee_charged, cancelled.refunded) == (11_110, 44_445)  # 20 % of 55,555 is 11,111: 11,110
    assert balance(user=funded_fan) == before + 44_445
    assert ledger(bought) == [("CANCELLATION", 44_445), ("CANCELLATION_FEE", 11_110), ("RESERVATION", 55_555)]
    fee_row = UsageHistory.objects.get(reservation=bought, action_type="CANCELLATION_FEE")
    assert (fee_row.user_id, fee_row.used_at) == (funded_fan.pk, at)
    assert Seat.objects.get(pk=bought.seat_id).status == "AVAILABLE"
    assert_consistent()  # balances and every cancellation's refund + fee == payment
    call_command("reconcile_wallets")  # exits 0


def test_the_quote_shows_what_the_cancellation_then_charges(funded_fan, show, bought):
    at = day_before_show(show, 2, 23, 59)
    quote = selectors.cancellation_quote(reservation=bought, now=at)
    assert (quote.paid, quote.percent, quote.fee, quote.refund) == (55_555, 30, 16_660, 38_895)

    cancelled = services.cancel(user=funded_fan, reservation=bought, accepted_fee=quote.fee, now=at)

    assert (cancelled.fee_charged, cancelled.refunded) == (quote.fee, quote.refund)


def test_free_in_the_booking_s_first_week(funded_fan, show, bought, now):
    quote = selectors.cancellation_quote(reservation=bought, now=now + datetime.timedelta(days=3))
    assert (quote.fee, quote.refund, quote.waived) == (0, 55_555, False)  # 37 days out: no step has begun
    assert quote.free_until == show.concert_date - datetime.timedelta(days=11)  # the standard schedule's first fee
    late = selectors.cancellation_quote(reservation=bought, now=day_before_show(show, 10))
    assert (late.free_until, late.percent) == (None, 10)
    services.cancel(user=funded_fan, reservation=bought, now=now + datetime.timedelta(days=3))
    assert ledger(bought) == [("CANCELLATION", 55_555), ("RESERVATION", 55_555)]  # no fee row


def test_a_concert_s_own_rows_replace_the_standard_schedule(funded_fan, show, bought, now):
    concert = show.concert
    CancellationFeeRule.objects.create(concert=concert, days_before=35, percent=5)
    CancellationFeeRule.objects.create(concert=concert, days_before=20, percent=50)
    in_week = selectors.cancellation_quote(reservation=bought, now=day_before_show(show, 34))
    assert (in_week.fee, in_week.waived) == (0, True)  # 6 days after paying: free although 5 % has begun
    assert in_week.free_until == show.concert_date - datetime.timedelta(days=34)  # the free week's last day
    assert selectors.cancellation_quote(reservation=bought, now=day_before_show(show, 32)).percent == 5
    assert selectors.cancellation_quote(reservation=bought, now=day_before_show(show, 3)).percent == 50

    cancelled = services.cancel(user=funded_fan, reservation=bought, now=day_before_show(show, 3))

    assert (cancelled.fee_charged, cancelled.refunded) == (27_770, 27_785)


def test_a_100_percent_fee_refunds_nothing_and_still_reconciles(funded_fan, show, bought, make_fan, now):
    CancellationFeeRule.objects.create(concert=show.concert, days_before=1, percent=100)
    before = balance(user=funded_fan)

    services.cancel(user=funded_fan, reservation=bought, now=day_before_show(show, 1))

    # Rounded down to 10 won, the whole of 55,555 is a fee of 55,550: 5 won go back.
    assert balance(user=funded_fan) == before + 5
    assert ledger(bought) == [("CANCELLATION", 5), ("CANCELLATION_FEE", 55_550), ("RESERVATION", 55_555)]
    # A round price: all of it is kept, and there is no refund row at all.
    round_price = ConcertDateFactory(concert=show.concert, starts_at=show.starts_at + datetime.timedelta(days=1))
    fan = make_fan(100_000)
    services.hold_seats(user=fan, concert_date=round_price, seat_numbers=[1], now=now)
    [paid] = services.pay(user=fan, concert_date=round_price, idempotency_key="r", now=now).reservations
    services.cancel(user=fan, reservation=paid, now=day_before_show(round_price, 1))
    assert balance(user=fan) == 100_000 - paid.price
    assert ledger(paid) == [("CANCELLATION_FEE", paid.price), ("RESERVATION", paid.price)]
    assert Reservation.objects.get(pk=paid.pk).status == "CANCELLED"
    assert_consistent()


def test_a_fee_that_went_up_since_the_page_is_refused_and_changes_nothing(funded_fan, show, bought):
    # The page was read at 23:59:59 seven days before the show (10 %); the click lands after midnight (20 %).
    shown = selectors.cancellation_quote(reservation=bought, now=day_before_show(show, 7, 23, 59, 59))
    assert shown.fee == 5_550
    before = seat_snapshot(show), balance(user=funded_fan), ledger(bought)
    after_midnight = day_before_show(show, 6, 0, 0, 1)

    with pytest.raises(CancellationFeeChanged) as refused:
        services.cancel(user=funded_fan, reservation=bought, accepted_fee=shown.fee, now=after_midnight)

    assert (refused.value.code, refused.value.status) == ("cancellation_fee_changed", 409)
    assert (refused.value.accepted, refused.value.fee, refused.value.refund) == (5_550, 11_110, 44_445)
    assert "11,110" in refused.value.reason and "44,445" in refused.value.reason
    assert (seat_snapshot(show), balance(user=funded_fan), ledger(bought)) == before
    # Confirming the new amounts cancels.
    cancelled = services.cancel(user=funded_fan, reservation=bought, accepted_fee=11_110, now=after_midnight)
    assert cancelled.fee_charged == 11_110


def test_a_fee_that_went_down_since_the_page_is_the_lower_one(funded_fan, show, bought):
    shown = selectors.cancellation_quote(reservation=bought, now=day_before_show(show, 2))
    CancellationFeeRule.objects.create(concert=show.concert, days_before=2, percent=10)  # staff lowered it

    cancelled = services.cancel(
        user=funded_fan, reservation=bought, accepted_fee=shown.fee, now=day_before_show(show, 2)
    )

    assert shown.fee == 16_660 and cancelled.fee_charged == 5_550


def test_nothing_is_cancelled_on_the_show_s_day(funded_fan, show, bought):
    before = seat_snapshot(show), balance(user=funded_fan)
    for at in (seoul(show.concert_date, 0, 0), seoul(show.concert_date, 18, 59)):
        with pytest.raises(CancellationOnShowDay):
            services.cancel(user=funded_fan, reservation=bought, now=at)
        quote = selectors.cancellation_quote(reservation=bought, now=at)
        assert isinstance(quote.refusal, CancellationOnShowDay) and quote.fee == 0
    assert (seat_snapshot(show), balance(user=funded_fan)) == before


def test_the_deadline_is_the_cutoff_or_the_show_s_midnight_whichever_is_first(show, settings):
    settings.CANCEL_CUTOFF_HOURS = 24
    assert selectors.cancellation_deadline(show) == show.starts_at - datetime.timedelta(hours=24)
    settings.CANCEL_CUTOFF_HOURS = 2  # 17:00 on the show's day: the day itself closes first
    assert selectors.cancellation_deadline(show) == seoul(show.concert_date, 0, 0)


def test_staff_refunds_stay_free_close_to_the_show(funded_fan, show, bought):
    before = balance(user=funded_fan)
    services.refund_and_cancel(reservation=bought, by=StaffFactory(), now=seoul(show.concert_date, 10))
    assert balance(user=funded_fan) == before + 55_555
    assert ledger(bought) == [("CANCELLATION", 55_555), ("RESERVATION", 55_555)]


def test_a_cancelled_date_refunds_in_full_close_to_the_show(
    funded_fan, show, bought, django_capture_on_commit_callbacks
):
    before = balance(user=funded_fan)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_concert_date(concert_date=show, by=StaffFactory(), reason="storm")
    assert balance(user=funded_fan) == before + 55_555
    assert ledger(bought) == [("CANCELLATION", 55_555), ("RESERVATION", 55_555)]
    assert unbalanced_cancellations() == []


def test_the_schedule_is_read_once_per_concert_for_my_tickets(funded_fan, show, bought, django_assert_num_queries):
    other = ConcertDateFactory(concert=ConcertFactory(), starts_at=show.starts_at + datetime.timedelta(days=1))
    services.hold_seats(user=funded_fan, concert_date=other, seat_numbers=[2])
    services.pay(user=funded_fan, concert_date=other, idempotency_key="other")
    with django_assert_num_queries(3):  # the count, the page, the two concerts' schedules
        page = selectors.reservations_for(user=funded_fan, now=day_before_show(show, 5))
    fees = {r.seat.concert_date_id: (r.cancel_fee.percent, r.cancel_fee.fee) for r in page.object_list}
    assert fees[show.pk] == (20, 11_110)
    assert fees[other.pk][0] == 20  # 6 days before its show


# --- real threads on PostgreSQL ------------------------------------------------------------------------------


def _ticket_five_days_out(make_fan):
    """A ticket whose cancellation now costs 20 %: a 99,000 won seat of a show 5 days away (the free week does not
    apply within 10 days of the show)."""
    date = ConcertDateFactory(starts_at=timezone.now() + datetime.timedelta(days=5))
    fan = make_fan(100_000)
    services.hold_seats(user=fan, concert_date=date, seat_numbers=[1])
    [ticket] = services.pay(user=fan, concert_date=date, idempotency_key="k").reservations
    return fan, ticket, date


@pytest.mark.django_db(transaction=True)
def test_four_clicks_at_once_charge_the_fee_once(make_fan):
    fan, ticket, _date = _ticket_five_days_out(make_fan)
    fee = selectors.cancellation_quote(reservation=ticket).fee
    assert fee == ticket.price // 5

    outcomes = run_at_once(lambda: services.cancel(user=fan, reservation=ticket, accepted_fee=fee), [()] * 4)

    assert sum(error is None for _result, error in outcomes) == 1
    assert ledger(ticket) == [
        ("CANCELLATION", ticket.price - fee),
        ("CANCELLATION_FEE", fee),
        ("RESERVATION", ticket.price),
    ]
    assert balance(user=fan) == 100_000 - fee
    assert_consistent()


@pytest.mark.django_db(transaction=True)
def test_a_fan_cancelling_while_staff_cancel_the_date_pays_a_fee_only_if_the_fan_came_first(make_fan):
    from booking.services import end_reservations_of_cancelled_date, mark_date_cancelled

    for _round in range(4):  # which side wins is up to the threads: both orders are checked
        fan, ticket, date = _ticket_five_days_out(make_fan)

        def staff_cancel(date=date):
            cancellation, _created = mark_date_cancelled(concert_date=date, reason="storm")
            end_reservations_of_cancelled_date(cancellation=cancellation)

        def fan_cancel(fan=fan, ticket=ticket):
            return services.cancel(user=fan, reservation=ticket, accepted_fee=ticket.price // 5)

        (_, fan_error), (_, staff_error) = run_at_once(lambda work: work(), [(fan_cancel,), (staff_cancel,)])

        assert staff_error is None
        if fan_error is None:  # the fan came first: the fee is theirs to pay
            assert balance(user=fan) == 100_000 - ticket.price // 5
            assert ("CANCELLATION_FEE", ticket.price // 5) in ledger(ticket)
        else:  # the date came first: refunded in full, no fee
            assert getattr(fan_error, "code", None) == "date_cancelled", fan_error
            assert balance(user=fan) == 100_000
            assert ledger(ticket) == [("CANCELLATION", ticket.price), ("RESERVATION", ticket.price)]
    assert_consistent()
