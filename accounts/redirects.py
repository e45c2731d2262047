"""Where a fan goes next: the `next` a link or form carries.

One rule for every page that honours `next` (log-in, sign-up, the wallet's top-up, the waiting room): it
is followed only if it is a path on this site, and only with HttpResponseRedirect. It never goes to
django.shortcuts.redirect(), which would try a bare word ("checkout") as a URL name and raise a 500 after
the action (a top-up, a sign-up, an admission) was already done.
"""

from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

# Never a destination: logging in or signing up and landing on one of these loops (or logs out, by GET: 405).
AUTH_URL_NAMES = ("accounts:login", "accounts:signup", "accounts:logout")


def _auth_paths() -> set[str]:
    return {reverse(name) for name in AUTH_URL_NAMES}


def safe_next(request: HttpRequest, candidate: object) -> str:
    """`candidate` if it is a path on this site, else "".

    A path starts with one "/" (not "//", a scheme-relative URL to another host), passes Django's
    url_has_allowed_host_and_scheme for this request's host, has no control characters, and is not a
    log-in, sign-up or log-out page (a fan sent back there would go round in a circle). For a GET the
    request's own path is refused too: redirecting a page to itself loops.
    """
    if not isinstance(candidate, str) or not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return ""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in candidate):
        return ""
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return ""
    if parts.path in _auth_paths():
        return ""
    if request.method in ("GET", "HEAD") and parts.path == request.path:
        return ""
    return candidate


def redirect_to_next(request: HttpRequest, candidate: object, default: str) -> HttpResponseRedirect:
    """Redirect to `candidate` if safe_next accepts it, else to `default` (a URL name or path of our own)."""
    return HttpResponseRedirect(safe_next(request, candidate) or resolve_url(default))
