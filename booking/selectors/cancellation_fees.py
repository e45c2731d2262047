"""The cancellation fee: the pure arithmetic that turns a price, the booking's time, the cancellation's time and
the concert's schedule ("from N days before the show: P %", concerts.cancellation_fees) into the fee and the
refund, and the schedule as the cancel page lists it.

Days are Asia/Seoul calendar days (settings.TIME_ZONE, concerts.models.local_day), never 24-hour periods:
  - days before the show = the show's local day − the cancellation's local day (the day before the show is 1,
    the show's own day 0: no cancelling, CancellationOnShowDay);
  - the booking's age = the cancellation's local day − the local day it was paid (the day of payment is 0).
The fee percent is the highest percent of the schedule's steps that have begun (steps whose `days_before` is
at least the days left), 0 before the first; the percent never falls as the show approaches. A cancellation
within FREE_DAYS_AFTER_BOOKING calendar days of the payment (the payment's day and the six after it) is free,
unless the show is FREE_UNLESS_WITHIN_DAYS days away or fewer: then the schedule applies. The fee is the
percent of the price, rounded down to FEE_ROUNDING_WON won (never more than the percent, and whole tens of
won, as Korean prices are); the refund is the price minus the fee.
"""

import dataclasses
import datetime
from collections.abc import Sequence

from concerts.cancellation_fees import (
    FREE_DAYS_AFTER_BOOKING,
    FREE_UNLESS_WITHIN_DAYS,
    STANDARD_SCHEDULE,
    FeeStep,
    fee_schedule_of,
    normalised,
)
from concerts.models import local_day

from ..exceptions import CancellationOnShowDay

FEE_ROUNDING_WON = 10  # the fee is rounded down to whole tens of won


def days_before_show(*, show_day: datetime.date, at: datetime.datetime) -> int:
    """Calendar days (Asia/Seoul) from `at` to the show's day: 1 on the day before the show, 0 on its day."""
    return (show_day - local_day(at)).days


def booking_age_days(*, booked_at: datetime.datetime, at: datetime.datetime) -> int:
    """Calendar days (Asia/Seoul) since the booking was paid: 0 on the day of payment."""
    return (local_day(at) - local_day(booked_at)).days


def scheduled_percent(*, schedule: Sequence[FeeStep], days_before: int) -> int:
    """The schedule's percent `days_before` days before the show: the highest of the steps begun, else 0."""
    return max((step.percent for step in schedule if step.days_before >= days_before), default=0)


def in_grace(*, days_before: int, booking_age: int) -> bool:
    """Whether a cancellation is free because the booking is fresh: fewer than FREE_DAYS_AFTER_BOOKING days old
    and the show more than FREE_UNLESS_WITHIN_DAYS days away."""
    return booking_age < FREE_DAYS_AFTER_BOOKING and days_before > FREE_UNLESS_WITHIN_DAYS


def fee_percent(*, schedule: Sequence[FeeStep], days_before: int, booking_age: int) -> int:
    """The percent of the price a cancellation costs `days_before` days before the show, `booking_age` days after
    paying (both calendar days, days_before >= 1)."""
    if in_grace(days_before=days_before, booking_age=booking_age):
        return 0
    return scheduled_percent(schedule=schedule, days_before=days_before)


def fee_amount(*, price: int, percent: int) -> int:
    """`percent` % of `price` won, rounded down to FEE_ROUNDING_WON won (integers only, no float)."""
    return price * percent // (100 * FEE_ROUNDING_WON) * FEE_ROUNDING_WON


@dataclasses.dataclass(frozen=True)
class Fee:
    """What cancelling costs: `fee` + `refund` == `price`."""

    price: int
    percent: int
    fee: int
    refund: int
    days_before: int
    waived: bool  # free only because the booking is fresh (in_grace): the schedule alone would charge


def cancellation_fee(
    *,
    price: int,
    booked_at: datetime.datetime,
    at: datetime.datetime,
    show_day: datetime.date,
    schedule: Sequence[FeeStep],
) -> Fee:
    """The fee and refund of cancelling a ticket of `price` won, paid at `booked_at`, at `at`, for a show on the
    local day `show_day`. Pure: no query, no clock. Raises CancellationOnShowDay from the show's day on."""
    days_before = days_before_show(show_day=show_day, at=at)
    if days_before < 1:
        raise CancellationOnShowDay()
    age = booking_age_days(booked_at=booked_at, at=at)
    percent = fee_percent(schedule=schedule, days_before=days_before, booking_age=age)
    fee = fee_amount(price=price, percent=percent)
    waived = percent == 0 and scheduled_percent(schedule=schedule, days_before=days_before) > 0
    return Fee(price=price, percent=percent, fee=fee, refund=price - fee, days_before=days_before, waived=waived)


@dataclasses.dataclass(frozen=True)
class FeeBand:
    """One line of the schedule as a fan reads it: from `first_day` to `last_day` (days before the show, both
    included; first_day None = any earlier day), `percent` %; `starts_on` the calendar day it begins for a given
    show (None when there is no show or first_day is None)."""

    first_day: int | None
    last_day: int
    percent: int
    starts_on: datetime.date | None = None
    current: bool = False  # the band the `days_before` given to schedule_bands falls in

    def covers(self, days_before: int) -> bool:
        return self.last_day <= days_before and (self.first_day is None or days_before <= self.first_day)


def schedule_bands(
    schedule: Sequence[FeeStep], *, show_day: datetime.date | None = None, days_before: int | None = None
) -> list[FeeBand]:
    """The schedule as consecutive bands of days, earliest first, with the percent that applies in each (the
    highest begun, as scheduled_percent counts), ending on the day before the show; the free band before the
    first step included. The band `days_before` falls in is marked `current`."""
    steps = normalised(schedule)
    bands: list[FeeBand] = []
    first_step = steps[0].days_before if steps else 0
    if first_step < 365:
        bands.append(FeeBand(None, first_step + 1, 0))
    highest = 0
    for i, step in enumerate(steps):
        highest = max(highest, step.percent)
        last = steps[i + 1].days_before + 1 if i + 1 < len(steps) else 1
        starts_on = show_day - datetime.timedelta(days=step.days_before) if show_day else None
        if bands and bands[-1].percent == highest and bands[-1].first_day is not None:  # merge equal neighbours
            previous = bands.pop()
            bands.append(FeeBand(previous.first_day, last, highest, previous.starts_on))
        else:
            bands.append(FeeBand(step.days_before, last, highest, starts_on))
    if days_before is not None:
        bands = [dataclasses.replace(b, current=b.covers(days_before)) for b in bands]
    return bands


__all__ = [
    "FEE_ROUNDING_WON",
    "FREE_DAYS_AFTER_BOOKING",
    "FREE_UNLESS_WITHIN_DAYS",
    "STANDARD_SCHEDULE",
    "Fee",
    "FeeBand",
    "FeeStep",
    "booking_age_days",
    "cancellation_fee",
    "days_before_show",
    "fee_amount",
    "fee_percent",
    "fee_schedule_of",
    "in_grace",
    "schedule_bands",
    "scheduled_percent",
]
