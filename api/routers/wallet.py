"""The fan's wallet: balance and history (cursor-paged, newest first)."""

import datetime
import uuid

from django.utils import timezone
from ninja import Router, Schema
from ninja.params.functions import Query

from accounts.requests import AuthenticatedRequest
from wallet import selectors as wallet_selectors

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
