"""Reads about concerts: what is on sale, what is coming, seats left per date."""

import datetime
from dataclasses import dataclass

from django.db.models import BigIntegerField, Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from booking.models import Payment, Reservation

from .models import Concert, ConcertDate, Seat
from .services import PriceTier


def concerts_for_listing(*, now=None):
    """Concerts whose last show is still ahead, split into (on_sale, coming_up), in two queries at most."""
    now = now or timezone.now()
    concerts = list(
        Concert.objects.filter(end_time__gte=now).annotate(date_count=Count("dates")).order_by("start_time")
    )
    on_sale = [c for c in concerts if c.sale_opens_at <= now]
    coming_up = [c for c in concerts if c.sale_opens_at > now]
    return on_sale, coming_up


def seat_count_annotations(*, now, seats="seats"):
    """Count() annotations for AVAILABLE / HELD / RESERVED seats through the `seats` relation path.

    An expired hold counts as available, whether or not the expiry sweep has run yet.
    """
    status, expire_at = f"{seats}__status", f"{seats}__hold_expire_at"
    live_hold = Q(**{status: Seat.Status.HELD, f"{expire_at}__gt": now})
    expired_hold = Q(**{status: Seat.Status.HELD, f"{expire_at}__lte": now})
    return {
        "seats_available": Count(seats, filter=Q(**{status: Seat.Status.AVAILABLE}) | expired_hold),
        "seats_held": Count(seats, filter=live_hold),
        "seats_reserved": Count(seats, filter=Q(**{status: Seat.Status.RESERVED})),
    }


def dates_with_seat_counts(queryset=None, *, now=None):
    """ConcertDates annotated with seats_available / seats_held / seats_reserved, in one query."""
    queryset = ConcertDate.objects.all() if queryset is None else queryset
    return queryset.annotate(**seat_count_annotations(now=now or timezone.now()))


def price_tiers_of(concert_date):
    """The date's seat prices as PriceTiers of consecutive seats at one price (names are not stored).

    Uses concert_date.seats.all(), so a prefetch of seats makes this free.
    """
    tiers = []
    for seat in sorted(concert_date.seats.all(), key=lambda s: s.seat_number):
        last = tiers[-1] if tiers else None
        if last and last.price == seat.price and last.last == seat.seat_number - 1:
            tiers[-1] = PriceTier(last.name, last.first, seat.seat_number, last.price)
        else:
            tiers.append(PriceTier("", seat.seat_number, seat.seat_number, seat.price))
    return tiers


# --- staff: sales figures -------------------------------------------------------------------------


def date_revenue():
    """Won of the paid (not refunded) reservations of the ConcertDate in the outer query."""
    confirmed = Reservation.objects.filter(seat__concert_date=OuterRef("pk"), status=Reservation.Status.CONFIRMED)
    return Coalesce(
        Subquery(confirmed.order_by().values("seat__concert_date").annotate(total=Sum("price")).values("total")),
        0,
        output_field=BigIntegerField(),
    )


def sales_by_date(*, concert=None, now=None):
    """Dates (of one concert, or every concert) with seats_available / seats_held / seats_reserved and
    `revenue` (won of the paid, not refunded, reservations), concert joined; one query."""
    queryset = ConcertDate.objects.select_related("concert")
    if concert is not None:
        queryset = queryset.filter(concert=concert)
    return (
        dates_with_seat_counts(queryset, now=now)
        .annotate(revenue=date_revenue())
        .order_by("concert__start_time", "concert__title", "concert_date")
    )


@dataclass(frozen=True)
class DaySales:
    day: datetime.date
    tickets: int
    amount: int


def sales_over_time(*, concert=None, days=30, now=None):
    """Successful payments per local day for the last `days` days (oldest first, days without sales as 0)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - datetime.timedelta(days=days - 1)
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=tz)
    payments = Payment.objects.filter(status=Payment.Status.SUCCESS, paid_at__gte=start)
    if concert is not None:
        payments = payments.filter(reservation__seat__concert_date__concert=concert)
    rows = {
        row["day"]: row
        for row in payments.annotate(day=TruncDate("paid_at", tzinfo=tz))
        .values("day")
        .annotate(tickets=Count("id"), amount=Sum("amount"))
        .order_by("day")
    }
    series = []
    for offset in range(days):
        day = first + datetime.timedelta(days=offset)
        row = rows.get(day, {})
        series.append(DaySales(day=day, tickets=row.get("tickets", 0), amount=row.get("amount") or 0))
    return series


def staff_seat_map(*, concert_date, now=None):
    """The date's seats in order, each with `status_now` (an expired hold reads AVAILABLE), `holder`
    (the fan holding it, while the hold lasts) and `buyer_email` (the fan who paid for it); one query."""
    now = now or timezone.now()
    buyer = Reservation.objects.filter(seat=OuterRef("pk"), status=Reservation.Status.CONFIRMED).values("user__email")[
        :1
    ]
    seats = list(
        Seat.objects.filter(concert_date=concert_date)
        .select_related("held_by")
        .annotate(buyer_email=Subquery(buyer))
        .order_by("seat_number")
    )
    for seat in seats:
        seat.status_now = seat.status_at(now)
        seat.holder = seat.held_by if seat.status_now == Seat.Status.HELD else None
    return seats
