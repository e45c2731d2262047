"""Reads of the waiting lists of sold-out dates: whether a date has a free seat, a fan's place on a list, the
fan's open offers (the banner), an offer by its link, and the staff's view of a list."""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from concerts.models import ConcertDate, Seat

from ..models import Reservation, WaitlistEntry, WaitlistOffer


def free_seat_count(*, concert_date: ConcertDate, now: datetime.datetime) -> int:
    """How many seats of the date a fan could hold now (AVAILABLE, or HELD by a hold that has run out): none while
    fans wait on the date's waiting list, whose every returned seat is theirs first (holds refuse it:
    SeatsKeptForWaitlist), so the date stays sold out and joinable until their offers are made."""
    if WaitlistEntry.objects.filter(concert_date=concert_date, status=WaitlistEntry.Status.WAITING).exists():
        return 0
    return _unheld_seat_count(concert_date=concert_date, now=now)


def _unheld_seat_count(*, concert_date: ConcertDate, now: datetime.datetime) -> int:
    """The date's seats nobody holds now (AVAILABLE, or HELD by a hold that has run out), waiting list or not."""
    return Seat.objects.filter(
        Q(status=Seat.Status.AVAILABLE) | Q(status=Seat.Status.HELD, hold_expire_at__lte=now),
        concert_date=concert_date,
    ).count()


def fans_waiting_on_date() -> Exists:
    """Whether fans wait on the date's list, as an expression on a ConcertDate row: while they do, its free seats
    are kept for them (free_seat_count). Registered with concerts (booking.apps), so the concert page counts no
    seat left then, as the seat map and holds do."""
    return Exists(WaitlistEntry.objects.filter(concert_date=OuterRef("pk"), status=WaitlistEntry.Status.WAITING))


def live_waitlist_entry(*, user: User, concert_date: ConcertDate) -> WaitlistEntry | None:
    """The fan's live (WAITING or OFFERED) entry on the date's waiting list, or None."""
    return WaitlistEntry.objects.filter(
        user_id=user.pk, concert_date=concert_date, status__in=WaitlistEntry.LIVE_STATUSES
    ).first()


@dataclass(frozen=True)
class WaitlistPlace:
    """A fan's place on a date's waiting list, as the waiting-list page shows it."""

    entry: WaitlistEntry | None  # the live entry; None when the fan is not on the list
    ahead: int  # fans WAITING before them (0 when not waiting)
    waiting: int  # fans WAITING on the date in all
    free_seats: int  # seats of the date a fan could hold now (the list is for sold-out dates)
    offer: WaitlistOffer | None  # the fan's open, unexpired offer on the date
    # An OFFERED entry whose offer ran out (or whose hold ended) but is not settled yet (seat joined): the seat
    # goes on to the next fan at the next offer run. None otherwise.
    ran_out: WaitlistOffer | None = None

    @property
    def position(self) -> int | None:
        """1 for the first fan waiting; None when the fan is not WAITING (an OFFERED entry has no number: the
        page shows its offer, or that it ran out)."""
        if self.entry is None or self.entry.status != WaitlistEntry.Status.WAITING:
            return None
        return self.ahead + 1


def waitlist_place(*, user: User, concert_date: ConcertDate, now: datetime.datetime | None = None) -> WaitlistPlace:
    """The fan's place on the date's list (anonymous visitors: no entry), how many wait, the free seats."""
    now = now or timezone.now()
    waiting = WaitlistEntry.objects.filter(concert_date=concert_date, status=WaitlistEntry.Status.WAITING)
    entry = live_waitlist_entry(user=user, concert_date=concert_date) if user.is_authenticated else None
    ahead = 0
    if entry is not None and entry.status == WaitlistEntry.Status.WAITING:
        ahead = waiting.filter(Q(joined_at__lt=entry.joined_at) | Q(joined_at=entry.joined_at, id__lt=entry.id)).count()
    offer = ran_out = None
    if entry is not None and entry.status == WaitlistEntry.Status.OFFERED:
        offer = open_offers_for(user=user, now=now).filter(entry=entry).first()
        if offer is None:  # rare: one query more
            ran_out = WaitlistOffer.objects.filter(entry=entry).select_related("seat").first()
    fans_waiting = waiting.count()
    return WaitlistPlace(
        entry=entry,
        ahead=ahead,
        waiting=fans_waiting,
        # free_seat_count, whose probe for fans waiting the count above has answered
        free_seats=0 if fans_waiting else _unheld_seat_count(concert_date=concert_date, now=now),
        offer=offer,
        ran_out=ran_out,
    )


def open_offers_for(*, user: User, now: datetime.datetime | None = None) -> QuerySet[WaitlistOffer]:
    """The fan's offers still open now (not run out, their hold still theirs), soonest to expire first, seat, date
    and concert joined: what the offer banner shows."""
    now = now or timezone.now()
    return (
        WaitlistOffer.objects.filter(
            entry__user_id=user.pk,
            status__in=WaitlistOffer.OPEN_STATUSES,
            expires_at__gt=now,
            reservation__status=Reservation.Status.HOLD,
        )
        .select_related("seat__concert_date__concert", "entry")
        .order_by("expires_at")
    )


def waitlist_of_date(concert_date: ConcertDate) -> QuerySet[WaitlistEntry]:
    """Every entry of the date's list in list order, fans and offers joined (staff)."""
    return (
        WaitlistEntry.objects.filter(concert_date=concert_date)
        .select_related("user")
        .prefetch_related("offers__seat")
        .order_by("joined_at", "id")
    )
