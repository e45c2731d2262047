"""A concert's cancellation fee schedule as data: its steps ("from N days before the show: P %"), the standard
Korean schedule a concert without rows of its own uses, the fixed free week after booking, and the check of the
rows staff type. booking.selectors.cancellation_fees turns a schedule into a fee."""

import dataclasses
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Concert


@dataclasses.dataclass(frozen=True, order=True)
class FeeStep:
    """From `days_before` days before the show (1 = the day before), the fee is `percent` % of the price."""

    days_before: int
    percent: int


# The common Korean schedule (the Fair Trade Commission's standard for performances, as Interpark, Melon Ticket
# and Yes24 apply it): what a concert without rows of its own charges.
STANDARD_SCHEDULE: tuple[FeeStep, ...] = (FeeStep(10, 10), FeeStep(6, 20), FeeStep(2, 30))
# Whatever the schedule: free for the booking's first week (the day it was paid and the 6 calendar days after)
# unless the show is FREE_UNLESS_WITHIN_DAYS days away or fewer; never on the show's day.
FREE_DAYS_AFTER_BOOKING = 7
FREE_UNLESS_WITHIN_DAYS = 10
MAX_DAYS_BEFORE = 365


def normalised(steps: Iterable[FeeStep]) -> tuple[FeeStep, ...]:
    """The steps, earliest (most days before the show) first."""
    return tuple(sorted(steps, reverse=True))


def fee_schedule_of(concert: Concert) -> tuple[FeeStep, ...]:
    """The concert's schedule, days descending: its own rows (CancellationFeeRule), or STANDARD_SCHEDULE when it
    has none. No query when the rows were prefetched (`cancellation_fee_rules`), one otherwise."""
    rules = [FeeStep(rule.days_before, rule.percent) for rule in concert.cancellation_fee_rules.all()]
    return normalised(rules) if rules else STANDARD_SCHEDULE


def describe_schedule(steps: Iterable[FeeStep]) -> str:
    """One line for staff, e.g. "10% from 10 days before the show, 20% from 6, 30% from 2"."""
    parts = [
        ngettext(
            "%(percent)s%% from %(days)s day before the show",
            "%(percent)s%% from %(days)s days before the show",
            step.days_before,
        )
        % {"percent": step.percent, "days": step.days_before}
        for step in normalised(steps)
    ]
    return ", ".join(parts) if parts else str(_("no fee"))


def check_fee_steps(steps: Iterable[FeeStep]) -> None:
    """Raise ValidationError naming each problem of a schedule staff typed: a day outside 1..MAX_DAYS_BEFORE, a
    percent outside 0..100, two steps on one day, or a step whose percent is lower than an earlier step's (a fee
    never goes down as the show approaches: that row would change nothing). The database refuses the first
    three again (CancellationFeeRule's constraints)."""
    errors: list[ValidationError] = []
    seen: set[int] = set()
    steps = list(steps)
    for step in steps:
        if not 1 <= step.days_before <= MAX_DAYS_BEFORE:
            errors.append(
                ValidationError(
                    _("A step starts 1 to %(most)s days before the show (the show's own day cannot be cancelled)."),
                    params={"most": MAX_DAYS_BEFORE},
                    code="days_range",
                )
            )
        if not 0 <= step.percent <= 100:
            errors.append(ValidationError(_("A fee is 0 to 100 percent of the price."), code="percent_range"))
        if step.days_before in seen:
            errors.append(
                ValidationError(
                    _("Two rows start %(days)s days before the show: keep one step per day."),
                    params={"days": step.days_before},
                    code="duplicate_day",
                )
            )
        seen.add(step.days_before)
    highest: FeeStep | None = None
    for step in normalised(steps):
        if highest is not None and step.percent < highest.percent:
            errors.append(
                ValidationError(
                    _(
                        "From %(days)s days before the show the fee would be %(percent)s%%, less than the "
                        "%(earlier_percent)s%% from %(earlier_days)s days before: a fee never goes down as the show "
                        "approaches."
                    ),
                    params={
                        "days": step.days_before,
                        "percent": step.percent,
                        "earlier_percent": highest.percent,
                        "earlier_days": highest.days_before,
                    },
                    code="decreasing",
                )
            )
        if highest is None or step.percent >= highest.percent:
            highest = step
    if errors:
        raise ValidationError(errors)
