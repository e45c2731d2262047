"""Site-wide response handling: the Content-Security-Policy header, Retry-After on every 429, a 503 page when
the database is lost, and a faster masking of the CSRF token for Django's CSRF middleware.

The CSP lets the browser run only our own scripts and styles, from our own origin.

The fans' pages have no inline <script>, no inline style attribute or <style> element and no event-handler
attribute (tests/security/test_csp.py renders every page and checks), so their policy needs no
'unsafe-inline' and no nonce. Django's admin and the RQ dashboard (staff only) ship inline styles and
scripts of their own; paths under CSP_STAFF_PATH_PREFIXES get CSP_STAFF_POLICY, which allows them.
"""

import functools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware import csrf
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

GetResponse = Callable[[HttpRequest], HttpResponseBase]
ViewFunc = Callable[..., HttpResponseBase]


def policy_header(directives: Mapping[str, Sequence[str]]) -> str:
    """{"script-src": ["'self'"], ...} → "script-src 'self'; ..." (directives without sources stand alone)."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def csp_header_name() -> str:
    return "Content-Security-Policy-Report-Only" if settings.CSP_REPORT_ONLY else "Content-Security-Policy"


def with_policy(setting: str) -> Callable[[ViewFunc], ViewFunc]:
    """A view decorator: its responses carry the policy of the setting named (e.g. "CSP_DOOR_POLICY") instead of
    the site's (the middleware keeps a policy a view set). For the one page that needs a source more than the
    fans' policy gives (the door's QR scanner)."""

    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def with_header(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            response[csp_header_name()] = policy_header(getattr(settings, setting))
            return response

        return with_header

    return decorate


class ContentSecurityPolicyMiddleware:
    """Adds Content-Security-Policy to every response that does not set one itself."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.header = policy_header(settings.CSP_POLICY)
        self.staff_header = policy_header(settings.CSP_STAFF_POLICY)
        self.staff_prefixes = tuple(settings.CSP_STAFF_PATH_PREFIXES)
        self.header_name = csp_header_name()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.header_name not in response:
            staff = request.path_info.startswith(self.staff_prefixes)
            response[self.header_name] = self.staff_header if staff else self.header
        return response


# Retry-After of a 429 that did not say when to try again: a refusal with no window of its own, such as
# queueing's TooManyPlacesFromAddress (a place of that address frees when its fan pays, leaves or times out).
DEFAULT_RETRY_AFTER_SECONDS = 60


class RetryAfterMiddleware:
    """Every 429 Too Many Requests carries Retry-After (RFC 6585, 9110), whichever view answered it: the
    rate limits' and the log-in lockout's own, else DEFAULT_RETRY_AFTER_SECONDS. Views that show a refusal
    with its status (e.g. the waiting room's join) need not know which of their refusals are 429s."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code == 429 and "Retry-After" not in response:
            response["Retry-After"] = str(DEFAULT_RETRY_AFTER_SECONDS)
        return response


class DatabaseUnavailableMiddleware:
    """A request whose database connection broke (dropped, terminated, failed over) answers a 503 page.

    The transaction it was in is gone with the connection, so nothing it started is half-written; Django
    closes the broken connection at the end of the request and the next request opens a new one
    (CONN_HEALTH_CHECKS also catches a persistent connection that died while idle). The page is rendered
    without the request, so it needs no database itself (no session, no user).
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("database unavailable during %s %s", request.method, request.path, exc_info=exception)
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "5"
        return response


# --- CSRF -----------------------------------------------------------------------------------------------------

_CSRF_CHARS = csrf.CSRF_ALLOWED_CHARS
_CSRF_INDEX = {char: index for index, char in enumerate(_CSRF_CHARS)}
_CSRF_LENGTH = csrf.CSRF_SECRET_LENGTH
# Random bytes below this map evenly onto the characters (248 = 4 x 62); the others are drawn again.
_CSRF_BYTE_LIMIT = 256 - 256 % len(_CSRF_CHARS)


def mask_cipher_secret(secret: str) -> str:
    """What django.middleware.csrf._mask_cipher_secret returns, a seventh of its CPU: a mask of CSRF_SECRET_LENGTH
    characters drawn uniformly from the operating system's random source (as Django's get_random_string draws them
    with secrets.choice), then the secret shifted by it, character by character. Every page that shows a form masks
    the token once; Django's draws each character with a call of its own and looks characters up with str.index
    (~33 µs, 3% of a page's CPU, against ~5 µs here)."""
    count = len(_CSRF_CHARS)
    mask = [byte % count for byte in os.urandom(_CSRF_LENGTH + 8) if byte < _CSRF_BYTE_LIMIT]
    while len(mask) < _CSRF_LENGTH:  # 9 or more of 40 bytes refused: about 3 tokens in a million
        mask += [byte % count for byte in os.urandom(8) if byte < _CSRF_BYTE_LIMIT]
    del mask[_CSRF_LENGTH:]
    chars, index = _CSRF_CHARS, _CSRF_INDEX
    shifted = [chars[(index[char] + offset) % count] for char, offset in zip(secret, mask, strict=True)]
    return "".join([chars[offset] for offset in mask] + shifted)


# Installed when the site's middleware is loaded (MIDDLEWARE lists this module's classes), so before any request:
# Django's CsrfViewMiddleware stays in MIDDLEWARE as itself (`check --deploy` looks for it by name to run its CSRF
# checks), and its get_token (the views, {% csrf_token %}) masks with mask_cipher_secret, which Django's unmasking
# reads alike (tests/config/test_csrf_mask.py). A process that never loads it masks with Django's own: as correct.
csrf._mask_cipher_secret = mask_cipher_secret  # type: ignore[attr-defined]  # Django's own, not in the stubs
