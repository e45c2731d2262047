"""Who calls the JSON API: a personal access token (`Authorization: Bearer frt_…`, scripts and apps) or the site's
own session cookie (the pages' JavaScript), tried in that order.

A bearer token that is not valid is refused (401 token_invalid) rather than falling back to the session; a read
token on a request that changes something is refused (403 token_scope_insufficient). A session request that
changes something needs the CSRF token (X-CSRFToken), as a form post does; a bearer request needs none (a browser
never sends one by itself). Either way request.user is the fan, so the rate limits and services see them as the
pages do. A read token's answers never carry e-ticket codes (shows_ticket_codes): a code lets its holder in at the
door.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.exceptions import TokenScopeInsufficient
from accounts.models import User

from .exceptions import CsrfFailed

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerToken(HttpBearer):
    """A personal access token (accounts.ApiToken), sent as `Authorization: Bearer <token>`."""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        found = account_services.authenticate_api_token(secret=token.strip())
        if not account_selectors.api_token_allows(found, writes=request.method not in SAFE_METHODS):
            raise TokenScopeInsufficient()
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]  # for the views that say which token was used
        return found.user


class SiteSession(APIKeyCookie):
    """The session of a fan logged in on the site (its cookie), with the CSRF check for unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)  # checked in authenticate, once the session is known to be a fan's; True tells
        # the docs page to send the CSRF token with its requests

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key or not request.user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise CsrfFailed()
        return request.user


FAN = [BearerToken(), SiteSession()]


def shows_ticket_codes(request: HttpRequest) -> bool:
    """Whether this request's answers may carry e-ticket codes: the site's session, or a token whose scope allows
    them (accounts.selectors.api_token_sees_ticket_codes: not a read token)."""
    token = getattr(request, "api_token", None)
    return token is None or account_selectors.api_token_sees_ticket_codes(token)
