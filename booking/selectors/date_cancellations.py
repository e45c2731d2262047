"""A cancelled date for staff and the refund job: its cancellation record, the live reservations still to end,
how far the refunds have got, and the held and paid reservations of dates about to be cancelled.
"""

import uuid
from collections.abc import Sequence

from django.db.models import Count, QuerySet, Sum

from concerts.models import ConcertDate, DateCancellation

from ..models import Reservation


def cancellation_of(*, concert_date: ConcertDate) -> DateCancellation | None:
    """The date's cancellation record (who, why, the refund job's state), or None while it is not cancelled."""
    return DateCancellation.objects.filter(concert_date=concert_date).first()


def refunds_running() -> bool:
    """Whether the refund job of some cancelled date has not finished yet."""
    return DateCancellation.objects.filter(finished_at__isnull=True).exists()


def live_reservations(concert_date: ConcertDate | uuid.UUID) -> QuerySet[Reservation]:
    """The date's live (HOLD or CONFIRMED) reservations: what cancelling it still has to end."""
    return Reservation.objects.filter(seat__concert_date=concert_date, status__in=Reservation.LIVE_STATUSES)


def cancellation_progress(cancellation: DateCancellation) -> tuple[int, int, int]:
    """(done, total, remaining): `remaining` live reservations are still to be ended on the date."""
    remaining = live_reservations(cancellation.concert_date_id).count()
    total = max(cancellation.total, remaining)
    return total - remaining, total, remaining


def live_reservations_summary(concert_dates: Sequence[ConcertDate]) -> dict[uuid.UUID, dict[str, int]]:
    """{date id: {"held": n, "paid": n, "paid_amount": won}} for the dates' live reservations; one query."""
    rows = (
        Reservation.objects.filter(seat__concert_date__in=concert_dates, status__in=Reservation.LIVE_STATUSES)
        .values("seat__concert_date", "status")
        .annotate(count=Count("id"), amount=Sum("price"))
        .order_by()
    )
    summary = {date.pk: {"held": 0, "paid": 0, "paid_amount": 0} for date in concert_dates}
    for row in rows:
        entry = summary[row["seat__concert_date"]]
        if row["status"] == Reservation.Status.HOLD:
            entry["held"] = row["count"]
        else:
            entry["paid"], entry["paid_amount"] = row["count"], row["amount"]
    return summary
