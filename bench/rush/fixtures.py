"""What the rush needs in the database before it starts (not timed): Django set up in this process, fans
with topped-up wallets and logged-in sessions (or, with --api, personal access tokens), concerts with their
dates and waiting room, all made through the project's own models and services. Django is imported inside the
functions: django_setup() runs first."""

import os
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User
    from concerts.models import Concert

FAN_PASSWORD = "bench-fan-password-not-secret"


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_production")
    os.environ["DB_POOL"] = "false"  # this process is one thread; a pool buys nothing
    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the report


def wait_for_jobs(timeout: float = 180.0) -> int:
    """Wait until the RQ queue has no job waiting or running (a run's confirmation e-mails still queued when
    an earlier run stopped its stack are sent by the next stack's worker; they must not run during this
    run's measurements). Returns the jobs left when the timeout passed (0 when the queue drained)."""
    import django_rq

    queue = django_rq.get_queue("default")
    deadline = time.monotonic() + timeout
    while (left := queue.count + queue.started_job_registry.count) and time.monotonic() < deadline:
        time.sleep(1)
    return int(left)


TOP_UP = 1_000_000  # won per fan: more than any fan spends
BATCH = 1000  # rows per bulk INSERT


def create_fans(run_id: str, count: int, prefix: str) -> list["User"]:
    """Bulk-create fans sharing one precomputed password hash, each wallet topped up by TOP_UP won.

    The top-up writes what wallet.services.charge writes for it (the balance, and a SUCCESS ChargeHistory
    row with the amount), in bulk: one charge() per fan is three queries in a transaction of its own, half a
    minute for 10,000 fans on a busy machine, and none of it is what the rush measures. The checks afterwards
    reconcile every wallet against these rows like any other."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from wallet.models import ChargeHistory

    password_hash = make_password(FAN_PASSWORD)
    now = timezone.now()
    with transaction.atomic():
        users = User.objects.bulk_create(
            (
                User(
                    email=f"{prefix}{index:05d}.{run_id}@bench.frontrow.test",
                    name=f"Fan {index}",
                    password=password_hash,
                    balance=TOP_UP,
                    email_verified_at=now,  # a fan must have verified their address to enter a waiting room
                )
                for index in range(count)
            ),
            batch_size=BATCH,
        )
        ChargeHistory.objects.bulk_create(
            (
                ChargeHistory(user_id=user.pk, amount=TOP_UP, status=ChargeHistory.Status.SUCCESS, charged_at=now)
                for user in users
            ),
            batch_size=BATCH,
        )
    return users


def session_cookies(users: Sequence["User"]) -> list[dict[str, str]]:
    """A logged-in session per user, as django.contrib.auth.login leaves it in SESSION_ENGINE (production's
    config.sessions is cached_db: the row in PostgreSQL, the same data cached in Redis), made in bulk: one
    INSERT per thousand sessions and one Redis round trip per thousand instead of two round trips each.
    Returns each user's session cookie."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.contrib.sessions.models import Session
    from django.core.cache import caches
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    cached = hasattr(store, "cache_key_prefix")  # cached_db (production), or a plain db store (tests)
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    cache_seconds = min(settings.SESSION_COOKIE_AGE, settings.SESSION_CACHE_SECONDS)
    cookies = []
    for start in range(0, len(users), BATCH):
        rows, entries = [], {}
        for user in users[start : start + BATCH]:
            # The key SessionStore._get_new_session_key() makes (32 of its characters); a clash among 36^32
            # is not a concern, and the INSERT would refuse one.
            key = get_random_string(32, VALID_KEY_CHARS)
            data = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: "accounts.backends.UserBackend",  # as accounts.views logs in
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
            rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
            if cached:
                entries[store.cache_key_prefix + key] = data
            cookies.append({settings.SESSION_COOKIE_NAME: key})
        Session.objects.bulk_create(rows)
        if entries:
            caches[settings.SESSION_CACHE_ALIAS].set_many(entries, cache_seconds)
    return cookies


def api_tokens(users: Sequence["User"]) -> list[str]:
    """A personal access token for each user (--api), made as the account page makes them: by
    accounts.services.create_api_token (scope book, the shortest lifetime offered), one transaction per fan (the
    user's row locked, their live tokens counted, the row written; a few seconds for 2,000 fans). Returns the
    tokens themselves, which only this call ever sees (the database keeps their SHA-256)."""
    from django.conf import settings

    from accounts.models import ApiToken
    from accounts.services import create_api_token

    lifetime = min(settings.API_TOKEN_LIFETIME_DAYS)
    return [
        create_api_token(user=user, name="bench rush", scope=ApiToken.Scope.BOOK, lifetime_days=lifetime).secret
        for user in users
    ]


def create_concert(
    run_id: str,
    title: str,
    *,
    dates: int,
    opens_at: datetime,
    max_active: int,
    admit_per_minute: int | None = None,
    challenge: bool | None = None,
    challenge_max_number: int | None = None,
) -> "Concert":
    """A concert with `dates` dates and its waiting room: max_active, and the admission rate and the entry
    challenge (on or off, and its difficulty) where given, else a new room's defaults (QUEUE_ADMIT_PER_MINUTE,
    QUEUE_CHALLENGE_DEFAULT, ALTCHA_MAX_NUMBER)."""
    from django.utils import timezone

    from concerts.models import Concert
    from concerts.services import create_concert_date
    from queueing.models import WaitingRoom

    first = timezone.localtime().replace(hour=19, minute=0, second=0, microsecond=0) + timedelta(days=30)
    concert = Concert.objects.create(title=f"{title} {run_id}", venue="Bench Arena", sale_opens_at=opens_at)
    for offset in range(dates):
        create_concert_date(concert=concert, starts_at=first + timedelta(days=offset))
    room: dict[str, object] = {"max_active": max_active}
    if admit_per_minute is not None:
        room["admit_per_minute"] = admit_per_minute
    if challenge is not None:
        room["challenge_enabled"] = challenge
    if challenge_max_number is not None:
        room["challenge_max_number"] = challenge_max_number
    WaitingRoom.objects.update_or_create(concert=concert, defaults=room)
    return concert
