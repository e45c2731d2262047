"""The cache backend: Django's Redis cache behind the Redis circuit breaker, for which a Redis outage is a miss.

Redis only saves work here (the concert page's shared date list, cached sessions), so when it cannot be
reached every read answers what a miss answers (get → default, get_many → {}, has_key → False) and every
write is skipped (set, add → False, delete → False, set_many → every key failed): the `{% cache %}` fragment
is rendered uncached and nothing on the request path turns a Redis outage into a 500. `incr`/`decr` raise:
a counter cannot pretend. While the breaker is open (config.redis_circuit) nothing waits on Redis at all.

`cache.strict` is the same cache, raising instead of degrading, for callers that must know whether a write
happened (config.sessions).
"""

import datetime
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property

from .redis_circuit import UNREACHABLE, breaker_for

logger = logging.getLogger(__name__)

# django-stubs' names for what a Redis cache client takes (its _Key and _Expiry).
Key = str | bytes | memoryview
Expiry = int | datetime.timedelta

_T = TypeVar("_T")


class BreakerCacheClient(RedisCacheClient):
    """Every command through the breaker of the (first, written-to) server."""

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self.breaker = breaker_for(servers[0])
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Key | None = None, *, write: bool = False) -> redis.Redis:
        """One client per connection pool, kept for the process: Django's builds a new redis.Redis for every
        command, and building one (its table of reply parsers) costs about as much CPU as the command itself.
        A client is safe to share between threads (each command borrows a connection from the pool)."""
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]  # Django's, not in the stubs
        client = self._clients.get(index)
        if client is None:  # two threads may both build one: either is fine
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def add(self, key: Key, value: Any, timeout: Expiry | None) -> bool:
        with self.breaker.guard():
            return super().add(key, value, timeout)

    def get(self, key: Key, default: Any) -> Any:
        with self.breaker.guard():
            return super().get(key, default)

    def set(self, key: Key, value: Any, timeout: Expiry | None) -> None:
        with self.breaker.guard():
            return super().set(key, value, timeout)

    def touch(self, key: Key, timeout: Expiry) -> bool:
        with self.breaker.guard():
            return super().touch(key, timeout)

    def delete(self, key: Key) -> bool:
        with self.breaker.guard():
            return super().delete(key)

    def get_many(self, keys: Iterable[Key]) -> dict[Key, Any]:
        with self.breaker.guard():
            return super().get_many(keys)

    def has_key(self, key: Key) -> bool:
        with self.breaker.guard():
            return super().has_key(key)

    def incr(self, key: Key, delta: int) -> Any:
        with self.breaker.guard():
            return super().incr(key, delta)

    def set_many(self, data: Mapping[Key, Any], timeout: Expiry) -> None:
        with self.breaker.guard():
            return super().set_many(data, timeout)

    def delete_many(self, keys: Iterable[Key]) -> None:
        with self.breaker.guard():
            return super().delete_many(keys)

    def clear(self) -> bool:
        with self.breaker.guard():
            return super().clear()


class StrictRedisCache(DjangoRedisCache):
    """Django's Redis cache through the breaker: raises redis errors (RedisSkipped while the breaker is open)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = BreakerCacheClient


class RedisCache(StrictRedisCache):
    """CACHES["default"]["BACKEND"] = "config.cache.RedisCache": a Redis that does not answer is a miss."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.strict = StrictRedisCache(server, params)

    @cached_property
    def _cache(self) -> RedisCacheClient:
        client: RedisCacheClient = self.strict._cache  # type: ignore[attr-defined]  # Django's own, not in the stubs
        return client  # one client, one connection pool for both faces

    def _degraded(self, operation: str, fallback: _T, call: Callable[..., _T], *args: Any) -> _T:
        try:
            return call(*args)
        except redis.exceptions.RedisError as exc:
            if not isinstance(exc, UNREACHABLE):  # those are logged once per outage by the breaker
                logger.warning("cache %s failed, treated as a miss: %r", operation, exc)
            return fallback

    def add(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._degraded("add", False, super().add, key, value, timeout, version)

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self._degraded("get", default, super().get, key, default, version)

    def set(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        return self._degraded("set", None, super().set, key, value, timeout, version)

    def touch(self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._degraded("touch", False, super().touch, key, timeout, version)

    def delete(self, key: str, version: int | None = None) -> bool:
        return self._degraded("delete", False, super().delete, key, version)

    def get_many(self, keys: Iterable[str], version: int | None = None) -> dict[str, Any]:
        return self._degraded("get_many", {}, super().get_many, keys, version)

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self._degraded("has_key", False, super().has_key, key, version)

    def set_many(
        self, data: Mapping[str, Any], timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[str]:
        return self._degraded("set_many", list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys: Iterable[str], version: int | None = None) -> None:
        return self._degraded("delete_many", None, super().delete_many, keys, version)

    # Django's RedisCache.clear is self._cache.clear(): flushdb's bool (False here when Redis is not reached).
    def clear(self) -> bool:  # type: ignore[override]  # the stubs say BaseCache.clear returns None
        return self._degraded("clear", False, self._cache.clear)
