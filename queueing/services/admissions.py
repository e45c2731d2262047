"""Admission: letting waiting fans in, first-in first-out and at the room's rate (pacing), and ending run-out
admissions, one run per concert under its WaitingRoom row lock; the room's counters, admission log and pause,
and when a run is overdue.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import audit
from accounts.models import User
from concerts.models import Concert

from ..backends import get_backend
from ..exceptions import QueueUnavailable
from ..models import QueueEntryHistory, WaitingRoom
from . import sales
from ._history import (
    EXIT_EXPIRED,
    EXIT_REMOVED,
    catch_up_history,
    forget_when_committed,
    record_admissions,
    record_exits,
)
from ._mirror import RoomFigures, forget_room_mirror, mirror_room
from .draws import is_draw_due, run_draw
from .pacing import LOG_DIGITS, admission_allowance

logger = logging.getLogger(__name__)

# The estimated wait (places.estimate_wait_seconds) and the admission rate (pacing) read the admissions of the
# last few minutes; the room's admission log keeps that long (more than pacing's minute).
ADMISSION_LOG_SECONDS = 300
# A status poll runs admission itself when the last run is older than this many beat intervals.
OVERDUE_INTERVALS = 3


def room_for(concert: Concert) -> WaitingRoom:
    room, _ = WaitingRoom.objects.get_or_create(concert=concert)
    return room


def is_overdue(room: RoomFigures, now: datetime.datetime) -> bool:
    """Is the room's last admission run older than OVERDUE_INTERVALS beat intervals (or has none run)?"""
    last = room.last_admission_at
    limit = OVERDUE_INTERVALS * settings.ADMIT_QUEUE_EVERY_SECONDS
    return last is None or (now - last).total_seconds() > limit


def _log_admissions(log: list[list[float]], *, now: datetime.datetime, count: int) -> list[list[float]]:
    now_ts = now.timestamp()
    kept = [[at, n] for at, n in log if at >= now_ts - ADMISSION_LOG_SECONDS]
    if count:
        kept.append([round(now_ts, LOG_DIGITS), count])
    return kept


def run_admission(
    *, concert: Concert, now: datetime.datetime | None, limit: int, only_if_overdue: bool = False
) -> tuple[int, int]:
    """One admission run for one concert under its WaitingRoom row lock; returns (admitted, expired) counts.

    Admits at most `limit`, and no more than the room's admission rate allows (pacing.admission_allowance,
    read from the admission log under the same lock, so concurrent runs and joins never pass it together).
    The time is read once the lock is held (unless injected), and the room's last admission time never
    moves backwards, so a run that waited for the lock behind a later one cannot make admission look
    overdue. A guarded run (from a status poll) skips the row when another run holds it and re-checks
    that the run is still overdue, so a crowd of polls starts at most one run. Catches the history up
    first (see _history.catch_up_history).
    """
    backend = get_backend()
    with transaction.atomic():
        room = WaitingRoom.objects.select_for_update(skip_locked=only_if_overdue).filter(pk=concert.pk).first()
        if room is None:
            return 0, 0
        now = now or timezone.now()
        if only_if_overdue and not is_overdue(room, now):
            return 0, 0
        caught_up = catch_up_history(room, backend)
        paced = min(limit, admission_allowance(per_minute=room.admit_per_minute, log=room.admission_log, now=now))
        result = backend.admit(room=room, now=now, limit=paced, active_seconds=settings.ACTIVE_SECONDS)
        record_exits(result.expired, now=now, reason=EXIT_EXPIRED)
        marked = record_admissions(result.admitted, now=now)
        # A row not marked is a join whose script has run but whose transaction (and history row) has not
        # committed yet (Redis; the database backend's joins hold the room's lock): its admission stays noted,
        # and a later run's catch-up marks and counts it once the row exists, so each admission is written and
        # counted once.
        noted = result.admitted if marked == len(result.admitted) else []
        forget_when_committed(backend, room.pk, admitted=noted, exited=result.expired)
        fields = ["admission_log"]
        room.admission_log = _log_admissions(room.admission_log, now=now, count=len(result.admitted))
        if marked or caught_up:
            room.admitted_total += marked + caught_up
            fields.append("admitted_total")
        if limit > 0 and (room.last_admission_at is None or room.last_admission_at < now):
            room.last_admission_at = now
            fields.append("last_admission_at")
        room.save(update_fields=fields)  # drops the room's mirror (queueing.apps) ...
    mirror_room(room, concert)  # ... and this writes it anew once committed: polls read the fresh figures at once
    if result.admitted or result.expired:
        logger.info("queue %s: admitted %d, expired %d", concert.pk, len(result.admitted), len(result.expired))
    return len(result.admitted), len(result.expired)


def admit_batch(*, concert: Concert, now: datetime.datetime | None = None, limit: int | None = None) -> int:
    """Admit the next waiting fans of one concert, first-in first-out, up to its free places and as many as its
    admission rate allows now (queueing.services.pacing: staff's "admit now" is paced too).

    Ends run-out admissions first (freeing their places). Never lets more than max_active be admitted,
    admits nobody while paused, safe to run from several workers at once. Returns how many were admitted.
    """
    limit = settings.QUEUE_ADMIT_BATCH_SIZE if limit is None else limit
    return run_admission(concert=concert, now=now, limit=limit)[0]


def _current_rooms(now: datetime.datetime) -> QuerySet[WaitingRoom]:
    return WaitingRoom.objects.filter(concert__end_time__gte=now).select_related("concert").order_by("pk")


def admit_all_due(*, now: datetime.datetime | None = None) -> int:
    """One admission run for every concert whose waiting room is still open: what beat runs. A room whose
    sale has just opened gets its pre-queue draw first (see draws.run_draw).

    Returns the number of fans admitted in all. A concert whose backend is unreachable is logged and
    skipped so the others still move. Each room's run reads the time under its lock (unless injected).
    """
    total = 0
    for room in _current_rooms(now or timezone.now()):
        try:
            sales.serve(room.concert, now=now or timezone.now(), room=room)  # a presale closed: the next sale's turn
            if is_draw_due(room, room.concert, now or timezone.now()):
                run_draw(concert=room.concert, now=now)
            total += admit_batch(concert=room.concert, now=now)
        except QueueUnavailable:
            logger.warning("queue %s: backend unavailable, admission skipped", room.pk)
    return total


def expire_admissions(*, now: datetime.datetime | None = None) -> int:
    """End every admission whose time has run out (all open waiting rooms), freeing the places.

    Admits nobody; returns how many admissions ended.
    """
    return sum(
        run_admission(concert=room.concert, now=now, limit=0)[1] for room in _current_rooms(now or timezone.now())
    )


# --- staff ----------------------------------------------------------------------------------------


def remove_from_queue(
    *, concert: Concert, user: User, by: User, note: str, now: datetime.datetime | None = None
) -> bool:
    """Staff end a fan's place in a concert's queue (waiting, in the pre-queue or admitted), recording who
    did it and why in the visit's history (exit reason "removed") and the audit log ("queue.remove"). False
    if the fan held no place.

    Raises QueueUnavailable when the backend cannot be reached.
    """
    now = now or timezone.now()
    backend = get_backend()
    with transaction.atomic():
        ticket = backend.end(concert_id=concert.pk, user_id=user.pk, now=now, reason=EXIT_REMOVED)
        if ticket is None:
            return False
        record_exits([ticket], now=now, reason=EXIT_REMOVED)
        QueueEntryHistory.objects.filter(token=ticket.token).update(removed_by=by, exit_note=note[:500])
        visit = QueueEntryHistory.objects.filter(token=ticket.token).first()
        audit.record(
            "queue.remove",
            visit,
            changes={"exit_reason": (None, EXIT_REMOVED), "exited_at": (None, now)},
            actor=by,
            note=note,
            object_repr=f"{user.email} · {concert.title}",
        )
        forget_when_committed(backend, concert.pk, exited=[ticket])
    logger.info("queue %s: %s removed %s (%s)", concert.pk, by.pk, user.pk, note)
    return True


def set_paused(*, concert: Concert, paused: bool, by: User | None = None) -> WaitingRoom:
    """Pause or resume admission for a concert (creating its waiting room if need be). A change is audited
    ("queue.pause" / "queue.resume"; `by`, else whoever acts: accounts.audit)."""
    with transaction.atomic():
        room = room_for(concert)
        was_paused = WaitingRoom.objects.select_for_update().values_list("is_paused", flat=True).get(pk=room.pk)
        WaitingRoom.objects.filter(pk=room.pk).update(is_paused=paused)
        if was_paused != paused:
            action = "queue.pause" if paused else "queue.resume"
            audit.record(action, room, changes={"is_paused": (was_paused, paused)}, actor=by)
    forget_room_mirror(room.pk)  # an update() sends no post_save: waiting fans see the pause once it is committed
    room.is_paused = paused
    return room


def admit_now(*, concert: Concert, by: User | None = None) -> int:
    """Staff's "admit the next batch now": one admission run (admit_batch, paced like any other), audited
    ("queue.admit_now", with the room's admitted total before and after) in the run's transaction. Returns how
    many were admitted. Raises QueueUnavailable when the backend cannot be reached."""
    with transaction.atomic():
        room = room_for(concert)
        before = WaitingRoom.objects.select_for_update().values_list("admitted_total", flat=True).get(pk=room.pk)
        admitted = admit_batch(concert=concert)
        after = WaitingRoom.objects.values_list("admitted_total", flat=True).get(pk=room.pk)
        audit.record(
            "queue.admit_now", room, changes={"admitted_total": (before, after)}, actor=by, note=f"{admitted} admitted"
        )
    return admitted
