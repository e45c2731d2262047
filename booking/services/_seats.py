"""What every booking workflow shares: the date's share lock, booking's seat lock (seats in seat_number order,
the lock order of accounts.locking), freeing seats, and the SeatStatusHistory rows each change of a seat writes.
"""

import datetime
import uuid

from django.db import connection
from django.db.models import Max, QuerySet

from accounts.models import User
from concerts.models import ConcertDate, Seat, SeatStatusHistory

from .. import seat_versions
from ..exceptions import DateNotBookable, SeatsKeptForWaitlist
from ..models import Reservation, WaitlistEntry


def lock_seats(queryset: QuerySet[Seat], *, skip_locked: bool = False, limit: int | None = None) -> list[Seat]:
    """Lock the seats in the queryset's order; each gets `last_history_at`, the time of its last history row."""
    queryset = queryset.select_for_update(no_key=True, of=("self",), skip_locked=skip_locked)
    seats = list(queryset if limit is None else queryset[:limit])
    read_last_history(seats)
    return seats


def read_last_history(seats: list[Seat]) -> None:
    """Give each locked seat `last_history_at`, the time of its last history row (History needs it).

    Read only once the seats' locks are held: the locking statement's own snapshot predates a change it may have
    waited for, and reusing that change's timestamp would make "the last row" ambiguous."""
    if not seats:
        return
    last = dict(
        SeatStatusHistory.objects.filter(seat_id__in=[seat.pk for seat in seats])
        .order_by()
        .values("seat_id")
        .annotate(at=Max("changed_at"))
        .values_list("seat_id", "at")
    )
    for seat in seats:
        seat.last_history_at = last.get(seat.pk)


class History:
    """Collects SeatStatusHistory rows for one transaction.

    Each seat's rows get strictly increasing changed_at (at least `now`, after the seat's last row), so
    "the last history row" of a seat is well defined even when two changes happen in one transaction or a
    caller's `now` is behind an earlier change. The seat lock keeps this safe between transactions.

    Every change of a seat's status writes its history row through here, so save() is also where the dates
    whose seats changed get a new seat version (booking.seat_versions): cached seat grids follow every change.
    """

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now
        self.rows: list[SeatStatusHistory] = []
        self.last: dict[object, datetime.datetime] = {}  # seat pk -> its last row's time
        self.dates: set[uuid.UUID] = set()  # the dates of the seats changed

    def add(
        self,
        seat: Seat,
        *,
        from_status: str | None,
        to_status: str,
        by: User | None,
        reason: SeatStatusHistory.Reason,
        note: str = "",
    ) -> None:
        """One row: `reason` is a code (its label is what the admin shows); `note` the staff member's own words."""
        last = self.last.get(seat.pk, seat.last_history_at)
        at = self.now if last is None or last < self.now else last + datetime.timedelta(microseconds=1)
        self.last[seat.pk] = at
        self.dates.add(seat.concert_date_id)
        self.rows.append(
            SeatStatusHistory(
                seat_id=seat.pk,
                from_status=from_status,
                to_status=to_status,
                changed_by_id=by.pk if by is not None else None,
                reason=reason,
                note=note[:200],
                changed_at=at,
            )
        )

    def save(self) -> None:
        SeatStatusHistory.objects.bulk_create(self.rows)
        seat_versions.seats_changed(self.dates)


def free_seats(
    seats: list[Seat],
    *,
    live_status: str,
    ended_status: str,
    end_reason: str,
    by: User | None,
    reason: SeatStatusHistory.Reason,
    note: str = "",
    history: History,
    now: datetime.datetime,
) -> None:
    """Make locked seats AVAILABLE and end their live reservation (`live_status` → `ended_status`, and why)."""
    ids = [seat.pk for seat in seats]
    Reservation.objects.filter(seat_id__in=ids, status=live_status).update(
        status=ended_status, ended_at=now, end_reason=end_reason
    )
    Seat.objects.filter(pk__in=ids).update(status=Seat.Status.AVAILABLE, held_by=None, hold_expire_at=None)
    for seat in seats:
        history.add(seat, from_status=seat.status, to_status=Seat.Status.AVAILABLE, by=by, reason=reason, note=note)
        seat.status, seat.held_by_id, seat.hold_expire_at = Seat.Status.AVAILABLE, None, None


def expire_seats(seats: list[Seat], *, history: History, now: datetime.datetime) -> None:
    """Free locked seats whose hold has passed; their HOLD reservations become EXPIRED."""
    free_seats(
        seats,
        live_status=Reservation.Status.HOLD,
        ended_status=Reservation.Status.EXPIRED,
        end_reason=Reservation.EndReason.HOLD_EXPIRED,
        by=None,
        reason=SeatStatusHistory.Reason.HOLD_EXPIRED,
        history=history,
        now=now,
    )


def share_lock_date_row(concert_date: ConcertDate) -> tuple[str, datetime.datetime]:
    """Share-lock the date row for this transaction and return its status and start as they are now (staff
    may have cancelled or moved it since `concert_date` was read).

    mark_date_cancelled (date_cancellations), concerts.services.reschedule_concert_date and
    concerts.services.delete_concert_date lock the row for update, so a date cannot be cancelled, moved or
    deleted while a hold, payment or fan's cancellation on it is in flight, and the refund job that follows a
    cancellation sees every reservation made before. These still run side by side on one date (FOR SHARE does
    not block FOR SHARE). Raises ConcertDate.DoesNotExist for a date deleted meanwhile.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT status, starts_at FROM {ConcertDate._meta.db_table} WHERE id = %s FOR SHARE",
                [concert_date.pk],
            )
            row = cursor.fetchone()
        if row is None:  # as the .get() below would say
            raise ConcertDate.DoesNotExist(f"no concert date {concert_date.pk}")
        status, starts_at = row
        return status, starts_at
    # SQLite runs one writing transaction at a time anyway
    return ConcertDate.objects.values_list("status", "starts_at").get(pk=concert_date.pk)


def share_lock_date(concert_date: ConcertDate) -> datetime.datetime:
    """Share-lock the date row (share_lock_date_row) for a hold or payment: refuse it if the date has been
    cancelled (DateNotBookable), else return its start as it is now."""
    status, starts_at = share_lock_date_row(concert_date)
    if status == ConcertDate.Status.CANCELLED:
        raise DateNotBookable.cancelled()
    return starts_at


def share_lock_date_for_hold(concert_date: ConcertDate) -> datetime.datetime:
    """share_lock_date for a new hold, which the date's waiting list may also refuse: while fans wait on it, every
    seat of the date that comes back is theirs to be offered in list order (booking.services.waitlist), so a hold
    is refused (SeatsKeptForWaitlist) in the moment between a seat's return and its offer. Else return the date's
    start as it is now.

    One statement on PostgreSQL: the date row share-locked and the list probed on its partial index of WAITING
    entries, so a hold costs no extra round trip. The probe sees the fans who joined before the hold began; a fan
    joining while a hold is in flight (milliseconds) may see that hold complete, as if it had come just before.
    The offers themselves never come through here.
    """
    waiting = WaitlistEntry.Status.WAITING
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT d.status, d.starts_at, EXISTS (SELECT 1 FROM {WaitlistEntry._meta.db_table} w"
                f" WHERE w.concert_date_id = d.id AND w.status = %s)"
                f" FROM {ConcertDate._meta.db_table} d WHERE d.id = %s FOR SHARE OF d",
                [waiting, concert_date.pk],
            )
            row = cursor.fetchone()
        if row is None:
            raise ConcertDate.DoesNotExist(f"no concert date {concert_date.pk}")
        status, starts_at, fans_waiting = row
        assert isinstance(starts_at, datetime.datetime)
    else:  # SQLite runs one writing transaction at a time anyway
        status, starts_at = ConcertDate.objects.values_list("status", "starts_at").get(pk=concert_date.pk)
        fans_waiting = WaitlistEntry.objects.filter(concert_date_id=concert_date.pk, status=waiting).exists()
    if status == ConcertDate.Status.CANCELLED:
        raise DateNotBookable.cancelled()
    if fans_waiting:
        raise SeatsKeptForWaitlist()
    return starts_at


def lock_reservation(reservation: Reservation) -> Reservation:
    """Lock the reservation's seat and re-read both: the seat lock guards every change of its reservations
    (cancel, refund, release) and the door's check-in of it (checkins). Call inside a transaction."""
    seat = lock_seats(Seat.objects.filter(pk=reservation.seat_id).select_related("concert_date__concert"))[0]
    fresh = Reservation.objects.get(pk=reservation.pk)
    fresh.seat = seat
    return fresh
