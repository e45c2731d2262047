"""Refusals and failures of the waiting room, each with a `message` a fan can read (Korean or English)."""

from django.utils import translation
from django.utils.translation import gettext_lazy as _


class QueueError(Exception):
    """Base of every waiting-room refusal.

    `message` is lazy, so it renders in the language active where it is shown; `reason` is the same text in
    English for logs and records.
    """

    default_message = _("The waiting room could not do that.")

    def __init__(self, message=None):
        self.message = message if message is not None else self.default_message
        with translation.override("en"):
            self.reason = str(self.message)[:200]
        super().__init__(self.reason)


class SaleNotOpen(QueueError):
    default_message = _("Sales for this concert have not opened yet. The waiting room opens when they do.")


class QueueClosed(QueueError):
    default_message = _("This concert has already taken place; its waiting room is closed.")


class QueueUnavailable(QueueError):
    """The queue's store (Redis) cannot be reached: views answer 503, never 500."""

    default_message = _("The waiting room is temporarily unavailable. Please try again in a moment.")
