"""Reads about the waiting rooms: live waiting and admitted counts per concert, for staff and operators; whether a
fan holds a place; the pre-queue draw's public record and its check (verify_draw); who holds the most live places
per address."""

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from concerts.models import Concert
from concerts.selectors import current_sale, general_sale

from .backends import get_backend
from .draw import commitment, draw_order
from .exceptions import QueueUnavailable
from .models import QueueEntryHistory, QueueToken, SaleDraw, WaitingRoom


@dataclass(frozen=True)
class RoomCounts:
    room: WaitingRoom
    waiting: int | None  # None: the backend could not be reached
    admitted: int | None

    @property
    def available(self) -> bool:
        return self.waiting is not None


def room_counts(*, room: WaitingRoom, now: datetime.datetime | None = None) -> RoomCounts:
    """Waiting and admitted-right-now counts of one room, or None counts when the backend is unreachable."""
    try:
        waiting, admitted = get_backend().counts(concert_id=room.pk, now=now or timezone.now())
    except QueueUnavailable:
        return RoomCounts(room=room, waiting=None, admitted=None)
    return RoomCounts(room=room, waiting=waiting, admitted=admitted)


def rooms_overview(
    *, now: datetime.datetime | None = None, include_past: bool = False, concert_ids: Iterable[uuid.UUID] | None = None
) -> list[RoomCounts]:
    """RoomCounts for every waiting room (of concerts not over yet, unless include_past), soonest first."""
    now = now or timezone.now()
    rooms = WaitingRoom.objects.select_related("concert").order_by("concert__start_time", "concert__title")
    if not include_past:
        rooms = rooms.filter(concert__end_time__gte=now)
    if concert_ids is not None:
        rooms = rooms.filter(pk__in=concert_ids)
    return [room_counts(room=room, now=now) for room in rooms]


def room_delete_refusal(room: WaitingRoom) -> StrOrPromise | None:
    """Why staff may not delete this waiting room, or None: once fans have queued in it, its places and
    admission record are part of the queue (a new room would hand the same places out again)."""
    queued = (
        QueueToken.objects.filter(concert_id=room.pk).exists()
        or QueueEntryHistory.objects.filter(concert_id=room.pk).exists()
    )
    if queued:
        return _("Fans have queued in this waiting room, so it cannot be deleted. To stop admission, pause it.")
    return None


def challenge_is_on(*, concert: Concert) -> bool:
    """Does entering this concert's waiting room take a solved challenge (queueing.services.challenges)? A
    concert whose room is not made yet answers what a new room will (QUEUE_CHALLENGE_DEFAULT).

    Reads `concert.waiting_room`, so a page that shows more of the room reads its row once.
    """
    try:
        return concert.waiting_room.challenge_enabled
    except WaitingRoom.DoesNotExist:
        return settings.QUEUE_CHALLENGE_DEFAULT


def holds_place(*, concert: Concert, user_id: uuid.UUID, now: datetime.datetime | None = None) -> bool:
    """Does the user hold a live place in the concert's waiting room (waiting, in the pre-queue, or admitted and
    not run out): the place a join gives back without a new entry challenge? A pure read (unlike
    services.poll_place it runs no draw or admission). Reads `concert.waiting_room` like challenge_is_on, so after
    it this costs one backend read; False when there is no room or the backend cannot be reached."""
    try:
        room = concert.waiting_room
        return get_backend().status(room=room, user_id=user_id, now=now or timezone.now()) is not None
    except (WaitingRoom.DoesNotExist, QueueUnavailable):
        return False


def prequeue_size(*, room: WaitingRoom) -> int | None:
    """Entries in the room's pre-queue right now (waiting for the draw), or None when the backend is unreachable."""
    try:
        return get_backend().prequeue_count(concert_id=room.pk)
    except QueueUnavailable:
        return None


@dataclass(frozen=True)
class AddressPlaces:
    client_ip: str
    places: int


def live_places_by_address(*, concert: Concert, limit: int = 10) -> list[AddressPlaces]:
    """The client addresses holding the most live places (waiting, in the pre-queue or admitted) in the
    concert's queue, most first: read from the history (both backends write every visit there)."""
    rows = (
        QueueEntryHistory.objects.filter(concert=concert, exited_at__isnull=True, client_ip__isnull=False)
        .values("client_ip")
        .annotate(places=Count("pk"))
        .order_by("-places", "client_ip")[:limit]
    )
    return [AddressPlaces(client_ip=row["client_ip"], places=row["places"]) for row in rows]


# --- the pre-queue draw's public record ------------------------------------------------------------


class DrawState(models.TextChoices):
    NOT_OPEN = "not_open", _("pre-queue not open yet")
    PREQUEUE = "prequeue", _("pre-queue open")
    DUE = "due", _("sale open, draw about to run")
    DRAWN = "drawn", _("drawn")


@dataclass(frozen=True)
class DrawRecord:
    """What anyone may know about a concert's draw (queueing.draw): its commitment from the start, its seed only
    once it has run, and then every receipt with its place. No names, e-mails or accounts."""

    concert: Concert
    state: DrawState
    prequeue_opens_at: datetime.datetime
    draw_at: datetime.datetime  # the sale's opening: the draw runs at or right after it
    commitment: str  # SHA-256 of the seed, hex; "" while the concert has no waiting room (no seed chosen yet)
    seed: str | None  # published once drawn, never before
    drawn_at: datetime.datetime | None
    draw_size: int
    presale_id: uuid.UUID | None = None  # the sale it is the draw of: a fan-club presale, or None (the general sale)
    presale_name: str = ""

    @property
    def is_drawn(self) -> bool:
        return self.state == DrawState.DRAWN


def draw_state(*, room: WaitingRoom | None, concert: Concert, now: datetime.datetime | None = None) -> DrawState:
    """Where the draw of the sale the concert's room serves stands (`room` is its waiting room, if it has one)."""
    now = now or timezone.now()
    if room is not None and room.drawn_at is not None:
        return DrawState.DRAWN
    sale = current_sale(concert=concert, now=now)
    if sale.is_on_sale(now):
        return DrawState.DUE
    if now >= sale.prequeue_starts_at:
        return DrawState.PREQUEUE
    return DrawState.NOT_OPEN


def draw_record(concert: Concert, *, now: datetime.datetime | None = None) -> DrawRecord:
    """The public record of the draw of the sale the concert's room serves (see DrawRecord; a presale's once the
    room has moved on: past_draws); its entries come from draw_entries."""
    room = WaitingRoom.objects.filter(pk=concert.pk).first()
    drawn_at = room.drawn_at if room is not None else None
    if drawn_at is not None and room is not None and room.serving_presale is None:
        sale = general_sale(concert)  # the general sale's draw has run: the room's last sale, nothing to read
    else:
        sale = current_sale(concert=concert, now=now)
    state = draw_state(room=room, concert=concert, now=now)
    return DrawRecord(
        concert=concert,
        state=state,
        prequeue_opens_at=sale.prequeue_starts_at,
        draw_at=sale.sale_opens_at,
        # Public from the sale's pre-queue opening, not before: until then the room may still move on to a presale
        # (choosing another seed), and a commitment once shown never changes.
        commitment=room.draw_commitment if room is not None and state != DrawState.NOT_OPEN else "",
        seed=room.draw_seed if room is not None and drawn_at is not None else None,
        drawn_at=drawn_at,
        draw_size=room.draw_size if room is not None and drawn_at is not None else 0,
        presale_id=room.serving_presale if room is not None else None,
        presale_name=sale.presale.name if sale.presale is not None else "",
    )


def past_draws(concert: Concert) -> list[SaleDraw]:
    """The records of the concert's presale draws its room has moved on from, the earliest first."""
    return list(SaleDraw.objects.filter(concert=concert).order_by("closed_at"))


def kept_draw_record(concert: Concert, presale_id: uuid.UUID) -> DrawRecord | None:
    """The public record of a presale's draw the room has moved on from (kept as a SaleDraw), or None: the same
    record as the room's own draw had, so its page and download read alike. Its seed is public once drawn; a
    presale that closed without a draw (nobody in its pre-queue) shows its commitment and no seed."""
    kept = SaleDraw.objects.filter(concert=concert, presale=presale_id).first()
    if kept is None:
        return None
    drawn = kept.drawn_at is not None
    return DrawRecord(
        concert=concert,
        state=DrawState.DRAWN if drawn else DrawState.DUE,
        prequeue_opens_at=kept.drawn_at or kept.closed_at,
        draw_at=kept.drawn_at or kept.closed_at,
        commitment=kept.commitment,
        seed=kept.seed if drawn else None,
        drawn_at=kept.drawn_at,
        draw_size=kept.draw_size,
        presale_id=kept.presale,
        presale_name=kept.presale_name,
    )


def draw_entries(
    concert: Concert, *, first_place: int = 1, last_place: int | None = None, presale_id: uuid.UUID | None = None
) -> "QuerySet[QueueEntryHistory, tuple[str, int]]":
    """(receipt, place) of the drawn entries of one sale of the concert (the general sale, or the presale
    `presale_id`), in place order, optionally only places first_place..last_place: a lazy query (iterate it, or
    slice it by place), never a list of 100,000 rows. Empty before the draw (nobody has a receipt and a place
    until then)."""
    entries = QueueEntryHistory.objects.filter(
        concert=concert, presale=presale_id, queue_position__isnull=False, queue_position__gte=first_place
    ).exclude(receipt="")
    if last_place is not None:
        entries = entries.filter(queue_position__lte=last_place)
    rows: QuerySet[QueueEntryHistory, tuple[str, int]] = entries.order_by("queue_position").values_list(
        "receipt", "queue_position"
    )  # type: ignore[assignment]  # queue_position is not null in these rows
    return rows


@dataclass(frozen=True)
class DrawPage:
    """One page of a draw's table: places first_place..last_place, as (receipt, place) rows."""

    number: int
    num_pages: int
    first_place: int
    last_place: int
    entries: list[tuple[str, int]]

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def draw_page(record: DrawRecord, *, page: int, per_page: int) -> DrawPage:
    """Page `page` (clamped to 1..last) of a drawn record's table. The places are 1..draw_size, so a page is
    a range of places: one indexed range read, however deep the page, and no count of the rows."""
    num_pages = max(1, -(-record.draw_size // per_page))
    number = min(max(1, page), num_pages)
    first = (number - 1) * per_page + 1
    last = min(number * per_page, record.draw_size)
    entries = (
        list(draw_entries(record.concert, first_place=first, last_place=last, presale_id=record.presale_id))
        if record.is_drawn
        else []
    )
    return DrawPage(number=number, num_pages=num_pages, first_place=first, last_place=last, entries=entries)


def draw_place_of(concert: Concert, receipt: str, *, presale_id: uuid.UUID | None = None) -> int | None:
    """The drawn place of one receipt of the concert's sale (the general sale, or the presale `presale_id`), or
    None (no such receipt in that sale, or not drawn)."""
    return (
        QueueEntryHistory.objects.filter(concert=concert, presale=presale_id, receipt=receipt.strip().upper())
        .exclude(receipt="")
        .values_list("queue_position", flat=True)
        .first()
    )


# --- checking a draw -------------------------------------------------------------------------------

# Past this many problems of one kind, verify_draw counts the rest instead of naming each.
MAX_NAMED_PROBLEMS = 100
# A fan who left the pre-queue this close to the draw may have left just before it or just after it: a leave
# takes its time before it waits for the draw's locks, and the draw takes its own under them (and two app
# servers' clocks may differ a little). Such an entry may have a place or not; either is accepted.
DRAW_EXIT_GRACE_SECONDS = 5


class _Problems:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._unnamed: dict[str, int] = {}
        self._named: dict[str, int] = {}

    def add(self, kind: str, line: str) -> None:
        if self._named.get(kind, 0) < MAX_NAMED_PROBLEMS:
            self._named[kind] = self._named.get(kind, 0) + 1
            self.lines.append(line)
        else:
            self._unnamed[kind] = self._unnamed.get(kind, 0) + 1

    def summary(self) -> list[str]:
        more = [f"... and {count} more problem(s) of this kind ({kind})." for kind, count in self._unnamed.items()]
        return self.lines + more


def verify_draw(concert: Concert, *, presale_id: uuid.UUID | None = None) -> list[str]:
    """Check a draw of the concert against its history; returns the problems found, in English (empty: it checks).
    The draw of the sale its room serves now, or of the presale `presale_id` (kept as a SaleDraw once the room has
    moved on), each against the history rows of its own sale.

    What it checks: the seed's SHA-256 is the published commitment; the pre-queue entries that were still
    there when the draw ran (history rows with a receipt that have a place, or that have none but had not
    left before drawn_at) hold exactly the places queueing.draw.draw_order(seed, their receipts) gives,
    1..N; no entry that left before the draw has a place (an exit within DRAW_EXIT_GRACE_SECONDS of drawn_at
    may go either way); the room's draw_size is N; and no fan who arrived
    after the opening (no receipt) has a place inside 1..N. Reads the history once, in chunks.
    """
    room = WaitingRoom.objects.filter(pk=concert.pk).first()
    kept = SaleDraw.objects.filter(concert=concert, presale=presale_id).first() if presale_id is not None else None
    if kept is not None:
        sale, seed, published, drawn_at, drawn = presale_id, kept.seed, kept.commitment, kept.drawn_at, kept.draw_size
    elif room is not None and (presale_id is None or room.serving_presale == presale_id):
        sale, seed, published = room.serving_presale, room.draw_seed, room.draw_commitment
        drawn_at, drawn = room.drawn_at, room.draw_size
    else:
        return [f"{concert.title} has no draw of the presale {presale_id}."]
    if drawn_at is None:
        return [f"The draw of {concert.title} has not run yet."]
    problems = _Problems()
    try:
        if len(seed) != 64:
            raise ValueError(seed)
        seed_hash = commitment(seed)
    except ValueError:
        return [f"The seed {seed!r} is not 64 hexadecimal digits; no order can be computed from it."]
    if seed_hash != published:
        problems.add("commitment", f"The seed's SHA-256 is {seed_hash}, not the published commitment {published}.")

    placed: dict[str, int] = {}
    unplaced: list[str] = []
    rows = (
        QueueEntryHistory.objects.filter(concert=concert, presale=sale)
        .exclude(receipt="")
        .values_list("receipt", "queue_position", "exited_at")
        .iterator(chunk_size=5000)
    )
    grace = datetime.timedelta(seconds=DRAW_EXIT_GRACE_SECONDS)
    for receipt, place, exited_at in rows:
        if place is not None and exited_at is not None and exited_at < drawn_at - grace:
            problems.add(
                "left",
                f"Receipt {receipt} has place {place}, but it left the pre-queue before the draw "
                f"({exited_at.isoformat()}).",
            )
        elif place is not None:
            placed[receipt] = place
        elif exited_at is None or exited_at > drawn_at + grace:
            unplaced.append(receipt)

    order = draw_order(seed, [*placed, *unplaced])
    for expected, receipt in enumerate(order, start=1):
        actual = placed.get(receipt)
        if actual is None:
            problems.add(
                "place",
                f"Receipt {receipt} has no place, but it was still in the pre-queue when the draw ran; "
                f"the seed gives it place {expected}.",
            )
        elif actual != expected:
            problems.add("place", f"Receipt {receipt} has place {actual}; the seed gives it place {expected}.")

    size = len(order)
    if drawn != size:
        problems.add(
            "size", f"The room records {drawn} entries drawn, but {size} pre-queue entries were there at the draw."
        )
    intruders = (
        QueueEntryHistory.objects.filter(concert=concert, presale=sale, receipt="", queue_position__lte=size)
        .order_by("queue_position")
        .values_list("queue_position", "entered_at")
    )
    for place, entered_at in intruders.iterator(chunk_size=1000):
        problems.add(
            "intruder",
            f"Place {place} belongs to a fan who arrived after the opening ({entered_at.isoformat()}, no receipt), "
            f"inside the drawn places 1-{size}.",
        )
    return problems.summary()
