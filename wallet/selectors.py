"""Reads of the wallet: a fan's balance and history, and the ledger check behind reconcile_wallets."""

import heapq
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib.auth import get_user_model
from django.db.models import BigIntegerField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import User

from .models import ChargeHistory, UsageHistory

if TYPE_CHECKING:
    from booking.models import Reservation


def balance(*, user: User) -> int:
    """The fan's balance in won as stored now (not the possibly stale `user.balance` of a request)."""
    return get_user_model().objects.values_list("balance", flat=True).get(pk=user.pk)


@dataclass(frozen=True)
class WalletEntry:
    """One line of the wallet history: a top-up attempt, a payment or a refund."""

    id: uuid.UUID  # the ChargeHistory's or UsageHistory's id: with `at`, the entry's place in the history
    kind: str  # "CHARGE", or a UsageHistory.ActionType value ("RESERVATION", "CANCELLATION", "CANCELLATION_FEE"…)
    amount: int | None
    status: str
    reason: str
    at: datetime
    # What it did to the balance: + for top-ups and refunds, − for payments, 0 if it failed or is a cancellation
    # fee (the part of a payment its refund left out: the balance never had it back).
    delta: int
    reservation_id: uuid.UUID | None = None
    # What a payment or refund was for (None for top-ups): the concert, its date and the seat.
    concert_title: str | None = None
    concert_date: date | None = None
    seat_number: int | None = None


def wallet_history(
    *, user: User, limit: int | None = None, before: tuple[datetime, uuid.UUID] | None = None
) -> list[WalletEntry]:
    """Top-ups (including refused ones) and usages of the fan, newest first (by time, then id: a total order), in
    two queries; with `before` (an entry's (at, id)), only the entries after that one in this order: the next page
    of a cursor-paged history, which entries written meanwhile never shift.

    A payment or refund says what it was for: its reservation's concert, date and seat (joined, no query each).
    """
    charges = ChargeHistory.objects.filter(user_id=user.pk).order_by("-charged_at", "-id")
    usages = (
        UsageHistory.objects.filter(user_id=user.pk)
        .select_related("reservation__seat__concert_date__concert")
        .order_by("-used_at", "-id")
    )
    if before is not None:
        at, entry_id = before
        charges = charges.filter(Q(charged_at__lt=at) | Q(charged_at=at, id__lt=entry_id))
        usages = usages.filter(Q(used_at__lt=at) | Q(used_at=at, id__lt=entry_id))
    if limit is not None:
        charges, usages = charges[:limit], usages[:limit]
    charge_entries = (
        WalletEntry(
            id=c.pk,
            kind="CHARGE",
            amount=c.amount,
            status=c.status,
            reason=c.reason,
            at=c.charged_at,
            delta=(c.amount or 0) if c.status == ChargeHistory.Status.SUCCESS else 0,  # a success has an amount
        )
        for c in charges
    )
    usage_entries = (
        WalletEntry(
            id=u.pk,
            kind=u.action_type,
            amount=u.amount,
            status=u.status,
            reason=u.reason,
            at=u.used_at,
            delta=_usage_delta(u),
            reservation_id=u.reservation_id,
            **_booked_for(u.reservation),
        )
        for u in usages
    )
    merged = heapq.merge(charge_entries, usage_entries, key=lambda e: (e.at, e.id), reverse=True)
    return list(merged)[:limit] if limit is not None else list(merged)


class _BookedFor(TypedDict, total=False):
    concert_title: str
    concert_date: date
    seat_number: int


def _booked_for(reservation: "Reservation | None") -> _BookedFor:
    if reservation is None:
        return {}
    date = reservation.seat.concert_date
    return {
        "concert_title": date.concert.title,
        "concert_date": date.concert_date,
        "seat_number": reservation.seat.seat_number,
    }


def _usage_delta(usage: UsageHistory) -> int:
    if usage.status != UsageHistory.Status.SUCCESS:
        return 0
    if usage.action_type == UsageHistory.ActionType.CANCELLATION:
        return usage.amount
    if usage.action_type == UsageHistory.ActionType.RESERVATION:
        return -usage.amount
    return 0


@dataclass(frozen=True)
class LedgerMismatch:
    user_id: uuid.UUID
    email: str
    balance: int
    expected: int


def _success_sum(queryset: QuerySet[Any]) -> Coalesce:
    """A correlated subquery: the sum of `amount` of these SUCCESS rows for the outer user, or 0."""
    total = queryset.filter(user=OuterRef("pk")).order_by().values("user").annotate(total=Sum("amount"))
    return Coalesce(Subquery(total.values("total")), Value(0), output_field=BigIntegerField())


def unreconciled_wallets() -> list[LedgerMismatch]:
    """Users whose balance differs from SUCCESS top-ups − payments + refunds, in one query."""
    success = Q(status=UsageHistory.Status.SUCCESS)
    users = (
        get_user_model()
        .objects.annotate(
            expected=_success_sum(ChargeHistory.objects.filter(status=ChargeHistory.Status.SUCCESS))
            - _success_sum(UsageHistory.objects.filter(success, action_type=UsageHistory.ActionType.RESERVATION))
            + _success_sum(UsageHistory.objects.filter(success, action_type=UsageHistory.ActionType.CANCELLATION))
        )
        .exclude(balance=F("expected"))
        .order_by("email")
        .values_list("pk", "email", "balance", "expected")
    )
    return [LedgerMismatch(*row) for row in users]


@dataclass(frozen=True)
class CancellationMismatch:
    reservation_id: uuid.UUID
    user_id: uuid.UUID
    paid: int
    refunded: int
    fee: int


def unbalanced_cancellations() -> list[CancellationMismatch]:
    """Reservations with a refund or a cancellation fee whose refund + fee is not what was paid for them
    (SUCCESS rows only), in one query: a cancellation must give back exactly the price less its fee."""
    success = UsageHistory.objects.filter(status=UsageHistory.Status.SUCCESS, reservation__isnull=False)
    action = UsageHistory.ActionType
    rows = (
        success.order_by()
        .values("reservation_id", "user_id")
        .annotate(
            paid=Coalesce(Sum("amount", filter=Q(action_type=action.RESERVATION)), 0),
            refunded=Coalesce(Sum("amount", filter=Q(action_type=action.CANCELLATION)), 0),
            fee=Coalesce(Sum("amount", filter=Q(action_type=action.CANCELLATION_FEE)), 0),
        )
        .filter(Q(refunded__gt=0) | Q(fee__gt=0))
        .exclude(paid=F("refunded") + F("fee"))
        .order_by("reservation_id")
        .values_list("reservation_id", "user_id", "paid", "refunded", "fee")
    )
    return [CancellationMismatch(*row) for row in rows]
