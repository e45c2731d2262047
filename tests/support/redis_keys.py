"""Cleaning up after a test that wrote to the shared Redis (or the tests' Redis Cluster) under a key prefix of
its own (the rate limits' and the queue's): the keys of that prefix deleted, nobody else's."""

import redis
from redis.cluster import RedisCluster


def delete_prefixed_keys(url, prefix, *, cluster=False):
    if cluster:  # SCAN on every master; DEL split by slot
        client = RedisCluster.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    else:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
