"""FastPollMiddleware: answers the waiting page's status poll before the session, language, CSRF, authentication
and messages middleware run, when the request's queue pass lets it (queueing.views.fast_status); every other
request, and every poll it cannot answer, goes on through the whole stack unchanged.

In MIDDLEWARE after the security, CSP and Retry-After middleware (its answers get their headers) and before
SessionMiddleware (whose work it spares: no session read, no user query).
"""

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .views import fast_status

# queueing/urls.py's "status" route (tests/queueing/test_views_fast_poll.py checks they agree).
STATUS_PATH = re.compile(r"^/concerts/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/queue/status/$")


class FastPollMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if (
            request.method in ("GET", "HEAD")
            and settings.QUEUE_PASS_COOKIE_NAME in request.COOKIES
            and (found := STATUS_PATH.match(request.path_info))
        ):
            request.get_host()  # a Host outside ALLOWED_HOSTS is refused (400) as CommonMiddleware would
            response = fast_status(request, uuid.UUID(found[1]))
            if response is not None:
                return response
        return self.get_response(request)
