"""The waiting room's queue backends, picked by settings.QUEUE_BACKEND ("database" or "redis"; the Redis one on
QUEUE_REDIS_URL, else REDIS_URL, a Redis Cluster when QUEUE_REDIS_CLUSTER is set)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import (
    AdmitResult,
    ArrivalFloorNeeded,
    DrawnPlaces,
    DrawPending,
    DrawResult,
    HistoryNote,
    JoinResult,
    QueueBackend,
    SaleChanged,
    Ticket,
    sale_tag,
)

__all__ = [
    "AdmitResult",
    "ArrivalFloorNeeded",
    "DrawnPlaces",
    "DrawPending",
    "DrawResult",
    "HistoryNote",
    "JoinResult",
    "QueueBackend",
    "SaleChanged",
    "Ticket",
    "get_backend",
    "has_fast_path",
    "sale_tag",
]

_backends: dict[tuple[str, ...], QueueBackend] = {}


def has_fast_path(name: str | None = None) -> bool:
    """Does the configured backend answer a status poll alone (QueueBackend.has_fast_path)? Read from its class,
    building nothing: building a Redis Cluster backend reads the slot map, and may raise QueueUnavailable."""
    name = name or settings.QUEUE_BACKEND
    if name == "database":
        from .database import DatabaseQueueBackend

        return DatabaseQueueBackend.has_fast_path
    if name == "redis":
        from .redis import RedisQueueBackend

        return RedisQueueBackend.has_fast_path
    raise ImproperlyConfigured(f"QUEUE_BACKEND must be 'database' or 'redis', not {name!r}.")


def get_backend(name: str | None = None) -> QueueBackend:
    """The configured backend. Settings are read on every call (tests switch them), instances are reused.

    Raises QueueUnavailable when a Redis Cluster backend is built while none of its nodes answers (building it
    reads the cluster's slot map); the next call tries again.
    """
    name = name or settings.QUEUE_BACKEND
    if name == "database":
        key: tuple[str, ...] = (name,)
    elif name == "redis":
        url = settings.QUEUE_REDIS_URL or settings.REDIS_URL
        key = (name, url, str(settings.QUEUE_REDIS_CLUSTER), settings.QUEUE_REDIS_PREFIX)
    else:
        raise ImproperlyConfigured(f"QUEUE_BACKEND must be 'database' or 'redis', not {name!r}.")
    backend = _backends.get(key)
    if backend is None:
        if name == "database":
            from .database import DatabaseQueueBackend

            backend = DatabaseQueueBackend()
        else:
            from .redis import RedisQueueBackend

            backend = RedisQueueBackend(
                url=url, prefix=settings.QUEUE_REDIS_PREFIX, cluster=settings.QUEUE_REDIS_CLUSTER
            )
        _backends[key] = backend
    return backend
