"""The waiting-room pages: join, wait (the page polls a JSON status), leave, and the entry challenge's JSON. Thin
callers of queueing.services.

The page works without JavaScript (a <noscript> meta refresh reloads it); static/js/queue.js polls the
status URL instead and moves the fan on as soon as they are admitted.
"""

import datetime
import hashlib
import json
import math
import random
import uuid
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from accounts.redirects import login_required, redirect_to_next, safe_next
from accounts.requests import AuthenticatedRequest
from concerts.models import Concert, ConcertDate
from config.lockout import client_ip
from config.ratelimit import rate_limited

from . import selectors, services
from .draw import is_receipt
from .exceptions import QueueError, QueueUnavailable
from .gate import room_url, unavailable_response
from .selectors import DrawRecord, DrawState
from .services import QueueStatus

# Polling slows down for fans far from the front: a 100,000-fan queue must not poll itself to death.
MIN_POLL_SECONDS = 3
MAX_POLL_SECONDS = 30
# Fans in the pre-queue learn their drawn place from a poll spread at random over this many seconds after
# the opening, so the whole pre-queue never asks in the same second (the page never reloads at zero).
OPENING_SPREAD_SECONDS = 12


def poll_seconds(current: QueueStatus | None, now: datetime.datetime | None = None) -> int:
    if current is None or current.admitted:
        return MIN_POLL_SECONDS
    if current.prequeued and current.draw_at is not None:
        until = math.ceil((current.draw_at - (now or timezone.now())).total_seconds())
        if until > MAX_POLL_SECONDS:
            return MAX_POLL_SECONDS
        return max(MIN_POLL_SECONDS, until + random.randint(1, OPENING_SPREAD_SECONDS))  # noqa: S311 -- not secret
    if current.eta_seconds is None:  # paused
        return 15
    return max(MIN_POLL_SECONDS, min(MAX_POLL_SECONDS, current.eta_seconds // 20))


def eta_text(seconds: int | None) -> str:
    if seconds is None:
        return _("Admission is paused for the moment")
    if seconds < 60:
        return _("less than a minute")
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return ngettext("about %(count)d minute", "about %(count)d minutes", minutes) % {"count": minutes}
    hours, minutes = divmod(minutes, 60)
    return _("about %(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}


def _concert_url(concert: Concert) -> str:
    try:
        return reverse("concerts:detail", kwargs={"concert_id": concert.pk})
    except NoReverseMatch:
        return "/"


def _seats_url(concert: Concert, date_value: object) -> str | None:
    """The seat map of the chosen date, if the value names a date of this concert."""
    try:
        date_id = uuid.UUID(str(date_value))
    except ValueError:
        return None
    if not ConcertDate.objects.filter(pk=date_id, concert=concert).exists():
        return None
    try:
        return reverse("booking:seats", kwargs={"date_id": date_id})
    except NoReverseMatch:
        return None


def _requested_next(request: HttpRequest, concert: Concert) -> str | None:
    data = request.POST if request.method == "POST" else request.GET
    if data.get("date"):
        seats = _seats_url(concert, data["date"])
        if seats:
            return seats
    return safe_next(request, data.get("next")) or None


PROGRESS_KEY = "queue-progress:{concert_id}"
LEGACY_PROGRESS_PREFIX = "queue-start:"  # one key per visit, written by earlier versions


def _forget_progress(request: HttpRequest, concert: Concert) -> None:
    request.session.pop(PROGRESS_KEY.format(concert_id=concert.pk), None)


def _progress_percent(request: HttpRequest, concert: Concert, current: QueueStatus | None) -> int:
    """How far the fan has come since they first saw the page: 0..100.

    The starting point is kept in the session, one key per concert ([token, fans ahead at the start]),
    replaced when the fan comes back with a new place and removed once they are admitted or have no
    place, so rejoining never grows the session.
    """
    if current is None or current.admitted:
        _forget_progress(request, concert)
        return 100 if current is not None else 0
    key = PROGRESS_KEY.format(concert_id=concert.pk)
    token, start = request.session.get(key) or ("", current.ahead)
    if token != str(current.token) or current.ahead > start:
        start = current.ahead
        request.session[key] = [str(current.token), start]
        for legacy in [k for k in list(request.session.keys()) if k.startswith(LEGACY_PROGRESS_PREFIX)]:
            del request.session[legacy]
    return min(99, int(100 * (start - current.ahead + 1) / (start + 1)))


def _payload(
    request: HttpRequest, concert: Concert, current: QueueStatus | None, next_url: str | None
) -> dict[str, Any]:
    if current is None:
        _forget_progress(request, concert)
        return {
            "joined": False,
            "admitted": False,
            "prequeue": False,
            "receipt": None,
            "draw_at": None,
            "position": None,
            "ahead": None,
            "eta_seconds": None,
            "eta_text": None,
            "paused": False,
            "progress": 0,
            "expires_at": None,
            "next_url": None,
            "poll_seconds": MIN_POLL_SECONDS,
        }
    if current.prequeued:
        return {
            "joined": True,
            "admitted": False,
            "prequeue": True,
            "receipt": current.receipt,
            "draw_at": current.draw_at.isoformat() if current.draw_at else None,
            "position": None,
            "ahead": None,
            "eta_seconds": None,
            "eta_text": None,
            "paused": current.paused,
            "progress": 0,
            "expires_at": None,
            "next_url": None,
            "poll_seconds": poll_seconds(current),
        }
    return {
        "joined": True,
        "admitted": current.admitted,
        "prequeue": False,
        "receipt": current.receipt or None,
        "draw_at": None,
        "position": current.position,
        "ahead": current.ahead,
        "eta_seconds": current.eta_seconds,
        "eta_text": None if current.admitted else eta_text(current.eta_seconds),
        "paused": current.paused,
        "progress": _progress_percent(request, concert, current),
        "expires_at": current.expires_at.isoformat() if current.expires_at else None,
        "next_url": (next_url or _concert_url(concert)) if current.admitted else None,
        "poll_seconds": poll_seconds(current),
    }


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("queue_join", methods=["POST"])
def room(request: AuthenticatedRequest, concert_id: uuid.UUID) -> HttpResponseBase:
    """GET: the waiting room (join button, or the fan's place). POST: join (with the solved entry challenge
    when the room asks for one), then come back here (or go straight on when admitted at once)."""
    concert = get_object_or_404(Concert, pk=concert_id)
    next_url = _requested_next(request, concert)
    now = timezone.now()
    if request.method == "POST":
        try:
            services.check_entry_window(concert, now)
            # A fan who already holds a place (a second tab, a double click) keeps it without a new challenge.
            joined = services.poll_place(user=request.user, concert=concert, now=now)
            if joined is None:
                services.redeem_solution(concert=concert, payload=request.POST.get("altcha"), now=now)
                joined = services.join(user=request.user, concert=concert, now=now, client_ip=client_ip(request))
        except QueueUnavailable as exc:
            return unavailable_response(request, exc)
        except QueueError as exc:
            messages.error(request, exc.message)
            return _render_room(request, concert, None, next_url, now=now, status=exc.status)
        if joined.admitted:
            return redirect_to_next(request, next_url, _concert_url(concert))
        return redirect(room_url(concert, next_url=next_url))
    try:
        current = services.poll_place(user=request.user, concert=concert, now=now)
    except QueueUnavailable as exc:
        return unavailable_response(request, exc)
    return _render_room(request, concert, current, next_url, now=now)


def _render_room(
    request: HttpRequest,
    concert: Concert,
    current: QueueStatus | None,
    next_url: str | None,
    *,
    now: datetime.datetime,
    status: int = 200,
) -> TemplateResponse:
    payload = _payload(request, concert, current, next_url)
    context = {
        "concert": concert,
        "queue": current,
        "payload": payload,
        "next_url": next_url,
        "sale_open": concert.is_on_sale(now),
        "prequeue_open": concert.is_in_prequeue(now),
        "closed": concert.is_over(now),
        "commitment": services.draw_commitment(concert),
        "draw_url": reverse("queueing:draw", kwargs={"concert_id": concert.pk}),
        "concert_url": _concert_url(concert),
        "status_url": reverse("queueing:status", kwargs={"concert_id": concert.pk}),
    }
    return TemplateResponse(request, "queueing/room.html", context, status=status)


@never_cache
@require_safe
@rate_limited("queue_status", json=True)
def status(request: HttpRequest, concert_id: uuid.UUID) -> JsonResponse:
    """JSON for the waiting page's polling: position, ahead, eta_seconds, admitted, next_url (and more)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Please log in to join the waiting room.")}, status=401)
    concert = get_object_or_404(Concert, pk=concert_id)
    try:
        current = services.poll_place(user=request.user, concert=concert)
    except QueueUnavailable as exc:
        response = JsonResponse({"error": str(exc.message), "code": exc.code, "available": False}, status=exc.status)
        response["Retry-After"] = "10"
        return response
    return JsonResponse(_payload(request, concert, current, _requested_next(request, concert)))


@never_cache
@require_safe
def challenge(request: HttpRequest, concert_id: uuid.UUID) -> JsonResponse:
    """JSON: a new proof-of-work challenge for entering this concert's waiting room (the widget fetches it)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Please log in to join the waiting room.")}, status=401)
    concert = get_object_or_404(Concert, pk=concert_id)
    return JsonResponse(services.issue_challenge(concert=concert))


def _room_page(request: HttpRequest, concert_id: uuid.UUID) -> str:
    return reverse("queueing:room", kwargs={"concert_id": concert_id})


@login_required(form_page=_room_page)
@require_POST
def leave_view(request: AuthenticatedRequest, concert_id: uuid.UUID) -> HttpResponse:
    """Give up the place (waiting or admitted), freeing it for the next fan."""
    concert = get_object_or_404(Concert, pk=concert_id)
    try:
        left = services.leave(user=request.user, concert=concert)
    except QueueUnavailable as exc:
        return unavailable_response(request, exc)
    _forget_progress(request, concert)
    if left:
        messages.success(request, _("You left the waiting room for %(concert)s.") % {"concert": concert.title})
    else:
        messages.info(request, _("You were not in the waiting room for %(concert)s.") % {"concert": concert.title})
    return redirect(_concert_url(concert))


# --- the draw's public record ----------------------------------------------------------------------

DRAW_PAGE_SIZE = 500
# Once drawn, a record never changes (only the concert's title might): any cache may keep the download this long.
DRAWN_MAX_AGE_SECONDS = 3600


def _drawn_etag(record: DrawRecord, *more: object) -> str:
    """A drawn record's ETag: its commitment, drawn_at and draw_size, the concert's title, and `more` (what else
    the answer depends on). Before the draw there is none: the record changes at the opening."""
    assert record.drawn_at is not None
    parts = [record.commitment, record.drawn_at.isoformat(), record.draw_size, record.concert.title, *more]
    return '"' + hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:32] + '"'


def _page_etag(request: HttpRequest, record: DrawRecord) -> str:
    """The page's: besides the record, its language and the visitor's own header (who is signed in, their
    name and balance), so a 304 never shows a page in another language or of another visitor."""
    user = request.user
    visitor = (user.pk, user.name, user.email, user.balance) if isinstance(user, User) else ("",)
    return _drawn_etag(record, "page", get_language(), *visitor)


def _cache_draw_answer(response: HttpResponseBase, etag: str | None, *, public: bool) -> HttpResponseBase:
    """Drawn (etag given): the download any cache may keep (public, max-age), the page only the visitor's
    browser, which asks again each time (private, no-cache: it carries their CSRF token, name and balance) and
    gets a 304 while its copy is current. Before the draw: no-cache, since the record changes at the opening."""
    if etag is None:
        patch_cache_control(response, no_cache=True, **({} if public else {"private": True}))
        return response
    response["ETag"] = etag
    if public:
        patch_cache_control(response, public=True, max_age=DRAWN_MAX_AGE_SECONDS)
    else:
        patch_cache_control(response, private=True, no_cache=True)
    return response


def _draw_record(concert: Concert) -> DrawRecord:
    """The concert's draw record; once the pre-queue has opened its room (and so its seed and commitment)
    exists, so the commitment is on show before anyone can be drawn."""
    record = selectors.draw_record(concert)
    if not record.commitment and record.state != DrawState.NOT_OPEN:
        services.draw_commitment(concert)
        record = selectors.draw_record(concert)
    return record


def _page_number(value: str | None) -> int:
    try:
        return int(value or 1)
    except ValueError:
        return 1


@require_safe
@rate_limited("draw")
def draw_view(request: HttpRequest, concert_id: uuid.UUID) -> HttpResponseBase:
    """The concert's draw, public: before it, the commitment and what will happen; after it, the seed and
    every receipt with its place (500 a page, by place), and a receipt finder. No names, no e-mails. Drawn,
    it answers 304 to a visitor whose copy is current (see _cache_draw_answer)."""
    concert = get_object_or_404(Concert, pk=concert_id)
    record = _draw_record(concert)
    etag = _page_etag(request, record) if record.is_drawn else None
    if etag is not None and (not_modified := get_conditional_response(request, etag=etag)) is not None:
        return _cache_draw_answer(not_modified, etag, public=False)
    status = 200
    found: dict[str, Any] | None = None
    page_number = _page_number(request.GET.get("page"))
    asked = request.GET.get("receipt", "").strip().upper()
    if asked:
        if len(asked) > 16 or not is_receipt(asked):
            status = 400
            found = {"receipt": asked[:16], "valid": False}
        else:
            place = selectors.draw_place_of(concert, asked) if record.is_drawn else None
            found = {"receipt": asked, "valid": True, "place": place}
            if place is not None:
                page_number = -(-place // DRAW_PAGE_SIZE)
    json_url = reverse("queueing:draw_json", kwargs={"concert_id": concert.pk})
    context = {
        "concert": concert,
        "record": record,
        "page": selectors.draw_page(record, page=page_number, per_page=DRAW_PAGE_SIZE),
        "found": found,
        "concert_url": _concert_url(concert),
        "json_url": json_url,
        "json_absolute_url": request.build_absolute_uri(json_url),
    }
    response = TemplateResponse(request, "queueing/draw.html", context, status=status)
    return _cache_draw_answer(response, etag if status == 200 else None, public=False)


def _draw_json_chunks(record: DrawRecord) -> Iterator[str]:
    head = {
        "concert": str(record.concert.pk),
        "title": record.concert.title,
        "commitment": record.commitment,
        "seed": record.seed,
        "drawn_at": record.drawn_at.isoformat() if record.drawn_at else None,
        "draw_size": record.draw_size,
    }
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "entries": ['
    if record.is_drawn:
        separator, batch = "", []
        for receipt, place in selectors.draw_entries(record.concert).iterator(chunk_size=5000):
            batch.append(f'["{receipt}",{place}]')  # a receipt is "P" and digits: nothing to escape
            if len(batch) == 5000:
                yield separator + ",".join(batch)
                separator, batch = ",", []
        if batch:
            yield separator + ",".join(batch)
    yield "]}\n"


@require_safe
@rate_limited("draw", json=True)
def draw_json(request: HttpRequest, concert_id: uuid.UUID) -> HttpResponseBase:
    """The draw as JSON, streamed: {"concert", "title", "commitment", "seed", "drawn_at", "draw_size",
    "entries": [[receipt, place], ...]} in place order (seed null and entries empty before the draw).
    HEAD answers the headers without reading the entries. Drawn, any cache may keep it, and a client whose
    copy is current gets a 304 (see _cache_draw_answer)."""
    concert = get_object_or_404(Concert, pk=concert_id)
    record = _draw_record(concert)
    etag = _drawn_etag(record, "json") if record.is_drawn else None
    if etag is not None and (not_modified := get_conditional_response(request, etag=etag)) is not None:
        return _cache_draw_answer(not_modified, etag, public=True)
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(content_type="application/json")
    else:
        response = StreamingHttpResponse(_draw_json_chunks(record), content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="draw-{concert.pk}.json"'
    return _cache_draw_answer(response, etag, public=True)
