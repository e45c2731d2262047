"""Holding seats: a fan's all-or-nothing hold of some seats of a date, for HOLD_SECONDS."""

import contextlib
import datetime
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.locking import lock_user
from accounts.models import User
from concerts import selectors as concert_selectors
from concerts.models import ConcertDate, Presale, Seat, SeatStatusHistory

from .. import selectors
from ..exceptions import (
    DateNotBookable,
    InvalidSeatSelection,
    PresaleQuotaReached,
    SaleNotOpen,
    SeatLimitReached,
    SeatsKeptForWaitlist,
    SeatTaken,
)
from ..models import Reservation
from . import waitlist
from ._seats import History, expire_seats, lock_seats, share_lock_date_for_hold


def _seat_numbers(raw: object) -> list[int]:
    """Validate what a form or caller sends as seat numbers; return them sorted. Raises InvalidSeatSelection."""
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
        raise InvalidSeatSelection()
    numbers = []
    for item in raw:
        text = item.strip() if isinstance(item, str) else None
        if text and text.isascii() and text.isdigit() and len(text) <= 9:  # a form's "7"
            item = int(text)
        if isinstance(item, bool) or not isinstance(item, int):
            raise InvalidSeatSelection()
        numbers.append(item)
        if len(numbers) > settings.SEATS_PER_DATE:
            raise InvalidSeatSelection()
    if not numbers:
        raise InvalidSeatSelection()
    if any(not 1 <= n <= settings.SEATS_PER_DATE for n in numbers):
        raise InvalidSeatSelection.out_of_range(settings.SEATS_PER_DATE)
    if len(set(numbers)) != len(numbers):
        raise InvalidSeatSelection.repeated()
    return sorted(numbers)


def check_bookable(concert_date: ConcertDate, now: datetime.datetime, *, user: User | None = None) -> Presale | None:
    """Refuse a hold on a cancelled date (DateNotBookable), one whose show has started, or before the sale opens
    (SaleNotOpen): the checks a hold makes before it locks anything.

    Before the general sale, a fan-club presale open now lets the fans on its list (`user`) hold: returns that
    presale (the hold counts against its quota); anyone else is refused with the general sale's opening. After the
    general sale's opening returns None without a query."""
    if concert_date.is_cancelled:
        raise DateNotBookable.cancelled()
    if selectors.show_has_started(concert_date, now=now):
        raise DateNotBookable()
    concert = concert_date.concert
    if concert.is_on_sale(now):
        return None
    presale = concert_selectors.open_presale(concert=concert, now=now)
    if presale is None:
        raise SaleNotOpen()
    if user is None or not concert_selectors.is_presale_eligible(user=user, presale=presale):
        raise SaleNotOpen.presale_only(concert.sale_opens_at)
    return presale


def lock_presale_quota(presale: Presale, *, now: datetime.datetime) -> int:
    """Lock the presale's row (after the fan's row and the date's share lock, before any seat: the project's lock
    order) and return the seats its quota has left: its quota minus its live reservations (unexpired holds and paid
    seats). Holds of one presale take turns on the lock, so together they never pass the quota."""
    quota = Presale.objects.select_for_update(no_key=True).values_list("quota", flat=True).get(pk=presale.pk)
    live = (
        Reservation.objects.filter(presale=presale)
        .filter(Q(status=Reservation.Status.CONFIRMED) | Q(status=Reservation.Status.HOLD, hold_expire_at__gt=now))
        .count()
    )
    return max(0, quota - live)


def hold_seats(
    *, user: User, concert_date: ConcertDate, seat_numbers: Iterable[int | str], now: datetime.datetime | None = None
) -> list[Reservation]:
    """Hold these seats of the date for the fan, all or nothing, for HOLD_SECONDS; return the HOLD reservations.

    Locks the user row, share-locks the date, then the seats in seat order. A seat whose hold has expired counts
    as available: its old reservation becomes EXPIRED in the same transaction. Raises InvalidSeatSelection,
    DateNotBookable, SaleNotOpen, SeatsKeptForWaitlist (fans wait on the date's waiting list: a seat that comes
    back is theirs first; holds of the date that ran out unswept are then offered to them at once,
    offers_nudged_when_kept), SeatLimitReached (more than MAX_SEATS_PER_USER live seats on the date), SeatTaken, or
    PresaleQuotaReached: before the general sale, a fan on the list of the presale open now holds within its quota
    (the presale's row is locked after the date, before the seats: lock_presale_quota), and the reservations
    record the presale.
    """
    now = now or timezone.now()
    numbers = _seat_numbers(seat_numbers)
    presale = check_bookable(concert_date, now, user=user)
    with offers_nudged_when_kept(concert_date, now=now), transaction.atomic():
        take_hold_locks(user=user, concert_date=concert_date, presale=presale, count=len(numbers), now=now)
        seats = lock_seats(
            Seat.objects.filter(concert_date=concert_date, seat_number__in=numbers).order_by("seat_number")
        )
        if len(seats) != len(numbers):
            raise InvalidSeatSelection()
        taken = [seat.seat_number for seat in seats if not seat.is_free_at(now)]
        if taken:
            raise SeatTaken(seat_numbers=taken)
        return hold_locked_seats(user=user, seats=seats, presale=presale, now=now)


@contextlib.contextmanager
def offers_nudged_when_kept(concert_date: ConcertDate, *, now: datetime.datetime) -> Iterator[None]:
    """Around a hold's transaction: when the waiting list refuses it (SeatsKeptForWaitlist), the date's holds that
    ran out unswept are offered to the list now (waitlist.offer_expired_holds_soon), not at the next sweep, so the
    fans refused for them do not wait on a late beat. Outside the transaction, which the refusal rolls back."""
    try:
        yield
    except SeatsKeptForWaitlist:
        waitlist.offer_expired_holds_soon(concert_date=concert_date, now=now)
        raise


def take_hold_locks(
    *, user: User, concert_date: ConcertDate, presale: Presale | None, count: int, now: datetime.datetime
) -> None:
    """The first half of a hold of `count` seats, inside its transaction and before any seat is locked (hold_seats
    and hold_best_seats take it once each): lock the fan's row, share-lock the date, then the presale's row when
    check_bookable returned one (the project's lock order).

    Raises DateNotBookable (cancelled, or moved earlier by staff since the caller read it), SeatsKeptForWaitlist,
    SeatLimitReached (more than MAX_SEATS_PER_USER live seats on the date) or PresaleQuotaReached."""
    lock_user(user.pk)
    if share_lock_date_for_hold(concert_date) <= now:  # moved earlier by staff since the caller read it
        raise DateNotBookable()
    already = selectors.live_seat_count(user=user, concert_date=concert_date, now=now)
    if already + count > settings.MAX_SEATS_PER_USER:
        raise SeatLimitReached(limit=settings.MAX_SEATS_PER_USER, already=already, requested=count)
    if presale is not None:
        left = lock_presale_quota(presale, now=now)
        if count > left:
            raise PresaleQuotaReached(left=left)


def hold_locked_seats(
    *, user: User, seats: list[Seat], presale: Presale | None, now: datetime.datetime
) -> list[Reservation]:
    """The second half of a hold, after take_hold_locks in the same transaction: hold these seats for the fan for
    HOLD_SECONDS and return the HOLD reservations (with the presale, if any), writing the history.

    The seats must be locked in seat order, free at `now` and carry last_history_at (_seats.lock_seats or
    read_last_history); a seat still HELD (its hold expired) has its old reservation made EXPIRED first."""
    history = History(now)
    expired = [seat for seat in seats if seat.status == Seat.Status.HELD]
    if expired:
        expire_seats(expired, history=history, now=now)
    expire_at = now + datetime.timedelta(seconds=settings.HOLD_SECONDS)
    Seat.objects.filter(pk__in=[seat.pk for seat in seats]).update(
        status=Seat.Status.HELD, held_by=user.pk, hold_expire_at=expire_at
    )
    reservations = Reservation.objects.bulk_create(
        Reservation(
            user_id=user.pk,
            seat=seat,
            status=Reservation.Status.HOLD,
            price=seat.price,
            created_at=now,
            hold_expire_at=expire_at,
            presale=presale,
        )
        for seat in seats
    )
    for seat in seats:
        history.add(
            seat,
            from_status=Seat.Status.AVAILABLE,
            to_status=Seat.Status.HELD,
            by=user,
            reason=SeatStatusHistory.Reason.HELD,
        )
        seat.status, seat.held_by_id, seat.hold_expire_at = Seat.Status.HELD, user.pk, expire_at
    history.save()
    return reservations
