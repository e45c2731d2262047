"""The waiting room's queue backends, picked by settings.QUEUE_BACKEND ("database" or "redis")."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import (
    AdmitResult,
    ArrivalFloorNeeded,
    DrawPending,
    DrawResult,
    HistoryNote,
    JoinResult,
    QueueBackend,
    Ticket,
)

__all__ = [
    "AdmitResult",
    "ArrivalFloorNeeded",
    "DrawPending",
    "DrawResult",
    "HistoryNote",
    "JoinResult",
    "QueueBackend",
    "Ticket",
    "get_backend",
]

_backends: dict[tuple[str, ...], QueueBackend] = {}


def get_backend(name: str | None = None) -> QueueBackend:
    """The configured backend. Settings are read on every call (tests switch them), instances are reused."""
    name = name or settings.QUEUE_BACKEND
    if name == "database":
        key: tuple[str, ...] = (name,)
    elif name == "redis":
        key = (name, settings.REDIS_URL, settings.QUEUE_REDIS_PREFIX)
    else:
        raise ImproperlyConfigured(f"QUEUE_BACKEND must be 'database' or 'redis', not {name!r}.")
    backend = _backends.get(key)
    if backend is None:
        if name == "database":
            from .database import DatabaseQueueBackend

            backend = DatabaseQueueBackend()
        else:
            from .redis import RedisQueueBackend

            backend = RedisQueueBackend(url=settings.REDIS_URL, prefix=settings.QUEUE_REDIS_PREFIX)
        _backends[key] = backend
    return backend
