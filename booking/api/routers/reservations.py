"""The fan's reservations (My tickets): paid and cancelled, newest first, cursor-paged."""

import datetime
import uuid
from typing import Any

from ninja import Router, Schema
from ninja.params.functions import Query
from pydantic import Field

from accounts.requests import AuthenticatedRequest
from booking import selectors as booking_selectors

from .. import cursors
from ..auth import shows_ticket_codes
from ..problems import Problem
from ..ratelimits import rate_limit

router = Router()


class ReservationOut(Schema):
    id: uuid.UUID
    status: str  # HOLD, CONFIRMED (paid), EXPIRED or CANCELLED
    concert_id: uuid.UUID
    concert_title: str
    date_id: uuid.UUID
    starts_at: datetime.datetime
    seat_number: int
    price: int  # whole won
    reserved_at: datetime.datetime
    paid_at: datetime.datetime | None = None
    hold_expires_at: datetime.datetime | None = None  # for a HOLD
    cancellable: bool = False  # whether POST /reservations/{id}/cancel would be accepted now
    cancel_deadline: datetime.datetime | None = None
    ticket_code: str | None = Field(
        None,
        description="The e-ticket's signed code (the QR code's text), which lets its holder in at the door: only for "
        "a book token or the site's session, always null for a read token; null unless paid and valid.",
    )
    checked_in_at: datetime.datetime | None = None


class ReservationPage(cursors.Page):
    items: list[ReservationOut]


def reservation_out(reservation: Any, *, ticket_code: bool) -> dict[str, object]:
    """A reservation (seat, date and concert joined; My tickets' flags if it has them) as ReservationOut, with its
    e-ticket's code only if `ticket_code` (auth.shows_ticket_codes: never for a read token). Every caller says which,
    so no answer carries a code by default."""
    date = reservation.seat.concert_date
    ticket = getattr(reservation, "ticket", None)
    return {
        "id": reservation.pk,
        "status": reservation.status,
        "concert_id": date.concert_id,
        "concert_title": date.concert.title,
        "date_id": date.pk,
        "starts_at": date.starts_at,
        "seat_number": reservation.seat.seat_number,
        "price": reservation.price,
        "reserved_at": reservation.created_at,
        "paid_at": reservation.confirmed_at,
        "hold_expires_at": reservation.hold_expire_at if reservation.status == "HOLD" else None,
        "cancellable": getattr(reservation, "cancellable", False),
        "cancel_deadline": getattr(reservation, "cancel_deadline", None),
        "ticket_code": (ticket.code or None) if ticket is not None and ticket_code else None,
        "checked_in_at": ticket.checked_in_at if ticket is not None else None,
    }


@router.get(
    "",
    response={200: ReservationPage, 400: Problem, 401: Problem, 403: Problem, 429: Problem},
    summary="My reservations",
)
def my_reservations(
    request: AuthenticatedRequest, cursor: str | None = None, limit: int = Query(20, ge=1, le=cursors.MAX_LIMIT)
) -> dict[str, object]:
    """Paid and cancelled reservations, newest first (as My tickets); `limit` a page (1-100), `cursor` from the
    previous page's `next_cursor`. A read token gets no `ticket_code` (null): the code lets its holder in at the
    door, so only a book token or the site's session sees it."""
    rate_limit(request, "api_read")
    after = cursors.decode(cursor, datetime.datetime, int, uuid.UUID) if cursor else None
    found = booking_selectors.reservations_after(user=request.user, after=after, limit=limit + 1)
    page, more = found[:limit], len(found) > limit
    last = page[-1] if page else None
    return {
        "items": [reservation_out(reservation, ticket_code=shows_ticket_codes(request)) for reservation in page],
        "next_cursor": cursors.encode(last.created_at, last.seat.seat_number, last.pk) if more and last else None,
    }
