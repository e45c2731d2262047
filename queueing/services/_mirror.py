"""The room's mirror in the queue backend: what a status poll needs of the WaitingRoom row and its concert (pause,
capacity, admission rate, recent admissions, the last admission run, the sale's opening), kept
QUEUE_ROOM_MIRROR_SECONDS, so the poll's fast path (places.poll_quickly) reads it with the fan's place in one
round trip and no query.

Every full poll (places.poll_place) writes it from the rows it has just read, and so does every admission run
(admissions.run_admission, beat's every ADMIT_QUEUE_EVERY_SECONDS) once committed; a saved room or concert drops
it (queueing.apps connects the signals: staff save it in the admin, the draw and the admission run save it), and
so does a pause, at once and again when the change commits (a full poll that read the row before the commit may
have written the old state back). So a change reaches the fast path as soon as it is committed when it goes
through save() or set_paused, and within QUEUE_ROOM_MIRROR_SECONDS in any case. A stale mirror errs on the safe
side where it matters: the last admission run's time only moves forward, so an old copy can make a run look
overdue (the poll then takes the full path), never hide one.
"""

import contextlib
import datetime
import functools
import json
import uuid
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction

from concerts import selectors as concert_selectors
from concerts.models import Concert

from ..backends import get_backend
from ..exceptions import QueueUnavailable
from ..models import WaitingRoom


class RoomFigures(Protocol):
    """What a fan's status and its estimated wait read of a room: a WaitingRoom, or its mirror (MirroredRoom)."""

    @property
    def max_active(self) -> int: ...
    @property
    def admit_per_minute(self) -> int: ...
    @property
    def is_paused(self) -> bool: ...
    @property
    def admission_log(self) -> list[list[float]]: ...
    @property
    def last_admission_at(self) -> datetime.datetime | None: ...


@dataclass(frozen=True)
class MirroredRoom:
    """A room as its mirror gives it (RoomFigures), with its concert's sale opening: plain values, no model."""

    max_active: int
    admit_per_minute: int
    is_paused: bool
    admission_log: list[list[float]]
    last_admission_at: datetime.datetime | None
    sale_opens_at: datetime.datetime


def _room_state(room: WaitingRoom, concert: Concert) -> str:
    last = room.last_admission_at
    fields = [
        room.max_active,
        room.is_paused,
        room.admission_log,
        last.timestamp() if last else None,
        concert_selectors.current_sale(concert=concert).sale_opens_at.timestamp(),  # the sale the room serves
        room.admit_per_minute,
    ]
    return json.dumps(fields, separators=(",", ":"))


def _moment(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC)


@functools.lru_cache(maxsize=64)
def room_from_mirror(state: str) -> MirroredRoom:
    """The room as its mirror's text gives it. Kept per text for the process (it is rewritten every admission run,
    and every poll and waiting page between two runs reads the same text): one parse per text, so callers share
    the result and must not change it (none does: a poll only reads the room's figures)."""
    max_active, paused, log, last, opens, rate = json.loads(state)
    return MirroredRoom(
        max_active=max_active,
        admit_per_minute=rate,
        is_paused=paused,
        admission_log=log,
        last_admission_at=_moment(last) if last is not None else None,
        sale_opens_at=_moment(opens),
    )


def mirror_room(room: WaitingRoom, concert: Concert) -> None:
    """Keep what a poll needs of `room` and `concert` in the backend for QUEUE_ROOM_MIRROR_SECONDS (nothing for a
    backend without a fast path). Best effort: a backend that cannot be reached keeps none, and polls take the
    full path."""
    with contextlib.suppress(QueueUnavailable):
        get_backend().mirror_room(
            concert_id=concert.pk, state=_room_state(room, concert), seconds=settings.QUEUE_ROOM_MIRROR_SECONDS
        )


def forget_room_mirror(concert_id: uuid.UUID) -> None:
    """Drop the room's mirror after its row or its concert changed (best effort, like mirror_room).

    Inside a transaction, dropped at once and again when it commits: a full poll that read the row before the
    commit (it cannot see the change yet) may write the old state back in between.
    """
    _forget(concert_id)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(functools.partial(_forget, concert_id), robust=True)


def _forget(concert_id: uuid.UUID) -> None:
    with contextlib.suppress(QueueUnavailable):
        get_backend().forget_room_mirror(concert_id=concert_id)
