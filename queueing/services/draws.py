"""The pre-queue draw: run exactly once per concert, at or right after its sale opens, under the room's lock.

Beat runs it (admissions.admit_all_due), and so does the first join or status poll after the opening that
finds it not run; whichever comes first, the WaitingRoom row lock makes it one draw. It is one database
transaction: the backend places the pre-queue (queueing.draw orders it), the history rows get their places
(record_draw, which the backend calls before its own draw becomes visible: Redis stages its places while it
runs, then commits them in one script) and the room records drawn_at, or none of it happens. The one gap a
transaction cannot close, Redis committing its places and the database then failing to commit, is closed by
the Redis backend keeping its draw: the next run finds it there and writes the same places to the history.
"""

import datetime
import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from concerts.models import Concert

from ..backends import get_backend
from ..models import QueueEntryHistory, WaitingRoom
from . import sales
from ._history import record_draw

logger = logging.getLogger(__name__)


def is_draw_due(room: WaitingRoom, concert: Concert, now: datetime.datetime) -> bool:
    """Has the sale the room serves opened without its draw having run? (A room that still serves an earlier sale
    moves on first: queueing.services.sales.)"""
    if room.drawn_at is not None:
        return False
    sale = sales.current(concert, now)
    return room.serving_presale == sale.key and sale.is_on_sale(now)


def run_draw(*, concert: Concert, now: datetime.datetime | None = None, wait: bool = True) -> bool:
    """Run the concert's draw if its sale has opened and it has not run; True if this call ran it.

    Safe to call from any number of processes at once: the WaitingRoom row lock makes one of them draw,
    and the others find it done. `wait` False (a status poll) does not queue behind a draw in progress: it
    returns False at once and the fan's next poll sees the places.
    """
    WaitingRoom.objects.get_or_create(concert=concert)  # a room exists (with its seed) before the lock is taken
    backend = get_backend()
    with transaction.atomic():
        room = WaitingRoom.objects.select_for_update(skip_locked=not wait).filter(pk=concert.pk).first()
        if room is None:
            return False
        now = now or timezone.now()
        if not is_draw_due(room, concert, now):
            return False
        result = backend.draw(room=room, seed=room.draw_seed, now=now, record=record_draw)
        room.drawn_at = result.drawn_at  # an earlier run's time, when Redis kept a draw the database missed
        room.draw_size = len(result.tickets)
        room.save(update_fields=["drawn_at", "draw_size"])
    logger.info("queue %s: drew %d pre-queue entries", concert.pk, room.draw_size)
    return True


def restore_backend_draw(*, concert: Concert) -> None:
    """The database has the draw but the backend does not know it (a Redis that lost its data, or a backend
    switched after the opening): let the backend record it again (drawing whatever pre-queue it still
    has, normally none), so joins go on. Under the room's lock; idempotent."""
    backend = get_backend()
    with transaction.atomic():
        room = WaitingRoom.objects.select_for_update().get(pk=concert.pk)
        if room.drawn_at is None:
            return
        # Places go on after the highest one the history knows, whatever the backend still remembers.
        highest = QueueEntryHistory.objects.filter(concert=concert, presale=room.serving_presale).aggregate(
            top=Max("queue_position")
        )["top"]
        backend.draw(room=room, seed=room.draw_seed, now=timezone.now(), place_floor=highest or 0, record=record_draw)
    logger.warning("queue %s: the backend had lost the draw; recorded it again", concert.pk)


def draw_commitment(concert: Concert) -> str:
    """The SHA-256 the draw of the sale the concert's room serves is committed to (made with the room, if it has none
    yet; the room moved on first if a presale it served has closed, so a commitment shown is the sale's own)."""
    room, _ = WaitingRoom.objects.get_or_create(concert=concert)
    if sales.serve(concert, now=timezone.now(), room=room).key != room.serving_presale:
        room = WaitingRoom.objects.get(pk=concert.pk)
    return room.draw_commitment
