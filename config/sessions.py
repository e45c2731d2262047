"""Session engine (SESSION_ENGINE = "config.sessions"): Django's cached_db, for which Redis is only a shortcut.

PostgreSQL is the record, written on every save as in cached_db; the cache (Redis) only spares the query
that reads the session. Unlike Django's cached_db, a cache that cannot be reached never fails the request:
the session is read from PostgreSQL, saved there only, a new session key is checked against PostgreSQL
only (the record), and a log-out deletes the row.

A save or delete that did not reach Redis leaves there an entry that is no longer true (a logged-out
session, older data), which a Redis that comes back with its data (append-only file, a healed network)
would serve again. So this process remembers those keys and deletes them from Redis before it reads a
session from Redis again, and a session stays cached at most SESSION_CACHE_SECONDS, which bounds what is
left if the process ended before Redis came back. Synchronous paths only (Frontrow runs under WSGI).
"""

import logging
import threading
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache.backends.base import BaseCache

from .redis_circuit import UNREACHABLE

logger = logging.getLogger(__name__)

# Cache keys whose Redis entry may be stale (a save or delete missed it); at most this many are kept.
_stale: set[str] = set()
_stale_lock = threading.Lock()
STALE_LIMIT = 100_000


def _remember_stale(key: str) -> None:
    with _stale_lock:
        if len(_stale) < STALE_LIMIT:
            _stale.add(key)
        elif key not in _stale:
            logger.error("session cache: more than %d stale keys, %s left to expire", STALE_LIMIT, key)


def _forget_stale(cache: BaseCache) -> None:
    """Delete the remembered stale entries from Redis; keep them for the next try if it cannot be reached."""
    with _stale_lock:
        keys = list(_stale)
    try:
        cache.delete_many(keys)
    except Exception:
        return
    with _stale_lock:
        _stale.difference_update(keys)


def _log_cache_error(operation: str, exc: Exception) -> None:
    if not isinstance(exc, UNREACHABLE):  # the breaker logs an outage once (a skip is one of these)
        logger.warning("session cache %s failed, using PostgreSQL only: %r", operation, exc)


class SessionStore(cached_db.SessionStore):
    # Set by Django's cached_db.SessionStore; missing from django-stubs.
    _cache: BaseCache

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # The raising face of config.cache.RedisCache: a write must be known to have failed.
        self._strict_cache: BaseCache = getattr(self._cache, "strict", self._cache)

    def _cache_seconds(self, expiry_age: int) -> int:
        return max(0, min(expiry_age, settings.SESSION_CACHE_SECONDS))

    def load(self) -> dict[str, Any]:
        if _stale:
            _forget_stale(self._strict_cache)
        try:
            data: dict[str, Any] | None = self._strict_cache.get(self.cache_key)
        except Exception as exc:  # unreachable, skipped, or a key the backend refuses (Django's #17810)
            _log_cache_error("read", exc)
            data = None
        if data is None:
            stored = self._get_session_from_db()  # type: ignore[attr-defined]  # Django's own, not in the stubs
            if stored is None:
                return {}
            data = self.decode(stored.session_data)
            try:
                seconds = self._cache_seconds(self.get_expiry_age(expiry=stored.expire_date))
                self._strict_cache.set(self.cache_key, data, seconds)
            except Exception as exc:  # nothing was changed: an entry left in Redis is as true as before
                _log_cache_error("fill", exc)
        return data

    def exists(self, session_key: str) -> bool:
        # PostgreSQL holds every session that exists (written through); the cache would only add a round trip.
        return DBStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        DBStore.save(self, must_create)
        key = self.cache_key
        try:
            session = self._session  # type: ignore[attr-defined]  # Django's own, not in the stubs
            self._strict_cache.set(key, session, self._cache_seconds(self.get_expiry_age()))
        except Exception as exc:
            _log_cache_error("write", exc)
            _remember_stale(key)

    def delete(self, session_key: str | None = None) -> None:
        DBStore.delete(self, session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        key = self.cache_key_prefix + session_key
        try:
            self._strict_cache.delete(key)
        except Exception as exc:
            _log_cache_error("delete", exc)
            _remember_stale(key)
