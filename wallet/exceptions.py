"""Refusals of the wallet, each a config.refusals.Refusal: a message a fan can read (Korean or English), an
English reason short enough for the ledger's reason column, an HTTP status (400 unless the class says
otherwise) and a stable code."""

from typing import TYPE_CHECKING

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from config.refusals import Refusal, RefusalCode

if TYPE_CHECKING:
    from .models import ChargeHistory


class WalletError(Refusal):
    """Base of every wallet refusal."""

    default_message = _("The wallet could not do that.")


class InvalidAmount(WalletError):
    code = RefusalCode.INVALID_AMOUNT
    default_message = _("Enter the amount as a whole number of won.")


class ChargeRefused(WalletError):
    """A top-up was refused; `charge` is the FAILED ChargeHistory row that records it."""

    code = RefusalCode.CHARGE_REFUSED

    def __init__(self, message: StrOrPromise, *, charge: "ChargeHistory | None" = None) -> None:
        super().__init__(message)
        self.charge = charge


class InsufficientBalance(WalletError):
    status = 402
    code = RefusalCode.INSUFFICIENT_BALANCE

    def __init__(self, *, needed: int, available: int) -> None:
        self.needed, self.available = needed, available
        super().__init__(
            format_lazy(
                _("Your balance is {available:,} won but {needed:,} won is needed. Top up your wallet and try again."),
                available=available,
                needed=needed,
            )
        )


class IdempotencyKeyReused(WalletError):
    """An idempotency key (a payment's or a top-up's) that already did something else: a retry must send what the
    first request sent. 422: the request is well formed, but it contradicts the one that used the key."""

    status = 422
    code = RefusalCode.IDEMPOTENCY_KEY_REUSED
    default_message = _("This payment key was already used for a different payment. Use a new key for a new payment.")
