"""The API counts against the same rate limits as the pages (config.ratelimit): a hold is a hold, wherever it
comes from. Over a limit the operation raises RateLimited, answered 429 with Retry-After (api.problems)."""

from django.http import HttpRequest

from config.ratelimit import check_rate_limit


def rate_limit(request: HttpRequest, action: str) -> None:
    """Count this request against `action`'s limits (settings.RATE_LIMITS) or raise RateLimited."""
    check_rate_limit(action, request)
