"""Reads about concerts: what is on sale, what is coming, seats left per date."""

from django.db.models import Count, Q
from django.utils import timezone

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
