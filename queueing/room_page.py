"""The waiting room's page (queueing.views.room) as parts every fan of a concert shares: rendered once per process
from templates/queueing/_room.html for each concert, language and state (config.stencil), then filled per
request with what is the fan's own (the CSRF token, their place, receipt and countdown, the page they go on to).

A stencil is keyed by everything it shows of the concert (RoomFacts: its title, times, the draw's commitment),
so it never shows an older concert than the page cache's copy (concerts.page_cache) it was made from: a staff
edit reaches the page as soon as that copy has it. The fan's state (joined, admitted, paused...) comes from
their poll on every request and picks the stencil.
"""

import datetime
import json
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import get_script_prefix, reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from concerts.models import Concert
from concerts.selectors import Sale
from concerts.templatetags.frontrow import clock, seconds_until
from config.stencil import Shelf, Stencil

from .services import QueueStatus
from .templatetags.queue_challenge import EntryChallenge, widget_strings

TEMPLATE = "queueing/_room.html"
PARTS = ("title", "head", "content")
SLOTS = (
    "csrf_token",
    "poll_seconds",
    "status_query",
    "next_path",
    "position",
    "progress",
    "ahead",
    "eta_text",
    "receipt",
    "countdown_seconds",
    "countdown_clock",
    "until",
    "continue_url",
    "email",
    "verify_next_query",
)
# Keyed by all they show, so they can be kept long: this only bounds the memory a concert no one visits keeps.
STENCIL_SECONDS = 300.0
_STENCILS = Shelf(size=512)


@dataclass(frozen=True)
class RoomFacts:
    """What the page shows of the concert and its room (the same for every fan)."""

    pk: uuid.UUID
    title: str
    sale_opens_at: datetime.datetime
    prequeue_starts_at: datetime.datetime
    commitment: str  # the draw's, where the page shows it; else ""
    presale_name: str = ""  # the fan-club presale the room serves now; "" for the general sale
    presale_url: str = ""
    general_prequeue_starts_at: datetime.datetime | None = None  # when the general sale's room opens


@dataclass(frozen=True)
class RoomState:
    """Which page the fan sees."""

    closed: bool
    sale_open: bool
    prequeue_open: bool
    has_challenge: bool  # the join form carries the entry challenge's widget
    joined: bool
    admitted: bool
    prequeued: bool
    paused: bool
    has_receipt: bool
    has_next: bool
    must_verify: bool  # the fan must verify their e-mail address before joining: the join form asks them to
    presale_only: bool = False  # the room serves a presale whose list the fan is not on: no join form


@dataclass(frozen=True)
class RoomPage:
    title: SafeString
    head: SafeString
    content: SafeString


def room_state(
    concert: Concert | Sale,
    current: QueueStatus | None,
    next_url: str | None,
    *,
    now: datetime.datetime,
    challenge: bool,
    must_verify: bool = False,
    presale_only: bool = False,
) -> RoomState:
    return RoomState(
        closed=concert.is_over(now),
        sale_open=concert.is_on_sale(now),
        prequeue_open=concert.is_in_prequeue(now),
        has_challenge=challenge and current is None,
        joined=current is not None,
        admitted=current is not None and current.admitted,
        prequeued=current is not None and current.prequeued,
        paused=current is not None and current.paused,
        has_receipt=bool(current is not None and current.receipt),
        has_next=bool(next_url),
        must_verify=must_verify and current is None,
        presale_only=presale_only,
    )


def render(
    facts: RoomFacts,
    state: RoomState,
    *,
    csrf_token: str,
    current: QueueStatus | None,
    payload: dict[str, object],
    next_url: str | None,
    now: datetime.datetime,
    email: str = "",
) -> RoomPage:
    """The page's parts for this fan: the shared stencils (rendered now if this process has none for the concert,
    language and state) filled with the fan's values, each escaped. `email`: the fan's, shown when they must
    verify it."""
    stencils = _stencils(facts, state)
    waiting = current is not None and not current.admitted and not current.prequeued
    status_query = "?next=" + quote(next_url, safe="/") if next_url else ""  # as |urlencode
    values = {
        "csrf_token": csrf_token,
        "poll_seconds": str(payload["poll_seconds"]),
        "status_query": status_query,
        "next_path": next_url or "",
        "position": intcomma(current.position) if waiting and current is not None else "",
        "progress": str(payload["progress"]),
        "ahead": intcomma(current.ahead) if waiting and current is not None else "",
        "eta_text": str(payload["eta_text"] or ""),
        "receipt": (current.receipt or "") if current is not None else "",
        "countdown_seconds": str(seconds_until(facts.sale_opens_at, now)),
        "countdown_clock": clock(seconds_until(facts.sale_opens_at, now)),
        "until": _time(current.expires_at) if current is not None else "",
        "continue_url": str(payload["next_url"] or ""),
        "email": email if state.must_verify else "",
        "verify_next_query": status_query,
    }
    return RoomPage(*(stencil.fill(values) for stencil in stencils))


def _time(moment: datetime.datetime | None) -> str:
    """As the template's |time:"TIME_FORMAT" shows it."""
    if moment is None:
        return ""
    return formats.time_format(timezone.localtime(moment), "TIME_FORMAT")


def _stencils(facts: RoomFacts, state: RoomState) -> tuple[Stencil, ...]:
    language = get_language()
    key = (facts, state, language, timezone.get_current_timezone_name(), get_script_prefix())
    found: tuple[Stencil, ...] | None = _STENCILS.get(key)
    if found is None:
        context = {
            "concert": facts,
            "commitment": facts.commitment,
            "concert_url": _url("concerts:detail", facts.pk),
            "draw_url": _url("queueing:draw", facts.pk),
            "verify_next": _url("queueing:room", facts.pk),
            "challenge": _challenge(facts.pk) if state.has_challenge else None,
            "waiting": state.joined and not state.admitted,
            **{name: getattr(state, name) for name in RoomState.__dataclass_fields__},
        }
        found = tuple(Stencil.render(TEMPLATE, {**context, "part": part}, SLOTS) for part in PARTS)
        _STENCILS.put(key, found, STENCIL_SECONDS)
    return found


def _url(name: str, concert_id: uuid.UUID) -> str:
    return reverse(name, kwargs={"concert_id": concert_id})


def _challenge(concert_id: uuid.UUID) -> EntryChallenge:
    return EntryChallenge(
        url=_url("queueing:challenge", concert_id), strings=json.dumps(widget_strings(), ensure_ascii=False)
    )
