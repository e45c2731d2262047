"""The waiting-room pages: join, wait (the page polls a JSON status), leave, and the entry challenge's JSON. Thin
callers of queueing.services.

The page works without JavaScript (a <noscript> meta refresh reloads it); static/js/queue.js polls the
status URL instead and moves the fan on as soon as they are admitted.
"""

import datetime
import hashlib
import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from accounts.redirects import login_required, redirect_to_next, safe_next
from accounts.requests import AuthenticatedRequest
from accounts.selectors import must_verify_email
from accounts.views import verification_required_response
from concerts import page_cache
from concerts.models import Concert, ConcertDate
from config.lockout import client_ip
from config.ratelimit import RateLimited, check_rate_limit, limited_response, rate_limited

from . import passes, room_page, selectors, services
from .draw import is_receipt
from .exceptions import QueueError, QueueUnavailable
from .gate import room_url, unavailable_response
from .models import WaitingRoom
from .passes import QueuePass, drop_pass, issue_pass, read_pass
from .selectors import DrawRecord, DrawState
from .services import QueueStatus


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


def _concert_url(concert_id: uuid.UUID) -> str:
    try:
        return reverse("concerts:detail", kwargs={"concert_id": concert_id})
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


def _progress(current: QueueStatus | None, kept: QueuePass | None) -> tuple[int, int]:
    """How far the fan has come since this browser first saw their place, 0..100, and that start (fans ahead
    then), which the queue pass keeps (queueing.passes): a new place, or one further back, starts again."""
    if current is None:
        return 0, 0
    if current.admitted:
        return 100, 0
    start = current.ahead
    if kept is not None and kept.token == current.token and current.ahead <= kept.start:
        start = kept.start
    return min(99, int(100 * (start - current.ahead + 1) / (start + 1))), start


def _payload(concert_id: uuid.UUID, current: QueueStatus | None, next_url: str | None, progress: int) -> dict[str, Any]:
    if current is None:
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
            "poll_seconds": services.poll_seconds(None),
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
            "poll_seconds": services.poll_seconds(current),
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
        "progress": progress,
        "expires_at": current.expires_at.isoformat() if current.expires_at else None,
        "next_url": (next_url or _concert_url(concert_id)) if current.admitted else None,
        "poll_seconds": services.poll_seconds(current),
    }


def _keep_pass(
    response: HttpResponseBase,
    request: HttpRequest,
    concert_id: uuid.UUID,
    current: QueueStatus | None,
    start: int,
    kept: QueuePass | None = None,
) -> None:
    """After a full path: give a fan who waits (or is in the pre-queue) the pass their next polls use; forget it
    once they hold no place. An admitted fan's page goes on to the seats and keeps whatever it has. Given on
    every backend: besides the fast path (the Redis backend's), it keeps the progress bar's start. `kept`, the
    request's own pass, is not given again while it says the same and is young (passes.keeps)."""
    user = request.user
    if current is None:
        if settings.QUEUE_PASS_COOKIE_NAME in request.COOKIES:
            drop_pass(response, concert_id)
    elif not current.admitted and isinstance(user, User):
        queue_pass = QueuePass(
            user_id=user.pk, concert_id=concert_id, token=current.token, start=start, label=user.email
        )
        if not passes.keeps(kept, queue_pass):
            issue_pass(response, request, queue_pass)


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("queue_join", methods=["POST"])
def room(request: AuthenticatedRequest, concert_id: uuid.UUID) -> HttpResponseBase:
    """GET: the waiting room (join button, or the fan's place). POST: join (with the solved entry challenge
    when the room asks for one), then come back here (or go straight on when admitted at once)."""
    if request.method != "POST":
        return _waiting_page(request, concert_id)
    # The room comes with the concert (one query): the join and its challenge read it.
    concert = get_object_or_404(Concert.objects.select_related("waiting_room"), pk=concert_id)
    next_url = _requested_next(request, concert)
    if must_verify_email(request.user):
        # Before anything is counted or changed: the page says why and sends the link again on request.
        return verification_required_response(request, next_url=room_url(concert, next_url=next_url))
    now = timezone.now()
    try:
        # A fan who already holds a place (a second tab, a double click) keeps it without a new challenge.
        joined = services.enter(
            user=request.user,
            concert=concert,
            challenge_solution=request.POST.get("altcha"),
            now=now,
            client_ip=client_ip(request),
        )
    except QueueUnavailable as exc:
        return unavailable_response(request, exc)
    except QueueError as exc:
        messages.error(request, exc.message)
        return _render_room(request, concert, None, next_url, now=now, status=exc.status)
    if joined.admitted:
        return redirect_to_next(request, next_url, _concert_url(concert.pk))
    return redirect(room_url(concert, next_url=next_url))


def _waiting_page(request: AuthenticatedRequest, concert_id: uuid.UUID) -> HttpResponseBase:
    """The waiting room's page. The concert (with its room) is the page cache's shared copy; the fan's place is
    what their status poll would answer (the room's pause and capacity as the poll sees them, not as cached)."""
    concert = page_cache.concert(concert_id, related=("waiting_room",))
    if concert is None:
        raise Http404("No concert matches the given query.")
    next_url = _requested_next(request, concert)
    now = timezone.now()
    try:
        concert, current = _place_for_page(request.user, concert, now)
    except QueueUnavailable as exc:
        return unavailable_response(request, exc)
    return _render_room(request, concert, current, next_url, now=now)


def _place_for_page(user: User, concert: Concert, now: datetime.datetime) -> tuple[Concert, QueueStatus | None]:
    """The fan's place, as their status poll gets it: from the backend alone where it can answer (poll_quickly,
    which reads the room's mirror: a pause or a staff change drops it at once), else from poll_place with the
    concert and room read afresh, since poll_place may run the draw or an admission run and mirrors the room it
    is given. Returns the concert the page shows with it (the fresh one when read)."""
    if _room_read_with(concert) is not None and services.has_fast_poll():
        quick = services.poll_quickly(concert_id=concert.pk, user_id=user.pk, now=now)
        if quick is not None:
            return concert, quick.status
    concert = get_object_or_404(Concert.objects.select_related("waiting_room"), pk=concert.pk)
    room = _room_read_with(concert)
    return concert, services.poll_place(user=user, concert=concert, now=now, room=room) if room else None


def _room_read_with(concert: Concert) -> WaitingRoom | None:
    """The concert's waiting room as read with it (select_related), None if it has none yet."""
    try:
        return concert.waiting_room
    except WaitingRoom.DoesNotExist:
        return None


def _commitment(concert: Concert, current: QueueStatus | None, now: datetime.datetime) -> str:
    """The draw's commitment where the page shows it (the pre-queue's rules, a fan's receipt), else ""."""
    sale = services.current_sale(concert, now)
    if not (current.receipt if current is not None else sale.is_in_prequeue(now)):
        return ""
    room = _room_read_with(concert)
    if room is not None and room.draw_commitment and room.serving_presale == sale.key:
        return room.draw_commitment
    return services.draw_commitment(concert)  # makes the room, or moves it on to this sale


def _render_room(
    request: HttpRequest,
    concert: Concert,
    current: QueueStatus | None,
    next_url: str | None,
    *,
    now: datetime.datetime,
    status: int = 200,
) -> TemplateResponse:
    kept = read_pass(request, concert.pk) if current is not None else None
    progress, start = _progress(current, kept)
    payload = _payload(concert.pk, current, next_url, progress)
    sale = services.current_sale(concert, now)
    facts = room_page.RoomFacts(
        pk=concert.pk,
        title=concert.title,
        sale_opens_at=sale.sale_opens_at,
        prequeue_starts_at=sale.prequeue_starts_at,
        commitment=_commitment(concert, current, now),
        presale_name=sale.presale.name if sale.presale is not None else "",
        presale_url=(
            reverse("concerts:presale", kwargs={"concert_id": concert.pk, "presale_id": sale.presale.pk})
            if sale.presale is not None
            else ""
        ),
        general_prequeue_starts_at=concert.prequeue_starts_at,
    )
    # A presale's room, to a fan not on its list: no join form, but when the general sale's room opens.
    presale_only = current is None and not services.may_enter(sale, request.user)
    # The join form's challenge widget: a fan who holds no place (current is None) and must solve one to enter.
    challenge = current is None and services.is_entry_open(concert, now) and selectors.challenge_is_on(concert=concert)
    must_verify = current is None and must_verify_email(request.user)
    state = room_page.room_state(
        sale,
        current,
        next_url,
        now=now,
        challenge=challenge and not presale_only,
        must_verify=must_verify,
        presale_only=presale_only,
    )
    csrf_token = get_token(request)  # one for the whole page: base.html's forms take it from the context too
    email = request.user.email if must_verify and isinstance(request.user, User) else ""
    page = room_page.render(
        facts, state, csrf_token=csrf_token, current=current, payload=payload, next_url=next_url, now=now, email=email
    )
    context = {
        "concert": concert,
        "queue": current,
        "payload": payload,
        "next_url": next_url,
        "csrf_token": csrf_token,
        "room_title": page.title,
        "room_head": page.head,
        "room_content": page.content,
    }
    response = TemplateResponse(request, "queueing/room.html", context, status=status)
    _keep_pass(response, request, concert.pk, current, start, kept)
    return response


@never_cache
@require_safe
@rate_limited("queue_status", json=True)
def status(request: HttpRequest, concert_id: uuid.UUID) -> JsonResponse:
    """JSON for the waiting page's polling: position, ahead, eta_seconds, admitted, next_url (and more).

    The full path: most polls are answered before this by queueing.middleware.FastPollMiddleware (see
    fast_status), from the queue pass this view and the page give a waiting fan."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Please log in to join the waiting room.")}, status=401)
    concert = get_object_or_404(Concert, pk=concert_id)
    try:
        current = services.poll_place(user=request.user, concert=concert)
    except QueueUnavailable as exc:
        response = JsonResponse({"error": str(exc.message), "code": exc.code, "available": False}, status=exc.status)
        response["Retry-After"] = "10"
        return response
    kept = read_pass(request, concert.pk) if current is not None else None
    progress, start = _progress(current, kept)
    response = JsonResponse(_payload(concert.pk, current, _requested_next(request, concert), progress))
    _keep_pass(response, request, concert.pk, current, start, kept)
    return response


def fast_status(request: HttpRequest, concert_id: uuid.UUID) -> HttpResponse | None:
    """The status poll's answer without the session, the user or the database, or None to take the full path
    (status). Called by queueing.middleware.FastPollMiddleware before the session and authentication middleware.

    Only with a genuine queue pass for this concert and session (queueing.passes), and only when the backend alone
    gives what poll_place would (services.poll_quickly: not for an admitted fan, a draw that is due, an overdue
    admission run, a database backend, or a room not mirrored in the last seconds) and the pass's place is the fan's
    place; when that place lies further back than the pass's start (the first poll after the draw), the answer
    carries the pass again with the new start, signed from the pass alone. The same rate limit (counted against the
    pass's account and the address, once: a poll that goes on to the full path is not counted there again), the same
    JSON, and the same 429, in the language the request asks for (its language cookie or Accept-Language:
    LocaleMiddleware has not run yet).
    """
    if not services.has_fast_poll():
        return None  # the database backend: nothing to read before the full path, nothing to count twice
    queue_pass = read_pass(request, concert_id)
    if queue_pass is None:
        return None
    language = translation.get_language_from_request(request)
    with translation.override(language):
        try:
            check_rate_limit("queue_status", request, account=(str(queue_pass.user_id), queue_pass.label))
        except RateLimited as refusal:
            return _as_full_path_would(limited_response(request, refusal, json=True), language)
    try:
        polled = services.poll_quickly(concert_id=concert_id, user_id=queue_pass.user_id)
    except QueueUnavailable:
        return None  # the full path answers the 503 (at once while the backend's breaker is open)
    if polled is None:
        return None
    current = polled.status
    if current is not None and current.token != queue_pass.token:
        return None  # a place this pass was not issued for: the full path starts its progress again
    progress, start = _progress(current, queue_pass)
    with translation.override(language):
        response = JsonResponse(_payload(concert_id, current, None, progress))
    if current is None:
        drop_pass(response, concert_id)
    elif start != queue_pass.start:
        # The fan's place lies further back than this browser's start: the first poll after the draw (the
        # pre-queue's pass has no place, so its start is 0). The pass has just shown whose poll this is and the
        # token is the one it was issued for, so the new start is kept here as the full path would keep it,
        # from the pass alone: the opening's polls stay on this path.
        issue_pass(response, request, replace(queue_pass, start=start))
    add_never_cache_headers(response)
    return _as_full_path_would(response, language)


def _as_full_path_would(response: HttpResponse, language: str) -> HttpResponse:
    """The headers LocaleMiddleware and SessionMiddleware give the full path's answers, on a fast one."""
    response.headers["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


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
    if left:
        messages.success(request, _("You left the waiting room for %(concert)s.") % {"concert": concert.title})
    else:
        messages.info(request, _("You were not in the waiting room for %(concert)s.") % {"concert": concert.title})
    response = redirect(_concert_url(concert.pk))
    drop_pass(response, concert.pk)
    return response


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


def _draw_record(request: HttpRequest, concert: Concert) -> DrawRecord:
    """The concert's draw record; once the pre-queue has opened its room (and so its seed and commitment)
    exists, so the commitment is on show before anyone can be drawn. `?presale=<id>`: the kept record of a presale's
    draw the room has moved on from (404 for any other value)."""
    if "presale" in request.GET:
        try:
            kept = selectors.kept_draw_record(concert, uuid.UUID(request.GET["presale"]))
        except ValueError:
            kept = None
        if kept is None:
            raise Http404("no such presale draw")
        return kept
    record = selectors.draw_record(concert)
    if record.is_drawn and record.presale_id is None:
        return record  # the general sale's draw: the room's last sale, it never moves on from it
    moved_on = record.presale_id != services.current_sale(concert, timezone.now()).key  # the room moves on first
    if moved_on or (not record.commitment and record.state != DrawState.NOT_OPEN):
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
    record = _draw_record(request, concert)
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
            place = selectors.draw_place_of(concert, asked, presale_id=record.presale_id) if record.is_drawn else None
            found = {"receipt": asked, "valid": True, "place": place}
            if place is not None:
                page_number = -(-place // DRAW_PAGE_SIZE)
    json_url = reverse("queueing:draw_json", kwargs={"concert_id": concert.pk})
    if record.presale_id is not None and "presale" in request.GET:
        json_url += f"?presale={record.presale_id}"
    context = {
        "concert": concert,
        "record": record,
        "page": selectors.draw_page(record, page=page_number, per_page=DRAW_PAGE_SIZE),
        "found": found,
        "concert_url": _concert_url(concert.pk),
        "json_url": json_url,
        "json_absolute_url": request.build_absolute_uri(json_url),
        "past_draws": selectors.past_draws(concert),
        "kept_presale": record.presale_id if "presale" in request.GET else None,
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
    if record.presale_id is not None:  # a fan-club presale's draw (the general sale's has no such key)
        head["presale"] = str(record.presale_id)
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "entries": ['
    if record.is_drawn:
        separator, batch = "", []
        entries = selectors.draw_entries(record.concert, presale_id=record.presale_id)
        for receipt, place in entries.iterator(chunk_size=5000):
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
    record = _draw_record(request, concert)
    etag = _drawn_etag(record, "json") if record.is_drawn else None
    # A drawn record that never changes may be kept by any cache: the general sale's (the room's last sale), or a
    # kept presale's (?presale=). A presale's own, read at the concert's address, becomes the next sale's record
    # when the room moves on: clients ask again each time (a 304 while current).
    lasting = record.presale_id is None or "presale" in request.GET
    if etag is not None and (not_modified := get_conditional_response(request, etag=etag)) is not None:
        return _cache_draw_answer(not_modified, etag, public=lasting)
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(content_type="application/json")
    else:
        response = StreamingHttpResponse(_draw_json_chunks(record), content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="draw-{concert.pk}.json"'
    return _cache_draw_answer(response, etag, public=lasting)
