"""The sale a concert's waiting room serves: its fan-club presale windows in turn, then the general sale.

A concert has one waiting room, and its sales never overlap (concerts.services.check_presale: presale windows do not
overlap, and each closes by the general sale's pre-queue opening). So the room serves one sale at a time, the one
concerts.selectors.current_sale names, each with the whole machinery: its own pre-queue, draw (with its own
committed seed), pacing, challenge and caps, on either backend. The room records which sale it serves
(WaitingRoom.serving_presale); when the sale changes, move_on ends every live place of the old sale (exit reason
"sale_closed"), keeps its draw's record (SaleDraw), clears the queue and chooses the next sale's seed, under the
room's lock. Every path that needs the current sale (a join, a poll, beat's admission run) calls serve first, so the
first of them moves the room on; the backends refuse a join checked for a sale the room no longer serves
(SaleChanged), so a join racing the change never lands in the next sale's queue.

An ordinary sale pays nothing for this: from the general sale's pre-queue opening current_sale reads nothing, and a
room that never served a presale never moves.
"""

import datetime
import logging

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from concerts import selectors as concert_selectors
from concerts.models import Concert, Presale
from concerts.selectors import Sale

from ..backends import get_backend, sale_tag
from ..draw import commitment
from ..exceptions import PresaleOnly
from ..models import ExitReason, QueueEntryHistory, SaleDraw, WaitingRoom, new_draw_seed
from ._history import SecondsSince, catch_up_history

logger = logging.getLogger(__name__)

# What a room's row starts its next sale with (the counters of places and admissions are the sale's own).
_RESET_FIELDS = (
    "serving_presale",
    "draw_seed",
    "draw_commitment",
    "drawn_at",
    "draw_size",
    "next_position",
    "served_position",
    "admitted_total",
    "admission_log",
    "last_admission_at",
)


def current(concert: Concert, now: datetime.datetime) -> Sale:
    """The sale the concert's room serves at `now` (concerts.selectors.current_sale)."""
    return concert_selectors.current_sale(concert=concert, now=now)


def serve(concert: Concert, *, now: datetime.datetime, room: WaitingRoom | None = None) -> Sale:
    """The sale the room serves at `now`, the room moved on to it first if it still serves an earlier one. `room`:
    the room as the caller has just read it (none read: no room yet, nothing to move on)."""
    sale = current(concert, now)
    if room is None:
        room = WaitingRoom.objects.filter(pk=concert.pk).first()
    if room is not None and room.serving_presale != sale.key:
        move_on(concert=concert, sale=sale, now=now)
    return sale


def _comes_after(concert: Concert, room: WaitingRoom, sale: Sale) -> bool:
    """Is `sale` after the sale the room serves? The room only ever moves forward: presales in the order of their
    windows, the general sale last. A request whose clock lags (or that read the time before a close) never takes
    the room back, and a window staff move or add behind the one served is not served."""
    if sale.presale is not None and SaleDraw.objects.filter(presale=sale.presale.pk).exists():
        return False  # served once already (staff reopened or moved its window): a draw is run once
    if room.serving_presale is None:
        # The general sale, or a new room: it gives way to a presale only while the general sale has not used it
        # (no draw, no visit yet; its commitment is not shown before its pre-queue opens).
        if sale.presale is None or room.drawn_at is not None:
            return False
        return not QueueEntryHistory.objects.filter(concert=concert, presale=None).exists()
    if sale.presale is None:
        return True
    served = Presale.objects.filter(pk=room.serving_presale).values_list("opens_at", flat=True).first()
    return served is None or sale.presale.opens_at > served  # (a deleted presale is behind any other)


def move_on(*, concert: Concert, sale: Sale, now: datetime.datetime | None = None) -> bool:
    """Make the concert's room serve `sale`, if it comes after the sale the room serves: end every live place of that
    sale (history exit "sale_closed"), keep its draw as a SaleDraw (a presale's), and start `sale` with an empty queue
    and a new seed. One transaction under the room's lock; False when the room serves `sale` already (another
    process moved it on) or a later sale (the caller's time is behind). Raises QueueUnavailable when the backend
    cannot be reached (nothing changes then).

    A presale's joins hold the room's row in share mode until their history row commits (places.join), so every
    visit of the old sale is committed when this runs: one UPDATE ends them all, whatever the backend still holds."""
    now = now or timezone.now()
    backend = get_backend()
    with transaction.atomic():
        room = WaitingRoom.objects.select_for_update().filter(pk=concert.pk).first()
        if room is None or room.serving_presale == sale.key or not _comes_after(concert, room, sale):
            return False
        catch_up_history(room, backend)  # the old sale's admissions the history may not show yet (Redis)
        backend.close_sale(room=room, now=now, next_sale=sale_tag(sale.key))
        QueueEntryHistory.objects.filter(concert=concert, presale=room.serving_presale, exited_at__isnull=True).update(
            exited_at=now, exit_reason=ExitReason.SALE_CLOSED, duration_seconds=SecondsSince(F("entered_at"), now)
        )
        if room.serving_presale is not None:
            name = Presale.objects.filter(pk=room.serving_presale).values_list("name", flat=True).first()
            SaleDraw.objects.get_or_create(
                presale=room.serving_presale,
                defaults={
                    "concert": concert,
                    "presale_name": name or "",
                    "seed": room.draw_seed,
                    "commitment": room.draw_commitment,
                    "drawn_at": room.drawn_at,
                    "draw_size": room.draw_size,
                    "closed_at": now,
                },
            )
        room.serving_presale = sale.key
        room.draw_seed = new_draw_seed()
        room.draw_commitment = commitment(room.draw_seed)
        room.drawn_at = None
        room.draw_size = 0
        room.next_position = room.served_position = room.admitted_total = 0
        room.admission_log = []
        room.last_admission_at = None
        room.save(update_fields=list(_RESET_FIELDS))  # drops the room's mirror (queueing.apps)
    logger.info("queue %s: now serving sale %s", concert.pk, sale_tag(sale.key))
    return True


def may_enter(sale: Sale, user: User | AnonymousUser) -> bool:
    """May this fan enter the room while it serves `sale`? The general sale: anyone; a presale: fans on its list."""
    return sale.presale is None or concert_selectors.is_presale_eligible(user=user, presale=sale.presale)


def check_eligible(sale: Sale, user: User) -> None:
    """Refuse entry to a presale's room to a fan not on its list (PresaleOnly, with the general sale's waiting
    room's opening); the general sale's room is everyone's."""
    if sale.presale is None or may_enter(sale, user):
        return
    raise PresaleOnly.general_opens(presale_name=sale.presale.name, opens_at=sale.concert.prequeue_starts_at)
