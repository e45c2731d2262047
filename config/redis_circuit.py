"""One circuit breaker per Redis server per process: after Redis fails to answer (a refused or timed-out
connection, a read that timed out), every caller in this process skips that server for REDIS_BACKOFF_SECONDS
instead of waiting on it again.

The cache (config.cache), the sessions (config.sessions), the RQ enqueue (config.jobs) and the Redis queue
backend share the breaker of their server, so a dead or hung Redis costs one request one socket timeout
(REDIS_CONNECT_TIMEOUT / REDIS_SOCKET_TIMEOUT) per back-off, not every request its own. Once the back-off has
passed, the next caller alone tries Redis again while the others keep skipping it: if Redis answers, the
breaker closes; if not, another back-off starts.

Per process, not shared: each gunicorn worker, Celery worker and RQ job process finds out for itself, at the
price of one timeout each. Nothing has to be reachable to learn that Redis is not.

The Redis queue backend may sit on a Redis Cluster (cluster_client): there each node has a breaker of its
own, named like a server (breaker_for("redis://host:port")), so a dead shard is skipped without its
neighbours, and the cluster's own ways of saying it cannot serve a slot count as not answering.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

logger = logging.getLogger(__name__)

# Redis did not answer. Any other RedisError (a refused command, out of memory) is an answer. A Redis Cluster
# also fails to answer with a ClusterError (CLUSTERDOWN, redirections that never settle) or a slot that no
# node serves; Breaker.guard turns the client's "no node reachable" into a ConnectionError.
UNREACHABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterError,
    redis.exceptions.SlotNotCoveredError,
)


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

        A connection error or timeout inside opens the breaker (and is re-raised), or the breaker of the
        cluster node the error names if that is another server; anything Redis answered,
        errors included, closes it. A Redis Cluster client that could reach no node to read the slot map
        from raises a RedisClusterException caused by the connection error: that is re-raised as a
        ConnectionError. Its other RedisClusterExceptions are mistakes in the caller (keys of two slots in
        one script) and pass through untouched.
        """
        if not self.allow():
            raise RedisSkipped(f"Redis {self.server} did not answer a moment ago; skipped")
        try:
            yield
        except UNREACHABLE as exc:
            # A Redis Cluster client's error names the node that did not answer: that node's breaker, not
            # this one, when a call reached beyond this node (this node did nothing wrong).
            failed = _failed_server(exc)
            (self if failed is None or failed == self.server else breaker_for(f"redis://{failed}")).failed(exc)
            raise
        except redis.exceptions.RedisClusterException as exc:
            if not isinstance(exc.__cause__ or exc.__context__, UNREACHABLE):
                raise
            self.failed(exc)
            raise redis.exceptions.ConnectionError(f"Redis Cluster {self.server}: {exc}") from exc
        except redis.exceptions.RedisError:
            self.answered()
            raise
        self.answered()


def _failed_server(exc: BaseException) -> str | None:
    """ "host:port" of the server a connection error came from, when redis-py says (its cluster client sets
    `connection` to the node's connection or the node itself); None when it does not."""
    connection = getattr(exc, "connection", None)
    host, port = getattr(connection, "host", None), getattr(connection, "port", None)
    return f"{host}:{port}" if host and port else None


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


_cluster_clients: dict[str, RedisCluster] = {}
_cluster_clients_lock = threading.Lock()  # held while a client reads the slot map: not the breakers' lock


def cluster_client(url: str) -> RedisCluster:
    """One Redis Cluster client per seed URL per process, with the same short timeouts as client().

    The client asks the seed node (or, later, any node it knows) for the slot map, follows MOVED and ASK by
    itself, and after a node fails to answer refreshes the map and tries once more (a replica promoted in a
    failover), not redis-py's default ten times: a dead node costs the caller that finds out the short
    timeouts twice (2 s for a node that hangs, nothing for one that refuses), then its breaker skips it.
    Building the client reads the slot map, so it raises redis.exceptions.ConnectionError (guarded by the
    seed's breaker) when no node answers, and ImproperlyConfigured for a URL a cluster cannot use (a
    database other than 0, a socket path).
    """
    found = _cluster_clients.get(url)
    if found is not None:
        return found
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or parts.path.strip("/") not in ("", "0"):
        raise ImproperlyConfigured(
            f"A Redis Cluster URL is redis://host:port (or rediss://) with database 0 or none, not {url!r}."
        )
    with breaker_for(url).guard(), _cluster_clients_lock:
        found = _cluster_clients.get(url)
        if found is None:
            found = _cluster_clients[url] = RedisCluster.from_url(
                url,
                socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
                socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
                health_check_interval=30,
                retry=Retry(NoBackoff(), 1),
            )
    return found
