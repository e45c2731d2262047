"""Refusals and failures of the waiting room, each a config.refusals.Refusal: a message a fan can read
(Korean or English), an English reason for logs, an HTTP status (409 unless the class says otherwise) and a
stable code."""

import datetime
from typing import Self

from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from config.refusals import Refusal, RefusalCode


class QueueError(Refusal):
    """Base of every waiting-room refusal."""

    status = 409
    default_message = _("The waiting room could not do that.")


class QueueNotOpen(QueueError):
    code = RefusalCode.QUEUE_NOT_OPEN
    default_message = _(
        "The waiting room for this concert is not open yet. Its pre-queue opens shortly before the sale does."
    )


class QueueClosed(QueueError):
    code = RefusalCode.QUEUE_CLOSED
    default_message = _("This concert has already taken place; its waiting room is closed.")


class PresaleOnly(QueueError):
    """The room serves a fan-club presale now and this fan is not on its list (checked at entry, before an entry
    challenge is spent): when the general sale's waiting room opens."""

    status = 403
    code = RefusalCode.QUEUE_PRESALE_ONLY
    default_message = _("Only fans on the fan-club presale's list may enter its waiting room.")

    @classmethod
    def general_opens(cls, *, presale_name: str, opens_at: datetime.datetime) -> Self:
        when = lazy(lambda: formats.date_format(timezone.localtime(opens_at), "DATETIME_FORMAT"), str)()
        return cls(
            format_lazy(
                _(
                    "The waiting room is open to the fan-club presale {name} now, for the fans on its list. "
                    "The general sale's waiting room opens at {when}."
                ),
                name=presale_name,
                when=when,
            )
        )


class QueueUnavailable(QueueError):
    """The queue's store (Redis) cannot be reached: views answer 503 (with Retry-After), never 500."""

    status = 503
    code = RefusalCode.QUEUE_UNAVAILABLE
    default_message = _("The waiting room is temporarily unavailable. Please try again in a moment.")


class TooManyPlacesFromAddress(QueueError):
    """More live places from one client address than QUEUE_MAX_PLACES_PER_IP (a farm of accounts)."""

    status = 429
    code = RefusalCode.QUEUE_ADDRESS_LIMIT
    default_message = _(
        "Too many fans are already in this waiting room from your network address. "
        "Please try again once some of them have finished."
    )


class ChallengeFailed(QueueError):
    """The entry challenge's solution is missing, forged, wrong, expired, for another concert or used already
    (queueing.services.challenges). 403, like a missing CSRF token: the form is fine, the proof is not."""

    status = 403
    code = RefusalCode.CHALLENGE_FAILED
    default_message = _("The waiting room's check did not pass. Please try again.")


class NotAdmitted(QueueError):
    """Seats, holds and checkout of a concert are only for fans the waiting room has let in (queueing.gate): the
    JSON API's answer where a page redirects to the waiting room. `position`: the fan's place, if waiting."""

    status = 403
    code = RefusalCode.NOT_ADMITTED
    default_message = _("Please join the waiting room first: booking opens to fans in turn.")

    def __init__(self, position: int | None = None) -> None:
        self.position = position
        message = (
            None
            if position is None
            else format_lazy(
                _("You are still in the waiting room (number {position}). We will let you in soon."), position=position
            )
        )
        super().__init__(message)
