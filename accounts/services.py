"""Account writes and the account e-mails they owe: password reset (and later e-mail verification and changes).

Each e-mail goes out as an RQ job (accounts.jobs) queued when the caller's transaction commits, in the language
the fan used; the job re-reads the account, so a mail queued for an account that changed meanwhile is dropped.
A failed enqueue (Redis away) is logged; nothing is owed for later, since the fan can ask again.
"""

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from config.jobs import enqueue

from . import mail
from .models import User

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


def request_password_reset(*, email: str, language: str, site_url: str) -> int:
    """Queue a password-reset e-mail to the account with this address (any case), if there is one that may log
    in (active, with a password); return how many were queued (0 or 1).

    The caller answers the same whatever this returns, so the page does not tell who has an account. The link
    is made by the job (accounts.jobs.send_password_reset), so the reset token never sits in Redis.
    `site_url`: scheme and host the link starts with (https://tickets.example.com).
    """
    from . import jobs

    users = [user for user in User.objects.filter(email__iexact=email.strip()) if _can_reset(user)]
    for user in users:
        _enqueue_on_commit(jobs.send_password_reset, user_id=str(user.pk), language=language, site_url=site_url)
    return len(users)


def password_reset_url(*, user: User, site_url: str) -> str:
    """The link of Django's PasswordResetConfirmView for this user: valid until PASSWORD_RESET_TIMEOUT, the
    password is changed, or the user logs in (Django's PasswordResetTokenGenerator)."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uidb64, "token": token})
    return site_url.rstrip("/") + path


def send_password_reset(*, user_id: uuid.UUID | str, language: str, site_url: str) -> int:
    """Send the password-reset e-mail (a fresh link) to the account, if it may still log in; return 1 if sent."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not _can_reset(user):
        return 0
    context = {"user": user, "url": password_reset_url(user=user, site_url=site_url)}
    mail.render(kind="password_reset", to=user.email, context=context, language=language).send()
    return 1
