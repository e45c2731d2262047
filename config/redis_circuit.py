"""One circuit breaker per Redis server per process: after Redis fails to answer (a refused or timed-out
connection, a read that timed out), every caller in this process skips that server for REDIS_BACKOFF_SECONDS
instead of waiting on it again.

The cache (config.cache), the sessions (config.sessions), the RQ enqueue (booking.jobs) and the Redis queue
backend share the breaker of their server, so a dead or hung Redis costs one request one socket timeout
(REDIS_CONNECT_TIMEOUT / REDIS_SOCKET_TIMEOUT) per back-off, not every request its own. Once the back-off has
passed, the next caller alone tries Redis again while the others keep skipping it: if Redis answers, the
breaker closes; if not, another back-off starts.

Per process, not shared: each gunicorn worker, Celery worker and RQ job process finds out for itself, at the
price of one timeout each. Nothing has to be reachable to learn that Redis is not.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Redis did not answer. Any other RedisError (a refused command, out of memory) is an answer.
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RedisSkipped(redis.exceptions.ConnectionError):
    """Raised instead of calling a Redis server whose breaker is open (it failed less than a back-off ago)."""


class Breaker:
    """Closed (call Redis) or open until a moment (skip it); thread-safe, cheap while closed."""

    def __init__(self, server: str) -> None:
        self.server = server
        self._lock = threading.Lock()
        self._retry_at: float | None = None  # time.monotonic() after which one caller may try; None: closed

    def allow(self) -> bool:
        """May the caller use Redis now? While open, True for one caller per back-off (the one that tries)."""
        if self._retry_at is None:
            return True
        with self._lock:
            if self._retry_at is None:  # another caller closed it while this one waited for the lock
                return True  # type: ignore[unreachable]  # mypy does not see the other thread
            now = time.monotonic()
            if now < self._retry_at:
                return False
            self._retry_at = now + settings.REDIS_BACKOFF_SECONDS  # the others skip while this one tries
            return True

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            newly_open = self._retry_at is None
            self._retry_at = time.monotonic() + settings.REDIS_BACKOFF_SECONDS
        if newly_open:
            logger.error(
                "redis %s did not answer (%s): skipped by this process for %ss at a time until it does",
                self.server,
                exc.__class__.__name__,
                settings.REDIS_BACKOFF_SECONDS,
            )

    def answered(self) -> None:
        if self._retry_at is None:
            return
        with self._lock:
            was_open, self._retry_at = self._retry_at is not None, None
        if was_open:
            logger.warning("redis %s answers again", self.server)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Run the block against Redis, or raise RedisSkipped at once while the breaker is open.

        A connection error or timeout inside opens the breaker (and is re-raised); anything Redis answered,
        errors included, closes it.
        """
        if not self.allow():
            raise RedisSkipped(f"Redis {self.server} did not answer a moment ago; skipped")
        try:
            yield
        except UNREACHABLE as exc:
            self.failed(exc)
            raise
        except redis.exceptions.RedisError:
            self.answered()
            raise
        self.answered()


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def server_of(url: str) -> str:
    """The server a redis:// URL points at ("host:port", or the socket path): databases share a breaker."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def breaker_for(url: str) -> Breaker:
    """This process's breaker for the Redis server of `url`."""
    server = server_of(url)
    breaker = _breakers.get(server)
    if breaker is None:
        with _breakers_lock:
            breaker = _breakers.setdefault(server, Breaker(server))
    return breaker


_clients: dict[str, redis.Redis] = {}


def client(url: str) -> redis.Redis:
    """One redis-py client (one connection pool, thread-safe) per URL per process, with the short timeouts."""
    found = _clients.get(url)
    if found is None:
        with _breakers_lock:
            found = _clients.get(url)
            if found is None:
                found = _clients[url] = redis.Redis.from_url(
                    url,
                    socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
                    socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
                    health_check_interval=30,
                )
    return found
