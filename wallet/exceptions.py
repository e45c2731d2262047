"""Refusals of the wallet: each carries a message a fan can read (Korean or English) and an English reason."""

from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class WalletError(Exception):
    """Base of every wallet refusal.

    `message` is lazy, so it renders in the language active where it is shown; `reason` is the same text in
    English, short enough for the ledger's reason column.
    """

    default_message = _("The wallet could not do that.")

    def __init__(self, message=None):
        self.message = message if message is not None else self.default_message
        with translation.override("en"):
            self.reason = str(self.message)[:200]
        super().__init__(self.reason)


class InvalidAmount(WalletError):
    default_message = _("Enter the amount as a whole number of won.")


class ChargeRefused(WalletError):
    """A top-up was refused; `charge` is the FAILED ChargeHistory row that records it."""

    def __init__(self, message, *, charge=None):
        super().__init__(message)
        self.charge = charge


class InsufficientBalance(WalletError):
    def __init__(self, *, needed, available):
        self.needed, self.available = needed, available
        super().__init__(
            format_lazy(
                _("Your balance is {available:,} won but {needed:,} won is needed. Top up your wallet and try again."),
                available=available,
                needed=needed,
            )
        )
