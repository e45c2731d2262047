"""Account reads: whether a fan must verify their e-mail address before entering a waiting room."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from .models import User


def must_verify_email(user: User | AnonymousUser) -> bool:
    """True for a logged-in fan whose address is not verified while EMAIL_VERIFICATION_REQUIRED is on; never for
    staff (they run the site) nor anonymous visitors (the log-in comes first)."""
    if not settings.EMAIL_VERIFICATION_REQUIRED or not isinstance(user, User) or user.is_staff:
        return False
    return user.email_verified_at is None
