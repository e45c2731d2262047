"""The door: the dates it may check tickets in for, and how many of a date's paid tickets have entered (in all
and by door)."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from concerts.models import ConcertDate

from ..models import CheckIn, Reservation


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


def checkin_list_dates(*, now: datetime.datetime | None = None) -> QuerySet[ConcertDate]:
    """The dates the admin's check-in list offers to filter by: those a door may check now and those with any
    entry, the latest first."""
    now = now or timezone.now()
    since = timezone.localdate(now) - datetime.timedelta(days=1)
    with_entries = CheckIn.objects.values("reservation__seat__concert_date")
    return (
        ConcertDate.objects.filter(
            Q(pk__in=with_entries) | (Q(concert_date__gte=since) & ~Q(status=ConcertDate.Status.CANCELLED))
        )
        .select_related("concert")
        .order_by("-starts_at", "concert__title")
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


@dataclass(frozen=True)
class DoorCount:
    door: str  # "" for entries recorded before doors had names
    entered: int


def checkin_counts_by_door(*, concert_date: ConcertDate) -> list[DoorCount]:
    """How many of the date's tickets entered through each door, the busiest first. One query."""
    rows = (
        CheckIn.objects.filter(reservation__seat__concert_date=concert_date)
        .values("door")
        .annotate(entered=Count("id"))
        .order_by("-entered", "door")
    )
    return [DoorCount(door=row["door"], entered=row["entered"]) for row in rows]
