"""The cache backend: Django's Redis cache behind the Redis circuit breaker, for which a Redis outage is a miss.

Redis only saves work here (the concert page's shared date list, cached sessions), so when it cannot be
reached every read answers what a miss answers (get → default, get_many → {}, has_key → False) and every
write is skipped (set, add → False, delete → False, set_many → every key failed): the `{% cache %}` fragment
is rendered uncached and nothing on the request path turns a Redis outage into a 500. `incr`/`decr` raise:
a counter cannot pretend. While the breaker is open (config.redis_circuit) nothing waits on Redis at all.

`cache.strict` is the same cache, raising instead of degrading, for callers that must know whether a write
happened (config.sessions).
"""

import logging

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property

from .redis_circuit import UNREACHABLE, breaker_for

logger = logging.getLogger(__name__)


class BreakerCacheClient(RedisCacheClient):
    """Every command through the breaker of the (first, written-to) server."""

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self.breaker = breaker_for(servers[0])

    def add(self, key, value, timeout):
        with self.breaker.guard():
            return super().add(key, value, timeout)

    def get(self, key, default):
        with self.breaker.guard():
            return super().get(key, default)

    def set(self, key, value, timeout):
        with self.breaker.guard():
            return super().set(key, value, timeout)

    def touch(self, key, timeout):
        with self.breaker.guard():
            return super().touch(key, timeout)

    def delete(self, key):
        with self.breaker.guard():
            return super().delete(key)

    def get_many(self, keys):
        with self.breaker.guard():
            return super().get_many(keys)

    def has_key(self, key):
        with self.breaker.guard():
            return super().has_key(key)

    def incr(self, key, delta):
        with self.breaker.guard():
            return super().incr(key, delta)

    def set_many(self, data, timeout):
        with self.breaker.guard():
            return super().set_many(data, timeout)

    def delete_many(self, keys):
        with self.breaker.guard():
            return super().delete_many(keys)

    def clear(self):
        with self.breaker.guard():
            return super().clear()


class StrictRedisCache(DjangoRedisCache):
    """Django's Redis cache through the breaker: raises redis errors (RedisSkipped while the breaker is open)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = BreakerCacheClient


class RedisCache(StrictRedisCache):
    """CACHES["default"]["BACKEND"] = "config.cache.RedisCache": a Redis that does not answer is a miss."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self.strict = StrictRedisCache(server, params)

    @cached_property
    def _cache(self):
        return self.strict._cache  # one client, one connection pool for both faces

    def _degraded(self, operation, fallback, call, *args):
        try:
            return call(*args)
        except redis.exceptions.RedisError as exc:
            if not isinstance(exc, UNREACHABLE):  # those are logged once per outage by the breaker
                logger.warning("cache %s failed, treated as a miss: %r", operation, exc)
            return fallback

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._degraded("add", False, super().add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._degraded("get", default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._degraded("set", None, super().set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._degraded("touch", False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._degraded("delete", False, super().delete, key, version)

    def get_many(self, keys, version=None):
        return self._degraded("get_many", {}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._degraded("has_key", False, super().has_key, key, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._degraded("set_many", list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._degraded("delete_many", None, super().delete_many, keys, version)

    def clear(self):
        return self._degraded("clear", False, super().clear)
