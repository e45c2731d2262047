"""Account reads: whether the site asks fans to verify their e-mail address at all, and whether a fan must before
entering a waiting room; a fan's API access tokens and what a token allows."""

import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from .models import ApiToken, User


def must_verify_email(user: User | AnonymousUser) -> bool:
    """True for a logged-in fan whose address is not verified while EMAIL_VERIFICATION_REQUIRED is on; never for
    staff (they run the site) nor anonymous visitors (the log-in comes first)."""
    if not settings.EMAIL_VERIFICATION_REQUIRED or not isinstance(user, User) or user.is_staff:
        return False
    return user.email_verified_at is None


def verification_asked() -> bool:
    """Whether the site asks fans to verify their address (EMAIL_VERIFICATION_REQUIRED): only then is a link mailed
    at sign-up and after a change of address, and does the account page show an unverified address with the button
    that sends the link again. Off, nothing needs a verified address, so nothing nags about one (an address verified
    all the same, by a password reset, still shows as verified)."""
    return settings.EMAIL_VERIFICATION_REQUIRED


def api_tokens_of(*, user: User) -> list[ApiToken]:
    """The fan's API tokens, newest first: live, expired and revoked (the account page shows each state)."""
    return list(ApiToken.objects.filter(user_id=user.pk).order_by("-created_at"))


def api_token_is_live(token: ApiToken, *, now: datetime.datetime) -> bool:
    return token.revoked_at is None and token.expires_at > now


def api_token_allows(token: ApiToken, *, writes: bool) -> bool:
    """What a scope allows: a read token only requests that change nothing (GET, HEAD); a book token everything a
    fan may do with the pages."""
    return token.scope == ApiToken.Scope.BOOK or not writes


def api_token_sees_ticket_codes(token: ApiToken) -> bool:
    """Whether reads with this token carry e-ticket codes: a code lets its holder in at the door, so only a book
    token gets them (as the site's own session does); a read token (a calendar, a report) sees the bookings
    without them."""
    return token.scope == ApiToken.Scope.BOOK
