"""The e-mail verification link's token: django.core.signing with a salt of its own, naming the account and the
address it was sent to, valid for EMAIL_VERIFICATION_MAX_AGE seconds. It is spent by verifying that address
(accounts.services.verify_email); a change of address makes it stale."""

import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from .exceptions import VerificationLinkExpired, VerificationLinkInvalid
from .models import User

SALT = "frontrow.accounts.email-verification"


class _Signer(signing.TimestampSigner):
    def __init__(self, *, at: float | None = None) -> None:
        super().__init__(salt=SALT)
        self._at = at

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time() if self._at is None else self._at))


@dataclass(frozen=True)
class VerificationClaim:
    """What a genuine, unexpired token says: this account's address was `email` when the link was sent."""

    user_id: uuid.UUID
    email: str


def make_verification_token(user: User, *, at: float | None = None) -> str:
    """A token for the user's current address, signed at `at` (epoch seconds; default now)."""
    return _Signer(at=at).sign_object({"u": str(user.pk), "e": user.email})


def read_verification_token(token: str) -> VerificationClaim:
    """The claim of a token. Raises VerificationLinkExpired past EMAIL_VERIFICATION_MAX_AGE, and
    VerificationLinkInvalid when it was not signed by this site for verification (forged, altered, cut)."""
    try:
        payload = _Signer().unsign_object(token, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise VerificationLinkExpired() from exc
    except (signing.BadSignature, ValueError) as exc:
        raise VerificationLinkInvalid() from exc
    try:
        return VerificationClaim(user_id=uuid.UUID(str(payload["u"])), email=str(payload["e"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise VerificationLinkInvalid() from exc
