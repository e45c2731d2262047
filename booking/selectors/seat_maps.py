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

from ..models import Reservation, WaitlistEntry


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


@dataclass(frozen=True)
class GridSeat:
    """A seat as everyone sees it, with who it belongs to (never shown: it tells each fan which seats are theirs)."""

    seat_id: uuid.UUID
    number: int
    price: int
    status: str  # AVAILABLE (an expired hold included), HELD or RESERVED
    owner_id: uuid.UUID | None  # the fan holding it (a live hold) or who paid for it
    hold_expire_at: datetime.datetime | None  # a live hold's end


@dataclass(frozen=True)
class SeatGrid:
    """A date's seats in seat order, read at one moment; its statuses stay true until `valid_until` (the end of
    the first live hold: that seat becomes available then) or the next change of a seat (booking.seat_versions)."""

    seats: tuple[GridSeat, ...]
    valid_until: datetime.datetime | None  # None: no live hold, nothing changes with time alone

    def for_fan(self, user_id: uuid.UUID | None) -> list[SeatMapEntry]:
        """The seats as this fan sees them: their live holds and paid seats MINE (their holds with the expiry)."""
        entries = []
        for seat in self.seats:
            if user_id is not None and seat.owner_id == user_id:
                entries.append(SeatMapEntry(seat.seat_id, seat.number, seat.price, SeatState.MINE, seat.hold_expire_at))
            else:
                entries.append(SeatMapEntry(seat.seat_id, seat.number, seat.price, seat.status))
        return entries


def seat_grid(*, concert_date: ConcertDate, now: datetime.datetime | None = None) -> SeatGrid:
    """Every seat of the date in seat order as everyone sees it now, with its holder or buyer: one query.

    While fans wait on the date's waiting list its free seats show as HELD (by nobody a fan is told of): they came
    back and are kept for the list's offers (holds refuse them). The waiting list changes the seat version when
    its last fan stops waiting (booking.services.waitlist), so a cached grid does not keep them so.
    """
    now = now or timezone.now()
    buyer = Reservation.objects.filter(seat=OuterRef("pk"), status=Reservation.Status.CONFIRMED).values("user_id")[:1]
    # Not correlated with the seat: PostgreSQL evaluates it once (an InitPlan) on the list's partial index.
    fans_waiting = WaitlistEntry.objects.filter(concert_date_id=concert_date.pk, status=WaitlistEntry.Status.WAITING)
    rows = (
        Seat.objects.filter(concert_date=concert_date)
        .annotate(buyer_id=Subquery(buyer), kept=Exists(fans_waiting))
        .order_by("seat_number")
        .values_list("id", "seat_number", "price", "status", "held_by_id", "hold_expire_at", "buyer_id", "kept")
    )
    seats = []
    valid_until: datetime.datetime | None = None
    for seat_id, number, price, status, holder_id, expire_at, buyer_id, kept in rows:
        if status == Seat.Status.HELD and expire_at is not None and expire_at > now:
            seats.append(GridSeat(seat_id, number, price, Seat.Status.HELD, holder_id, expire_at))
            valid_until = expire_at if valid_until is None else min(valid_until, expire_at)
        elif status == Seat.Status.RESERVED:
            seats.append(GridSeat(seat_id, number, price, Seat.Status.RESERVED, buyer_id, None))
        elif kept:  # free, but kept for the waiting list's offers
            seats.append(GridSeat(seat_id, number, price, Seat.Status.HELD, None, None))
        else:  # available, or a hold that has run out (whether or not the sweep has run)
            seats.append(GridSeat(seat_id, number, price, Seat.Status.AVAILABLE, None, None))
    return SeatGrid(tuple(seats), valid_until)


def seat_map(
    *, concert_date: ConcertDate, user: User | None, now: datetime.datetime | None = None
) -> list[SeatMapEntry]:
    """Every seat of the date in seat order with its price and status as `user` sees it now: one query."""
    return seat_grid(concert_date=concert_date, now=now).for_fan(user.pk if user is not None else None)


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
