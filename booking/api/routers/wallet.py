"""The fan's wallet: balance, top-up (once per Idempotency-Key) and history (cursor-paged, newest first)."""

import datetime
import uuid

from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.params.functions import Header, Query

from accounts.requests import AuthenticatedRequest
from wallet import selectors as wallet_selectors
from wallet import services as wallet_services

from .. import cursors
from ..problems import Problem
from ..ratelimits import rate_limit

router = Router()


class BalanceOut(Schema):
    balance: int  # whole won
    at: datetime.datetime


class WalletEntryOut(Schema):
    id: uuid.UUID
    kind: str  # CHARGE (a top-up), RESERVATION (a payment), CANCELLATION (a refund) or OTHER
    amount: int | None
    status: str  # SUCCESS or FAILED
    reason: str  # why it failed (English), empty for a success
    at: datetime.datetime
    delta: int  # what it did to the balance: + top-ups and refunds, − payments, 0 if it failed
    reservation_id: uuid.UUID | None = None
    concert_title: str | None = None
    concert_date: datetime.date | None = None
    seat_number: int | None = None


class WalletHistoryOut(cursors.Page):
    items: list[WalletEntryOut]


@router.get("", response={200: BalanceOut, 401: Problem, 403: Problem, 429: Problem}, summary="My balance")
def balance(request: AuthenticatedRequest) -> dict[str, object]:
    rate_limit(request, "api_read")
    return {"balance": wallet_selectors.balance(user=request.user), "at": timezone.now()}


@router.get(
    "/history",
    response={200: WalletHistoryOut, 400: Problem, 401: Problem, 403: Problem, 429: Problem},
    summary="My wallet history",
)
def history(
    request: AuthenticatedRequest,
    cursor: str | None = None,
    limit: int = Query(20, ge=1, le=cursors.MAX_LIMIT),
) -> dict[str, object]:
    """Top-ups (refused ones too), payments and refunds, newest first; `limit` a page (1-100), `cursor` from the
    previous page's `next_cursor`."""
    rate_limit(request, "api_read")
    before = cursors.decode(cursor, datetime.datetime, uuid.UUID) if cursor else None
    entries = wallet_selectors.wallet_history(user=request.user, limit=limit + 1, before=before)
    page, more = entries[:limit], len(entries) > limit
    return {
        "items": [entry.__dict__ for entry in page],
        "next_cursor": cursors.encode(page[-1].at, page[-1].id) if more else None,
    }


class TopUpIn(Schema):
    amount: int  # whole won, between MIN_CHARGE and MAX_CHARGE; the balance may not pass MAX_BALANCE


class TopUpOut(Schema):
    id: uuid.UUID
    amount: int
    balance_after: int
    at: datetime.datetime
    replayed: bool  # true: this key had topped up already, nothing more was added


@router.post(
    "/top-ups",
    response={200: TopUpOut, 201: TopUpOut, 400: Problem, 401: Problem, 403: Problem, 422: Problem, 429: Problem},
    summary="Top up my wallet",
)
def top_up(
    request: AuthenticatedRequest,
    payload: TopUpIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=1, max_length=64),
) -> Status[dict[str, object]]:
    """Add `amount` won to my wallet, once per `Idempotency-Key`: a retry with the same key and amount answers the
    first top-up (200, replayed), the same key with another amount is refused (422 idempotency_key_reused). 201 for a
    new top-up; a refused one (charge_refused, 400) is recorded in the history with its reason."""
    rate_limit(request, "top_up")
    row = wallet_services.charge(user=request.user, amount=payload.amount, idempotency_key=idempotency_key)
    body: dict[str, object] = {
        "id": row.pk,
        "amount": row.amount,
        "balance_after": row.balance_after,
        "at": row.charged_at,
        "replayed": row.replayed,
    }
    return Status(200 if row.replayed else 201, body)
