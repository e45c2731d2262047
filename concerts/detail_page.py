"""The concert page's body (below the layout), rendered once per concert, language, kind of visitor and sale state
and shared between visitors for CONCERT_PAGE_CACHE_SECONDS: at a sale's opening thousands of fans reload it.

One cache entry per concert, language and kind of visitor (logged in or not) holds the concert (with its waiting
room) and the body rendered for each sale state asked so far, as a config.stencil.Stencil: what differs per visit
(the CSRF token, the countdown's seconds, the fan's entry challenge) is filled in per request. The entry is read
from the database when it is missing and lives CONCERT_PAGE_CACHE_SECONDS from then, so nothing in it (the title,
the dates and their seats left, the room's challenge setting) is older than that; saving the concert or a date
forgets it at once (concerts.page_cache.forget).
"""

import datetime
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from config.stencil import Stencil

from . import page_cache, selectors
from .models import Concert, Presale
from .templatetags.frontrow import clock, seconds_until

BODY_TEMPLATE = "concerts/_detail_body.html"
SLOTS = ("csrf_token", "countdown_seconds", "countdown_clock", "challenge")

# The sale states the body differs by. "over" (the last show has started) looks like "on_sale" but its date list
# is rendered afresh, without the dates that have started.
BEFORE, PREQUEUE, ON_SALE, OVER = "before", "prequeue", "on_sale", "over"


def sale_state(concert: Concert, now: datetime.datetime) -> str:
    if concert.is_on_sale(now):
        return OVER if concert.is_over(now) else ON_SALE
    return PREQUEUE if concert.is_in_prequeue(now) else BEFORE


@dataclass
class _Entry:
    concert: Concert
    expires: float  # time.time() when the entry stops being served
    bodies: dict[str, Stencil] = field(default_factory=dict)  # by sale state


@dataclass(frozen=True)
class ConcertPage:
    concert: Concert
    state: str
    body: Stencil
    dates: object  # the bookable dates, lazy: read only when the body was rendered afresh (or a test looks)


def concert_page(concert_id: uuid.UUID, *, authenticated: bool, now: datetime.datetime) -> ConcertPage | None:
    """The concert's page body for this kind of visitor in the active language (None if there is no such
    concert), from the shared entry when there is one."""
    seconds = settings.CONCERT_PAGE_CACHE_SECONDS
    key = page_cache.page_key(concert_id, get_language(), authenticated)
    entry = cache.get(key) if seconds > 0 else None
    if not isinstance(entry, _Entry) or entry.expires <= time.time():
        concert = page_cache.read_concert(concert_id, related=["waiting_room"])
        if concert is None:
            return None
        entry = _Entry(concert=concert, expires=time.time() + seconds)
    concert = entry.concert
    state = sale_state(concert, now)
    dates = SimpleLazyObject(lambda: selectors.bookable_dates(concert=concert, now=now))
    body = entry.bodies.get(state)
    if body is None:
        on_sale = state in (ON_SALE, OVER)
        # Presales close by the general sale's opening: after it, none is read.
        presales = [] if on_sale else _presales_shown(concert, now)
        context = {
            "concert": concert,
            "dates": dates,
            "on_sale": on_sale,
            "in_prequeue": state == PREQUEUE,
            "authenticated": authenticated,
            "seats_per_date": settings.SEATS_PER_DATE,
            "presales": presales,
        }
        body = entry.bodies[state] = Stencil.render(BODY_TEMPLATE, context, SLOTS)
        remaining = int(entry.expires - time.time())  # whole seconds, rounded down: never past the entry's end
        if seconds > 0 and remaining > 0:
            cache.set(key, entry, remaining)
    return ConcertPage(concert=concert, state=state, body=body, dates=dates)


@dataclass(frozen=True)
class ShownPresale:
    presale: Presale
    is_open: bool


def _presales_shown(concert: Concert, now: datetime.datetime) -> list[ShownPresale]:
    """The concert's presale windows not yet closed, for the body (read when a body is rendered, so once per shared
    entry and sale state)."""
    return [
        ShownPresale(presale=presale, is_open=presale.is_open(now))
        for presale in selectors.coming_presales(concert=concert, now=now)
    ]


def fill(page: ConcertPage, *, csrf_token: str, challenge: Callable[[], str], now: datetime.datetime) -> SafeString:
    """The page's body for this visit: the visitor's own CSRF token and entry challenge (`challenge()` renders it,
    asked only where the body has a join form), the countdown from now."""
    slots = page.body.slots
    values: dict[str, str] = {}
    if "csrf_token" in slots:
        values["csrf_token"] = csrf_token
    if "countdown_seconds" in slots or "countdown_clock" in slots:
        concert = page.concert
        moment = concert.sale_opens_at if page.state == PREQUEUE else concert.prequeue_starts_at
        left = seconds_until(moment, now)
        values["countdown_seconds"] = str(left)
        values["countdown_clock"] = clock(left)
    if "challenge" in slots:
        values["challenge"] = challenge()
    return page.body.fill(values)
