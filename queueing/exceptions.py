"""Refusals and failures of the waiting room, each a config.refusals.Refusal: a message a fan can read
(Korean or English), an English reason for logs, an HTTP status (409 unless the class says otherwise) and a
stable code."""

from django.utils.translation import gettext_lazy as _

from config.refusals import Refusal, RefusalCode


class QueueError(Refusal):
    """Base of every waiting-room refusal."""

    status = 409
    default_message = _("The waiting room could not do that.")


class QueueNotOpen(QueueError):
    code = RefusalCode.QUEUE_NOT_OPEN
    default_message = _("Sales for this concert have not opened yet. The waiting room opens when they do.")


class QueueClosed(QueueError):
    code = RefusalCode.QUEUE_CLOSED
    default_message = _("This concert has already taken place; its waiting room is closed.")


class QueueUnavailable(QueueError):
    """The queue's store (Redis) cannot be reached: views answer 503 (with Retry-After), never 500."""

    status = 503
    code = RefusalCode.QUEUE_UNAVAILABLE
    default_message = _("The waiting room is temporarily unavailable. Please try again in a moment.")
