"""Liveness and readiness: /healthz/ answers 200 when the database (and Redis, when configured) answer.

Also /hello/, the benchmark yardstick (see bench/README.md).
"""

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis():
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()


@never_cache
@require_safe
def healthz(request):
    checks = {"database": _check_database}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a readiness probe reports any failure, it does not raise
            results[name] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **results}, status=200 if healthy else 503)


@never_cache
@require_safe
def hello(request):
    """The benchmark yardstick: the whole middleware stack doing one cheap thing, a `SELECT 1` round trip.

    No session, no template, no Redis: the least a page that reads the database can cost on this stack.
    bench/rush.py measures it beside the real pages, so "the seat map serves N% of hello's requests per
    second" means the same thing on a fast machine and a noisy one.
    """
    _check_database()
    return HttpResponse(b"hello\n", content_type="text/plain; charset=utf-8")


urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("hello/", hello, name="hello"),
]
