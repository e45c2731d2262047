"""Rate limits as tests set them (config.ratelimit): a small limit for one action. (tests/conftest.py gives
each test its own key prefix and deletes its keys afterwards: tests.support.redis_keys.)"""


def set_limit(settings, action, *, account=0, ip=0, seconds=60):
    """Replace `action`'s limits for this test (pytest-django's `settings` fixture undoes it)."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, action: {"account": account, "ip": ip, "seconds": seconds}}
