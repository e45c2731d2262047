"""The seat map of a date: every seat with its price and status, as a fan sees it now (their own holds and
tickets marked) and as staff see it (who holds it, who paid for it).
"""

import datetime
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, cast

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from accounts.models import User
from concerts.models import ConcertDate, Seat

from ..models import Reservation


class StaffSeat(TypedDict):
    """What staff_seat_map adds to each seat."""

    buyer_email: str | None
    status_now: str
    holder: User | None


if TYPE_CHECKING:  # WithAnnotations takes its arguments only in annotations (Python 3.11)
    from django_stubs_ext import WithAnnotations

    SeatForStaff = WithAnnotations[Seat, StaffSeat]


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
