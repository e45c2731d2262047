"""The door: the dates it may check tickets in for, and how many of a date's paid tickets have entered."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils import timezone

from concerts.models import ConcertDate

from ..models import Reservation


def door_dates(*, now: datetime.datetime | None = None) -> QuerySet[ConcertDate]:
    """The dates a door may check in for: not cancelled, from yesterday on (a show may run past midnight),
    in date order with the concert joined."""
    now = now or timezone.now()
    since = timezone.localdate(now) - datetime.timedelta(days=1)
    return (
        ConcertDate.objects.filter(concert_date__gte=since)
        .exclude(status=ConcertDate.Status.CANCELLED)
        .select_related("concert")
        .order_by("starts_at", "concert__title")
    )


@dataclass(frozen=True)
class CheckInCounts:
    entered: int  # tickets checked in
    expected: int  # paid tickets, entered or not


def checkin_counts(*, concert_date: ConcertDate) -> CheckInCounts:
    """How many of the date's paid tickets have entered so far. One query."""
    counts = Reservation.objects.filter(seat__concert_date=concert_date, status=Reservation.Status.CONFIRMED).aggregate(
        expected=Count("id"), entered=Count("checkins")
    )
    return CheckInCounts(entered=counts["entered"], expected=counts["expected"])
