"""Queueing a django-rq job: every app's background mail and work goes through enqueue (booking's confirmations,
refunds and exports; accounts' password-reset and verification e-mails).

Without Redis (the embedded default) there is no RQ: `enqueue` runs the job at once, in the caller.
"""

from collections.abc import Callable
from typing import Any

import django_rq
from django.conf import settings
from rq import Retry
from rq.job import Job

from .redis_circuit import breaker_for
from .redis_circuit import client as redis_client

# Mail servers and databases have bad minutes: try again after 10 s, 1 min and 5 min.
RETRY = Retry(max=3, interval=[10, 60, 300])


def enqueue(func: Callable[..., Any], **kwargs: Any) -> Job | None:
    """Queue func(**kwargs) on RQ's default queue with retries; without Redis, run it now and return None.

    Through the Redis circuit breaker with the short timeouts (config.redis_circuit), not django-rq's own
    connection (no timeout: a hung Redis would hold the request for good): a Redis that does not answer
    raises a redis ConnectionError, at once while the breaker is open. Callers run it from
    transaction.on_commit(robust=True), which logs it.
    """
    if not settings.REDIS_URL and not settings.RQ_ASYNC:
        func(**kwargs)
        return None
    url = settings.RQ_QUEUES["default"]["URL"]
    with breaker_for(url).guard():
        # Callers already enqueue from transaction.on_commit; "auto" stops django-rq deferring a second time.
        queue = django_rq.get_queue("default", commit_mode="auto", connection=redis_client(url))
        return queue.enqueue(func, kwargs=kwargs, retry=RETRY)
