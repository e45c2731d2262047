"""Sales figures for staff (the sales dashboard, sales_report, the date list's revenue): seats sold, held and
free per date, and its money (gross payments, refunds, net), totalled per concert and per day.
"""

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db.models import BigIntegerField, Count, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from concerts.models import Concert, ConcertDate
from concerts.selectors import SeatCounts, dates_with_seat_counts
from wallet.models import UsageHistory

from ..models import Payment, Reservation


class DateSales(SeatCounts):
    """What sales_by_date adds to each date (and sales_dashboard its `net`)."""

    revenue: int
    gross: int
    refunded: int
    net: int


if TYPE_CHECKING:  # WithAnnotations takes its arguments only in annotations (Python 3.11)
    from django_stubs_ext import WithAnnotations

    DateWithSales = WithAnnotations[ConcertDate, DateSales]


def date_revenue() -> Coalesce:
    """Won of the paid (not refunded) reservations of the ConcertDate in the outer query."""
    confirmed = Reservation.objects.filter(seat__concert_date=OuterRef("pk"), status=Reservation.Status.CONFIRMED)
    return Coalesce(
        Subquery(confirmed.order_by().values("seat__concert_date").annotate(total=Sum("price")).values("total")),
        0,
        output_field=BigIntegerField(),
    )


def _date_sum(queryset: QuerySet[Any], path: str) -> Coalesce:
    """The sum of `amount` of these rows for the ConcertDate in the outer query (`path` leads to it), or 0."""
    total = queryset.filter(**{path: OuterRef("pk")}).order_by().values(path).annotate(total=Sum("amount"))
    return Coalesce(Subquery(total.values("total")), 0, output_field=BigIntegerField())


def sales_by_date(*, concert: Concert | None = None, now: datetime.datetime | None = None) -> "QuerySet[DateWithSales]":
    """Dates (of one concert, or every concert) with seats_available / seats_held / seats_reserved, concert
    joined, and their money: `gross` (successful payments), `refunded` (refunds to the fans' wallets) and
    `revenue` (won of the paid, not refunded, reservations); one query."""
    queryset = ConcertDate.objects.select_related("concert")
    if concert is not None:
        queryset = queryset.filter(concert=concert)
    sales = (
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
    return cast("QuerySet[DateWithSales]", sales)  # `net` is sales_dashboard's


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

    def add(self, date: "DateWithSales") -> None:
        self.sold += date.seats_reserved
        self.held += date.seats_held
        self.free += date.seats_available
        self.gross += date.gross
        self.refunded += date.refunded


@dataclass
class ConcertSales(SalesFigures):
    concert: Concert | None = None
    dates: "list[DateWithSales]" = field(default_factory=list)  # from sales_by_date, each with `net` set


@dataclass(frozen=True)
class SalesDashboard:
    concerts: list[ConcertSales]
    totals: SalesFigures
    series: "list[DaySales]"  # gross payments per local day, the chart's bars


def sales_dashboard(
    *, concert: Concert | None = None, days: int = 30, now: datetime.datetime | None = None
) -> SalesDashboard:
    """What the staff sales dashboard shows: per concert and date seats sold / held / free and gross,
    refunded and net won (all time), with totals, and gross payments per day for the last `days` days.
    Two queries."""
    now = now or timezone.now()
    concerts: list[ConcertSales] = []
    totals = SalesFigures()
    for date in sales_by_date(concert=concert, now=now):
        date.net = date.gross - date.refunded
        if not concerts or concerts[-1].concert != date.concert:  # joined: no query
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


def sales_over_time(
    *, concert: Concert | None = None, days: int = 30, now: datetime.datetime | None = None
) -> list[DaySales]:
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
    series: list[DaySales] = []
    for offset in range(days):
        day = first + datetime.timedelta(days=offset)
        row = rows.get(day, {})
        series.append(DaySales(day=day, tickets=row.get("tickets", 0), amount=row.get("amount") or 0))
    return series
