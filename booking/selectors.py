"""Reads for booking: the seat map as a fan sees it now, holds and reservations, the door's counts, and the
staff's figures over bookings (sales and revenue per date, a date's buyers, its refunds and exports, and the
rows of a date's CSV export).

Every read treats a HELD seat whose hold has passed as AVAILABLE, whether or not the sweep has run.
"""

import datetime
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import BigIntegerField, Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import User
from concerts.models import Concert, ConcertDate, DateCancellation, DateExport, Seat
from concerts.selectors import SeatCounts, dates_with_seat_counts
from wallet.models import UsageHistory

from .exceptions import BookingError, CancellationClosed, ReservationNotCancellable
from .models import CheckIn, Payment, Reservation


class StaffSeat(TypedDict):
    """What staff_seat_map adds to each seat."""

    buyer_email: str | None
    status_now: str
    holder: User | None


class ExportPrefetches(TypedDict):
    """What export_rows prefetches onto each reservation."""

    refunds: list[UsageHistory]
    entries: list[CheckIn]


class TicketFlags(TypedDict):
    """What reservations_for sets on each reservation of My tickets."""

    cancel_deadline: datetime.datetime
    organiser_cancelled: bool
    cancellable: bool


class DateSales(SeatCounts):
    """What sales_by_date adds to each date (and sales_dashboard its `net`)."""

    revenue: int
    gross: int
    refunded: int
    net: int


if TYPE_CHECKING:  # WithAnnotations takes its arguments only in annotations (Python 3.11)
    from django_stubs_ext import WithAnnotations

    MyTicket = WithAnnotations[Reservation, TicketFlags]
    DateWithSales = WithAnnotations[ConcertDate, DateSales]
    SeatForStaff = WithAnnotations[Seat, StaffSeat]
    ExportReservation = WithAnnotations[Reservation, ExportPrefetches]


def show_has_started(concert_date: ConcertDate, *, now: datetime.datetime) -> bool:
    """A date whose show has begun (or is over) is in the past: it can no longer be booked."""
    return concert_date.starts_at <= now


def cancellation_deadline(concert_date: ConcertDate) -> datetime.datetime:
    """Confirmed reservations can be cancelled before this moment: CANCEL_CUTOFF_HOURS before the show."""
    return concert_date.starts_at - datetime.timedelta(hours=settings.CANCEL_CUTOFF_HOURS)


class SeatState:
    """What the seat map shows for a seat (MINE: held by this fan, or paid by this fan)."""

    AVAILABLE = "AVAILABLE"
    HELD = "HELD"
    RESERVED = "RESERVED"
    MINE = "MINE"


@dataclass(frozen=True)
class SeatMapEntry:
    seat_id: uuid.UUID
    number: int
    price: int
    status: str
    hold_expire_at: datetime.datetime | None = None  # set for the fan's own live holds

    @property
    def is_available(self) -> bool:
        return self.status == SeatState.AVAILABLE


def seat_map(
    *, concert_date: ConcertDate, user: User | None, now: datetime.datetime | None = None
) -> list[SeatMapEntry]:
    """Every seat of the date in seat order with its price and status as `user` sees it now: one query."""
    now = now or timezone.now()
    user_id = user.pk if user is not None else None  # nobody's (None): nothing is marked as the fan's
    seats = (
        Seat.objects.filter(concert_date=concert_date)
        .annotate(
            paid_by_user=Exists(
                Reservation.objects.filter(
                    seat=OuterRef("pk"),
                    user_id=user_id,  # type: ignore[misc]  # None matches no reservation
                    status=Reservation.Status.CONFIRMED,
                )
            )
        )
        .only("id", "seat_number", "price", "status", "held_by_id", "hold_expire_at")
        .order_by("seat_number")
    )
    entries: list[SeatMapEntry] = []
    for seat in seats:
        status = seat.status_at(now)
        expire_at: datetime.datetime | None = None
        if status == Seat.Status.HELD and user_id is not None and seat.held_by_id == user_id:
            status, expire_at = SeatState.MINE, seat.hold_expire_at
        elif status == Seat.Status.RESERVED and seat.paid_by_user:
            status = SeatState.MINE
        entries.append(SeatMapEntry(seat.id, seat.seat_number, seat.price, str(status), expire_at))
    return entries


def live_holds(*, user: User, concert_date: ConcertDate, now: datetime.datetime | None = None) -> list[Reservation]:
    """The fan's unexpired holds on this date (what checkout would pay), seats joined, in seat order."""
    now = now or timezone.now()
    return list(
        Reservation.objects.filter(
            user_id=user.pk,
            status=Reservation.Status.HOLD,
            seat__concert_date=concert_date,
            hold_expire_at__gt=now,
        )
        .select_related("seat")
        .order_by("seat__seat_number")
    )


@dataclass(frozen=True)
class CheckoutState:
    """What a fan's checkout of one date has, as far as the queue gate and an empty checkout care."""

    holds_seats: bool  # unexpired holds on the date: something to pay
    paid: bool  # nothing left to pay because the fan's last checkout of the date was paid


def checkout_state(*, user: User, concert_date: ConcertDate, now: datetime.datetime) -> CheckoutState:
    """Whether the fan holds seats on this date, or has nothing left there because it was paid. One query.

    "Paid" means no unexpired hold on the date and the newest paid reservation is at least as recent as the
    newest unpaid hold (live or expired): a hold that ran out after an earlier payment is not called paid.
    Reservations cancelled later are left out (a checkout whose every seat was refunded is not paid).
    """
    found = Reservation.objects.filter(user_id=user.pk, seat__concert_date_id=concert_date.pk).aggregate(
        live=Count("pk", filter=Q(status=Reservation.Status.HOLD, hold_expire_at__gt=now)),
        last_paid=Max("created_at", filter=Q(status=Reservation.Status.CONFIRMED)),
        last_unpaid=Max("created_at", filter=Q(status__in=[Reservation.Status.HOLD, Reservation.Status.EXPIRED])),
    )
    paid = (
        not found["live"]
        and found["last_paid"] is not None
        and (found["last_unpaid"] is None or found["last_paid"] >= found["last_unpaid"])
    )
    return CheckoutState(holds_seats=bool(found["live"]), paid=paid)


def holds_seats_on_concert(*, user: User, concert: Concert, now: datetime.datetime) -> bool:
    """Whether the fan holds any seat (unexpired) on any date of the concert: the admission still has a use."""
    return Reservation.objects.filter(
        user_id=user.pk,
        status=Reservation.Status.HOLD,
        hold_expire_at__gt=now,
        seat__concert_date__concert_id=concert.pk,
    ).exists()


def last_hold_ran_out(*, user: User, concert_date: ConcertDate, now: datetime.datetime | None = None) -> bool:
    """Whether the fan's latest reservation on this date is a hold whose time ran out (EXPIRED, or HOLD past
    its expiry and not swept yet): what an empty checkout tells the fan instead of "nothing on hold". One query."""
    now = now or timezone.now()
    latest = (
        Reservation.objects.filter(user_id=user.pk, seat__concert_date=concert_date)
        .order_by("-created_at")
        .values_list("status", "hold_expire_at")
        .first()
    )
    if latest is None:
        return False
    status, expire_at = latest
    if status == Reservation.Status.EXPIRED:
        return True
    # A hold always has its expiry (hold_seats sets it); one without would count as run out.
    return status == Reservation.Status.HOLD and (expire_at is None or expire_at <= now)


def live_seat_count(*, user: User, concert_date: ConcertDate, now: datetime.datetime) -> int:
    """How many seats of this date the fan holds (unexpired) or has paid for: what MAX_SEATS_PER_USER limits."""
    return Reservation.objects.filter(
        Q(status=Reservation.Status.CONFIRMED) | Q(status=Reservation.Status.HOLD, hold_expire_at__gt=now),
        user_id=user.pk,
        seat__concert_date=concert_date,
    ).count()


# My tickets lists this many reservations a page.
RESERVATIONS_PER_PAGE = 20


def reservations_for(
    *,
    user: User,
    page: int | str | None = 1,
    per_page: int = RESERVATIONS_PER_PAGE,
    now: datetime.datetime | None = None,
) -> "Page[MyTicket]":
    """One page of the fan's paid and cancelled reservations, newest first, seat, date and concert joined.

    `page` may be anything a query string carries: a number out of range or not a number gives the last or
    the first page (Paginator.get_page). Two queries whatever the page or the fan's history: the count and
    the page. Each reservation on it carries `cancel_deadline`, `cancellable` (CONFIRMED, before the
    deadline, date not cancelled) and `organiser_cancelled`: ended because staff cancelled the date, or paid
    on a cancelled date whose refund is on its way. A reservation that ended for another reason (the fan
    cancelled it first) keeps that reason (`end_reason`), whatever happened to the date afterwards.
    """
    now = now or timezone.now()
    reservations = (
        Reservation.objects.filter(
            user_id=user.pk, status__in=[Reservation.Status.CONFIRMED, Reservation.Status.CANCELLED]
        )
        .select_related("seat__concert_date__concert")
        .order_by("-created_at", "seat__seat_number", "pk")  # a total order, so pages never overlap
    )
    result = cast("Page[MyTicket]", Paginator(reservations, per_page).get_page(page))  # its flags are set below
    result.object_list = list(result.object_list)
    for reservation in result.object_list:
        date = reservation.seat.concert_date
        live = reservation.status == Reservation.Status.CONFIRMED
        reservation.cancel_deadline = cancellation_deadline(date)
        reservation.organiser_cancelled = reservation.end_reason == Reservation.EndReason.DATE_CANCELLED or (
            live and date.is_cancelled
        )
        reservation.cancellable = live and not date.is_cancelled and now < reservation.cancel_deadline
    return result


@dataclass(frozen=True)
class CancellationQuote:
    """What cancelling a paid reservation gives back now: what the fan confirms before cancelling."""

    reservation: Reservation
    paid: int
    fee: int
    refund: int
    deadline: datetime.datetime
    refusal: BookingError | None  # why it cannot be cancelled now; None when it can

    @property
    def cancellable(self) -> bool:
        return self.refusal is None


def cancellation_quote(*, reservation: Reservation, now: datetime.datetime | None = None) -> CancellationQuote:
    """The refund, fee and deadline of cancelling this reservation (seat, date and concert joined) at `now`.

    The same rules booking.services.cancel applies under its locks: CONFIRMED and before the deadline, else
    `refusal` is the ReservationNotCancellable or CancellationClosed it would raise. Frontrow charges no
    cancellation fee yet, so the refund is the price paid, as services.cancel refunds it. No query.
    """
    now = now or timezone.now()
    deadline = cancellation_deadline(reservation.seat.concert_date)
    refusal: BookingError | None = None
    if reservation.status != Reservation.Status.CONFIRMED:
        refusal = ReservationNotCancellable()
    elif now >= deadline:
        refusal = CancellationClosed()
    fee = 0
    return CancellationQuote(
        reservation=reservation,
        paid=reservation.price,
        fee=fee,
        refund=reservation.price - fee,
        deadline=deadline,
        refusal=refusal,
    )


def paid_with_key(*, user: User, concert_date_id: uuid.UUID, idempotency_key: str) -> bool:
    """Whether this fan's checkout key has already paid for holds on this date (a late double click)."""
    return Payment.objects.filter(
        user_id=user.pk,
        idempotency_key=idempotency_key,
        status=Payment.Status.SUCCESS,
        reservation__seat__concert_date_id=concert_date_id,
    ).exists()


# --- the door -----------------------------------------------------------------------------------


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


# --- staff: sales figures (the sales dashboard, sales_report, the date list's revenue) -----------------


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


def staff_seat_map(*, concert_date: ConcertDate, now: datetime.datetime | None = None) -> "list[SeatForStaff]":
    """The date's seats in order, each with `status_now` (an expired hold reads AVAILABLE), `holder`
    (the fan holding it, while the hold lasts) and `buyer_email` (the fan who paid for it); one query."""
    now = now or timezone.now()
    buyer = Reservation.objects.filter(seat=OuterRef("pk"), status=Reservation.Status.CONFIRMED).values("user__email")[
        :1
    ]
    seats = cast(  # status_now and holder are set below
        "list[SeatForStaff]",
        list(
            Seat.objects.filter(concert_date=concert_date)
            .select_related("held_by")
            .annotate(buyer_email=Subquery(buyer))
            .order_by("seat_number")
        ),
    )
    for seat in seats:
        seat.status_now = seat.status_at(now)
        seat.holder = seat.held_by if seat.status_now == Seat.Status.HELD else None
    return seats


# --- a date's cancellation and exports (the staff's date page) ------------------------------------------


def cancellation_of(*, concert_date: ConcertDate) -> DateCancellation | None:
    """The date's cancellation record (who, why, the refund job's state), or None while it is not cancelled."""
    return DateCancellation.objects.filter(concert_date=concert_date).first()


def refunds_running() -> bool:
    """Whether the refund job of some cancelled date has not finished yet."""
    return DateCancellation.objects.filter(finished_at__isnull=True).exists()


def recent_exports(*, concert_date: ConcertDate, limit: int = 5) -> list[DateExport]:
    """The date's latest CSV exports, newest first, without their files."""
    return list(DateExport.objects.filter(concert_date=concert_date).defer("content")[:limit])


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


# --- the CSV export of a date (rows written by booking.services.exports) -------------------------

EXPORT_COLUMNS = [
    "reservation_id",
    "reservation_status",
    "ticket_status",
    "date_status",
    "seat_number",
    "price",
    "fan_email",
    "fan_name",
    "reserved_at",
    "paid_at",
    "ended_at",
    "refund_amount",
    "refunded_at",
    "checked_in_at",
    "checked_in_by",
    "payment_id",
    "payment_status",
    "payment_amount",
    "payment_reason",
    "payment_at",
]


def _cell(value: object) -> str:
    """Text a spreadsheet will not run as a formula (a fan's name may start with "=")."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ticket_status(reservation: "ExportReservation") -> str:
    """What became of a reservation, in one word for the export: on hold, hold expired, released (ended
    before payment), paid, checked in, or refunded. Reads the prefetched `refunds` and `entries`."""
    if reservation.status == Reservation.Status.HOLD:
        return "on hold"
    if reservation.status == Reservation.Status.EXPIRED:
        return "hold expired"
    if reservation.status == Reservation.Status.CANCELLED:
        return "refunded" if reservation.refunds else "released"
    return "checked in" if reservation.entries else "paid"


def export_rows(concert_date: ConcertDate) -> Iterator[list[str]]:
    """One row per payment attempt of the date, plus one per reservation that never reached payment.

    Each row says what became of its reservation (ticket_status; refunded ones with the amount and
    time), so the export of a cancelled date is the record of its refunds.
    """
    reservations = (
        Reservation.objects.filter(seat__concert_date=concert_date)
        .select_related("seat__concert_date", "user")
        .prefetch_related(
            Prefetch("payments", queryset=Payment.objects.order_by("paid_at")),
            Prefetch(
                "usages",
                queryset=UsageHistory.objects.filter(
                    action_type=UsageHistory.ActionType.CANCELLATION, status=UsageHistory.Status.SUCCESS
                ),
                to_attr="refunds",
            ),
            Prefetch("checkins", queryset=CheckIn.objects.select_related("checked_in_by"), to_attr="entries"),
        )
        .order_by("seat__seat_number", "created_at")
    )
    for reservation in reservations.iterator(chunk_size=500):
        refund = reservation.refunds[0] if reservation.refunds else None
        entry = reservation.entries[0] if reservation.entries else None
        base = [
            reservation.pk,
            reservation.status,
            ticket_status(reservation),
            reservation.seat.concert_date.status,
            reservation.seat.seat_number,
            reservation.price,
            reservation.user.email,
            reservation.user.name,
            reservation.created_at,
            reservation.confirmed_at,
            reservation.ended_at,
            refund.amount if refund else None,
            refund.used_at if refund else None,
            entry.checked_in_at if entry else None,
            entry.checked_in_by.email if entry and entry.checked_in_by else None,
        ]
        payments = list(reservation.payments.all())
        if not payments:
            yield [_cell(v) for v in base] + [""] * 5
        for payment in payments:
            extra = [payment.pk, payment.status, payment.amount, payment.reason, payment.paid_at]
            yield [_cell(v) for v in base + extra]


def export_bytes(export: DateExport) -> bytes:
    """The download: the CSV in UTF-8 with a BOM, so spreadsheet programs read Korean names correctly."""
    return ("\ufeff" + export.content).encode("utf-8")
