"""Liveness and readiness: /healthz/ answers 200 when the database (and Redis, when configured) answer.

A load balancer probes each instance by its own address (Host: 10.0.0.5:8000) and over plain HTTP, so
HealthCheckMiddleware, first in MIDDLEWARE, answers /healthz/ before anything validates the host or
redirects to HTTPS. The answer says which check failed, never how: the exception goes to the log.

Also /hello/, the benchmark yardstick (see bench/README.md).
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

HEALTHZ_PATH = "/healthz/"


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Callable[[], None]] = {"database": _check_database}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception:  # a readiness probe reports any failure, it does not raise
            logger.warning("health check failed: %s", name, exc_info=True)
            results[name] = "error"
    healthy = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **results}, status=200 if healthy else 503)


@never_cache
@require_safe
def hello(request: HttpRequest) -> HttpResponse:
    """The benchmark yardstick: the whole middleware stack doing one cheap thing, a `SELECT 1` round trip.

    No session, no template, no Redis: the least a page that reads the database can cost on this stack.
    bench/rush/ measures it beside the real pages, so "the seat map serves N% of hello's requests per
    second" means the same thing on a fast machine and a noisy one.
    """
    _check_database()
    return HttpResponse(b"hello\n", content_type="text/plain; charset=utf-8")


class HealthCheckMiddleware:
    """Answers HEALTHZ_PATH itself, before the rest of the stack sees the request (first in MIDDLEWARE).

    Nothing here calls request.get_host(): CommonMiddleware would, and answer 400 to a probe whose Host is
    the instance's address, which is not (and should not be) in ALLOWED_HOSTS. SecurityMiddleware's HTTPS
    redirect never sees the probe either. Every other path goes through the whole stack as before.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info == HEALTHZ_PATH:
            return healthz(request)
        return self.get_response(request)


urlpatterns = [
    path(HEALTHZ_PATH.lstrip("/"), healthz, name="healthz"),
    path("hello/", hello, name="hello"),
]
