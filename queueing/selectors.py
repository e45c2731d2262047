"""Reads about the waiting rooms: live waiting and admitted counts per concert, for staff and operators."""

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from concerts.models import Concert

from .backends import get_backend
from .exceptions import QueueUnavailable
from .models import QueueEntryHistory, QueueToken, WaitingRoom


@dataclass(frozen=True)
class RoomCounts:
    room: WaitingRoom
    waiting: int | None  # None: the backend could not be reached
    admitted: int | None

    @property
    def available(self) -> bool:
        return self.waiting is not None


def room_counts(*, room: WaitingRoom, now: datetime.datetime | None = None) -> RoomCounts:
    """Waiting and admitted-right-now counts of one room, or None counts when the backend is unreachable."""
    try:
        waiting, admitted = get_backend().counts(concert_id=room.pk, now=now or timezone.now())
    except QueueUnavailable:
        return RoomCounts(room=room, waiting=None, admitted=None)
    return RoomCounts(room=room, waiting=waiting, admitted=admitted)


def rooms_overview(
    *, now: datetime.datetime | None = None, include_past: bool = False, concert_ids: Iterable[uuid.UUID] | None = None
) -> list[RoomCounts]:
    """RoomCounts for every waiting room (of concerts not over yet, unless include_past), soonest first."""
    now = now or timezone.now()
    rooms = WaitingRoom.objects.select_related("concert").order_by("concert__start_time", "concert__title")
    if not include_past:
        rooms = rooms.filter(concert__end_time__gte=now)
    if concert_ids is not None:
        rooms = rooms.filter(pk__in=concert_ids)
    return [room_counts(room=room, now=now) for room in rooms]


def room_delete_refusal(room: WaitingRoom) -> StrOrPromise | None:
    """Why staff may not delete this waiting room, or None: once fans have queued in it, its places and
    admission record are part of the queue (a new room would hand the same places out again)."""
    queued = (
        QueueToken.objects.filter(concert_id=room.pk).exists()
        or QueueEntryHistory.objects.filter(concert_id=room.pk).exists()
    )
    if queued:
        return _("Fans have queued in this waiting room, so it cannot be deleted. To stop admission, pause it.")
    return None


def challenge_is_on(*, concert: Concert) -> bool:
    """Does entering this concert's waiting room take a solved challenge (queueing.services.challenges)? A
    concert whose room is not made yet answers what a new room will (QUEUE_CHALLENGE_DEFAULT).

    Reads `concert.waiting_room`, so a page that shows more of the room reads its row once.
    """
    try:
        return concert.waiting_room.challenge_enabled
    except WaitingRoom.DoesNotExist:
        return settings.QUEUE_CHALLENGE_DEFAULT
