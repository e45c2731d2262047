"""Account writes and the account e-mails they owe: password reset, e-mail verification, a change of address or of
password (each noticed by e-mail).

Each e-mail goes out as an RQ job (accounts.jobs) queued when the caller's transaction commits, in the language
the fan used; the job re-reads the account, so a mail queued for an account that changed meanwhile is dropped.
Links start with SITE_URL (the job has no request to take the host from).
A failed enqueue (Redis away) is logged; nothing is owed for later, since the fan can ask again.
"""

import datetime
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlencode, urlsafe_base64_encode

from config.jobs import enqueue
from config.ratelimit import RateLimited, check_account_limit

from . import mail
from .exceptions import (
    EmailAddressTaken,
    TokenInvalid,
    TokenLimitReached,
    VerificationLinkInvalid,
    VerificationLinkUsed,
)
from .locking import lock_user
from .models import ApiToken, User
from .selectors import verification_asked
from .tokens import make_verification_token, read_verification_token

logger = logging.getLogger(__name__)


def _enqueue_on_commit(job: Callable[..., Any], **kwargs: str) -> None:
    def enqueue_mail() -> None:
        try:
            enqueue(job, **kwargs)
        except Exception:
            logger.exception("accounts: could not queue %s(%r)", job.__name__, kwargs.get("user_id"))

    transaction.on_commit(enqueue_mail, robust=True)


# --- password reset ---------------------------------------------------------------------------------------


def _can_reset(user: User) -> bool:
    return user.is_active and user.has_usable_password()


def request_password_reset(*, email: str, language: str) -> None:
    """Queue (on commit) the job that mails a password-reset link to the account with this address (any case), if
    there is one that may log in (active, with a password): accounts.jobs.send_password_reset.

    The request does the same work whether or not an account has the address: no query here, one job with the
    same arguments either way; the job looks the account up. So neither the answer nor its timing tells who has
    an account. The link is made by the job too, so the reset token never sits in Redis.
    """
    _enqueue_on_commit(_jobs().send_password_reset, email=email.strip(), language=language)


def password_reset_url(*, user: User) -> str:
    """The link of Django's PasswordResetConfirmView for this user: valid until PASSWORD_RESET_TIMEOUT, the
    password is changed, or the user logs in (Django's PasswordResetTokenGenerator)."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uidb64, "token": token})
    return settings.SITE_URL + path


def send_password_reset(*, email: str = "", user_id: uuid.UUID | str | None = None, language: str) -> int:
    """Send the password-reset e-mail (a fresh link) to the account with this address (or, for a job queued before
    jobs named the address, this id), if it may still log in and is under its cap of reset mails
    (RATE_LIMIT_PASSWORD_RESET_MAIL: per account, however many client addresses ask); return 1 if sent, else 0.

    Over the cap nothing is sent and nothing tells the asker (the page answered already): one inbox cannot be
    flooded from many addresses. A send that fails and is retried counts against the cap again.
    """
    if user_id is not None:
        user = User.objects.filter(pk=user_id).first()
    else:  # one at most: addresses are unique whatever their case (user_email_ci_unique)
        user = User.objects.filter(email__iexact=email.strip()).first() if email.strip() else None
    if user is None or not _can_reset(user):
        return 0
    try:
        check_account_limit("password_reset_mail", account=(str(user.pk), user.email))
    except RateLimited:
        logger.info("accounts: password-reset mail to account %s not sent: over its cap", user.pk)
        return 0
    context = {"user": user, "url": password_reset_url(user=user)}
    mail.render(kind="password_reset", to=user.email, context=context, language=language).send()
    return 1


def verify_email_by_password_reset(*, user: User, now: datetime.datetime | None = None) -> bool:
    """Mark the account's address verified as its password is reset through a link mailed to it: following the link
    proves the fan reads mail there (Django's reset token covers the address, so a link sent to an address the
    account no longer has does not work). An address already verified keeps its moment. Returns True if marked.
    Called in the transaction that sets the new password."""
    now = now or timezone.now()
    marked = User.objects.filter(pk=user.pk, email=user.email, email_verified_at__isnull=True).update(
        email_verified_at=now
    )
    if marked:
        user.email_verified_at = now
    return bool(marked)


# --- e-mail verification ----------------------------------------------------------------------------------


def queue_verification_email(*, user: User, language: str, next_url: str = "") -> None:
    """Queue (on commit) an e-mail with a link that verifies the user's current address. `next_url`: a path of this
    site the link's page goes on to once verified (the waiting room the fan was asked to verify at). The job checks
    again and sends nothing if the address was verified or changed meanwhile."""
    from . import jobs

    _enqueue_on_commit(
        jobs.send_verification,
        user_id=str(user.pk),
        email=user.email,
        language=language,
        next_url=next_url,
    )


def verification_url(*, user: User, next_url: str = "") -> str:
    """The link that verifies the user's current address (accounts.tokens), with `next_url` after it if given."""
    path = reverse("accounts:verify_email", kwargs={"token": make_verification_token(user)})
    return settings.SITE_URL + path + (f"?{urlencode({'next': next_url})}" if next_url else "")


def send_verification(*, user_id: uuid.UUID | str, email: str, language: str, next_url: str = "") -> int:
    """Send the verification e-mail to `email` if it is still the account's address and not verified; return 1
    if sent, else 0 (the fan changed the address or verified it meanwhile: the newer state wins)."""
    user = User.objects.filter(pk=user_id, email=email, email_verified_at__isnull=True, is_active=True).first()
    if user is None:
        return 0
    context = {"user": user, "url": verification_url(user=user, next_url=next_url)}
    mail.render(kind="verify_email", to=user.email, context=context, language=language).send()
    return 1


def check_verification_token(*, token: str) -> User:
    """The account whose address this token would verify now, without verifying it. Raises
    VerificationLinkInvalid (forged, unknown account, or the account's address changed since), VerificationLinkExpired
    or VerificationLinkUsed (that address is verified already)."""
    claim = read_verification_token(token)
    user = User.objects.filter(pk=claim.user_id, is_active=True).first()
    if user is None or user.email != claim.email:
        raise VerificationLinkInvalid()
    if user.email_verified_at is not None:
        raise VerificationLinkUsed()
    return user


def verify_email(*, token: str, now: datetime.datetime | None = None) -> User:
    """Mark the address the token names as verified, once. Raises as check_verification_token; of two requests with
    the same link at once, one verifies and the other gets VerificationLinkUsed (a conditional UPDATE, no lock)."""
    user = check_verification_token(token=token)
    now = now or timezone.now()
    marked = User.objects.filter(pk=user.pk, email=user.email, email_verified_at__isnull=True).update(
        email_verified_at=now
    )
    if not marked:
        check_verification_token(token=token)  # raises what changed: the address, or verified by the other one
        raise VerificationLinkUsed()
    user.email_verified_at = now
    return user


# --- a change of address or of password ---------------------------------------------------------------------


def change_email(*, user: User, new_email: str, language: str) -> User:
    """Give the account a new address (stored lower case): it is unverified until the fan opens the link mailed to
    it (mailed only while the site asks for verification: selectors.verification_asked), and the old address is
    told of the change. One transaction: the user row is locked, the address written,
    both mails queued for its commit. Raises EmailAddressTaken if another account has the address (the unique
    constraint decides between two changes at once). The caller checked the fan's password."""
    new_email = new_email.strip().lower()
    try:
        with transaction.atomic():
            lock_user(user.pk)  # two changes of one account at once: the second tells the first's new address
            old_email = User.objects.values_list("email", flat=True).get(pk=user.pk)
            User.objects.filter(pk=user.pk).update(email=new_email, email_verified_at=None)
            user.email, user.email_verified_at = new_email, None
            if verification_asked():
                queue_verification_email(user=user, language=language)
            _enqueue_on_commit(
                _jobs().send_email_changed,
                user_id=str(user.pk),
                old_email=old_email,
                new_email=new_email,
                language=language,
            )
    except IntegrityError as exc:
        raise EmailAddressTaken() from exc
    return user


def send_email_changed(*, user_id: uuid.UUID | str, old_email: str, new_email: str, language: str) -> int:
    """Tell the old address that the account now uses `new_email`; return 1 if sent (0 for a gone account)."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return 0
    context = {"user": user, "old_email": old_email, "new_email": new_email}
    mail.render(kind="email_changed", to=old_email, context=context, language=language).send()
    return 1


def password_changed(*, user: User, language: str) -> None:
    """Queue (on commit) the notice that the account's password was changed, to its address."""
    _enqueue_on_commit(_jobs().send_password_changed, user_id=str(user.pk), language=language)


def send_password_changed(*, user_id: uuid.UUID | str, language: str) -> int:
    """Tell the account's address that its password was changed; return 1 if sent."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return 0
    mail.render(kind="password_changed", to=user.email, context={"user": user}, language=language).send()
    return 1


def _jobs() -> Any:
    from . import jobs

    return jobs


# --- the JSON API's personal access tokens ----------------------------------------------------------------

# Every token starts with this, so a leaked one is recognisable (secret scanners, logs) as a Frontrow token.
API_TOKEN_PREFIX = "frt_"
# How many characters of a token the fan's list shows: the prefix and 8 random characters (48 bits, telling
# nothing useful about the other 208).
API_TOKEN_SHOWN = len(API_TOKEN_PREFIX) + 8
# last_used_at is written at most this often per token: not one UPDATE per API request.
API_TOKEN_USE_PRECISION = datetime.timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiToken:
    token: ApiToken
    secret: str  # the token itself: shown to the fan once, never stored


def api_token_hash(secret: str) -> str:
    """What is stored of a token: its SHA-256 in hex. The token is 256 random bits, so no salt or slow hash is
    needed (nothing to guess from), and the look-up is one probe of a unique index."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(
    *, user: User, name: str, scope: str, lifetime_days: int, now: datetime.datetime | None = None
) -> NewApiToken:
    """A new personal access token for `user`, named `name`, allowed `scope` (ApiToken.Scope), expiring after
    `lifetime_days` days (one of API_TOKEN_LIFETIME_DAYS); the secret is in the result only.

    Locks the user row, so two creations at once cannot pass API_TOKENS_PER_USER (raises TokenLimitReached).
    ValueError for a name, scope or lifetime the account page's form never sends.
    """
    now = now or timezone.now()
    name = name.strip()
    if not name or len(name) > 100 or scope not in ApiToken.Scope.values:
        raise ValueError("an API token needs a name of 1-100 characters and a known scope")
    if lifetime_days not in settings.API_TOKEN_LIFETIME_DAYS:
        raise ValueError(f"an API token lasts one of {settings.API_TOKEN_LIFETIME_DAYS} days")
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        lock_user(user.pk)
        live = ApiToken.objects.filter(user_id=user.pk, revoked_at__isnull=True, expires_at__gt=now).count()
        if live >= settings.API_TOKENS_PER_USER:
            raise TokenLimitReached()
        token = ApiToken.objects.create(
            user_id=user.pk,
            name=name,
            scope=scope,
            prefix=secret[:API_TOKEN_SHOWN],
            token_hash=api_token_hash(secret),
            created_at=now,
            expires_at=now + datetime.timedelta(days=lifetime_days),
        )
    return NewApiToken(token=token, secret=secret)


def revoke_api_token(*, user: User, token_id: uuid.UUID, now: datetime.datetime | None = None) -> ApiToken | None:
    """Revoke one of `user`'s tokens: from now on it authenticates nothing. Idempotent (a revoked token keeps
    its first revocation time). None when `user` has no token of that id (another fan's is not theirs to see)."""
    now = now or timezone.now()
    ApiToken.objects.filter(pk=token_id, user_id=user.pk, revoked_at__isnull=True).update(revoked_at=now)
    return ApiToken.objects.filter(pk=token_id, user_id=user.pk).first()


def authenticate_api_token(*, secret: str, now: datetime.datetime | None = None) -> ApiToken:
    """The live token `secret` is, with its user joined, its use noted (last_used_at, at most once a minute).

    Raises TokenInvalid, one refusal for a token that is malformed, unknown, revoked or expired, or whose account
    was deactivated.
    """
    now = now or timezone.now()
    if not secret.startswith(API_TOKEN_PREFIX) or len(secret) > 100:
        raise TokenInvalid()
    token = ApiToken.objects.select_related("user").filter(token_hash=api_token_hash(secret)).first()
    if token is None or token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
        raise TokenInvalid()
    if token.last_used_at is None or token.last_used_at <= now - API_TOKEN_USE_PRECISION:
        # Conditional: of many requests at once, one writes; the others change nothing.
        ApiToken.objects.filter(pk=token.pk).filter(
            models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lte=now - API_TOKEN_USE_PRECISION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
