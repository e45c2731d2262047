"""What the rush needs in the database before it starts (not timed): Django set up in this process, fans
with topped-up wallets and logged-in sessions, concerts with their dates and waiting room, all made
through the project's own models and services. Django is imported inside the functions: django_setup()
runs first."""

import os
import time
from datetime import datetime, timedelta
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


def create_fans(run_id: str, count: int, prefix: str) -> list["User"]:
    """Bulk-create fans sharing one precomputed password hash; top up each wallet through the service."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from wallet import services as wallet_services

    password_hash = make_password(FAN_PASSWORD)
    users = User.objects.bulk_create(
        User(email=f"{prefix}{index:05d}.{run_id}@bench.frontrow.test", name=f"Fan {index}", password=password_hash)
        for index in range(count)
    )
    for user in users:
        wallet_services.charge(user=user, amount=1_000_000)
    return users


def session_cookies(user: "User") -> dict[str, str]:
    """A logged-in session made the way django.contrib.auth.login makes one (cached_db: Redis + PostgreSQL)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {settings.SESSION_COOKIE_NAME: session.session_key or ""}  # create() gave it its key


def create_concert(
    run_id: str,
    title: str,
    *,
    dates: int,
    opens_at: datetime,
    max_active: int,
    challenge: bool | None = None,
    challenge_max_number: int | None = None,
) -> "Concert":
    """A concert with `dates` dates and its waiting room: max_active, and the entry challenge on or off and its
    difficulty where given (else a new room's defaults)."""
    from django.utils import timezone

    from concerts.models import Concert
    from concerts.services import create_concert_date
    from queueing.models import WaitingRoom

    first = timezone.localtime().replace(hour=19, minute=0, second=0, microsecond=0) + timedelta(days=30)
    concert = Concert.objects.create(title=f"{title} {run_id}", venue="Bench Arena", sale_opens_at=opens_at)
    for offset in range(dates):
        create_concert_date(concert=concert, starts_at=first + timedelta(days=offset))
    room: dict[str, object] = {"max_active": max_active}
    if challenge is not None:
        room["challenge_enabled"] = challenge
    if challenge_max_number is not None:
        room["challenge_max_number"] = challenge_max_number
    WaitingRoom.objects.update_or_create(concert=concert, defaults=room)
    return concert
