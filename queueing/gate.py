"""The gate in front of booking: only fans admitted from a concert's waiting room get through.

Admission is server-side state bound to the logged-in user (queueing.services.touch); nothing the
browser sends (a token id, a cookie, a form field) is consulted, so a copied token grants nothing.
"""

import functools
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast, overload

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.redirects import login_next
from accounts.requests import AuthenticatedRequest
from concerts import page_cache
from concerts.models import Concert, ConcertDate

from . import services
from .exceptions import QueueUnavailable

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


class AdmittedRequest(AuthenticatedRequest):
    """The request a view behind admitted_required gets: the gate has set these."""

    concert: Concert
    concert_date: ConcertDate  # only for a URL with a `date_id`
    admitted: bool
    # Only for a URL with a `date_id`: what the cache held under the keys `also_cached` named, read with the
    # date's shared copy ({} when the copy is off, and without those it did not hold).
    cached_with_date: dict[str, object]


def admission(*, user: User, concert: Concert) -> tuple[bool, services.QueueStatus | None]:
    """(whether `user` is admitted for `concert` right now, their waiting place if not): the admission refreshed
    (services.touch), else the place polled, which may run an overdue admission that lets this fan in just now.
    Raises QueueUnavailable. The one check behind the pages' gate and the JSON API's (api.gates)."""
    admitted = services.touch(user=user, concert=concert)
    current = None if admitted else services.poll_place(user=user, concert=concert)
    return admitted or (current is not None and current.admitted), current


def unavailable_response(request: HttpRequest, exc: QueueUnavailable | None = None) -> TemplateResponse:
    """The 503 page shown when the queue's backend (Redis) cannot be reached."""
    exc = exc or QueueUnavailable()
    response = TemplateResponse(request, "queueing/unavailable.html", {"message": exc.message}, status=exc.status)
    response["Retry-After"] = "10"
    return response


def room_url(concert: Concert, *, next_url: str | None = None) -> str:
    url = reverse("queueing:room", kwargs={"concert_id": concert.pk})
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _uuid_or_404(value: object) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise Http404 from exc


def _resolve(
    kwargs: dict[str, Any], also_cached: Callable[[uuid.UUID], Sequence[str]] | None
) -> tuple[Concert, ConcertDate | None, dict[str, object]]:
    """(concert, concert_date or None, what the cache held of also_cached's keys) from the view's `date_id` or
    `concert_id` URL kwarg; 404 if unknown."""
    if "date_id" in kwargs:
        # The seat map, hold and checkout of a sale all read the same few dates: a copy shared for a few seconds
        # (concerts.page_cache); hold and pay re-read the date row under its lock.
        date_id = _uuid_or_404(kwargs["date_id"])
        concert_date, found = page_cache.concert_date_with(date_id, also_cached(date_id) if also_cached else ())
        if concert_date is None:
            raise Http404("No such concert date.")
        return concert_date.concert, concert_date, found
    if "concert_id" in kwargs:
        return get_object_or_404(Concert, pk=_uuid_or_404(kwargs["concert_id"])), None, {}
    raise ImproperlyConfigured("admitted_required needs a `date_id` or `concert_id` URL argument.")


@overload
def admitted_required(
    view: _View,
    *,
    open_without_admission: Callable[[AdmittedRequest], bool] | None = None,
    also_cached: Callable[[uuid.UUID], Sequence[str]] | None = None,
    json: bool = False,
    form_page: Callable[..., str] | None = None,
) -> _View: ...
@overload
def admitted_required(
    view: None = None,
    *,
    open_without_admission: Callable[[AdmittedRequest], bool] | None = None,
    also_cached: Callable[[uuid.UUID], Sequence[str]] | None = None,
    json: bool = False,
    form_page: Callable[..., str] | None = None,
) -> Callable[[_View], _View]: ...
def admitted_required(
    view: _View | None = None,
    *,
    open_without_admission: Callable[[AdmittedRequest], bool] | None = None,
    also_cached: Callable[[uuid.UUID], Sequence[str]] | None = None,
    json: bool = False,
    form_page: Callable[..., str] | None = None,
) -> _View | Callable[[_View], _View]:
    """Let the request through only if its user is admitted for the concert of the URL right now.

    Requires login (anonymous users go to the log-in page), resolves the concert from `date_id` (a
    ConcertDate) or `concert_id` (unknown ids answer 404), refreshes the admission (services.touch) and
    sets request.concert (and request.concert_date) and request.admitted. Anyone else is redirected to the
    waiting room with a message; when the queue's backend is down the answer is a 503 page.

    `open_without_admission(request)`, if given, is asked only for a logged-in fan the queue says is not
    admitted (request.concert and request.concert_date already set): True lets the request through with
    request.admitted False. Checkout uses it so a fan whose admission ended can still pay seats already held;
    what it allows must never take new seats.

    `also_cached(date_id)`, if given, names cache keys the view reads on every request (the seat map's seat
    version): they are read in the same round trip as the date's shared copy and handed to the view as
    request.cached_with_date.

    `json`: a view scripts call (the seat map's live state). Anyone not admitted gets a 403 JSON answer
    `{"admitted": false, "next_url": <the waiting room>}` instead of the redirect, and no message is queued for
    the next page; a queue that cannot be reached is a 503 JSON answer. Usable as @admitted_required or
    @admitted_required(...).

    `form_page(request, *args, **kwargs)`, if given, is the path of the page whose form POSTs here: a fan not
    admitted who pressed its button is sent to the waiting room with it as `next`, so once let in they come back
    to that page (a GET comes back to itself; a POST without a form page comes back to the room's default).
    """
    if view is None:
        return functools.partial(
            admitted_required,
            open_without_admission=open_without_admission,
            also_cached=also_cached,
            json=json,
            form_page=form_page,
        )

    @functools.wraps(view)
    def gated(http_request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not http_request.user.is_authenticated:
            return redirect_to_login(login_next(http_request))
        request = cast(AdmittedRequest, http_request)  # the attributes are set below
        concert, concert_date, cached = _resolve(kwargs, also_cached)
        try:
            admitted, current = admission(user=request.user, concert=concert)
        except QueueUnavailable as exc:
            if json:
                unavailable = JsonResponse({"error": exc.code, "message": str(exc.message)}, status=exc.status)
                unavailable["Retry-After"] = "10"
                return unavailable
            return unavailable_response(request, exc)
        request.concert, request.admitted = concert, admitted
        if concert_date is not None:
            request.concert_date, request.cached_with_date = concert_date, cached
        if admitted or (open_without_admission is not None and open_without_admission(request)):
            return view(request, *args, **kwargs)
        if json:
            return JsonResponse({"admitted": False, "next_url": room_url(concert)}, status=403)
        if current is None:
            messages.info(request, _("Please join the waiting room first: booking opens to fans in turn."))
        else:
            messages.info(
                request,
                _("You are still in the waiting room (number %(position)s). We will let you in soon.")
                % {"position": current.position},
            )
        if request.method in ("GET", "HEAD"):
            comes_back: str | None = request.get_full_path()
        else:  # a POST's URL is no page to come back to; the page its form is on is
            comes_back = form_page(request, *args, **kwargs) if form_page is not None else None
        return redirect(room_url(concert, next_url=comes_back))

    return cast(_View, gated)
