"""What the pages' gates check, for the API: a date or a concert by id (404 when unknown), and admission from the
concert's waiting room (queueing.gate.admission, the check behind the pages' admitted_required). Where a page
redirects to the waiting room, the API answers 403 not_admitted with the fan's place."""

import uuid

from accounts.models import User
from concerts import page_cache
from concerts.models import Concert, ConcertDate
from queueing.exceptions import NotAdmitted
from queueing.gate import admission

from .exceptions import NotFound


def concert_date_or_404(date_id: uuid.UUID) -> ConcertDate:
    """The date with its concert, read as the seat map's gate reads it (a copy shared for a few seconds; hold and pay
    re-read the date row under its lock)."""
    concert_date, _found = page_cache.concert_date_with(date_id)
    if concert_date is None:
        raise NotFound()
    return concert_date


def require_admission(*, user: User, concert: Concert) -> None:
    """Raise NotAdmitted (with the fan's place, if they wait) unless `user` is admitted for `concert` now;
    QueueUnavailable (503) when the queue cannot be reached."""
    admitted, current = admission(user=user, concert=concert)
    if not admitted:
        raise NotAdmitted(position=current.position if current is not None and current.position else None)
