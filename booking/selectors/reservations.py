"""The fan's bookings: when a date can still be booked or cancelled, their holds and what checkout has to pay,
how many seats they have on a date, My tickets, and what cancelling a ticket would refund.
"""

import datetime
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, cast

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from concerts.models import Concert, ConcertDate, local_day

from ..exceptions import (
    BookingError,
    CancellationClosed,
    CancellationOnShowDay,
    DateCancelledByOrganiser,
    ReservationNotCancellable,
    TicketUsed,
)
from ..models import CheckIn, Payment, Reservation
from .cancellation_fees import (
    FREE_DAYS_AFTER_BOOKING,
    FREE_UNLESS_WITHIN_DAYS,
    Fee,
    FeeBand,
    FeeStep,
    cancellation_fee,
    fee_schedule_of,
    schedule_bands,
)
from .tickets import ETicket, e_ticket, with_check_in_time


class TicketFlags(TypedDict):
    """What reservations_for sets on each reservation of My tickets."""

    cancel_deadline: datetime.datetime
    organiser_cancelled: bool
    cancellable: bool
    cancel_fee: Fee | None
    checked_in_at: datetime.datetime | None
    ticket: ETicket | None


if TYPE_CHECKING:  # WithAnnotations takes its arguments only in annotations (Python 3.11)
    from django_stubs_ext import WithAnnotations

    MyTicket = WithAnnotations[Reservation, TicketFlags]


def show_has_started(concert_date: ConcertDate, *, now: datetime.datetime) -> bool:
    """A date whose show has begun (or is over) is in the past: it can no longer be booked."""
    return concert_date.starts_at <= now


def cancellation_deadline(concert_date: ConcertDate) -> datetime.datetime:
    """Confirmed reservations can be cancelled before this moment: CANCEL_CUTOFF_HOURS before the show, and never
    on the show's own day (from midnight, Asia/Seoul, of its local day), whichever comes first."""
    cutoff = concert_date.starts_at - datetime.timedelta(hours=settings.CANCEL_CUTOFF_HOURS)
    show_day_starts = datetime.datetime.combine(
        concert_date.concert_date, datetime.time(0), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )
    return min(cutoff, show_day_starts)


def organiser_cancelled(reservation: Reservation) -> bool:
    """The organiser's cancellation of the date ended this reservation (its end reason), or will (paid on a
    date staff cancelled, its refund on the way). Not one the fan cancelled first, whatever happened to the date
    afterwards: it keeps its own end_reason.
    Reads reservation.seat.concert_date: no query once they are joined."""
    live = reservation.status == Reservation.Status.CONFIRMED
    return reservation.end_reason == Reservation.EndReason.DATE_CANCELLED or (
        live and reservation.seat.concert_date.is_cancelled
    )


_NOT_READ = object()


def _checked_in(reservation: Reservation) -> bool:
    annotated = getattr(reservation, "checked_in_at", _NOT_READ)  # with_check_in_time's annotation, if it ran
    if annotated is not _NOT_READ:
        return annotated is not None
    return CheckIn.objects.filter(reservation_id=reservation.pk).exists()


def cancellation_refusal(reservation: Reservation, *, now: datetime.datetime) -> BookingError | None:
    """Why the fan may not cancel this reservation of theirs at `now`, or None: the one rule My tickets' button,
    the cancel page (cancellation_quote) and booking.services.cancel (under its locks) all apply.

    A ticket of a date the organiser cancelled (organiser_cancelled: live on it, or already refunded by it) is
    DateCancelledByOrganiser: the date's refund job ends it; anything but a paid (CONFIRMED) reservation is
    ReservationNotCancellable; a ticket the door has let in (booking.services.check_in_ticket), TicketUsed; on the
    show's own local day, CancellationOnShowDay; otherwise from cancellation_deadline on, CancellationClosed.
    Reads reservation.seat.concert_date (no query once joined) and whether it was checked in: `checked_in_at`
    where booking.selectors.tickets.with_check_in_time annotated it (no query), else one query. services.cancel
    asks under the seat lock check_in_ticket takes too, so a check-in and a cancellation of one ticket never both
    succeed.
    """
    if organiser_cancelled(reservation):
        return DateCancelledByOrganiser()
    if reservation.status != Reservation.Status.CONFIRMED:
        return ReservationNotCancellable()
    if _checked_in(reservation):
        return TicketUsed()
    if local_day(now) == reservation.seat.concert_date.concert_date:
        return CancellationOnShowDay()
    if now >= cancellation_deadline(reservation.seat.concert_date):
        return CancellationClosed()
    return None


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


def may_pay_without_admission(
    *,
    user: User,
    concert_date: ConcertDate,
    idempotency_key: str | None,
    now: datetime.datetime,
    state: CheckoutState | None = None,
) -> bool:
    """The queue gate's exception for checkout (the page's and the JSON API's): seats the fan already holds on this
    date stay payable after the admission ended (it ran out, or a payment on another date ended it), a checkout that
    was paid answers as paid rather than as not admitted, and a retry of a payment that went through (its idempotency
    key paid) is answered as a replay. Nothing new can be held this way. `state`: the date's checkout_state when the
    caller has read it already. Two queries at most."""
    if idempotency_key and paid_with_key(user=user, concert_date_id=concert_date.pk, idempotency_key=idempotency_key):
        return True
    state = state or checkout_state(user=user, concert_date=concert_date, now=now)
    return state.holds_seats or state.paid


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


def payments_with_key(*, user: User, concert_date_id: uuid.UUID, idempotency_key: str) -> QuerySet[Payment]:
    """The successful payments this fan's checkout key made for holds on this date (none, or one checkout)."""
    return Payment.objects.filter(
        user_id=user.pk,
        idempotency_key=idempotency_key,
        status=Payment.Status.SUCCESS,
        reservation__seat__concert_date_id=concert_date_id,
    )


def paid_with_key(*, user: User, concert_date_id: uuid.UUID, idempotency_key: str) -> bool:
    """Whether this fan's checkout key has already paid for holds on this date (a late double click)."""
    return payments_with_key(user=user, concert_date_id=concert_date_id, idempotency_key=idempotency_key).exists()


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
    the first page (Paginator.get_page). Three queries whatever the page or the fan's history: the count, the
    page and its concerts' fee schedules. Each reservation on it carries `cancel_deadline`, `cancellable`
    (cancellation_refusal has none), `cancel_fee` (fee_for's fee of cancelling now, None when it cannot be),
    `organiser_cancelled` (the function of that name: ended because staff cancelled the date, or paid on a
    cancelled date whose refund is on its way), `checked_in_at` (when the door let it in) and
    `ticket`, its e-ticket (booking.selectors.tickets.e_ticket: the code and QR code of a paid seat, VOID once
    refunded; None if it was never paid), each drawn in about a millisecond.
    """
    now = now or timezone.now()
    result = cast("Page[MyTicket]", Paginator(_my_tickets(user), per_page).get_page(page))  # flags set below
    result.object_list = _with_ticket_flags(list(result.object_list), now=now)
    return result


def _my_tickets(user: User) -> "QuerySet[Reservation]":
    """The fan's paid and cancelled reservations, newest first, seat, date and concert joined, in a total order.
    A hold the fan released themselves is left out: it was never a booking, and the fan knows why it ended (one
    staff released is kept, with its reason)."""
    return (
        with_check_in_time(
            Reservation.objects.filter(
                user_id=user.pk, status__in=[Reservation.Status.CONFIRMED, Reservation.Status.CANCELLED]
            ).exclude(end_reason=Reservation.EndReason.FAN_RELEASED)
        )
        .select_related("seat__concert_date__concert")
        .prefetch_related("seat__concert_date__concert__cancellation_fee_rules")  # each cancellable one's fee
        .order_by("-created_at", "seat__seat_number", "pk")  # a total order, so pages never overlap
    )


def _with_ticket_flags(reservations: "list[Reservation]", *, now: datetime.datetime) -> "list[MyTicket]":
    tickets = cast("list[MyTicket]", reservations)  # the flags are set here
    for reservation in tickets:
        reservation.cancel_deadline = cancellation_deadline(reservation.seat.concert_date)
        reservation.organiser_cancelled = organiser_cancelled(reservation)
        reservation.cancellable = cancellation_refusal(reservation, now=now) is None
        reservation.cancel_fee = fee_for(reservation, now=now) if reservation.cancellable else None
        reservation.ticket = e_ticket(reservation)
    return tickets


def reservations_after(
    *,
    user: User,
    after: "tuple[datetime.datetime, int, uuid.UUID] | None" = None,
    limit: int = RESERVATIONS_PER_PAGE,
    now: datetime.datetime | None = None,
) -> "list[MyTicket]":
    """reservations_for by cursor instead of page number (the JSON API): up to `limit` of the fan's paid and
    cancelled reservations in My tickets' order, after `after` (a reservation's (created_at, seat number, id)), with
    the same flags. One query whatever the history's size; reservations made meanwhile never shift a page."""
    now = now or timezone.now()
    reservations = _my_tickets(user)
    if after is not None:
        created_at, seat_number, pk = after
        reservations = reservations.filter(
            Q(created_at__lt=created_at)
            | Q(created_at=created_at, seat__seat_number__gt=seat_number)
            | Q(created_at=created_at, seat__seat_number=seat_number, pk__gt=pk)
        )
    return _with_ticket_flags(list(reservations[:limit]), now=now)


@dataclass(frozen=True)
class CancellationQuote:
    """What cancelling a paid reservation gives back now: what the fan confirms before cancelling."""

    reservation: Reservation
    paid: int
    fee: int
    refund: int
    percent: int  # the schedule's percent the fee is (0 when free)
    days_before: int | None  # calendar days to the show's day when cancellable, else None
    waived: bool  # free only because the booking is fresh: the schedule alone would charge a fee now
    deadline: datetime.datetime
    bands: list[FeeBand]  # the concert's schedule for this show, as the page lists it
    # The last local day cancelling this ticket is free (_free_until), None when past or when nothing is charged.
    free_until: datetime.date | None
    refusal: BookingError | None  # why it cannot be cancelled now; None when it can

    @property
    def cancellable(self) -> bool:
        return self.refusal is None


def _free_until(
    *, booked_on: datetime.date, show_day: datetime.date, schedule: Sequence[FeeStep], today: datetime.date
) -> datetime.date | None:
    """The last local day cancelling this ticket costs nothing (the free week, capped 11 days before the show,
    or the day before the schedule's first fee, whichever is later); None if that day has passed, or if no
    step of the schedule charges anything (the table says so)."""
    charging = [step.days_before for step in schedule if step.percent > 0]
    if not charging:
        return None
    before_first_fee = show_day - datetime.timedelta(days=max(charging) + 1)
    free_week = min(
        booked_on + datetime.timedelta(days=FREE_DAYS_AFTER_BOOKING - 1),
        show_day - datetime.timedelta(days=FREE_UNLESS_WITHIN_DAYS + 1),
    )
    last = max(before_first_fee, free_week)
    return last if last >= today else None


def fee_for(reservation: Reservation, *, now: datetime.datetime) -> Fee:
    """The fee and refund of cancelling this paid reservation (seat, date and concert joined) at `now`, by its
    concert's schedule (cancellation_fees.cancellation_fee). One query, none when the concert's
    `cancellation_fee_rules` were prefetched. Raises CancellationOnShowDay from the show's day on."""
    date = reservation.seat.concert_date
    return cancellation_fee(
        price=reservation.price,
        booked_at=reservation.confirmed_at or reservation.created_at,  # a CONFIRMED one always has confirmed_at
        at=now,
        show_day=date.concert_date,
        schedule=fee_schedule_of(date.concert),
    )


def cancellation_quote(*, reservation: Reservation, now: datetime.datetime | None = None) -> CancellationQuote:
    """The refund, fee and deadline of cancelling this reservation (seat, date and concert joined) at `now`.

    `refusal` is cancellation_refusal's, the one booking.services.cancel raises under its locks; the fee is
    fee_for's, the one services.cancel charges under those locks (refusing when it went up since the page).
    A reservation that cannot be cancelled quotes no fee and a full refund (what it would be worth is not
    what anyone is charged). One query (the schedule).
    """
    now = now or timezone.now()
    date = reservation.seat.concert_date
    deadline = cancellation_deadline(date)
    refusal = cancellation_refusal(reservation, now=now)
    schedule = fee_schedule_of(date.concert)
    booked_at = reservation.confirmed_at or reservation.created_at
    fee = fee_for(reservation, now=now) if refusal is None else None
    return CancellationQuote(
        reservation=reservation,
        paid=reservation.price,
        fee=fee.fee if fee else 0,
        refund=fee.refund if fee else reservation.price,
        percent=fee.percent if fee else 0,
        days_before=fee.days_before if fee else None,
        waived=bool(fee and fee.waived),
        deadline=deadline,
        bands=schedule_bands(schedule, show_day=date.concert_date, days_before=fee.days_before if fee else None),
        free_until=_free_until(
            booked_on=local_day(booked_at), show_day=date.concert_date, schedule=schedule, today=local_day(now)
        ),
        refusal=refusal,
    )
