"""The booking flow, gated like the pages: hold seats (all or nothing), see, release and pay my holds of a date (once
per Idempotency-Key), cancel a paid reservation. Holding needs an admission from the concert's waiting room, as the
seat map does; paying and reading my holds are also open to a fan whose admission ended while they hold seats
(booking.selectors.may_pay_without_admission, the checkout page's exception), and releasing one needs no admission
at all (like checkout's Release button). Another fan's reservation is a 404."""

import datetime
import uuid
from typing import Any

from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.params.functions import Header
from pydantic import Field

from accounts.requests import AuthenticatedRequest
from booking import selectors as booking_selectors
from booking import services as booking_services
from booking.models import Reservation
from concerts.models import ConcertDate
from queueing.exceptions import NotAdmitted
from queueing.gate import admission
from wallet import selectors as wallet_selectors

from ..auth import shows_ticket_codes
from ..exceptions import NotFound
from ..gates import concert_date_or_404, require_admission
from ..problems import Problem
from ..ratelimits import rate_limit
from .reservations import ReservationOut, reservation_out

router = Router()
holds_router = Router()
reservations_router = Router()

REFUSED: dict[int, Any] = dict.fromkeys((400, 401, 402, 403, 404, 409, 422, 429, 503), Problem)


class HoldIn(Schema):
    seats: list[int] = Field(min_length=1, max_length=50, description="The seat numbers to hold together")


class HoldsOut(Schema):
    date_id: uuid.UUID
    holds: list[ReservationOut]  # every live hold of mine on the date, in seat order
    total: int  # what paying them costs, whole won
    balance: int  # my wallet now
    expires_at: datetime.datetime | None  # when the first of them runs out


class PayIn(Schema):
    reservations: list[uuid.UUID] | None = Field(
        None,
        description="The holds you saw and mean to pay (their ids); the payment is refused if your holds on the "
        "date differ. Omit to pay every live hold of yours on the date.",
    )


class PaymentOut(Schema):
    reservations: list[ReservationOut]
    total: int
    balance_after: int
    replayed: bool  # true: this key had paid already, nothing more was charged


def _holds(request: AuthenticatedRequest, concert_date: ConcertDate) -> dict[str, object]:
    holds = booking_selectors.live_holds(user=request.user, concert_date=concert_date, now=timezone.now())
    for hold in holds:
        hold.seat.concert_date = concert_date  # joined already: no query per hold
    return {
        "date_id": concert_date.pk,
        "holds": [reservation_out(hold, ticket_code=False) for hold in holds],  # a hold has no ticket
        "total": sum(hold.price for hold in holds),
        "balance": wallet_selectors.balance(user=request.user),
        "expires_at": min((h.hold_expire_at for h in holds if h.hold_expire_at is not None), default=None),
    }


def _admitted_or_paying(request: AuthenticatedRequest, concert_date: ConcertDate, key: str | None) -> None:
    admitted, current = admission(user=request.user, concert=concert_date.concert)
    if admitted or booking_selectors.may_pay_without_admission(
        user=request.user, concert_date=concert_date, idempotency_key=key, now=timezone.now()
    ):
        return
    raise NotAdmitted(position=current.position if current is not None and current.position else None)


@router.post("/{date_id}/holds", response={201: HoldsOut, **REFUSED}, summary="Hold seats (all or nothing)")
def hold(request: AuthenticatedRequest, date_id: uuid.UUID, payload: HoldIn) -> Status[dict[str, object]]:
    """Hold these seats together for a few minutes (HOLD_SECONDS), all or nothing, as the seat map's button does;
    answers every live hold of mine on the date. Needs an admission from the concert's waiting room (403
    not_admitted). Refusals: seat_taken, seat_limit_reached, sale_not_open, date_not_bookable, ... (409/403/400)."""
    rate_limit(request, "hold")
    concert_date = concert_date_or_404(date_id)
    require_admission(user=request.user, concert=concert_date.concert)
    booking_services.hold_seats(user=request.user, concert_date=concert_date, seat_numbers=payload.seats)
    return Status(201, _holds(request, concert_date))


@router.get("/{date_id}/holds", response={200: HoldsOut, **REFUSED}, summary="My holds of a date")
def my_holds(request: AuthenticatedRequest, date_id: uuid.UUID) -> dict[str, object]:
    """What checkout would pay: my live holds on the date, their total, my balance and when they run out."""
    rate_limit(request, "api_read")
    concert_date = concert_date_or_404(date_id)
    _admitted_or_paying(request, concert_date, None)
    return _holds(request, concert_date)


@router.post("/{date_id}/payments", response={200: PaymentOut, 201: PaymentOut, **REFUSED}, summary="Pay my holds")
def pay(
    request: AuthenticatedRequest,
    date_id: uuid.UUID,
    payload: PayIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=1, max_length=64),
) -> Status[dict[str, object]]:
    """Pay my live holds on the date from my wallet, once per `Idempotency-Key` (1-64 characters, e.g. a UUID):
    a retry with the same key answers the first payment (200, replayed) and charges nothing; the same key with other
    `reservations` is refused (422 idempotency_key_reused). 201 for a new payment. Refusals:
    insufficient_balance (402), hold_expired, nothing_to_pay, checkout_changed (409)."""
    rate_limit(request, "pay")
    concert_date = concert_date_or_404(date_id)
    _admitted_or_paying(request, concert_date, idempotency_key)
    result = booking_services.pay(
        user=request.user,
        concert_date=concert_date,
        idempotency_key=idempotency_key,
        reservation_ids=payload.reservations,
        language=request.LANGUAGE_CODE,
    )
    for reservation in result.reservations:
        reservation.seat.concert_date = concert_date
    body = {
        "reservations": [
            reservation_out(reservation, ticket_code=shows_ticket_codes(request)) for reservation in result.reservations
        ],
        "total": result.total,
        "balance_after": result.balance_after,
        "replayed": result.replayed,
    }
    return Status(200 if result.replayed else 201, body)


class CancellationOut(Schema):
    """What cancelling the reservation gives back now (booking.selectors.cancellation_quote, the cancel page's)."""

    reservation_id: uuid.UUID
    paid: int  # whole won
    fee: int  # the cancellation fee now; send it as `accepted_fee` to cancel
    refund: int  # what goes back to the wallet: paid less fee
    percent: int  # the concert's schedule's percent the fee is (0 when free)
    days_before: int | None = None  # calendar days to the show's day, when cancellable
    waived: bool  # free only because the booking is less than a week old
    free_until: datetime.date | None = None  # the last day (Seoul) cancelling is free, if one is still ahead
    deadline: datetime.datetime  # cancelling closes then (never on the show's day)
    cancellable: bool  # whether POST /reservations/{id}/cancel would be accepted now
    refusal: str | None = None  # why not (a problem code, e.g. cancellation_closed), when it is not


class CancelIn(Schema):
    accepted_fee: int = Field(
        0,
        ge=0,
        le=10**12,
        description="The cancellation fee you showed and accept (GET /reservations/{id}/cancellation's `fee`), whole "
        "won. A higher fee now is refused (409 cancellation_fee_changed) and nothing changes; a lower one is "
        "charged. Missing (or no body) means 0, as the cancel page: a fee never accepted is never charged.",
    )


class CancelledOut(ReservationOut):
    fee: int  # the cancellation fee charged, whole won
    refund: int  # what went back to the wallet


def _my_reservation(request: AuthenticatedRequest, reservation_id: uuid.UUID) -> Reservation:
    reservation = (
        Reservation.objects.select_related("seat__concert_date__concert")
        .filter(pk=reservation_id, user_id=request.user.pk)
        .first()
    )
    if reservation is None:
        raise NotFound()
    return reservation


@holds_router.delete("/{reservation_id}", response={204: None, **REFUSED}, summary="Release my hold")
def release(request: AuthenticatedRequest, reservation_id: uuid.UUID) -> Status[None]:
    """Let one of my holds go before paying, as checkout's Release button does: the seat is free again at once (or
    offered to the date's waiting list first, if fans wait on it). `reservation_id` is the hold's `id` in POST or GET
    /dates/{id}/holds. Answers 204, no body, also when the hold had already ended (released before, run out, or
    released by staff): the seat is not mine any more either way, so a retry is safe. Needs no admission. Refusals:
    a seat I paid for is 409 hold_already_paid (cancel it with POST /reservations/{id}/cancel instead); another
    fan's hold is 404 not_found, like one that does not exist."""
    reservation = _my_reservation(request, reservation_id)
    booking_services.release_own_hold(user=request.user, reservation=reservation)
    return Status(204, None)


@reservations_router.get(
    "/{reservation_id}/cancellation",
    response={200: CancellationOut, **REFUSED},
    summary="What cancelling a reservation costs now",
)
def cancellation(request: AuthenticatedRequest, reservation_id: uuid.UUID) -> dict[str, object]:
    """The fee, refund, percent and deadline of cancelling one of my reservations now, by its concert's schedule
    (as the cancel page shows them), and whether it can be cancelled now. Another fan's reservation is a 404."""
    rate_limit(request, "api_read")
    quote = booking_selectors.cancellation_quote(reservation=_my_reservation(request, reservation_id))
    return {
        "reservation_id": reservation_id,
        "paid": quote.paid,
        "fee": quote.fee,
        "refund": quote.refund,
        "percent": quote.percent,
        "days_before": quote.days_before,
        "waived": quote.waived,
        "free_until": quote.free_until,
        "deadline": quote.deadline,
        "cancellable": quote.cancellable,
        "refusal": str(quote.refusal.code) if quote.refusal is not None else None,
    }


@reservations_router.post(
    "/{reservation_id}/cancel", response={200: CancelledOut, **REFUSED}, summary="Cancel a paid reservation"
)
def cancel(
    request: AuthenticatedRequest, reservation_id: uuid.UUID, payload: CancelIn | None = None
) -> dict[str, object]:
    """Cancel one of my paid reservations and refund it to my wallet, less the concert's cancellation fee, until
    the deadline (as My tickets' Cancel). Send the fee you accepted as `accepted_fee` (GET
    /reservations/{id}/cancellation's `fee`): a fee higher than that is refused with 409 cancellation_fee_changed
    (the problem's `fee` and `refund` are the current ones) and nothing changes; a lower fee is charged. No body
    accepts no fee. The answer's `fee` and `refund` are what was charged and given back. Another fan's reservation
    is a 404."""
    reservation = _my_reservation(request, reservation_id)
    accepted_fee = payload.accepted_fee if payload is not None else 0
    cancelled = booking_services.cancel(user=request.user, reservation=reservation, accepted_fee=accepted_fee)
    cancelled.seat = reservation.seat
    return {
        **reservation_out(cancelled, ticket_code=shows_ticket_codes(request)),
        "fee": cancelled.fee_charged,
        "refund": cancelled.refunded,
    }
