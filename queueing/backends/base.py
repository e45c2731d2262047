"""The queue interface both backends implement, and the values they hand back.

A backend keeps the live queue of one concert: who waits in which order, who is admitted until when.
It knows nothing of history, rates or messages; queueing.services builds those on top. Backends run
inside the caller's database transaction (queueing.services owns it), so the database backend's
writes commit or roll back together with the history rows.
"""

import abc
import datetime
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from queueing.draw import arrival_of, is_receipt
from queueing.models import WaitingRoom


@dataclass(frozen=True)
class Ticket:
    """A fan's live place in one concert's queue, as the backend sees it."""

    token: uuid.UUID
    user_id: uuid.UUID
    sequence: int | None  # the place: handed out at join, or by the draw (None until then); never renumbered
    entered_at: datetime.datetime
    admitted_at: datetime.datetime | None = None
    expires_at: datetime.datetime | None = None
    ahead: int | None = None  # waiting fans in front (waiting tickets from status() only)
    receipt: str = ""  # a pre-queue entry's public receipt (queueing.draw); kept once drawn
    prequeue_size: int | None = None  # entries in the pre-queue (pre-queue tickets from status() and fast_status())

    @property
    def is_admitted(self) -> bool:
        return self.admitted_at is not None

    @property
    def is_prequeued(self) -> bool:
        """In the pre-queue, waiting for the draw to give it a place."""
        return self.sequence is None


class DrawPending(Exception):
    """A join after the opening found the room's draw not run yet: run it (queueing.services), then join."""


class ArrivalFloorNeeded(Exception):
    """A pre-queue join found the backend's arrival counter missing (a new room, or a Redis that lost its
    data): join again with `arrival_floor`, the highest arrival number the history has handed out, so no
    receipt is ever given twice."""


class SaleChanged(Exception):
    """A join found the room serving another sale than the one it was checked for: the room moved on to the
    concert's next sale (queueing.services.sales) between the entry check and the join."""


def sale_tag(presale_id: uuid.UUID | None) -> str:
    """How a backend names the sale a room serves (WaitingRoom.serving_presale): "g" for the general sale, else the
    presale's id."""
    return "g" if presale_id is None else str(presale_id)


# What a draw's caller records: each drawn entry's token (a UUID, or its text) and place, in arrival order.
DrawnPlaces = Sequence[tuple[uuid.UUID | str, int]]


def arrival_key(receipt: str) -> int:
    """Sorts drawn entries by arrival, the order their history rows (and QueueToken rows) were written in."""
    return arrival_of(receipt) if is_receipt(receipt) else 0


@dataclass(frozen=True)
class DrawResult:
    tickets: list[Ticket]  # the drawn entries in place order
    drawn_at: datetime.datetime  # when the backend ran it (an earlier run's time when it had already run)


@dataclass(frozen=True)
class JoinResult:
    ticket: Ticket
    created: bool  # False: the fan already had a live place, returned unchanged
    replaced: Ticket | None = None  # the user's own admission whose time had run out, ended by this join


@dataclass(frozen=True)
class AdmitResult:
    admitted: list[Ticket]  # in queue order
    expired: list[Ticket]  # admissions whose time had run out, ended by this run


@dataclass(frozen=True)
class HistoryNote:
    """A change a non-transactional backend made that QueueEntryHistory may not show yet: an admission
    (ticket.admitted_at), or an end (exited_at and exit_reason set)."""

    ticket: Ticket
    exited_at: datetime.datetime | None = None
    exit_reason: str = ""


class QueueBackend(abc.ABC):
    """One concert's queue. Every method is safe to call from several processes at once.

    `room` is the concert's WaitingRoom row (read by the caller; the database backend re-reads it under
    a lock where it needs the counters). Times are aware datetimes passed in by the caller, except for
    touch(), which reads the store's own clock unless a time is injected.

    A place is given to another fan only by ending the admission that held it (in the same atomic step
    that admits the newcomer), never by merely finding it run out: so an admission that is still in the
    store can be slid by touch() without ever making more than max_active admitted, whatever the clocks
    of the servers involved say.
    """

    name: str
    # True when the backend's writes live in the database transaction of the caller (rolled back with it).
    transactional: bool = False

    @abc.abstractmethod
    def join(
        self,
        *,
        room: WaitingRoom,
        user_id: uuid.UUID,
        now: datetime.datetime,
        prequeue: bool = False,
        arrival_floor: int | None = None,
        sale: str | None = None,
    ) -> JoinResult:
        """Give the user a place, or return the live one they hold (idempotent per user and concert).

        `sale` (sale_tag): the sale the caller checked entry for; raises SaleChanged when the room serves another
        one now (checked in the same atomic step as the join). None: no check.

        A waiting ticket comes back with `ahead` filled in, as status() would give it.

        `prequeue`: the sale has not opened yet. Until the room's draw has run, the user gets a pre-queue
        entry (no place, a receipt from the next arrival number); once it has run, a place as after the
        opening. After the opening (`prequeue` False) raises DrawPending until the draw has run: nobody
        gets a place before the pre-queue's entrants.

        A new place is always a waiting one, at the back: only admit() admits, so the admission rate, applied
        to its `limit` under the room's lock (queueing.services), holds for every admission. The user's own
        admission that has run out is ended (and returned as `replaced`) and a new place is handed out.
        """

    @abc.abstractmethod
    def draw(
        self,
        *,
        room: WaitingRoom,
        seed: str,
        now: datetime.datetime,
        place_floor: int = 0,
        record: Callable[[DrawnPlaces], None] | None = None,
    ) -> DrawResult:
        """Run the room's draw: every pre-queue entry still live gets a place, 1, 2, ... in the order of
        queueing.draw.draw_order(seed, receipts), ahead of any later arrival; later joins queue behind.

        The caller holds the WaitingRoom row lock, has checked that the room's draw has not been recorded
        in the database, and records it (room.drawn_at) in the same transaction. All or nothing. Places
        start after the last place handed out and after `place_floor` (the history's highest place, when
        a backend that lost its data records the draw again). A backend whose draw already ran (a database
        write failed after it) returns that draw again, with its time, so the history can be written from it.

        `record` (the caller's database write of the places) is called once with the (token, place) of every
        ticket returned, in arrival order (arrival_key of the receipts), in the caller's transaction, before
        the backend's draw becomes visible. Arrival order is the order the rows lie in, so the UPDATE of
        100,000 rows walks the table's pages in order instead of at random (about a fifth less time). What it
        wrote for an attempt the backend then has to give up (the pre-queue changed) is rolled back with a savepoint.
        The Redis backend runs it while it stages its places (and builds its tickets), so the two writes of a
        big draw overlap.
        """

    @abc.abstractmethod
    def close_sale(self, *, room: WaitingRoom, now: datetime.datetime, next_sale: str) -> None:
        """Drop every live place of the sale the room served (pre-queue entries, waiting, admitted) and its draw,
        so the room's next sale (`next_sale`, a sale_tag) starts empty, places from 1, with a draw of its own;
        arrival numbers go on, so receipts stay unique in the concert. From then on only joins for `next_sale` are
        taken.

        The caller holds the WaitingRoom row lock, ends the sale's visits in the history (one UPDATE: nothing is
        noted here) and resets the row."""

    @abc.abstractmethod
    def prequeue_count(self, *, concert_id: uuid.UUID) -> int:
        """Entries in the pre-queue, waiting for the draw."""

    @abc.abstractmethod
    def status(self, *, room: WaitingRoom, user_id: uuid.UUID, now: datetime.datetime) -> Ticket | None:
        """The user's live ticket with `ahead` filled in for waiting ones and `prequeue_size` for pre-queue ones
        (how long the opening's polls are spread over follows it); None if none (or run out)."""

    @abc.abstractmethod
    def admit(self, *, room: WaitingRoom, now: datetime.datetime, limit: int, active_seconds: int) -> AdmitResult:
        """End run-out admissions, then admit up to `limit` waiting fans first-in first-out.

        The caller holds the WaitingRoom row lock (select_for_update) and saves the room afterwards.

        Never lets more than room.max_active be admitted at once, and admits nobody when room.is_paused
        (run-out admissions are still ended). Atomic against other admitters, joins and leaves.
        """

    @abc.abstractmethod
    def touch(
        self,
        *,
        concert_id: uuid.UUID,
        user_id: uuid.UUID,
        now: datetime.datetime | None,
        active_seconds: int,
        max_lifetime_seconds: int,
    ) -> bool:
        """Is the user admitted right now? If so, slide the admission's end to now + active_seconds, never
        past admitted_at + max_lifetime_seconds (so nobody keeps a place for ever by clicking).

        `now` None means the store's clock (PostgreSQL's, Redis's), so app servers whose clocks disagree
        agree on when an admission ran out; tests inject a time. The liveness check and the slide are one
        atomic step: an admission that was ended in between is never brought back."""

    @abc.abstractmethod
    def end(self, *, concert_id: uuid.UUID, user_id: uuid.UUID, now: datetime.datetime, reason: str) -> Ticket | None:
        """End the user's live place (waiting or admitted), freeing it; None if there was none.
        `now` and `reason` are what the history records."""

    @abc.abstractmethod
    def counts(self, *, concert_id: uuid.UUID, now: datetime.datetime) -> tuple[int, int]:
        """(waiting, admitted right now)."""

    # --- the status poll's fast path (queueing.passes, queueing.middleware) ---------------------------------
    # A backend that keeps the live queue outside the database can also keep a short-lived copy of what a poll
    # needs from the WaitingRoom row and its concert (mirror_room), so a poll is answered from the backend
    # alone. The database backend keeps none: every read of it is a query anyway, and the poll takes the full
    # path there.

    # True for a backend that answers fast_status: only then does a poll try the fast path (queueing.views).
    has_fast_path = False

    def fast_status(self, *, concert_id: uuid.UUID, user_id: uuid.UUID) -> tuple[str, Ticket | None] | None:
        """The room's mirror (as given to mirror_room) and the user's live ticket (as status() gives it, but an
        admission whatever its end), read in one atomic step; None when the backend keeps no mirror or it has
        run out."""
        return None

    def mirror_room(self, *, concert_id: uuid.UUID, state: str, seconds: float) -> None:
        """Keep `state` (what a poll needs to know about the room, encoded by queueing.services) for `seconds`.
        Nothing for a backend without a fast path."""
        return None

    def forget_room_mirror(self, *, concert_id: uuid.UUID) -> None:
        """Drop the room's mirror (its row changed): the next poll takes the full path and mirrors it again."""
        return None

    def unwritten_history(self, *, concert_id: uuid.UUID) -> list[HistoryNote]:
        """Admissions and ends this backend noted, in the same atomic step as the change, that the history
        may not show yet (a database write that failed, or a process that died, after the change). Always
        empty for a transactional backend, whose changes roll back with the history."""
        return []

    def history_written(
        self, *, concert_id: uuid.UUID, admitted: Iterable[Ticket] = (), exited: Iterable[Ticket] = ()
    ) -> None:
        """The history now shows these tickets' admission (`admitted`) and end (`exited`): forget the notes.
        Idempotent."""
        return None

    def try_admission_lease(
        self, *, concert_id: uuid.UUID, overdue_since: datetime.datetime | None, seconds: float
    ) -> bool:
        """A cheap pre-lock before an overdue admission run from a status poll: True for one caller per
        overdue state (`overdue_since` is the last run's time, or None), for `seconds` at most.
        The admission itself is guarded by the WaitingRoom row lock in any case."""
        return True
