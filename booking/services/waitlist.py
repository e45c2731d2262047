"""The waiting list of a sold-out date (취소표): fans join and leave it; a seat of the date that comes back (a
cancellation, an expired hold, a staff release) is offered to the first fan on it, held for them for
OFFER_SECONDS; an offer not used in time goes on to the next fan.

An offer is itself a hold: making it holds the seat for the fan (the seat HELD by them, a HOLD reservation, both
expiring when the offer does), so the double-booking constraints, the hold expiry and checkout work on it
unchanged, and nobody else can take the seat meanwhile. Accepting it only records that the fan took it up and
sends them to checkout, without the waiting room (checkout lets a fan's live holds through); the hold keeps the
offer's expiry. Outcomes that happen elsewhere (paid at checkout, the hold expired, released by the fan at
checkout or by staff) are recorded by settle_offers, which every offer run does first.

Offers on a date are made one at a time under a transaction-scoped advisory lock on the date (taken with no
other lock held, see accounts.locking), so two workers never offer one seat twice or skip a fan: each offer
takes the first WAITING entry in list order and the lowest-numbered free seat. Locks inside: the fan's user
row, the date's row (FOR SHARE), the seat; a WAITING entry changes only under its fan's user lock, an offer
(and its OFFERED entry) only under its seat's lock.
"""

import dataclasses
import datetime
import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts import audit
from accounts.locking import lock_user
from accounts.models import User
from concerts import page_cache
from concerts.models import ConcertDate, Seat, SeatStatusHistory

from .. import seat_versions, selectors
from ..exceptions import (
    DateNotBookable,
    OfferExpired,
    OfferLinkInvalid,
    SaleNotOpen,
    SeatLimitReached,
    WaitlistNotNeeded,
)
from ..models import Reservation, WaitlistEntry, WaitlistOffer
from ._seats import History, expire_seats, free_seats, lock_seats, share_lock_date, share_lock_date_row

logger = logging.getLogger(__name__)

Entry, Offer = WaitlistEntry.Status, WaitlistOffer.Status


def _language(value: str | None) -> str:
    try:
        return translation.get_supported_language_variant(value or "")
    except LookupError:
        return settings.LANGUAGE_CODE


def _check_joinable(concert_date: ConcertDate, now: datetime.datetime) -> None:
    if concert_date.is_cancelled:
        raise DateNotBookable.cancelled()
    if selectors.show_has_started(concert_date, now=now):
        raise DateNotBookable()
    if not concert_date.concert.is_on_sale(now):
        raise SaleNotOpen()


def join_waitlist(
    *, user: User, concert_date: ConcertDate, language: str | None = None, now: datetime.datetime | None = None
) -> WaitlistEntry:
    """Put the fan on the date's waiting list, at its end; return their live entry. Idempotent: a fan already on
    it gets the same entry and place back.

    Only a sold-out date has a list: raises WaitlistNotNeeded while a seat is free (selectors.free_seat_count),
    DateNotBookable (cancelled or started), SaleNotOpen, SeatLimitReached when the fan already has
    MAX_SEATS_PER_USER seats on the date. Locks the fan's user row, so two joins at once make one entry.
    `language` (default: the active one) is the offer e-mail's.
    """
    now = now or timezone.now()
    _check_joinable(concert_date, now)
    with transaction.atomic():
        lock_user(user.pk)
        entry = selectors.live_waitlist_entry(user=user, concert_date=concert_date)
        if entry is not None:
            return entry
        if selectors.free_seat_count(concert_date=concert_date, now=now):
            raise WaitlistNotNeeded()
        already = selectors.live_seat_count(user=user, concert_date=concert_date, now=now)
        if already >= settings.MAX_SEATS_PER_USER:
            raise SeatLimitReached(limit=settings.MAX_SEATS_PER_USER, already=already, requested=1)
        return WaitlistEntry.objects.create(
            user_id=user.pk,
            concert_date=concert_date,
            language=_language(language or translation.get_language()),
            joined_at=now,
        )


def leave_waitlist(
    *, user: User, concert_date: ConcertDate, now: datetime.datetime | None = None
) -> WaitlistEntry | None:
    """Take the fan off the date's waiting list; return the ended entry, or None if they were not on it
    (idempotent). An open offer is declined: its hold ends (reservation CANCELLED, OFFER_DECLINED), the seat is
    free again and goes to the next fan (seats_returned). Locks the user row, then the offered seat.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lock_user(user.pk)
        entry = selectors.live_waitlist_entry(user=user, concert_date=concert_date)
        if entry is None:
            return None
        if entry.status == Entry.OFFERED:
            offer = WaitlistOffer.objects.get(entry=entry)
            _decline(offer, user=user, now=now)
            seats_returned([concert_date.pk])
        else:
            _end_entry(entry, Entry.LEFT, concert_date=concert_date, now=now)
        entry.refresh_from_db()
        return entry


def decline_offer(*, user: User, offer: WaitlistOffer, now: datetime.datetime | None = None) -> WaitlistOffer:
    """The fan lets this offer go (the offer page's button): if it is still open, its hold ends (reservation
    CANCELLED, OFFER_DECLINED), the offer is DECLINED, its entry LEFT and the seat goes to the next fan. Raises
    OfferLinkInvalid for another fan's offer; an offer already ended is returned unchanged, and nothing else of
    the fan's changes (an old tab's button never ends the fan's current entry nor declines a newer offer).
    Locks the user row, then the offered seat (accounts.locking)."""
    now = now or timezone.now()
    if offer.entry.user_id != user.pk:
        raise OfferLinkInvalid()
    with transaction.atomic():
        lock_user(user.pk)
        if WaitlistOffer.objects.filter(pk=offer.pk, status__in=WaitlistOffer.OPEN_STATUSES).exists():
            _decline(offer, user=user, now=now)  # locks the seat and checks again: an offer ends only under it
            if offer.status == Offer.DECLINED:
                seats_returned([offer.seat.concert_date_id])
    offer.refresh_from_db()
    return offer


def _decline(offer: WaitlistOffer, *, user: User, now: datetime.datetime) -> None:
    """End an offer the fan let go, under its seat lock: its hold released, the offer DECLINED, the entry LEFT."""
    seat = lock_seats(Seat.objects.filter(pk=offer.seat_id))[0]
    offer.refresh_from_db()
    if not offer.is_open:  # settled meanwhile (paid, run out): nothing to decline
        return
    reservation = Reservation.objects.get(pk=offer.reservation_id)
    if reservation.status == Reservation.Status.HOLD:
        history = History(now)
        free_seats(
            [seat],
            live_status=Reservation.Status.HOLD,
            ended_status=Reservation.Status.CANCELLED,
            end_reason=Reservation.EndReason.OFFER_DECLINED,
            by=user,
            reason=SeatStatusHistory.Reason.OFFER_DECLINED,
            history=history,
            now=now,
        )
        history.save()
        _end_offer(offer, Offer.DECLINED, entry_status=Entry.LEFT, now=now)
    else:
        _settle(offer, reservation, seat, now=now)


def accept_offer(*, user: User, offer: WaitlistOffer, now: datetime.datetime | None = None) -> Reservation:
    """The fan takes up an offer: return its hold (the seat held for them until the offer's expiry), which
    checkout then pays without the waiting room. Idempotent while the offer is open.

    Locks the user row, share-locks the date, then the seat. Raises OfferLinkInvalid for another fan's offer,
    OfferExpired when the offer ran out or ended (declined, paid, withdrawn), DateNotBookable for a cancelled
    date or a started show. Nothing else is held: the fan can hold no other seat this way.
    """
    now = now or timezone.now()
    if offer.entry.user_id != user.pk:
        raise OfferLinkInvalid()
    with transaction.atomic():
        lock_user(user.pk)
        starts_at = share_lock_date(offer.seat.concert_date)
        lock_seats(Seat.objects.filter(pk=offer.seat_id))
        fresh = WaitlistOffer.objects.select_related("reservation__seat").get(pk=offer.pk)
        reservation = fresh.reservation
        live = reservation.status == Reservation.Status.HOLD and (
            reservation.hold_expire_at is not None and reservation.hold_expire_at > now
        )
        if not fresh.is_open or not live or fresh.expires_at <= now:
            raise OfferExpired()
        if starts_at <= now:
            raise DateNotBookable()
        if fresh.status == Offer.OPEN:
            WaitlistOffer.objects.filter(pk=fresh.pk).update(status=Offer.ACCEPTED, accepted_at=now)
            fresh.status, fresh.accepted_at = Offer.ACCEPTED, now
    offer.status, offer.accepted_at = fresh.status, fresh.accepted_at
    return reservation


# --- making offers --------------------------------------------------------------------------------------------


def _stopped_waiting(concert_date: ConcertDate) -> None:
    """A fan stopped waiting on the date's list (left, closed, offered a seat): once nobody waits, the free seats
    the list kept are anyone's, so what shows them as taken while fans wait is read again: the seat map's cached
    grid (selectors.seat_grid, by a new seat version) and, once this commits, the concert page's shared body, whose
    seats left count none while fans wait (concerts.selectors.bookable_dates)."""
    seat_versions.seats_changed([concert_date.pk])
    page_cache.forget_pages(concert_ids=[concert_date.concert_id])


def _end_entry(entry: WaitlistEntry, status: str, *, concert_date: ConcertDate, now: datetime.datetime) -> None:
    """End a WAITING entry of the date (LEFT, CLOSED)."""
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=status, ended_at=now)
    entry.status, entry.ended_at = status, now
    _stopped_waiting(concert_date)


def _end_offer(offer: WaitlistOffer, status: str, *, entry_status: str, now: datetime.datetime) -> None:
    WaitlistOffer.objects.filter(pk=offer.pk).update(status=status, ended_at=now)
    WaitlistEntry.objects.filter(pk=offer.entry_id).update(status=entry_status, ended_at=now)
    offer.status, offer.ended_at = status, now


def _settle(
    offer: WaitlistOffer,
    reservation: Reservation,
    seat: Seat,
    *,
    now: datetime.datetime,
    history: History | None = None,
) -> bool:
    """Record the outcome of an open offer (its seat locked) if it has one; return whether it ended.

    Paid → PAID (entry BOOKED); its hold ran out → EXPIRED (entry PASSED), a hold not swept yet is expired here so
    the seat can go to the next fan; the fan let it go (declined, or released the hold at checkout) → DECLINED
    (entry LEFT); ended otherwise (staff released it, the date was cancelled) → WITHDRAWN.
    """
    if reservation.confirmed_at is not None:
        _end_offer(offer, Offer.PAID, entry_status=Entry.BOOKED, now=reservation.confirmed_at)
        return True
    if reservation.status == Reservation.Status.HOLD:
        if reservation.hold_expire_at is not None and reservation.hold_expire_at > now:
            return False
        own = history is None
        history = history or History(now)
        expire_seats([seat], history=history, now=now)
        if own:
            history.save()
        _end_offer(offer, Offer.EXPIRED, entry_status=Entry.PASSED, now=now)
        return True
    if reservation.status == Reservation.Status.EXPIRED:
        _end_offer(offer, Offer.EXPIRED, entry_status=Entry.PASSED, now=reservation.ended_at or now)
    elif reservation.end_reason in (Reservation.EndReason.OFFER_DECLINED, Reservation.EndReason.FAN_RELEASED):
        _end_offer(offer, Offer.DECLINED, entry_status=Entry.LEFT, now=reservation.ended_at or now)
    else:
        _end_offer(offer, Offer.WITHDRAWN, entry_status=Entry.CLOSED, now=reservation.ended_at or now)
    return True


def settle_offers(*, concert_date: ConcertDate, now: datetime.datetime | None = None) -> int:
    """Record the outcome of every open offer of the date that has one (settle above); return how many ended.

    Locks the offers' seats in seat order (one transaction); idempotent.
    """
    now = now or timezone.now()
    with transaction.atomic():
        stale = Q(reservation__status__in=[Reservation.Status.CONFIRMED, Reservation.Status.EXPIRED])
        stale |= Q(reservation__status=Reservation.Status.CANCELLED) | Q(reservation__hold_expire_at__lte=now)
        seat_ids = list(
            WaitlistOffer.objects.filter(
                stale, entry__concert_date=concert_date, status__in=WaitlistOffer.OPEN_STATUSES
            ).values_list("seat_id", flat=True)
        )
        if not seat_ids:
            return 0
        seats = {seat.pk: seat for seat in lock_seats(Seat.objects.filter(pk__in=seat_ids).order_by("seat_number"))}
        ended = 0
        for offer in WaitlistOffer.objects.filter(
            seat_id__in=list(seats), status__in=WaitlistOffer.OPEN_STATUSES
        ).select_related("reservation"):
            ended += _settle(offer, offer.reservation, seats[offer.seat_id], now=now)
        return ended


def _lock_waitlist(concert_date_id: uuid.UUID) -> None:
    """The date's waiting-list lock (transaction-scoped): one offer at a time per date. Take it first."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"waitlist:{concert_date_id}"])
    # SQLite runs one writing transaction at a time anyway


def _close_list(concert_date: ConcertDate, *, now: datetime.datetime) -> None:
    WaitlistEntry.objects.filter(concert_date=concert_date, status=Entry.WAITING).update(
        status=Entry.CLOSED, ended_at=now
    )
    _stopped_waiting(concert_date)


_SKIPPED = object()  # an entry passed over: try the next one


def _offer_one(concert_date: ConcertDate, *, now: datetime.datetime) -> WaitlistOffer | object | None:
    """In the date's waiting-list lock: offer the lowest-numbered free seat to the first WAITING fan; return the
    offer, _SKIPPED (that fan was passed over) or None (nobody waits, or no seat is free)."""
    entry = (
        WaitlistEntry.objects.filter(concert_date=concert_date, status=Entry.WAITING)
        .order_by("joined_at", "id")
        .first()
    )
    if entry is None:
        return None
    user = lock_user(entry.user_id)
    status, starts_at = share_lock_date_row(concert_date)
    if status == ConcertDate.Status.CANCELLED or starts_at <= now:
        _close_list(concert_date, now=now)
        return None
    entry.refresh_from_db()  # a WAITING entry changes only under its fan's lock, which is held now
    if entry.status != Entry.WAITING:
        return _SKIPPED
    if selectors.live_seat_count(user=user, concert_date=concert_date, now=now) >= settings.MAX_SEATS_PER_USER:
        _end_entry(entry, Entry.CLOSED, concert_date=concert_date, now=now)
        return _SKIPPED
    free = Q(status=Seat.Status.AVAILABLE) | Q(status=Seat.Status.HELD, hold_expire_at__lte=now)
    # Waits for a free seat whose row is locked right now, then reads it again: a hold that took it leaves it out
    # and the next free seat is offered. Not SKIP LOCKED: the locker may take nothing (a fan accepting an offer or
    # paying a hold that ran out locks the seat, then rolls back), and a seat skipped then would wait for the beat
    # sweep, since nothing queues this run again. The wait is short (holds and payments lock seats last, for
    # milliseconds) and cannot deadlock: every other transaction takes a seat after the rows held here.
    seats = lock_seats(Seat.objects.filter(free, concert_date=concert_date).order_by("seat_number"), limit=1)
    if not seats:
        return None
    [seat] = seats
    history = History(now)
    # An open offer of this seat ends first, whatever the seat's status: its hold may have run out unswept (the
    # seat still HELD), or been freed by the expiry sweep or a staff release since settle_offers looked (the seat
    # AVAILABLE, the offer still open: a new offer would break one open offer per seat).
    for stale in WaitlistOffer.objects.filter(seat=seat, status__in=WaitlistOffer.OPEN_STATUSES).select_related(
        "reservation"
    ):
        _settle(stale, stale.reservation, seat, now=now, history=history)
    if seat.status == Seat.Status.HELD:  # an expired hold: it ends first
        expire_seats([seat], history=history, now=now)
    expire_at = now + datetime.timedelta(seconds=settings.OFFER_SECONDS)
    Seat.objects.filter(pk=seat.pk).update(status=Seat.Status.HELD, held_by=user.pk, hold_expire_at=expire_at)
    reservation = Reservation.objects.create(
        user_id=user.pk,
        seat=seat,
        status=Reservation.Status.HOLD,
        price=seat.price,
        created_at=now,
        hold_expire_at=expire_at,
    )
    history.add(
        seat,
        from_status=seat.status,
        to_status=Seat.Status.HELD,
        by=None,
        reason=SeatStatusHistory.Reason.WAITLIST_OFFERED,
    )
    history.save()
    seat.status, seat.held_by_id, seat.hold_expire_at = Seat.Status.HELD, user.pk, expire_at
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=Entry.OFFERED)
    _stopped_waiting(concert_date)
    return WaitlistOffer.objects.create(
        entry=entry, seat=seat, reservation=reservation, offered_at=now, expires_at=expire_at
    )


def make_offers(*, concert_date: ConcertDate, now: datetime.datetime | None = None) -> list[WaitlistOffer]:
    """Settle the date's open offers, then offer each free seat of the date to the next fan on its waiting list,
    in list order, one seat per fan; return the offers made.

    Each offer is its own transaction under the date's waiting-list lock (see the module), so several workers
    running this at once, or several seats returning at once, give each seat one offer and each fan at most one.
    A cancelled or started date closes its list instead. The offer e-mails are sent by send_offer_emails.
    """
    settle_offers(concert_date=concert_date, now=now or timezone.now())
    made: list[WaitlistOffer] = []
    while True:
        with transaction.atomic():
            _lock_waitlist(concert_date.pk)
            # Read the clock once the lock is held, so offers are made at times in list order.
            result = _offer_one(concert_date, now=now or timezone.now())
        if result is None:
            break
        if isinstance(result, WaitlistOffer):
            made.append(result)
    if made:
        logger.info("waiting list of %s: %d seat(s) offered", concert_date.pk, len(made))
    return made


def offer_now(*, concert_date: ConcertDate, by: User | None = None) -> list[WaitlistOffer]:
    """Staff's "offer the free seats now": make_offers for the date, then an audit entry ("waitlist.offer_now")
    naming the seats offered. Each offer commits in its own transaction (make_offers), so the entry follows
    them in one of its own: it records that staff ran it; each offer is its own WaitlistOffer record."""
    made = make_offers(concert_date=concert_date)
    with transaction.atomic():
        audit.record(
            "waitlist.offer_now",
            concert_date,
            changes={"seats_offered": (None, sorted(offer.seat.seat_number for offer in made))},
            actor=by,
        )
    return made


def dates_to_offer(*, now: datetime.datetime | None = None) -> list[uuid.UUID]:
    """The dates whose waiting lists may have work: a fan waiting while a seat is free, or an open offer."""
    now = now or timezone.now()
    free = Q(status=Seat.Status.AVAILABLE) | Q(status=Seat.Status.HELD, hold_expire_at__lte=now)
    waiting = WaitlistEntry.objects.filter(status=Entry.WAITING).values("concert_date_id")
    waiting_with_seats = set(
        Seat.objects.filter(free, concert_date_id__in=waiting)
        .values_list("concert_date_id", flat=True)
        .order_by()
        .distinct()
    )
    offered = set(
        WaitlistOffer.objects.filter(status__in=WaitlistOffer.OPEN_STATUSES, expires_at__lte=now)
        .values_list("entry__concert_date_id", flat=True)
        .order_by()
        .distinct()
    )
    offered |= set(
        WaitlistOffer.objects.filter(status__in=WaitlistOffer.OPEN_STATUSES)
        .exclude(reservation__status=Reservation.Status.HOLD)
        .values_list("entry__concert_date_id", flat=True)
        .order_by()
        .distinct()
    )
    return sorted(waiting_with_seats | offered)


def offer_everywhere(*, now: datetime.datetime | None = None) -> int:
    """The beat sweep: make_offers on every date that may need it (dates_to_offer); return the offers made."""
    now = now or timezone.now()
    made = 0
    for concert_date in ConcertDate.objects.filter(pk__in=dates_to_offer(now=now)).select_related("concert"):
        made += len(make_offers(concert_date=concert_date, now=now))
    return made


def seats_returned(concert_date_ids: Iterable[uuid.UUID]) -> None:
    """Call inside the transaction that freed seats of these dates: once it commits, the offer job of each of
    them that has a live waiting list is queued (booking.jobs.offer_returned_seats). One query, none when the
    dates have no list; a failed enqueue is logged and left to the beat sweep."""
    ids = set(concert_date_ids)
    if not ids:
        return
    listed = list(
        WaitlistEntry.objects.filter(concert_date_id__in=ids, status__in=WaitlistEntry.LIVE_STATUSES)
        .values_list("concert_date_id", flat=True)
        .order_by()
        .distinct()
    )
    for date_id in listed:

        def enqueue_offers(date_id: uuid.UUID = date_id) -> None:
            from .. import jobs

            jobs.enqueue(jobs.offer_returned_seats, concert_date_id=str(date_id))

        transaction.on_commit(enqueue_offers, robust=True)


# A rush of fans refused while holds of the date run out unswept queues the date's offer job once this often.
OFFER_NUDGE_SECONDS = 5


def offer_expired_holds_soon(*, concert_date: ConcertDate, now: datetime.datetime | None = None) -> bool:
    """A fan met the date's waiting list (a hold refused with SeatsKeptForWaitlist, the list's page read while fans
    wait): if holds of the date have run out and the expiry sweep has not freed them yet (beat late or down), queue
    the date's offer job (booking.jobs.offer_returned_seats, as seats_returned does) once the current transaction
    commits, at once outside one, instead of leaving the seats to the next sweep. Returns whether it queued it.

    At most once per date every OFFER_NUDGE_SECONDS: a lease in the cache (cache.add), asked only once a query has
    found such a hold, and read first, so a rush of refusals costs one cache read each while the lease stands. The
    job is safe to run twice; a failed enqueue is logged and left to the beat sweep.
    """
    now = now or timezone.now()
    key = f"booking:offer-nudge:{concert_date.pk}"
    if cache.get(key) is not None:
        return False
    ran_out = Seat.objects.filter(concert_date=concert_date, status=Seat.Status.HELD, hold_expire_at__lte=now)
    if not ran_out.exists() or not cache.add(key, 1, timeout=OFFER_NUDGE_SECONDS):
        return False

    def enqueue_offers(date_id: uuid.UUID = concert_date.pk) -> None:
        from .. import jobs

        jobs.enqueue(jobs.offer_returned_seats, concert_date_id=str(date_id))

    transaction.on_commit(enqueue_offers, robust=True)
    return True


# --- the offer e-mail -----------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_offer_email(offer: WaitlistOffer) -> EmailMultiAlternatives:
    """The offer's e-mail in the language the fan joined the list in: the seat, until when it is held, the link."""
    from ..offer_links import offer_url

    date = offer.seat.concert_date
    context = {
        "user": offer.entry.user,
        "offer": offer,
        "seat": offer.seat,
        "date": date,
        "concert": date.concert,
        "link": offer_url(offer),
    }
    with translation.override(_language(offer.entry.language)):
        subject = _one_line(render_to_string("booking/email/offer_subject.txt", context))
        text = render_to_string("booking/email/offer.txt", context)
        html = render_to_string("booking/email/offer.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[offer.entry.user.email])
    message.attach_alternative(html, "text/html")
    return message


@dataclasses.dataclass(frozen=True)
class OfferEmails:
    """What one run of the offer e-mails did: how many went out, how many failed (still owed), the first error."""

    sent: int
    failed: int
    first_error: Exception | None


def send_offer_emails(*, concert_date_id: uuid.UUID | str | None = None, now: datetime.datetime | None = None) -> int:
    """Send the e-mail of every open offer not e-mailed yet (of one date, or all), each at most once; return how
    many went out. As deliver_offer_emails, then the first error of a mail that failed is raised once all were
    tried, so the RQ job retries (and the beat sweep after) without sending the ones that went."""
    done = deliver_offer_emails(concert_date_id=concert_date_id, now=now)
    if done.first_error is not None:
        raise done.first_error
    return done.sent


def deliver_offer_emails(
    *, concert_date_id: uuid.UUID | str | None = None, now: datetime.datetime | None = None
) -> OfferEmails:
    """Send the e-mail of every open offer not e-mailed yet (of one date, or all), each at most once, and say how
    it went without raising for a mail that failed (staff's action answers with a warning instead).

    Per offer: its row is claimed (FOR UPDATE SKIP LOCKED) and marked e-mailed in a transaction of its own that
    commits before the mail is sent, so no row lock is held while talking to the mail server and a second worker
    skips it. A mail that fails has its mark taken back (it stays owed for the retry and the beat sweep) and is
    logged, and the others are still sent. An offer that ran out before its mail went is not mailed. A worker
    that dies between the mark and the send loses that one mail (at most once, never twice).
    """
    now = now or timezone.now()
    owed = WaitlistOffer.objects.filter(
        emailed_at__isnull=True, status__in=WaitlistOffer.OPEN_STATUSES, expires_at__gt=now
    )
    if concert_date_id is not None:
        owed = owed.filter(seat__concert_date_id=uuid.UUID(str(concert_date_id)))
    sent = 0
    failed: list[uuid.UUID] = []
    first_error: Exception | None = None
    while True:
        with transaction.atomic():
            offer = (
                owed.exclude(pk__in=failed)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("entry__user", "seat__concert_date__concert", "reservation")
                .order_by("offered_at", "id")
                .first()
            )
            if offer is None:
                break
            WaitlistOffer.objects.filter(pk=offer.pk).update(emailed_at=now)
        try:
            render_offer_email(offer).send()
        except Exception as error:  # noqa: BLE001 - one refused address must not stop the others' mails
            WaitlistOffer.objects.filter(pk=offer.pk, emailed_at=now).update(emailed_at=None)
            logger.warning("waiting-list offer %s: its e-mail failed, left owed: %r", offer.pk, error)
            failed.append(offer.pk)
            first_error = first_error or error
            continue
        sent += 1
    return OfferEmails(sent=sent, failed=len(failed), first_error=first_error)
