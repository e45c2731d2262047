"""The seat map's grid as HTML, rendered once per date, seat version and language and shared by every fan.

Rendering fifty seats is most of a seat map's cost, and in a sale every admitted fan opens the same few maps
again and again. So the grid is rendered once per seat version and kept in the cache (below), and even then
each seat is not rendered on its own: a seat's `<li>` (templates/booking/_seat.html) depends only on its status,
price and number, so each (status, price) the date shows is rendered once with a stand-in for the number, which
each seat's number replaces. The looks only a fan sees (their own seat, a seat they ticked) are rendered the same
way for each price. The page's title and the date's price list come along (re-rendered when staff change what
the title shows). All of it is kept under the date's seat version (booking.seat_versions): any change of a
seat replaces the version, so a grid is never used after the change that made it wrong has committed. It is also
dropped at the end of the first live hold it shows (that seat is free from then on, whether or not the sweep has
run) and after SEAT_MAP_CACHE_SECONDS at most (0: no cache).

Per request only the fan's own seats (from the grid's owners: no query) and the seats they had ticked are
swapped in. The map is only what a fan sees: a hold always locks and checks the seat itself.

The page around the grid (booking/_seat_page.html: the hold form, the legend, the selection panel) is the same for
every fan of a date, seat version and language who has as many seats (and live holds) there, so each process
renders it once per such state as a config.stencil.Stencil and fills in the fan's grid, choice and CSRF token per
request (SeatPage). Each process keeps its SeatPage on a Shelf under the same rules as the shared grid: used only
at the seat version read from the cache on this request, before the first hold it shows ends and for
SEAT_MAP_CACHE_SECONDS at most; so a page costs one cache round trip (the version) and no unpickling.

The open map polls the seats' state (booking.views.seat_state): which seats are not free now, the same JSON for every
fan, kept on the SeatPage. Its ETag is the seat version and the end of the first live hold the grid shows
(state_etag), so a poll whose copy is still true is answered 304 from the version alone (still_true), without a
grid.
"""

import datetime
import json
import math
import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import parse_etags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from concerts.models import ConcertDate
from config.stencil import Shelf, Stencil

from . import seat_rows, seat_versions, selectors

# Stands for the seat number in a rendered seat: a seat's <li> depends only on its status, price and number, so
# each (status, price) is rendered once with this in the number's places and each seat's number put in after.
NUMBER = "\ue000seat\ue000"  # a private-use character: never in a template or a translation
CHECKED = "CHECKED"  # a free seat the fan had ticked (a refused hold's choice sent back)


@dataclass(frozen=True)
class SeatLook:
    """What booking/_seat.html is rendered with: a seat's status and price, its number left as NUMBER."""

    status: str
    price: int
    number: str = NUMBER


@dataclass(frozen=True)
class RenderedGrid:
    version: str | None  # the seat version it was read at (None: the cache could not keep one)
    grid: selectors.SeatGrid
    seats_html: tuple[str, ...]  # each seat's <li> as everyone sees it, in seat order
    looks: dict[tuple[str, int], str]  # (MINE or CHECKED, price) -> that <li> with NUMBER, for each price
    head_html: str  # the page's breadcrumb and title: the concert, the date's start and venue
    prices_html: str  # the date's price list (nothing when every seat costs the same)
    shows: tuple[object, ...]  # what of the concert and date the head shows: staff changing it re-renders

    def html(self, *, user_id: uuid.UUID | None, checked: Collection[int] = ()) -> SafeString:
        """The grid as this fan sees it: their seats marked, the `checked` free seats ticked."""
        seats = self.grid.seats
        mine = [index for index, seat in enumerate(seats) if user_id is not None and seat.owner_id == user_id]
        ticked = [
            index
            for index, seat in enumerate(seats)
            if seat.number in checked and seat.status == selectors.SeatState.AVAILABLE
        ]
        return self.marked(mine, ticked)

    def marked(self, mine: Collection[int], ticked: Collection[int]) -> SafeString:
        """The grid with the seats at the indexes `mine` marked as the fan's and those at `ticked` ticked."""
        parts = list(self.seats_html)
        for looks, indexes in ((selectors.SeatState.MINE, mine), (CHECKED, ticked)):
            for index in indexes:
                seat = self.grid.seats[index]
                parts[index] = self.looks[looks, seat.price].replace(NUMBER, str(seat.number))
        return mark_safe("".join(parts))  # noqa: S308  # rendered by the template engine, escaped there


def _render_look(look: SeatLook) -> str:
    seat_template = get_template("booking/_seat.html")
    if look.status == CHECKED:
        return str(seat_template.render({"seat": SeatLook(selectors.SeatState.AVAILABLE, look.price), "checked": True}))
    return str(seat_template.render({"seat": look}))


def _shows(concert_date: ConcertDate) -> tuple[object, ...]:
    concert = concert_date.concert
    return (concert.title, concert.venue, concert_date.starts_at)


def _render(grid: selectors.SeatGrid, version: str | None, concert_date: ConcertDate) -> RenderedGrid:
    """Render each (status, price) the grid shows once, then every seat from those; and the fan-only looks (their
    own seat, a ticked seat) for every price of the date, so no request renders a seat."""
    prices = {seat.price for seat in grid.seats}
    looks = {
        (status, price): _render_look(SeatLook(status, price))
        for status in (selectors.SeatState.MINE, CHECKED)
        for price in prices
    }
    shown = {(seat.status, seat.price) for seat in grid.seats}
    looks.update({key: _render_look(SeatLook(*key)) for key in shown})
    seats_html = tuple(looks[seat.status, seat.price].replace(NUMBER, str(seat.number)) for seat in grid.seats)
    context = {"concert": concert_date.concert, "date": concert_date, "seats": grid.seats}
    return RenderedGrid(
        version,
        grid,
        seats_html,
        {key: html for key, html in looks.items() if key[0] in (selectors.SeatState.MINE, CHECKED)},
        head_html=str(get_template("booking/_seat_map_head.html").render(context)),
        prices_html=str(get_template("booking/_seat_prices.html").render(context)),
        shows=_shows(concert_date),
    )


def grid_key(concert_date_id: uuid.UUID, language: str) -> str:
    return f"booking:seat-grid:{concert_date_id}:{language}"


def _seconds_to_keep(grid: selectors.SeatGrid, now: datetime.datetime) -> int:
    seconds = settings.SEAT_MAP_CACHE_SECONDS
    if grid.valid_until is not None:  # whole seconds, rounded down: never kept past the hold's end
        seconds = min(seconds, math.floor((grid.valid_until - now).total_seconds()))
    return seconds


def rendered_grid(*, concert_date: ConcertDate, now: datetime.datetime | None = None) -> RenderedGrid:
    """The date's grid in the active language: from the cache when it was read at the current seat version and
    no hold it shows has ended since, else read (one query), rendered and cached. One cache round trip."""
    now = now or timezone.now()
    if settings.SEAT_MAP_CACHE_SECONDS <= 0:
        return _render(selectors.seat_grid(concert_date=concert_date, now=now), None, concert_date)
    key = grid_key(concert_date.pk, get_language())
    found = cache.get_many([seat_versions.version_key(concert_date.pk), key])
    version = seat_versions.current_version(concert_date.pk, found)
    cached = found.get(key)
    if (
        isinstance(cached, RenderedGrid)
        and version is not None
        and cached.version == version
        and (cached.grid.valid_until is None or now < cached.grid.valid_until)
        and cached.shows == _shows(concert_date)
    ):
        return cached
    # Read after the version: a change committed after this read replaces the version we store it under.
    rendered = _render(selectors.seat_grid(concert_date=concert_date, now=now), version, concert_date)
    seconds = _seconds_to_keep(rendered.grid, now)
    if version is not None and seconds > 0:
        cache.set(key, rendered, seconds)
    return rendered


# --- the seats' state, for the open map's polls ------------------------------------------------------

_STATE_ETAG = re.compile(r'"([0-9a-f]{1,64})\.(\d{1,12})"')


def state_etag(version: str | None, valid_until: datetime.datetime | None) -> str | None:
    """The ETag of a date's seat state read after `version` was: the version, and the end of the first live hold
    it shows in whole seconds, rounded down (0: none). None when the cache keeps no version (no ETag then)."""
    if version is None:
        return None
    until = 0 if valid_until is None else math.floor(valid_until.timestamp())
    return f'"{version}.{until}"'


def still_true(if_none_match: str, *, version: str | None, now: datetime.datetime) -> str | None:
    """The ETag of If-None-Match that is still true now (answer 304 with it), else None.

    True: read at `version` (the date's seat version now) and no live hold it showed has ended since. Nothing
    else is read: a copy made at the current version by any fan of the date holds for every fan.
    """
    if version is None or not if_none_match:
        return None
    for etag in parse_etags(if_none_match):
        match = _STATE_ETAG.fullmatch(etag.removeprefix("W/"))
        if match and match[1] == version and (match[2] == "0" or now.timestamp() < int(match[2])):
            return etag
    return None


# --- the page around the grid ----------------------------------------------------------------------

# The slots of booking/_seat_page.html: what differs between two fans who have as many seats and holds.
PAGE_SLOTS = ("csrf_token", "seat_grid", "selected_list", "selected_count")


class SeatPage:
    """A date's seat map page in one language at one seat version, as this process renders it for every fan:
    the shared grid, and the body per fan state (how many seats the fan has there, whether any is a live hold),
    each rendered on first use. fill() gives one fan's body."""

    def __init__(self, rendered: RenderedGrid, concert_date: ConcertDate) -> None:
        self.rendered = rendered
        self.concert_date = concert_date
        seats = rendered.grid.seats
        owned: dict[uuid.UUID, list[int]] = {}
        for index, seat in enumerate(seats):
            if seat.owner_id is not None:
                owned.setdefault(seat.owner_id, []).append(index)
        self._owned = {owner: tuple(indexes) for owner, indexes in owned.items()}  # fan -> their seats' indexes
        self._free = {  # the free seats' numbers -> indexes
            seat.number: index for index, seat in enumerate(seats) if seat.status == selectors.SeatState.AVAILABLE
        }
        self._grid_html = rendered.marked((), ())  # as a fan with no seat and no choice sees it
        self._bodies: dict[tuple[int, bool], Stencil] = {}
        self._state_json: bytes | None = None
        self.title = format_html("{} · {}", _("Choose seats"), concert_date.concert.title)
        self.url = reverse("booking:seats", args=[concert_date.pk])

    def fresh(self, *, version: str | None, now: datetime.datetime, concert_date: ConcertDate) -> bool:
        grid = self.rendered.grid
        return (
            version is not None
            and self.rendered.version == version
            and (grid.valid_until is None or now < grid.valid_until)
            and self.rendered.shows == _shows(concert_date)
        )

    @property
    def valid_until(self) -> datetime.datetime | None:
        return self.rendered.grid.valid_until

    def state_json(self) -> bytes:
        """The seats' state as the open map's poll reads it, the same for every fan: `taken`, the numbers of the
        seats that are not free (held, whoever by, or sold), in seat order."""
        if self._state_json is None:
            taken = [seat.number for seat in self.rendered.grid.seats if seat.status != selectors.SeatState.AVAILABLE]
            self._state_json = json.dumps({"taken": taken}, separators=(",", ":")).encode()
        return self._state_json

    def fill(self, *, user_id: uuid.UUID, selected: Iterable[int], csrf_token: str) -> SafeString:
        """The page's body as this fan sees it: their seats marked, the free seats of `selected` ticked (and
        listed), their CSRF token in the hold form."""
        mine = self._owned.get(user_id, ())
        chosen = sorted(number for number in set(selected) if number in self._free)
        seats = self.rendered.grid.seats
        state = (len(mine), any(seats[index].hold_expire_at for index in mine))
        body = self._bodies.get(state)
        if body is None:
            body = self._bodies[state] = self._render_body(*state)
        grid = self.rendered.marked(mine, [self._free[n] for n in chosen]) if mine or chosen else self._grid_html
        return body.fill(
            {
                "csrf_token": csrf_token,
                "seat_grid": grid,
                "selected_list": ", ".join(str(n) for n in chosen) or "—",
                "selected_count": str(len(chosen)),
            }
        )

    def _render_body(self, mine_count: int, has_holds: bool) -> Stencil:
        can_pick = max(settings.MAX_SEATS_PER_USER - mine_count, 0)
        context = {
            "date": self.concert_date,
            "seat_map_head": mark_safe(self.rendered.head_html),  # noqa: S308  # rendered by the template engine
            "seat_prices": mark_safe(self.rendered.prices_html),  # noqa: S308
            "mine_count": mine_count,
            "max_seats": settings.MAX_SEATS_PER_USER,
            "can_pick": can_pick,
            "has_holds": has_holds,
            "hold_seconds": settings.HOLD_SECONDS,
            "page_url": self.url,
            "poll_seconds": settings.SEAT_MAP_POLL_SECONDS,
            # "Pick the best seats for me": how many (no more than the fan may still hold, nor sit side by side)
            # and at which of the date's prices, dearest first.
            "pick_counts": range(1, min(can_pick, seat_rows.most_to_pick()) + 1),
            "pick_default": min(2, can_pick),
            "pick_prices": sorted({seat.price for seat in self.rendered.grid.seats}, reverse=True),
            # The open map's first poll sends it back: nothing has changed since, so it is answered 304.
            "state_etag": state_etag(self.rendered.version, self.valid_until) or "",
        }
        return Stencil.render("booking/_seat_page.html", context, PAGE_SLOTS)


# This process's pages, by grid_key (date and language); each checked against the seat version on every use.
_pages = Shelf()


def read_with_date(concert_date_id: uuid.UUID) -> list[str]:
    """The cache keys seat_page() reads on every request (the seat version), for the queue's gate to read with
    the date's shared copy (queueing.gate.admitted_required's `also_cached`): no round trip of their own."""
    return [seat_versions.version_key(concert_date_id)]


def seat_page(
    *, concert_date: ConcertDate, now: datetime.datetime | None = None, found: dict[str, object] | None = None
) -> SeatPage:
    """The date's seat map page in the active language: this process's copy when it is still fresh at the seat
    version the cache holds now (one cache round trip), else built on rendered_grid().

    `found`: what a cache read made on this request holds of read_with_date()'s keys (the gate's, with the
    date), so the version is not read again; None (or without the version) reads it here."""
    now = now or timezone.now()
    if settings.SEAT_MAP_CACHE_SECONDS <= 0:
        return SeatPage(rendered_grid(concert_date=concert_date, now=now), concert_date)
    key = grid_key(concert_date.pk, get_language())
    page: SeatPage | None = _pages.get(key)
    if page is not None:
        version_key = seat_versions.version_key(concert_date.pk)
        if found is None or version_key not in found:
            found = {version_key: cache.get(version_key)}
        version = seat_versions.current_version(concert_date.pk, found)
        if page.fresh(version=version, now=now, concert_date=concert_date):
            return page
    rendered = rendered_grid(concert_date=concert_date, now=now)
    page = SeatPage(rendered, concert_date)
    if rendered.version is not None:
        _pages.put(key, page, _seconds_to_keep(rendered.grid, now))
    return page
