"""Writes about the waiting room: join, poll a place, admit, touch, leave and end, over the configured backend.

The live queue sits in a backend (queueing.backends: the database or Redis). This module adds the rules
around it: the sale must be open, every visit is written to QueueEntryHistory (in the database for both
backends), admission runs under the WaitingRoom row lock, the estimated wait comes from the recent
admission rate, and a poll (poll_place) that finds admission overdue (beat stopped) runs it itself.
"""

import datetime
import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Func, IntegerField, QuerySet, Value, When
from django.utils import timezone

from accounts.models import User
from concerts.models import Concert

from .backends import QueueBackend, Ticket, get_backend
from .exceptions import QueueClosed, QueueError, QueueNotOpen, QueueUnavailable
from .models import QueueEntryHistory, WaitingRoom

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

__all__ = [
    "QueueClosed",
    "QueueError",
    "QueueStatus",
    "QueueUnavailable",
    "QueueNotOpen",
    "admit_all_due",
    "admit_batch",
    "end_for_user",
    "estimate_wait_seconds",
    "expire_admissions",
    "join",
    "leave",
    "poll_place",
    "set_paused",
    "touch",
]

logger = logging.getLogger(__name__)

EXIT_PAID = "paid"
EXIT_LEFT = "left"
EXIT_EXPIRED = "expired"

# The estimated wait uses the admissions of the last few minutes, spread over at least a minute so one
# early burst (the first batch when a sale opens) does not promise a wait that is far too short.
ADMISSION_LOG_SECONDS = 300
MIN_RATE_SPAN_SECONDS = 60
# A status poll runs admission itself when the last run is older than this many beat intervals.
OVERDUE_INTERVALS = 3
# An admission slides with activity (see touch) but never lasts beyond this many ACTIVE_SECONDS.
MAX_LIFETIME_FACTOR = 2


@dataclass(frozen=True)
class QueueStatus:
    """Where a fan stands in one concert's waiting room.

    position is 1 for the fan at the front (0 once admitted); ahead counts the waiting fans in front;
    eta_seconds is None while admission is paused.
    """

    position: int
    ahead: int
    eta_seconds: int | None
    admitted: bool
    token: uuid.UUID
    expires_at: datetime.datetime | None
    paused: bool = False
    entered_at: datetime.datetime | None = None


def max_lifetime_seconds() -> int:
    return MAX_LIFETIME_FACTOR * settings.ACTIVE_SECONDS


def _room_for(concert: Concert) -> WaitingRoom:
    room, _ = WaitingRoom.objects.get_or_create(concert=concert)
    return room


def _room_if_any(concert: Concert) -> WaitingRoom | None:
    return WaitingRoom.objects.filter(pk=concert.pk).first()


# --- history --------------------------------------------------------------------------------------


def _seconds_between(start: datetime.datetime, end: datetime.datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def _record_entry(*, user: User, concert: Concert, ticket: Ticket) -> None:
    QueueEntryHistory.objects.create(
        user=user,
        concert=concert,
        token=ticket.token,
        queue_position=ticket.sequence,
        entered_at=ticket.entered_at,
        admitted_at=ticket.admitted_at,
        was_admitted=ticket.is_admitted,
        duration_seconds=0 if ticket.is_admitted else None,
    )


class _SecondsSince(Func):
    """Whole seconds from a datetime column to a moment, >= 0, computed in the database (one UPDATE for
    a whole admission batch instead of a CASE per row)."""

    output_field = IntegerField()

    def __init__(self, column: F, moment: datetime.datetime) -> None:
        super().__init__(Value(moment, output_field=DateTimeField()), column)

    def as_postgresql(self, compiler: "SQLCompiler", connection: "BaseDatabaseWrapper", **extra: Any) -> "_AsSqlType":
        template = "GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (%(expressions)s))))::integer"
        return self.as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler: "SQLCompiler", connection: "BaseDatabaseWrapper", **extra: Any) -> "_AsSqlType":
        # julianday() is a float of days: round to milliseconds before flooring to whole seconds.
        template = "MAX(0, CAST(ROUND((julianday(%(expressions)s)) * 86400000) AS INTEGER) / 1000)"
        return self.as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra)


def _record_admissions(tickets: Sequence[Ticket], *, now: datetime.datetime) -> int:
    """Mark the history rows of a batch admitted at `now`, in one UPDATE; returns the rows marked. (A row
    whose exit was written first, when catching up, keeps its whole duration.)"""
    if not tickets:
        return 0
    return QueueEntryHistory.objects.filter(token__in=[t.token for t in tickets], admitted_at__isnull=True).update(
        admitted_at=now,
        was_admitted=True,
        duration_seconds=Case(
            When(exited_at__isnull=True, then=_SecondsSince(F("entered_at"), now)),
            default=F("duration_seconds"),
            output_field=IntegerField(),
        ),
    )


def _record_exits(tickets: Sequence[Ticket], *, now: datetime.datetime, reason: str) -> None:
    """Close the history rows of ended tickets. An admission that ran out exits when it ran out."""
    if not tickets:
        return
    by_token = {t.token: t for t in tickets}
    rows = list(QueueEntryHistory.objects.filter(token__in=by_token, exited_at__isnull=True))
    for row in rows:
        ticket = by_token[row.token]
        exited_at = now
        if reason == EXIT_EXPIRED and ticket.expires_at is not None:
            exited_at = min(now, ticket.expires_at)
        row.exited_at = exited_at
        row.exit_reason = reason
        row.duration_seconds = _seconds_between(row.entered_at, exited_at)
    QueueEntryHistory.objects.bulk_update(rows, ["exited_at", "exit_reason", "duration_seconds"], batch_size=500)


def _forget_when_committed(
    backend: QueueBackend, concert_id: uuid.UUID, *, admitted: Sequence[Ticket] = (), exited: Sequence[Ticket] = ()
) -> None:
    """Once the history rows of these admissions and ends are committed, the backend drops its notes of
    them (Redis; see _catch_up_history). If that fails, the next admission run does it."""
    if backend.transactional or not (admitted or exited):
        return

    def forget() -> None:
        try:
            backend.history_written(concert_id=concert_id, admitted=admitted, exited=exited)
        except QueueUnavailable:
            logger.warning("queue %s: backend unavailable, history notes left for the next run", concert_id)

    transaction.on_commit(forget, robust=True)


def _catch_up_history(room: WaitingRoom, backend: QueueBackend) -> int:
    """Write into QueueEntryHistory the admissions and ends the backend made but the history missed.

    Redis keeps its change when the history write after it fails (or the process dies in between); its
    scripts note every admission and end in the same atomic step, and this writes what is still noted:
    admissions first, then ends, each only on rows that do not show it yet, so it is idempotent and a
    normal write racing it writes the same values. Runs at the start of every admission run, under the
    room's lock. Returns the number of admissions written (for the room's admitted_total).
    """
    notes = backend.unwritten_history(concert_id=room.pk)
    if not notes:
        return 0
    admissions = [note.ticket for note in notes if note.exited_at is None]
    ends = {note.ticket.token: note for note in notes if note.exited_at is not None}
    written = 0
    by_time: dict[datetime.datetime, list[Ticket]] = {}
    for ticket in admissions:
        if ticket.admitted_at is not None:  # always, for an admission's note
            by_time.setdefault(ticket.admitted_at, []).append(ticket)
    for admitted_at, tickets in by_time.items():
        written += _record_admissions(tickets, now=admitted_at)
    rows = list(QueueEntryHistory.objects.filter(token__in=ends, exited_at__isnull=True))
    for row in rows:
        note = ends[row.token]
        assert note.exited_at is not None  # `ends` holds the notes of ends only
        if row.admitted_at is None and note.ticket.admitted_at is not None:
            row.admitted_at, row.was_admitted = note.ticket.admitted_at, True
            written += 1
        row.exited_at, row.exit_reason = note.exited_at, note.exit_reason
        row.duration_seconds = _seconds_between(row.entered_at, note.exited_at)
    fields = ["admitted_at", "was_admitted", "exited_at", "exit_reason", "duration_seconds"]
    QueueEntryHistory.objects.bulk_update(rows, fields, batch_size=500)
    if written or rows:
        logger.warning("queue %s: history caught up with %d admissions and %d ends", room.pk, written, len(rows))
    _forget_when_committed(backend, room.pk, admitted=admissions, exited=[note.ticket for note in ends.values()])
    return written


# --- estimated wait -------------------------------------------------------------------------------


def estimate_wait_seconds(*, ahead: int, room: WaitingRoom, now: datetime.datetime) -> int | None:
    """Seconds until a fan with `ahead` waiting fans in front is likely admitted; None while paused.

    The rate is the one observed over the last ADMISSION_LOG_SECONDS, but never below what capacity
    gives when every admitted fan uses their full ACTIVE_SECONDS (max_active places per ACTIVE_SECONDS):
    before any admission has been seen, that is the estimate.
    """
    if room.is_paused:
        return None
    now_ts = now.timestamp()
    recent = [(at, count) for at, count in room.admission_log if at >= now_ts - ADMISSION_LOG_SECONDS]
    observed = 0.0
    if recent:
        span = max(now_ts - min(at for at, _ in recent), MIN_RATE_SPAN_SECONDS)
        observed = sum(count for _, count in recent) / span
    active = settings.ACTIVE_SECONDS
    if observed * active <= room.max_active:
        # Integer arithmetic, so the estimate does not wobble by a second on float rounding.
        return max(1, -(-(ahead + 1) * active // room.max_active))
    return max(1, math.ceil((ahead + 1) / observed))


def _log_admissions(log: list[list[float]], *, now: datetime.datetime, count: int) -> list[list[float]]:
    now_ts = now.timestamp()
    kept = [[at, n] for at, n in log if at >= now_ts - ADMISSION_LOG_SECONDS]
    if count:
        kept.append([round(now_ts, 3), count])
    return kept


def _waiting_status(ticket: Ticket, room: WaitingRoom, now: datetime.datetime) -> QueueStatus:
    assert ticket.ahead is not None  # the backends fill it in for every waiting ticket
    return QueueStatus(
        position=ticket.ahead + 1,
        ahead=ticket.ahead,
        eta_seconds=estimate_wait_seconds(ahead=ticket.ahead, room=room, now=now),
        admitted=False,
        token=ticket.token,
        expires_at=None,
        paused=room.is_paused,
        entered_at=ticket.entered_at,
    )


def _admitted_status(ticket: Ticket, room: WaitingRoom) -> QueueStatus:
    return QueueStatus(
        position=0,
        ahead=0,
        eta_seconds=0,
        admitted=True,
        token=ticket.token,
        expires_at=ticket.expires_at,
        paused=room.is_paused,
        entered_at=ticket.entered_at,
    )


# --- joining and reading -------------------------------------------------------------------------


def join(*, user: User, concert: Concert, now: datetime.datetime | None = None) -> QueueStatus:
    """Put the user in the concert's waiting room, or return the place they already hold.

    Idempotent per user and concert (refresh, second tab, second device: same token, same place). Admits
    at once when there is room and nobody is waiting. Raises QueueNotOpen before the sale opens,
    QueueClosed once the concert's last show has started, QueueUnavailable when the backend cannot be reached.
    """
    now = now or timezone.now()
    if concert.is_over(now):
        raise QueueClosed()
    if not concert.is_on_sale(now):
        raise QueueNotOpen()
    room = _room_for(concert)
    backend = get_backend()
    result = None
    try:
        with transaction.atomic():
            result = backend.join(room=room, user_id=user.pk, now=now, active_seconds=settings.ACTIVE_SECONDS)
            ended = result.expired + ([result.replaced] if result.replaced is not None else [])
            _record_exits(ended, now=now, reason=EXIT_EXPIRED)
            _forget_when_committed(backend, concert.pk, exited=ended)
            if result.created:
                _record_entry(user=user, concert=concert, ticket=result.ticket)
                if result.ticket.is_admitted:
                    WaitingRoom.objects.filter(pk=room.pk).update(admitted_total=F("admitted_total") + 1)
    except Exception:
        # Redis keeps its change when the history write fails: take the new place back (best effort; the
        # ends this join made are noted, and the next admission run writes them).
        if result is not None and result.created and not backend.transactional:
            try:
                taken_back = backend.end(concert_id=concert.pk, user_id=user.pk, now=now, reason="error")
                if taken_back is not None:  # it never had a history row
                    backend.history_written(concert_id=concert.pk, exited=[taken_back])
            except QueueUnavailable:
                logger.warning("queue %s: could not take back %s's place after a failed join", concert.pk, user.pk)
        raise
    if result.ticket.is_admitted:
        return _admitted_status(result.ticket, room)
    if _is_overdue(room, now):
        # Beat seems to be stopped: the poll path runs admission under its lock.
        current = poll_place(user=user, concert=concert, now=now)
        if current is not None:
            return current
    return _waiting_status(result.ticket, room, now)


def poll_place(*, user: User, concert: Concert, now: datetime.datetime | None = None) -> QueueStatus | None:
    """The user's place in the concert's waiting room, or None if they hold no live place.

    Not a pure read: when the fan is waiting and the last admission run is overdue (beat stopped), it runs
    one under the room's lock first (admitting fans, ending run-out admissions, writing their history), so
    the queue moves as long as fans poll. Otherwise cheap with any number of fans waiting (no counting of
    the rows ahead).
    """
    injected, now = now, now or timezone.now()
    room = _room_if_any(concert)
    if room is None:
        return None
    backend = get_backend()
    ticket = backend.status(room=room, user_id=user.pk, now=now)
    if ticket is None:
        return None
    if not ticket.is_admitted and _is_overdue(room, now):
        lease = max(5.0, settings.ADMIT_QUEUE_EVERY_SECONDS)
        if backend.try_admission_lease(concert_id=concert.pk, overdue_since=room.last_admission_at, seconds=lease):
            _admit(concert=concert, now=injected, limit=settings.QUEUE_ADMIT_BATCH_SIZE, only_if_overdue=True)
            room = WaitingRoom.objects.get(pk=concert.pk)
            ticket = backend.status(room=room, user_id=user.pk, now=now)
            if ticket is None:
                return None
    if ticket.is_admitted:
        return _admitted_status(ticket, room)
    return _waiting_status(ticket, room, now)


def touch(*, user: User | AnonymousUser, concert: Concert, now: datetime.datetime | None = None) -> bool:
    """Is this user admitted for this concert right now? If so their admission slides to ACTIVE_SECONDS
    from now (capped at MAX_LIFETIME_FACTOR x ACTIVE_SECONDS after admission). Server-side state only:
    nothing the client sends can make this True.

    "Now" is the store's clock (PostgreSQL's or Redis's), not this server's, unless `now` is injected;
    an admission that was ended to give its place away is never revived.
    """
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return False
    return get_backend().touch(
        concert_id=concert.pk,
        user_id=user.pk,
        now=now,
        active_seconds=settings.ACTIVE_SECONDS,
        max_lifetime_seconds=max_lifetime_seconds(),
    )


# --- admission ------------------------------------------------------------------------------------


def _is_overdue(room: WaitingRoom, now: datetime.datetime) -> bool:
    last = room.last_admission_at
    limit = OVERDUE_INTERVALS * settings.ADMIT_QUEUE_EVERY_SECONDS
    return last is None or (now - last).total_seconds() > limit


def _admit(
    *, concert: Concert, now: datetime.datetime | None, limit: int, only_if_overdue: bool = False
) -> tuple[int, int]:
    """One admission run for one concert under its WaitingRoom row lock; returns (admitted, expired) counts.

    The time is read once the lock is held (unless injected), and the room's last admission time never
    moves backwards, so a run that waited for the lock behind a later one cannot make admission look
    overdue. A guarded run (from a status poll) skips the row when another run holds it and re-checks
    that the run is still overdue, so a crowd of polls starts at most one run. Catches the history up
    first (see _catch_up_history).
    """
    backend = get_backend()
    with transaction.atomic():
        room = WaitingRoom.objects.select_for_update(skip_locked=only_if_overdue).filter(pk=concert.pk).first()
        if room is None:
            return 0, 0
        now = now or timezone.now()
        if only_if_overdue and not _is_overdue(room, now):
            return 0, 0
        caught_up = _catch_up_history(room, backend)
        result = backend.admit(room=room, now=now, limit=limit, active_seconds=settings.ACTIVE_SECONDS)
        _record_exits(result.expired, now=now, reason=EXIT_EXPIRED)
        _record_admissions(result.admitted, now=now)
        _forget_when_committed(backend, room.pk, admitted=result.admitted, exited=result.expired)
        fields = ["admission_log"]
        room.admission_log = _log_admissions(room.admission_log, now=now, count=len(result.admitted))
        if result.admitted or caught_up:
            room.admitted_total += len(result.admitted) + caught_up
            fields.append("admitted_total")
        if limit > 0 and (room.last_admission_at is None or room.last_admission_at < now):
            room.last_admission_at = now
            fields.append("last_admission_at")
        room.save(update_fields=fields)
    if result.admitted or result.expired:
        logger.info("queue %s: admitted %d, expired %d", concert.pk, len(result.admitted), len(result.expired))
    return len(result.admitted), len(result.expired)


def admit_batch(*, concert: Concert, now: datetime.datetime | None = None, limit: int | None = None) -> int:
    """Admit the next waiting fans of one concert, first-in first-out, up to its free places.

    Ends run-out admissions first (freeing their places). Never lets more than max_active be admitted,
    admits nobody while paused, safe to run from several workers at once. Returns how many were admitted.
    """
    limit = settings.QUEUE_ADMIT_BATCH_SIZE if limit is None else limit
    return _admit(concert=concert, now=now, limit=limit)[0]


def _current_rooms(now: datetime.datetime) -> QuerySet[WaitingRoom]:
    return WaitingRoom.objects.filter(concert__end_time__gte=now).select_related("concert").order_by("pk")


def admit_all_due(*, now: datetime.datetime | None = None) -> int:
    """One admission run for every concert whose waiting room is still open: what beat runs.

    Returns the number of fans admitted in all. A concert whose backend is unreachable is logged and
    skipped so the others still move. Each room's run reads the time under its lock (unless injected).
    """
    total = 0
    for room in _current_rooms(now or timezone.now()):
        try:
            total += admit_batch(concert=room.concert, now=now)
        except QueueUnavailable:
            logger.warning("queue %s: backend unavailable, admission skipped", room.pk)
    return total


def expire_admissions(*, now: datetime.datetime | None = None) -> int:
    """End every admission whose time has run out (all open waiting rooms), freeing the places.

    Admits nobody; returns how many admissions ended.
    """
    return sum(_admit(concert=room.concert, now=now, limit=0)[1] for room in _current_rooms(now or timezone.now()))


# --- leaving --------------------------------------------------------------------------------------


def _end(*, user: User, concert: Concert, reason: str, now: datetime.datetime) -> bool:
    backend = get_backend()
    with transaction.atomic():
        ticket = backend.end(concert_id=concert.pk, user_id=user.pk, now=now, reason=reason)
        if ticket is not None:
            _record_exits([ticket], now=now, reason=reason)
            _forget_when_committed(backend, concert.pk, exited=[ticket])
    return ticket is not None


def leave(*, user: User, concert: Concert, now: datetime.datetime | None = None) -> bool:
    """The fan leaves the waiting room (waiting or admitted), freeing the place. False if they held none.

    Raises QueueUnavailable when the backend cannot be reached.
    """
    return _end(user=user, concert=concert, reason=EXIT_LEFT, now=now or timezone.now())


def end_for_user(*, user: User, concert: Concert, reason: str, now: datetime.datetime | None = None) -> bool:
    """End the user's place for this concert (after payment, expiry or leaving), freeing it for the next fan.

    Booking calls this from transaction.on_commit after a successful payment (reason "paid"). A no-op
    returning False when the user holds no place. Never raises for an unreachable backend: the payment
    is done by then, and the admission runs out on its own.
    """
    try:
        return _end(user=user, concert=concert, reason=reason, now=now or timezone.now())
    except QueueUnavailable:
        logger.warning("queue %s: backend unavailable, could not end %s's place (%s)", concert.pk, user.pk, reason)
        return False


# --- staff ----------------------------------------------------------------------------------------


def set_paused(*, concert: Concert, paused: bool) -> WaitingRoom:
    """Pause or resume admission for a concert (creating its waiting room if need be)."""
    room = _room_for(concert)
    WaitingRoom.objects.filter(pk=room.pk).update(is_paused=paused)
    room.is_paused = paused
    return room
