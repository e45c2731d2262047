"""The cancellation fee arithmetic (booking.selectors.cancellation_fees): the standard Korean schedule on
concrete Asia/Seoul days, the rounding, and Hypothesis over booking time x cancel time x schedule. Pure: no
database."""

import datetime
import zoneinfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from booking.exceptions import CancellationOnShowDay
from booking.selectors.cancellation_fees import (
    FREE_DAYS_AFTER_BOOKING,
    FREE_UNLESS_WITHIN_DAYS,
    STANDARD_SCHEDULE,
    FeeBand,
    FeeStep,
    cancellation_fee,
    fee_amount,
    schedule_bands,
    scheduled_percent,
)

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
SHOW_DAY = datetime.date(2026, 12, 24)  # a show at 19:00 Seoul time


def seoul(day, hour=12, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SEOUL)


def days_before(n, hour=12, minute=0):
    return seoul(SHOW_DAY - datetime.timedelta(days=n), hour, minute)


def fee(*, price=100_000, booked_at, at, schedule=STANDARD_SCHEDULE):
    return cancellation_fee(price=price, booked_at=booked_at, at=at, show_day=SHOW_DAY, schedule=schedule)


# --- the standard schedule, day by day -----------------------------------------------------------------------

LONG_AGO = days_before(60)  # a booking long out of its free week


@pytest.mark.parametrize(
    ("days", "percent"),
    [(30, 0), (11, 0), (10, 10), (7, 10), (6, 20), (3, 20), (2, 30), (1, 30)],
)
def test_the_standard_schedule_by_days_before_the_show(days, percent):
    quoted = fee(booked_at=LONG_AGO, at=days_before(days))
    assert (quoted.percent, quoted.fee, quoted.refund, quoted.days_before) == (
        percent,
        1_000 * percent,
        100_000 - 1_000 * percent,
        days,
    )


def test_days_are_seoul_calendar_days_not_24_hour_periods():
    # 00:00 Seoul on D-10 is 15:00 UTC on D-11: the fee is 10% from the first minute of D-10 in Seoul.
    assert fee(booked_at=LONG_AGO, at=days_before(11, 23, 59)).percent == 0
    assert fee(booked_at=LONG_AGO, at=days_before(10, 0, 0)).percent == 10
    utc_evening = days_before(10, 0, 0).astimezone(datetime.UTC)
    assert utc_evening.date() == SHOW_DAY - datetime.timedelta(days=11)  # still D-11 in UTC
    assert fee(booked_at=LONG_AGO, at=utc_evening).percent == 10
    # The day before the show, to its last minute, costs 30% (and a 19:00 show is 5 hours away then).
    assert fee(booked_at=LONG_AGO, at=days_before(1, 23, 59)).percent == 30


@pytest.mark.parametrize("at", [seoul(SHOW_DAY, 0, 0), seoul(SHOW_DAY, 18, 59), seoul(SHOW_DAY, 23, 59)])
def test_the_show_s_day_is_refused(at):
    with pytest.raises(CancellationOnShowDay) as refused:
        fee(booked_at=LONG_AGO, at=at)
    assert refused.value.code == "cancellation_on_show_day"


def test_free_for_a_week_after_booking_unless_the_show_is_10_days_away_or_fewer():
    booked = days_before(20, 21, 30)  # paid on D-20 in the evening
    assert fee(booked_at=booked, at=days_before(14, 23, 59)).fee == 0  # D-14: the 7th day (the 6th after paying)
    assert fee(booked_at=booked, at=days_before(14)).waived is False  # the schedule charges nothing at D-14 anyway
    assert fee(booked_at=booked, at=days_before(13, 0, 0)).fee == 0  # the week is over, but no step has begun
    late = days_before(16)  # paid on D-16: its free week runs to D-10
    assert fee(booked_at=late, at=days_before(11)).fee == 0
    assert fee(booked_at=late, at=days_before(10)).percent == 10  # within 10 days: the schedule applies
    booked_close = days_before(5)  # paid 5 days before the show: no free week at all
    assert fee(booked_at=booked_close, at=days_before(5, 12, 1)).percent == 20


def test_the_free_week_waives_a_schedule_that_starts_early():
    early = (FeeStep(30, 5), *STANDARD_SCHEDULE)
    quoted = fee(booked_at=days_before(25), at=days_before(20), schedule=early)
    assert (quoted.fee, quoted.waived) == (0, True)
    assert fee(booked_at=days_before(28), at=days_before(20), schedule=early).percent == 5  # 8 days old


@pytest.mark.parametrize(
    ("price", "percent", "expected"),
    [(100_000, 10, 10_000), (55_555, 10, 5_550), (55_555, 30, 16_660), (99, 30, 20), (9, 30, 0), (77_000, 100, 77_000)],
)
def test_the_fee_is_rounded_down_to_10_won(price, percent, expected):
    assert fee_amount(price=price, percent=percent) == expected


def test_an_empty_schedule_charges_nothing():
    assert fee(booked_at=LONG_AGO, at=days_before(1), schedule=()).fee == 0


def test_the_schedule_as_bands_of_days():
    bands = schedule_bands(STANDARD_SCHEDULE, show_day=SHOW_DAY, days_before=4)
    assert bands == [
        FeeBand(None, 11, 0),
        FeeBand(10, 7, 10, datetime.date(2026, 12, 14)),
        FeeBand(6, 3, 20, datetime.date(2026, 12, 18), current=True),
        FeeBand(2, 1, 30, datetime.date(2026, 12, 22)),
    ]
    # A step lower than one before it changes nothing (the highest begun applies): it merges into that band.
    assert schedule_bands([FeeStep(5, 50), FeeStep(3, 20)]) == [FeeBand(None, 6, 0), FeeBand(5, 1, 50)]


# --- Hypothesis: booking time x cancel time x schedule -------------------------------------------------------

schedules = st.one_of(
    st.just(STANDARD_SCHEDULE),
    st.lists(
        st.builds(FeeStep, days_before=st.integers(1, 40), percent=st.integers(0, 100)),
        max_size=6,
        unique_by=lambda step: step.days_before,
    ).map(tuple),
)
prices = st.integers(1, 2_000_000)
# Moments within 60 days before the show's day, to the minute, anywhere in the Seoul day (so across UTC days).
minutes_before_show_day = st.integers(1, 60 * 24 * 60)


def moment(minutes_before):
    return seoul(SHOW_DAY, 0, 0) - datetime.timedelta(minutes=minutes_before)


@settings(max_examples=400, deadline=None)
@given(price=prices, schedule=schedules, booked=minutes_before_show_day, waited=st.integers(0, 60 * 24 * 60))
def test_the_fee_is_a_rounded_down_percent_of_the_schedule_and_refund_plus_fee_is_the_price(
    price, schedule, booked, waited
):
    assume(waited < booked)  # cancelled before the show's day
    quoted = fee(price=price, booked_at=moment(booked), at=moment(booked - waited), schedule=schedule)
    assert quoted.percent in {0} | {step.percent for step in schedule}
    assert quoted.fee == price * quoted.percent // 1000 * 10
    assert 0 <= quoted.fee <= price
    assert quoted.fee + quoted.refund == price
    assert quoted.fee <= price * quoted.percent / 100 < quoted.fee + 10  # rounded down, by less than 10 won


@settings(max_examples=400, deadline=None)
@given(
    price=prices,
    schedule=schedules,
    booked=minutes_before_show_day,
    a=st.integers(0, 60 * 24 * 60),
    b=st.integers(0, 60 * 24 * 60),
)
def test_the_fee_never_falls_as_the_show_approaches(price, schedule, booked, a, b):
    earlier, later = sorted((a, b))
    assume(later < booked)
    first = fee(price=price, booked_at=moment(booked), at=moment(booked - earlier), schedule=schedule)
    second = fee(price=price, booked_at=moment(booked), at=moment(booked - later), schedule=schedule)
    assert first.fee <= second.fee and first.percent <= second.percent


@settings(max_examples=400, deadline=None)
@given(price=prices, schedule=schedules, booked=minutes_before_show_day, waited=st.integers(0, 60 * 24 * 60))
def test_free_in_the_booking_s_first_week_unless_within_10_days_of_the_show(price, schedule, booked, waited):
    assume(waited < booked)
    booked_at, at = moment(booked), moment(booked - waited)
    quoted = fee(price=price, booked_at=booked_at, at=at, schedule=schedule)
    age = (at.astimezone(SEOUL).date() - booked_at.astimezone(SEOUL).date()).days
    days = (SHOW_DAY - at.astimezone(SEOUL).date()).days
    assert quoted.days_before == days >= 1
    if age < FREE_DAYS_AFTER_BOOKING and days > FREE_UNLESS_WITHIN_DAYS:
        assert quoted.fee == 0
    else:
        assert quoted.percent == scheduled_percent(schedule=schedule, days_before=days)
        assert quoted.percent == max((s.percent for s in schedule if s.days_before >= days), default=0)


@settings(max_examples=200, deadline=None)
@given(
    price=prices,
    schedule=schedules,
    booked=minutes_before_show_day,
    minute_of_show_day=st.integers(0, 24 * 60 - 1),
    utc=st.booleans(),
)
def test_refused_on_the_show_s_day_whatever_the_hour(price, schedule, booked, minute_of_show_day, utc):
    at = seoul(SHOW_DAY, 0, 0) + datetime.timedelta(minutes=minute_of_show_day)
    with pytest.raises(CancellationOnShowDay):
        fee(price=price, booked_at=moment(booked), at=at.astimezone(datetime.UTC) if utc else at, schedule=schedule)
