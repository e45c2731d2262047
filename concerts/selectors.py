"""Reads about concerts: what is on sale, what is coming, seats left per date."""

import datetime
import uuid
from dataclasses import dataclass, field

from django.db.models import BigIntegerField, Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from booking.models import Payment, Reservation
from wallet.models import UsageHistory

from .models import Concert, ConcertDate, Seat
from .pricing import PriceTier


def concerts_for_listing(*, now=None):
    """Concerts whose last show is still ahead, split into (on_sale, coming_up), in two queries at most."""
    now = now or timezone.now()
    concerts = list(
        Concert.objects.filter(end_time__gte=now).annotate(date_count=Count("dates")).order_by("start_time")
    )
    on_sale = [c for c in concerts if c.sale_opens_at <= now]
    coming_up = [c for c in concerts if c.sale_opens_at > now]
    return on_sale, coming_up


def find_concert(concert_id: object) -> Concert | None:
    """The concert with this id, or None for no id, text that is not a UUID (a hand-edited ?concert=) or an
    unknown id."""
    try:
        pk = uuid.UUID(str(concert_id))
    except ValueError:
        return None
    return Concert.objects.filter(pk=pk).first()


def concert_choices() -> QuerySet[Concert]:
    """Every concert by start, id and title only: what a staff page offers to filter by."""
    return Concert.objects.order_by("start_time").only("id", "title")


def concerts_with_counts(queryset: QuerySet[Concert] | None = None) -> QuerySet[Concert]:
    """Concerts annotated with date_count (their dates) and seats_sold (RESERVED seats of all their dates), in
    one query."""
    queryset = Concert.objects.all() if queryset is None else queryset
    return queryset.annotate(
        date_count=Count("dates", distinct=True),
        seats_sold=Count("dates__seats", filter=Q(dates__seats__status=Seat.Status.RESERVED)),
    )


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
    """The date's seats as PriceTiers: runs of consecutive seats of one tier name and price.

    Uses concert_date.seats.all(), so a prefetch of seats makes this free.
    """
    tiers = []
    for seat in sorted(concert_date.seats.all(), key=lambda s: s.seat_number):
        last = tiers[-1] if tiers else None
        if last and (last.name, last.price) == (seat.tier, seat.price) and last.last == seat.seat_number - 1:
            tiers[-1] = PriceTier(last.name, last.first, seat.seat_number, last.price)
        else:
            tiers.append(PriceTier(seat.tier, seat.seat_number, seat.seat_number, seat.price))
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


def _date_sum(queryset, path):
    """The sum of `amount` of these rows for the ConcertDate in the outer query (`path` leads to it), or 0."""
    total = queryset.filter(**{path: OuterRef("pk")}).order_by().values(path).annotate(total=Sum("amount"))
    return Coalesce(Subquery(total.values("total")), 0, output_field=BigIntegerField())


def sales_by_date(*, concert=None, now=None):
    """Dates (of one concert, or every concert) with seats_available / seats_held / seats_reserved, concert
    joined, and their money: `gross` (successful payments), `refunded` (refunds to the fans' wallets) and
    `revenue` (won of the paid, not refunded, reservations); one query."""
    queryset = ConcertDate.objects.select_related("concert")
    if concert is not None:
        queryset = queryset.filter(concert=concert)
    return (
        dates_with_seat_counts(queryset, now=now)
        .annotate(
            revenue=date_revenue(),
            gross=_date_sum(Payment.objects.filter(status=Payment.Status.SUCCESS), "reservation__seat__concert_date"),
            refunded=_date_sum(
                UsageHistory.objects.filter(
                    status=UsageHistory.Status.SUCCESS, action_type=UsageHistory.ActionType.CANCELLATION
                ),
                "reservation__seat__concert_date",
            ),
        )
        .order_by("concert__start_time", "concert__title", "starts_at")
    )


@dataclass
class SalesFigures:
    """Seats and money of a date, a concert or everything. gross: successful payments; refunded: refunds to
    the fans' wallets; net = gross − refunded, the money the sale keeps."""

    sold: int = 0
    held: int = 0
    free: int = 0
    gross: int = 0
    refunded: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.refunded

    def add(self, date) -> None:
        self.sold += date.seats_reserved
        self.held += date.seats_held
        self.free += date.seats_available
        self.gross += date.gross
        self.refunded += date.refunded


@dataclass
class ConcertSales(SalesFigures):
    concert: Concert | None = None
    dates: list = field(default_factory=list)  # ConcertDates from sales_by_date, each with `net` set


@dataclass(frozen=True)
class SalesDashboard:
    concerts: list[ConcertSales]
    totals: SalesFigures
    series: list  # DaySales: gross payments per local day, the chart's bars


def sales_dashboard(*, concert=None, days=30, now=None) -> SalesDashboard:
    """What the staff sales dashboard shows: per concert and date seats sold / held / free and gross,
    refunded and net won (all time), with totals, and gross payments per day for the last `days` days.
    Two queries."""
    now = now or timezone.now()
    concerts, totals = [], SalesFigures()
    for date in sales_by_date(concert=concert, now=now):
        date.net = date.gross - date.refunded
        if not concerts or concerts[-1].concert.pk != date.concert_id:
            concerts.append(ConcertSales(concert=date.concert))
        concerts[-1].dates.append(date)
        concerts[-1].add(date)
        totals.add(date)
    return SalesDashboard(concerts=concerts, totals=totals, series=sales_over_time(concert=concert, days=days, now=now))


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


# --- staff: what a date's bookings forbid -----------------------------------------------------------


@dataclass(frozen=True)
class DateBookings:
    paid: int  # CONFIRMED reservations
    held: int  # holds that have not run out
    records: int  # reservations of any status (the booking record, kept for good)


def bookings_of(*, concert_dates, now=None):
    """{date id: DateBookings} for these dates (ids or rows), in one query."""
    now = now or timezone.now()
    live_hold = Q(status=Reservation.Status.HOLD, hold_expire_at__gt=now)
    rows = (
        Reservation.objects.filter(seat__concert_date__in=concert_dates)
        .values("seat__concert_date")
        .annotate(
            paid=Count("id", filter=Q(status=Reservation.Status.CONFIRMED)),
            held=Count("id", filter=live_hold),
            records=Count("id"),
        )
        .order_by()
    )
    return {row["seat__concert_date"]: DateBookings(row["paid"], row["held"], row["records"]) for row in rows}


def date_delete_refusal(concert_date, *, now=None):
    """Why staff may not delete this date, or None: it has live reservations (cancel it: refunds) or any
    booking record at all (the ledger keeps pointing at its seats)."""
    bookings = bookings_of(concert_dates=[concert_date.pk], now=now).get(concert_date.pk)
    if bookings is None:
        return None
    if bookings.paid or bookings.held:
        count = bookings.paid + bookings.held
        return ngettext(
            "Fans have paid for or are holding %(count)d seat on this date, so it cannot be deleted. Cancel the "
            "date instead: every paid ticket is refunded.",
            "Fans have paid for or are holding %(count)d seats on this date, so it cannot be deleted. Cancel the "
            "date instead: every paid ticket is refunded.",
            count,
        ) % {"count": count}
    return _("This date has booking records, which are kept, so it cannot be deleted.")


def concert_delete_refusal(concert, *, now=None):
    """Why staff may not delete this concert, or None: one of its dates may not be deleted."""
    found = bookings_of(concert_dates=ConcertDate.objects.filter(concert=concert).values("pk"), now=now)
    if not found:
        return None
    paid, held = sum(b.paid for b in found.values()), sum(b.held for b in found.values())
    if paid or held:
        return ngettext(
            "Fans have paid for or are holding %(count)d seat on this concert's dates, so it cannot be deleted. "
            "Cancel its dates instead: every paid ticket is refunded.",
            "Fans have paid for or are holding %(count)d seats on this concert's dates, so it cannot be deleted. "
            "Cancel its dates instead: every paid ticket is refunded.",
            paid + held,
        ) % {"count": paid + held}
    return _("This concert's dates have booking records, which are kept, so it cannot be deleted.")


def date_move_refusal(*, concert_date, day, now=None):
    """Why this date may not move to `day`, or None: its concert has a date that day already, or fans
    have paid for or are holding its seats (a paid show moves by cancelling it, which refunds)."""
    if (
        ConcertDate.objects.filter(concert_id=concert_date.concert_id, concert_date=day)
        .exclude(pk=concert_date.pk)
        .exists()
    ):
        return _("This concert already has a date on %(day)s.") % {"day": day.isoformat()}
    bookings = bookings_of(concert_dates=[concert_date.pk], now=now).get(concert_date.pk)
    if bookings and bookings.paid:
        return ngettext(
            "A fan has paid for %(count)d seat on this date, so its day cannot move. Cancel the date (every "
            "paid ticket is refunded) and add the new day as a new date.",
            "Fans have paid for %(count)d seats on this date, so its day cannot move. Cancel the date (every "
            "paid ticket is refunded) and add the new day as a new date.",
            bookings.paid,
        ) % {"count": bookings.paid}
    if bookings and bookings.held:
        return _(
            "Fans are holding seats on this date right now, so its day cannot move. Try again once their holds "
            "have ended."
        )
    return None
