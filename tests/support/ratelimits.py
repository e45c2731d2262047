"""Rate limits as tests set them (config.ratelimit): a small limit for one action, and the Redis keys of a
test's own prefix deleted afterwards."""

import redis


def set_limit(settings, action, *, account=0, ip=0, seconds=60):
    """Replace `action`'s limits for this test (pytest-django's `settings` fixture undoes it)."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, action: {"account": account, "ip": ip, "seconds": seconds}}


def delete_prefixed_keys(url, prefix):
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
