"""django-rq jobs of accounts: the account e-mails, thin wrappers over accounts.services (safe to run again:
each sends a fresh link, or nothing when the account no longer qualifies). Queued by accounts.services on
commit through config.jobs.enqueue."""

import uuid

from . import services


def send_password_reset(*, email: str = "", user_id: uuid.UUID | str | None = None, language: str) -> int:
    # `user_id`: a job queued before the request named the address typed instead (accounts.services).
    return services.send_password_reset(email=email, user_id=user_id, language=language)


def send_verification(*, user_id: uuid.UUID | str, email: str, language: str, next_url: str = "") -> int:
    return services.send_verification(user_id=user_id, email=email, language=language, next_url=next_url)


def send_email_changed(*, user_id: uuid.UUID | str, old_email: str, new_email: str, language: str) -> int:
    return services.send_email_changed(user_id=user_id, old_email=old_email, new_email=new_email, language=language)


def send_password_changed(*, user_id: uuid.UUID | str, language: str) -> int:
    return services.send_password_changed(user_id=user_id, language=language)
