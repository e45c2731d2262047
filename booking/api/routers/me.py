"""Who the caller is: the account, its balance, and the token used (if any)."""

import datetime
import uuid

from ninja import Router, Schema

from accounts.requests import AuthenticatedRequest

from ..problems import Problem
from ..ratelimits import rate_limit

router = Router()


class TokenOut(Schema):
    name: str
    scope: str
    prefix: str
    expires_at: datetime.datetime


class MeOut(Schema):
    id: uuid.UUID
    email: str
    name: str
    balance: int
    token: TokenOut | None = None  # the token this request came with; none for the site's session


@router.get("", response={200: MeOut, 401: Problem, 429: Problem}, summary="Who am I")
def me(request: AuthenticatedRequest) -> MeOut:
    rate_limit(request, "api_read")
    token = getattr(request, "api_token", None)
    user = request.user
    return MeOut(
        id=user.pk,
        email=user.email,
        name=user.name,
        balance=user.balance,
        token=TokenOut(name=token.name, scope=token.scope, prefix=token.prefix, expires_at=token.expires_at)
        if token
        else None,
    )
