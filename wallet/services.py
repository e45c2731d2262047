"""Every change of a fan's won balance — top-ups, payments, refunds — each written to the ledger.

The balance changes only here, under the fan's row lock (accounts.locking.lock_user, taken in the lock order
written there) or with an F() update, never read-modify-write in Python.
The ledger always reconciles: balance == SUCCESS charges − SUCCESS RESERVATION usages + SUCCESS CANCELLATION
usages (see wallet.selectors.unreconciled_wallets); a cancellation fee (CANCELLATION_FEE) is the part of a payment
not refunded, so per reservation refund + fee == payment (wallet.selectors.unbalanced_cancellations).
"""

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.locking import lock_user
from accounts.models import User

from .exceptions import ChargeRefused, IdempotencyKeyReused, InsufficientBalance, InvalidAmount
from .models import ChargeHistory, UsageHistory

if TYPE_CHECKING:
    from booking.models import Reservation  # booking pays through this module: no import at run time

# ChargeHistory.amount is a 64-bit column: an attempt outside it is recorded with no amount.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# "10000", "+10000", "10,000", "10000.0" (whole), "-5"; not "1e4", not "10.000,00".
_AMOUNT_TEXT = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?")


def whole_won(raw: object) -> int:
    """Read an amount of won from whatever a form or a caller hands over; return it as an int.

    Accepts ints, integral Decimals/floats and digit strings (thousands commas allowed). Raises
    InvalidAmount for anything else, including fractions of a won. The int may be of any size.
    """
    if isinstance(raw, bool):
        raise InvalidAmount()
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > 400 or not _AMOUNT_TEXT.fullmatch(text):
            raise InvalidAmount()
        raw = Decimal(text.replace(",", ""))
    if isinstance(raw, float):
        raw = Decimal(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite() or raw != raw.to_integral_value():
            raise InvalidAmount()
        return int(raw)
    raise InvalidAmount()


def _charge_refusal(value: int) -> StrOrPromise | None:
    """Why a top-up of `value` won is refused regardless of the balance, or None."""
    if value < settings.MIN_CHARGE:
        return format_lazy(_("A top-up must be at least {minimum:,} won."), minimum=settings.MIN_CHARGE)
    if value > settings.MAX_CHARGE:
        return format_lazy(_("A top-up can be at most {maximum:,} won."), maximum=settings.MAX_CHARGE)
    return None


def charge(
    *, user: User, amount: object, idempotency_key: str = "", now: datetime.datetime | None = None
) -> ChargeHistory:
    """Top up the wallet by `amount` whole won and return the SUCCESS ChargeHistory row.

    A refused attempt (not a whole number, outside MIN_CHARGE..MAX_CHARGE, or a balance that would pass
    MAX_BALANCE) is committed as a FAILED row with the reason, then ChargeRefused is raised carrying it.
    The returned row has a `balance_after` attribute. Locks the user row.
    With an `idempotency_key` (1-64 characters; the JSON API's Idempotency-Key), a key that already topped up
    returns that top-up (`replayed` True, nothing added) when `amount` is the same, and raises IdempotencyKeyReused
    (nothing recorded) when it is not; the user row lock makes two requests with one key at once top up once.
    """
    now = now or timezone.now()
    if len(idempotency_key) > 64:
        raise ValueError("an idempotency key is at most 64 characters")
    recorded: int | None = None
    refusal: StrOrPromise | None = None
    value: int | None = None
    try:
        value = whole_won(amount)
    except InvalidAmount as exc:
        refusal = exc.message
    else:
        recorded = value if INT64_MIN <= value <= INT64_MAX else None
        refusal = _charge_refusal(value)

    with transaction.atomic():
        if idempotency_key:
            locked = lock_user(user.pk)
            done = ChargeHistory.objects.filter(
                user_id=user.pk, status=ChargeHistory.Status.SUCCESS, idempotency_key=idempotency_key
            ).first()
            if done is not None:
                if done.amount != value:
                    raise IdempotencyKeyReused()
                done.balance_after, done.replayed = locked.balance, True
                return done
        if refusal is None:
            assert value is not None  # whole_won gave it, or refused
            locked = lock_user(user.pk)
            if locked.balance + value > settings.MAX_BALANCE:
                refusal = format_lazy(
                    _("Your balance can be at most {cap:,} won; you can top up {room:,} won more."),
                    cap=settings.MAX_BALANCE,
                    room=max(settings.MAX_BALANCE - locked.balance, 0),
                )
            else:
                get_user_model().objects.filter(pk=user.pk).update(balance=F("balance") + value)
                row = ChargeHistory.objects.create(
                    user_id=user.pk,
                    amount=value,
                    status=ChargeHistory.Status.SUCCESS,
                    charged_at=now,
                    idempotency_key=idempotency_key,
                )
                row.balance_after = locked.balance + value
                return row
        error = ChargeRefused(refusal)
        error.charge = ChargeHistory.objects.create(
            user_id=user.pk, amount=recorded, status=ChargeHistory.Status.FAILED, reason=error.reason, charged_at=now
        )
    raise error


@dataclass(frozen=True)
class Debit:
    usages: list[UsageHistory]
    total: int
    balance_after: int


def debit(
    *,
    user: User,
    items: Iterable[tuple["Reservation", int]],
    now: datetime.datetime | None = None,
    locked: User | None = None,
) -> Debit:
    """Pay for reservations from the balance: `items` is a list of (reservation, amount) pairs.

    All or nothing: locks the user row, raises InsufficientBalance (writing nothing) when the balance is
    short of the total, otherwise takes the total off and writes one SUCCESS RESERVATION UsageHistory per
    reservation (the database refuses a second one for the same reservation).
    `locked` is the fan's row as accounts.locking.lock_user returned it in the caller's open transaction
    (booking's pay locks it first): the balance is read from it instead of locking the row again, and the
    writes are the caller's (no savepoint of its own: an error after the check rolls the caller back whole).
    """
    now = now or timezone.now()
    items = list(items)
    if not items or any(isinstance(a, bool) or not isinstance(a, int) or a <= 0 for _r, a in items):
        raise ValueError("debit needs (reservation, positive int amount) pairs")
    if locked is None:
        with transaction.atomic():
            return _debit_locked(user=user, items=items, balance=lock_user(user.pk).balance, now=now)
    if locked.pk != user.pk or not transaction.get_connection().in_atomic_block:
        raise ValueError("debit's `locked` is the fan's own row, locked in the caller's open transaction")
    return _debit_locked(user=user, items=items, balance=locked.balance, now=now)


def _debit_locked(*, user: User, items: list[tuple["Reservation", int]], balance: int, now: datetime.datetime) -> Debit:
    """The debit itself, with the fan's row locked in this transaction and `balance` read under that lock."""
    total = sum(amount for _r, amount in items)
    if balance < total:
        raise InsufficientBalance(needed=total, available=balance)
    get_user_model().objects.filter(pk=user.pk).update(balance=F("balance") - total)
    usages = UsageHistory.objects.bulk_create(
        UsageHistory(
            user_id=user.pk,
            reservation=reservation,
            amount=amount,
            action_type=UsageHistory.ActionType.RESERVATION,
            status=UsageHistory.Status.SUCCESS,
            used_at=now,
        )
        for reservation, amount in items
    )
    return Debit(usages=usages, total=total, balance_after=balance - total)


def refund(
    *, user: User, amount: int, reservation: "Reservation", now: datetime.datetime | None = None
) -> UsageHistory:
    """Give `amount` won back for a paid reservation: F() update plus one SUCCESS CANCELLATION UsageHistory.

    A refund is never refused for the MAX_BALANCE cap (the money was the fan's). The database refuses a
    second refund of the same reservation; callers make it idempotent by checking the reservation's status
    under its seat lock.
    """
    now = now or timezone.now()
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("refund needs a positive int amount")
    with transaction.atomic():
        get_user_model().objects.filter(pk=user.pk).update(balance=F("balance") + amount)
        return UsageHistory.objects.create(
            user_id=user.pk,
            reservation=reservation,
            amount=amount,
            action_type=UsageHistory.ActionType.CANCELLATION,
            status=UsageHistory.Status.SUCCESS,
            used_at=now,
        )


def keep_cancellation_fee(
    *, user: User, amount: int, reservation: "Reservation", now: datetime.datetime | None = None
) -> UsageHistory:
    """Record that `amount` won of a paid reservation's price is kept as its cancellation fee: one SUCCESS
    CANCELLATION_FEE UsageHistory. The balance does not move (the fee is what the refund left out: the caller
    refunds price − fee with `refund`, in the same transaction); the database refuses a second fee for the same
    reservation."""
    now = now or timezone.now()
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("keep_cancellation_fee needs a positive int amount")
    return UsageHistory.objects.create(
        user_id=user.pk,
        reservation=reservation,
        amount=amount,
        action_type=UsageHistory.ActionType.CANCELLATION_FEE,
        status=UsageHistory.Status.SUCCESS,
        used_at=now,
    )
