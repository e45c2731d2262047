"""A fan's place in a concert's waiting room: join, poll the place (running an overdue admission), touch an
admission, leave, and end it after payment; the status shown to the fan and its estimated wait.
"""

import datetime
import functools
import ipaddress
import logging
import math
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from concerts.models import Concert
from concerts.selectors import Sale

from ..backends import (
    ArrivalFloorNeeded,
    DrawPending,
    JoinResult,
    SaleChanged,
    Ticket,
    get_backend,
    has_fast_path,
    sale_tag,
)
from ..draw import arrival_of
from ..exceptions import QueueClosed, QueueNotOpen, QueueUnavailable, TooManyPlacesFromAddress
from ..models import ExitReason, QueueEntryHistory, WaitingRoom
from . import sales
from ._history import EXIT_EXPIRED, EXIT_LEFT, forget_when_committed, record_entry, record_exits
from ._mirror import RoomFigures, mirror_room, room_from_mirror
from .admissions import ADMISSION_LOG_SECONDS, is_overdue, room_for, run_admission
from .challenges import redeem_solution
from .draws import is_draw_due, restore_backend_draw, run_draw
from .pacing import RATE_WINDOW_SECONDS

logger = logging.getLogger(__name__)

# The estimated wait spreads the recent admissions over at least a minute, so one early burst (the first
# batch when a sale opens) does not promise a wait that is far too short.
MIN_RATE_SPAN_SECONDS = 60
# An admission slides with activity (see touch) but never lasts beyond this many ACTIVE_SECONDS.
MAX_LIFETIME_FACTOR = 2


@dataclass(frozen=True)
class QueueStatus:
    """Where a fan stands in one concert's waiting room.

    position is 1 for the fan at the front (0 once admitted); ahead counts the waiting fans in front;
    eta_seconds is None while admission is paused. A fan in the pre-queue (`prequeued`) has no place yet
    (position and ahead 0, eta_seconds None): the draw gives them one at `draw_at`, the sale's opening;
    `receipt` is their entry's public receipt (kept once drawn), and `prequeue_size` the number of entries in
    the pre-queue (0 once drawn): the spread of the opening's polls follows it (polling.poll_seconds).
    """

    position: int
    ahead: int
    eta_seconds: int | None
    admitted: bool
    token: uuid.UUID
    expires_at: datetime.datetime | None
    paused: bool = False
    entered_at: datetime.datetime | None = None
    prequeued: bool = False
    receipt: str = ""
    draw_at: datetime.datetime | None = None
    prequeue_size: int = 0


def max_lifetime_seconds() -> int:
    return MAX_LIFETIME_FACTOR * settings.ACTIVE_SECONDS


def _room_if_any(concert: Concert) -> WaitingRoom | None:
    return WaitingRoom.objects.filter(pk=concert.pk).first()


# --- status and estimated wait --------------------------------------------------------------------


def estimate_wait_seconds(*, ahead: int, room: RoomFigures, now: datetime.datetime) -> int | None:
    """Seconds until a fan with `ahead` waiting fans in front is likely admitted; None while paused.

    The rate is the one observed over the last ADMISSION_LOG_SECONDS, but never below what capacity
    gives when every admitted fan uses their full ACTIVE_SECONDS (max_active places per ACTIVE_SECONDS),
    nor above the room's admission rate (admit_per_minute): before any admission has been seen, the
    smaller of the two is the estimate.
    """
    if room.is_paused:
        return None
    now_ts = now.timestamp()
    recent = [(at, count) for at, count in room.admission_log if at >= now_ts - ADMISSION_LOG_SECONDS]
    observed = 0.0
    if recent:
        span = max(now_ts - min(at for at, _ in recent), MIN_RATE_SPAN_SECONDS)
        observed = sum(count for _, count in recent) / span
    # Integer arithmetic, so the estimate does not wobble by a second on float rounding.
    fans = ahead + 1
    at_capacity = -(-fans * settings.ACTIVE_SECONDS // room.max_active)
    at_rate = -(-fans * RATE_WINDOW_SECONDS // room.admit_per_minute)  # the fastest admission goes
    slowest = max(at_capacity, at_rate)
    if observed <= 0:
        return max(1, slowest)
    return max(1, at_rate, min(slowest, math.ceil(fans / observed)))


def _waiting_status(ticket: Ticket, room: RoomFigures, now: datetime.datetime) -> QueueStatus:
    assert ticket.ahead is not None  # the backends fill it in for every waiting ticket
    return QueueStatus(
        position=ticket.ahead + 1,
        ahead=ticket.ahead,
        eta_seconds=estimate_wait_seconds(ahead=ticket.ahead, room=room, now=now),
        admitted=False,
        token=ticket.token,
        expires_at=None,
        paused=room.is_paused,
        entered_at=ticket.entered_at,
        receipt=ticket.receipt,
    )


def _prequeued_status(ticket: Ticket, room: RoomFigures, draw_at: datetime.datetime) -> QueueStatus:
    return QueueStatus(
        position=0,
        ahead=0,
        eta_seconds=None,
        admitted=False,
        token=ticket.token,
        expires_at=None,
        paused=room.is_paused,
        entered_at=ticket.entered_at,
        prequeued=True,
        receipt=ticket.receipt,
        draw_at=draw_at,
        prequeue_size=ticket.prequeue_size or 1,  # at least this fan (a ticket from a join carries no count)
    )


def _admitted_status(ticket: Ticket, room: WaitingRoom) -> QueueStatus:
    return QueueStatus(
        position=0,
        ahead=0,
        eta_seconds=0,
        admitted=True,
        token=ticket.token,
        expires_at=ticket.expires_at,
        paused=room.is_paused,
        entered_at=ticket.entered_at,
        receipt=ticket.receipt,
    )


def _status_of(ticket: Ticket, room: WaitingRoom, concert: Concert, now: datetime.datetime) -> QueueStatus:
    if ticket.is_prequeued:
        return _prequeued_status(ticket, room, sales.current(concert, now).sale_opens_at)
    if ticket.is_admitted:
        return _admitted_status(ticket, room)
    return _waiting_status(ticket, room, now)


# --- joining and reading --------------------------------------------------------------------------


def address_for_cap(client_ip: str) -> str:
    """The address live places are counted against: the client's, an IPv6 one as the first address of its
    /64 (one subscriber's whole network, as the rate limits count it; stored in the history as such)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def highest_arrival(concert: Concert) -> int:
    """The highest pre-queue arrival number the history has handed out for this concert (0 for none)."""
    receipts = QueueEntryHistory.objects.filter(concert=concert).exclude(receipt="")
    top = receipts.order_by(Length("receipt").desc(), "-receipt").values_list("receipt", flat=True).first()
    return arrival_of(top) if top else 0


def _is_open(sale: Sale, now: datetime.datetime) -> bool:
    return not sale.is_over(now) and now >= sale.prequeue_starts_at


def is_entry_open(concert: Concert, now: datetime.datetime) -> bool:
    """Can a fan enter the room now: from the pre-queue's opening of the sale it serves (a presale window, or the
    general sale: sales.current) until that sale closes (a presale) or the concert's last show starts?"""
    return _is_open(sales.current(concert, now), now)


def check_entry_window(concert: Concert, now: datetime.datetime, *, user: User | None = None) -> Sale:
    """Refuse entry outside the room's opening hours (is_entry_open): QueueClosed once the concert's last show
    has started, QueueNotOpen before the pre-queue opens; and, given the fan, PresaleOnly when the room serves a
    presale whose list they are not on. Returns the sale the room serves. Callers check it before spending an entry
    challenge."""
    sale = sales.current(concert, now)
    if not _is_open(sale, now):
        if concert.is_over(now):
            raise QueueClosed()
        raise QueueNotOpen()
    if user is not None:
        sales.check_eligible(sale, user)
    return sale


def _hold_room_shared(concert: Concert) -> None:
    """A presale's join (Redis) holds the room's row in share mode until its history row commits, so the room's move
    to the next sale (sales.move_on, which locks the row for update) waits for joins in flight and then finds their
    visits committed: it ends them all in one UPDATE, none is left live. Joins do not wait for one another; the
    general sale's joins (the concert's last sale, from which the room never moves) skip it. SQLite has one writer
    at a time anyway."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {WaitingRoom._meta.db_table} WHERE concert_id = %s FOR SHARE",  # noqa: S608 -- our table
            [concert.pk],
        )


def _check_address_cap(*, user: User, concert: Concert, client_ip: str) -> None:
    """Refuse a new place when this address already holds QUEUE_MAX_PLACES_PER_IP live ones in the concert.

    Counted from the history (both backends write every visit there). On PostgreSQL a transaction-scoped
    advisory lock per concert and address makes the count and the new row one step, so concurrent joins
    from one address cannot pass the cap together; SQLite runs one writer at a time anyway.
    """
    live = QueueEntryHistory.objects.filter(concert=concert, exited_at__isnull=True)
    if live.filter(user=user).exists():
        return  # the fan's own place comes back unchanged
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"queue-ip:{concert.pk}:{client_ip}"]
            )
    if live.filter(client_ip=client_ip).count() >= settings.QUEUE_MAX_PLACES_PER_IP:
        raise TooManyPlacesFromAddress()


def enter(
    *,
    user: User,
    concert: Concert,
    challenge_solution: str | None,
    now: datetime.datetime | None = None,
    client_ip: str | None = None,
) -> QueueStatus:
    """A fan asks to enter the concert's waiting room (the room page's join button, the API's POST): the place they
    already hold (a second tab, a double click, a retry: no new challenge spent), else the entry challenge's
    solution redeemed (when the room asks for one) and the fan joined. Raises what check_entry_window,
    redeem_solution and join raise (QueueNotOpen, QueueClosed, ChallengeFailed, TooManyPlacesFromAddress,
    QueueUnavailable); the caller checks the fan's e-mail verification first (accounts.selectors.must_verify_email).
    """
    now = now or timezone.now()
    check_entry_window(concert, now, user=user)
    joined = poll_place(user=user, concert=concert, now=now)
    if joined is None:
        redeem_solution(concert=concert, payload=challenge_solution, now=now)
        joined = join(user=user, concert=concert, now=now, client_ip=client_ip)
    return joined


def join(
    *, user: User, concert: Concert, now: datetime.datetime | None = None, client_ip: str | None = None
) -> QueueStatus:
    """Put the user in the concert's waiting room, or return the place they already hold.

    Idempotent per user and concert (refresh, second tab, second device: same token, same place). From the
    pre-queue's opening until the sale opens the fan enters the pre-queue (a receipt, no place: the draw
    places everyone in it at the opening); after the opening the draw runs first if it has not, and the
    fan queues behind everyone drawn, first come first served. Admits at once when there is room, nobody
    is waiting and the room's admission rate allows (an admission run does it, under the room's lock).
    `client_ip` (the fan's address) is recorded and capped per concert (QUEUE_MAX_PLACES_PER_IP). Raises
    QueueNotOpen before the pre-queue opens, QueueClosed once the concert's last show has started,
    TooManyPlacesFromAddress over the cap, QueueUnavailable when the backend cannot be reached.
    """
    injected, now = now, now or timezone.now()
    sale = check_entry_window(concert, now, user=user)
    if client_ip:
        client_ip = address_for_cap(client_ip)
    prequeue = not sale.is_on_sale(now)
    room = room_for(concert)
    if room.serving_presale != sale.key:  # the room's first join of this sale: it moves on from the last one
        sales.move_on(concert=concert, sale=sale, now=now)
        room = room_for(concert)
        if room.serving_presale != sale.key:  # it serves a later sale: this join's time is behind the close
            raise QueueClosed(_("This presale has closed: its waiting room takes no more fans."))
    if is_draw_due(room, concert, now):
        run_draw(concert=concert, now=now)
    joining = functools.partial(
        _join_once, user=user, concert=concert, room=room, now=now, prequeue=prequeue, client_ip=client_ip, sale=sale
    )
    try:
        result = joining()
    except DrawPending:  # the room was read before another process's view of the draw: run it, join again
        if not run_draw(concert=concert, now=now):
            restore_backend_draw(concert=concert)
        result = joining()
    except SaleChanged:  # the presale closed (and the room moved on) since this join checked it
        raise QueueClosed(_("This presale has closed: its waiting room takes no more fans.")) from None
    ticket = result.ticket
    if result.created and ticket.ahead == 0 and not room.is_paused:
        # Nobody waits ahead: an admission run lets the fan in at once if there is room and the admission rate
        # allows (the backend never admits on join, so every admission is paced under the room's lock).
        current = _admit_from_the_front(user=user, concert=concert, now=injected)
        if current is not None:
            return current
    elif not ticket.is_prequeued and not ticket.is_admitted and is_overdue(room, now):
        # Beat seems to be stopped: the poll path runs admission under its lock.
        current = poll_place(user=user, concert=concert, now=now)
        if current is not None:
            return current
    return _status_of(ticket, room, concert, now)


def _admit_from_the_front(*, user: User, concert: Concert, now: datetime.datetime | None) -> QueueStatus | None:
    """Run admission for the concert (a joiner is at the front), then the joiner's status; None if they hold no
    place any more."""
    run_admission(concert=concert, now=now, limit=settings.QUEUE_ADMIT_BATCH_SIZE)
    room = WaitingRoom.objects.get(pk=concert.pk)
    now = now or timezone.now()
    ticket = get_backend().status(room=room, user_id=user.pk, now=now)
    return None if ticket is None else _status_of(ticket, room, concert, now)


def _join_once(
    *,
    user: User,
    concert: Concert,
    room: WaitingRoom,
    now: datetime.datetime,
    prequeue: bool,
    client_ip: str | None,
    sale: Sale,
) -> JoinResult:
    backend = get_backend()
    result = None
    tag = sale_tag(sale.key)
    try:
        with transaction.atomic():
            if sale.presale is not None and not backend.transactional:
                _hold_room_shared(concert)
            if client_ip:
                _check_address_cap(user=user, concert=concert, client_ip=client_ip)
            try:
                result = backend.join(room=room, user_id=user.pk, now=now, prequeue=prequeue, sale=tag)
            except ArrivalFloorNeeded:
                result = backend.join(
                    room=room,
                    user_id=user.pk,
                    now=now,
                    prequeue=prequeue,
                    arrival_floor=highest_arrival(concert),
                    sale=tag,
                )
            if result.replaced is not None:
                record_exits([result.replaced], now=now, reason=EXIT_EXPIRED)
                forget_when_committed(backend, concert.pk, exited=[result.replaced])
            if result.created:
                record_entry(user=user, concert=concert, ticket=result.ticket, client_ip=client_ip, presale_id=sale.key)
    except Exception:
        # Redis keeps its change when the history write fails: take the new place back (best effort; the
        # ends this join made are noted, and the next admission run writes them).
        if result is not None and result.created and not backend.transactional:
            try:
                taken_back = backend.end(concert_id=concert.pk, user_id=user.pk, now=now, reason=ExitReason.ERROR)
                if taken_back is not None:  # it never had a history row
                    backend.history_written(concert_id=concert.pk, exited=[taken_back])
            except QueueUnavailable:
                logger.warning("queue %s: could not take back %s's place after a failed join", concert.pk, user.pk)
        raise
    return result


def poll_place(
    *, user: User, concert: Concert, now: datetime.datetime | None = None, room: WaitingRoom | None = None
) -> QueueStatus | None:
    """The user's place in the concert's waiting room, or None if they hold no live place.

    `room`: the concert's WaitingRoom as the caller has just read it (with the concert), sparing a query.

    Not a pure read: when the fan is waiting and the last admission run is overdue (beat stopped), it runs
    one under the room's lock first (admitting fans, ending run-out admissions, writing their history), so
    the queue moves as long as fans poll. Otherwise cheap with any number of fans waiting (no counting of
    the rows ahead).
    """
    injected, now = now, now or timezone.now()
    room = room if room is not None else _room_if_any(concert)
    if room is None:
        return None
    sale = sales.current(concert, now)
    if room.serving_presale != sale.key:  # a presale has closed: its places end as the room moves on (forward only:
        sales.move_on(concert=concert, sale=sale, now=now)  # a poll whose time is behind reads the later sale's)
        room = WaitingRoom.objects.get(pk=concert.pk)
    backend = get_backend()
    ticket = backend.status(room=room, user_id=user.pk, now=now)
    if ticket is None:
        return None
    if ticket.is_prequeued and is_draw_due(room, concert, now):
        # The first poll after the opening runs the draw (unless another process is running it: then the
        # fan sees the pre-queue once more, and their place on the next poll).
        run_draw(concert=concert, now=injected, wait=False)
        room = WaitingRoom.objects.get(pk=concert.pk)
        ticket = backend.status(room=room, user_id=user.pk, now=now)
        if ticket is None:
            return None
    if not ticket.is_prequeued and not ticket.is_admitted and is_overdue(room, now):
        lease = max(5.0, settings.ADMIT_QUEUE_EVERY_SECONDS)
        if backend.try_admission_lease(concert_id=concert.pk, overdue_since=room.last_admission_at, seconds=lease):
            run_admission(concert=concert, now=injected, limit=settings.QUEUE_ADMIT_BATCH_SIZE, only_if_overdue=True)
            room = WaitingRoom.objects.get(pk=concert.pk)
            ticket = backend.status(room=room, user_id=user.pk, now=now)
            if ticket is None:
                return None
    mirror_room(room, concert)
    return _status_of(ticket, room, concert, now)


@dataclass(frozen=True)
class QuickPoll:
    """A poll answered on the fast path: the fan's status, or None when they hold no live place."""

    status: QueueStatus | None


def has_fast_poll() -> bool:
    """Can the configured backend answer a status poll alone (poll_quickly)? If not, polls go the full path.
    Never raises QueueUnavailable: it asks the backend's kind, not the backend."""
    return has_fast_path()


def poll_quickly(
    *, concert_id: uuid.UUID, user_id: uuid.UUID, now: datetime.datetime | None = None
) -> QuickPoll | None:
    """The user's place in the concert's waiting room from the backend alone (one round trip, no query, no
    write), when that gives the answer poll_place would; None when only poll_place can answer: the backend
    keeps no mirror of the room (the database backend, or none written in the last few seconds), the fan is
    admitted (their page goes on to the seats), their pre-queue entry waits for a draw that is due, or the
    last admission run is overdue (poll_place runs it).

    A read only: the caller must already know that this is `user_id`'s own poll (the queue pass of queueing.passes).
    Raises QueueUnavailable when the backend cannot be reached.
    """
    now = now or timezone.now()
    found = get_backend().fast_status(concert_id=concert_id, user_id=user_id)
    if found is None:
        return None
    state, ticket = found
    if ticket is None:
        return QuickPoll(status=None)
    if ticket.is_admitted:
        return None
    room = room_from_mirror(state)
    if ticket.is_prequeued:
        if now >= room.sale_opens_at:  # the draw is due (or has just run): poll_place runs it or reads the place
            return None
        return QuickPoll(status=_prequeued_status(ticket, room, room.sale_opens_at))
    if is_overdue(room, now):
        return None
    return QuickPoll(status=_waiting_status(ticket, room, now))


def touch(*, user: User | AnonymousUser, concert: Concert, now: datetime.datetime | None = None) -> bool:
    """Is this user admitted for this concert right now? If so their admission slides to ACTIVE_SECONDS
    from now (capped at MAX_LIFETIME_FACTOR x ACTIVE_SECONDS after admission). Server-side state only:
    nothing the client sends can make this True.

    "Now" is the store's clock (PostgreSQL's or Redis's), not this server's, unless `now` is injected;
    an admission that was ended to give its place away is never revived.
    """
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return False
    return get_backend().touch(
        concert_id=concert.pk,
        user_id=user.pk,
        now=now,
        active_seconds=settings.ACTIVE_SECONDS,
        max_lifetime_seconds=max_lifetime_seconds(),
    )


# --- leaving --------------------------------------------------------------------------------------


def _end(*, user: User, concert: Concert, reason: str, now: datetime.datetime) -> bool:
    backend = get_backend()
    with transaction.atomic():
        ticket = backend.end(concert_id=concert.pk, user_id=user.pk, now=now, reason=reason)
        if ticket is not None:
            record_exits([ticket], now=now, reason=reason)
            forget_when_committed(backend, concert.pk, exited=[ticket])
    return ticket is not None


def leave(*, user: User, concert: Concert, now: datetime.datetime | None = None) -> bool:
    """The fan leaves the waiting room (waiting or admitted), freeing the place. False if they held none.

    Raises QueueUnavailable when the backend cannot be reached.
    """
    return _end(user=user, concert=concert, reason=EXIT_LEFT, now=now or timezone.now())


def end_for_user(*, user: User, concert: Concert, reason: str, now: datetime.datetime | None = None) -> bool:
    """End the user's place for this concert (after payment, expiry or leaving), freeing it for the next fan.

    Booking calls this from transaction.on_commit after a successful payment (reason "paid"). A no-op
    returning False when the user holds no place. Never raises for an unreachable backend: the payment
    is done by then, and the admission runs out on its own.
    """
    try:
        return _end(user=user, concert=concert, reason=reason, now=now or timezone.now())
    except QueueUnavailable:
        logger.warning("queue %s: backend unavailable, could not end %s's place (%s)", concert.pk, user.pk, reason)
        return False
