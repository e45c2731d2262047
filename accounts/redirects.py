"""Where a fan goes next: the `next` a link or form carries, and the way back after logging in.

One rule for every page that honours `next` (log-in, sign-up, the wallet's top-up, the waiting room): it
is followed only if it is a path on this site, and only with HttpResponseRedirect. It never goes to
django.shortcuts.redirect(), which would try a bare word ("checkout") as a URL name and raise a 500 after
the action (a top-up, a sign-up, an admission) was already done.

login_required sends an anonymous POST (a button pressed after the session expired) back to the page the
form was on after logging in, not to the POST-only URL, which would answer 405.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast, overload
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

# Never a destination: logging in or signing up and landing on one of these loops (or logs out, by GET: 405).
AUTH_URL_NAMES = ("accounts:login", "accounts:signup", "accounts:logout")

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


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


def _referring_page(request: HttpRequest) -> str:
    """The path (and query) of the page on this site that sent the request, from its Referer; else ""."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(referer)
    return safe_next(request, parts.path + (f"?{parts.query}" if parts.query else ""))


def login_next(request: HttpRequest, form_page: str = "") -> str:
    """Where to come back to after logging in.

    A GET comes back to itself. A POST (a button pressed after the session expired) cannot be replayed by
    a redirect and its URL may not answer a GET at all, so it comes back to the page the form was on: the
    Referer when it is a page of this site other than the POST's own URL, else `form_page`, else the POST's
    URL (right for views that answer GET and POST on one URL).
    """
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = _referring_page(request)
    if referer and urlsplit(referer).path != request.path:
        return referer
    return form_page or request.get_full_path()


_FormPage = str | Callable[..., str] | None


@overload
def login_required(view: _View, *, form_page: _FormPage = None) -> _View: ...
@overload
def login_required(view: None = None, *, form_page: _FormPage = None) -> Callable[[_View], _View]: ...
def login_required(view: _View | None = None, *, form_page: _FormPage = None) -> _View | Callable[[_View], _View]:
    """Django's login_required, except that an anonymous POST comes back to the form's page (login_next).

    `form_page` is the GET page that shows the view's form: a URL name without arguments, or a function
    called with the request and the view's URL arguments that returns a path.
    """

    def decorator(view_func: _View) -> _View:
        @wraps(view_func)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.user.is_authenticated:
                return view_func(request, *args, **kwargs)
            if callable(form_page):
                page = form_page(request, *args, **kwargs)
            elif form_page:
                page = reverse(form_page)
            else:
                page = ""
            return redirect_to_login(login_next(request, page))

        return cast(_View, wrapped)

    return decorator(view) if view is not None else decorator
