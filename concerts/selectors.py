"""Reads about concerts: what is on sale, what is coming, seats left per date, a date's price tiers, and what
the seats fans have taken forbid staff to do with a date (move it, delete it)."""

import datetime
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User

from .models import Concert, ConcertDate, Presale, PresaleCode, PresaleEmail, Seat, SeatStatusHistory
from .pricing import PriceTier


class SeatCounts(TypedDict):
    """What dates_with_seat_counts adds to each date."""

    seats_available: int  # an expired hold counts as available
    seats_held: int
    seats_reserved: int


class BookableDateCounts(SeatCounts):
    """What bookable_dates adds to each date."""

    seats_left: int  # seats a fan could hold now: seats_available, or 0 while they are kept off sale


class ConcertCounts(TypedDict):
    """What concerts_with_counts adds to each concert."""

    date_count: int
    seats_sold: int  # RESERVED seats of all its dates


if TYPE_CHECKING:  # WithAnnotations takes its arguments only in annotations (Python 3.11)
    from django_stubs_ext import WithAnnotations

    DateWithSeatCounts = WithAnnotations[ConcertDate, SeatCounts]
    BookableDate = WithAnnotations[ConcertDate, BookableDateCounts]
    ConcertWithCounts = WithAnnotations[Concert, "ConcertCounts"]


def concerts_for_listing(*, now: datetime.datetime | None = None) -> tuple[Sequence[Concert], Sequence[Concert]]:
    """Concerts whose last show is still ahead, split into (on_sale, coming_up), in two queries at most."""
    now = now or timezone.now()
    concerts = list(
        Concert.objects.filter(end_time__gte=now).annotate(date_count=Count("dates")).order_by("start_time")
    )
    on_sale = [c for c in concerts if c.sale_opens_at <= now]
    coming_up = [c for c in concerts if c.sale_opens_at > now]
    return on_sale, coming_up


def find_concert(concert_id: object) -> Concert | None:
    """The concert with this id, or None for no id, text that is not a UUID (a hand-edited ?concert=) or an
    unknown id."""
    try:
        pk = uuid.UUID(str(concert_id))
    except ValueError:
        return None
    return Concert.objects.filter(pk=pk).first()


def concert_choices() -> QuerySet[Concert]:
    """Every concert by start, id and title only: what a staff page offers to filter by."""
    return Concert.objects.order_by("start_time").only("id", "title")


def concerts_with_counts(queryset: QuerySet[Concert] | None = None) -> "QuerySet[ConcertWithCounts]":
    """Concerts annotated with date_count (their dates) and seats_sold (RESERVED seats of all their dates), in
    one query."""
    queryset = Concert.objects.all() if queryset is None else queryset
    return queryset.annotate(
        date_count=Count("dates", distinct=True),
        seats_sold=Count("dates__seats", filter=Q(dates__seats__status=Seat.Status.RESERVED)),
    )


def seat_count_annotations(*, now: datetime.datetime, seats: str = "seats") -> dict[str, Count]:
    """Count() annotations for AVAILABLE / HELD / RESERVED seats through the `seats` relation path.

    An expired hold counts as available, whether or not the expiry sweep has run yet.
    """
    status, expire_at = f"{seats}__status", f"{seats}__hold_expire_at"
    live_hold = Q(**{status: Seat.Status.HELD, f"{expire_at}__gt": now})
    expired_hold = Q(**{status: Seat.Status.HELD, f"{expire_at}__lte": now})
    return {
        "seats_available": Count(seats, filter=Q(**{status: Seat.Status.AVAILABLE}) | expired_hold),
        "seats_held": Count(seats, filter=live_hold),
        "seats_reserved": Count(seats, filter=Q(**{status: Seat.Status.RESERVED})),
    }


def dates_with_seat_counts(
    queryset: QuerySet[ConcertDate] | None = None, *, now: datetime.datetime | None = None
) -> "QuerySet[DateWithSeatCounts]":
    """ConcertDates annotated with seats_available / seats_held / seats_reserved, in one query."""
    queryset = ConcertDate.objects.all() if queryset is None else queryset
    counted = queryset.annotate(**seat_count_annotations(now=now or timezone.now()))
    return cast("QuerySet[DateWithSeatCounts]", counted)  # the checker cannot read the names out of **


# When an app above concerts keeps a date's free seats off sale: booking keeps every seat that comes back on a sold-out
# date for the fans on its waiting list (their offers come first), so nobody else may hold one. concerts knows
# nothing of waiting lists: booking registers its rule here (booking.apps), as booking.admin registers its pages.
_SEATS_KEPT_WHILE: list[Callable[[], Exists]] = []


def keep_free_seats_while(condition: Callable[[], Exists]) -> None:
    """Register a rule that keeps a date's free seats off sale while `condition()` holds: an Exists() on a
    ConcertDate row (OuterRef("pk")). bookable_dates counts no seat left on such a date. Call it from an app's
    AppConfig.ready(); registering the same function again changes nothing."""
    if condition not in _SEATS_KEPT_WHILE:
        _SEATS_KEPT_WHILE.append(condition)


def bookable_dates(*, concert: Concert, now: datetime.datetime | None = None) -> "list[BookableDate]":
    """The concert's dates not cancelled and whose show has not started, each with `seats_left`, in one query.

    seats_left counts AVAILABLE seats and seats whose hold has expired, and is 0 while a registered rule keeps the
    date's free seats off sale (keep_free_seats_while: booking's waiting list), as holds and the seat map treat
    them. Dates are listed even before the sale opens (the concert page shows them with a countdown); hold_seats
    refuses them until it does.
    """
    now = now or timezone.now()
    dates_of = ConcertDate.objects.filter(concert=concert, starts_at__gt=now).exclude(
        status=ConcertDate.Status.CANCELLED
    )
    kept = [condition() for condition in _SEATS_KEPT_WHILE]
    if kept:
        dates_of = dates_of.annotate(
            seats_kept=ExpressionWrapper(Q(*kept, _connector=Q.OR), output_field=BooleanField())
        )
    dates = list(dates_with_seat_counts(dates_of, now=now).order_by("starts_at"))
    for date in dates:
        kept_now = getattr(date, "seats_kept", False)
        date.seats_left = 0 if kept_now else date.seats_available  # type: ignore[attr-defined]  # the page reads it
    return cast("list[BookableDate]", dates)


def price_tiers_of(concert_date: ConcertDate) -> list[PriceTier]:
    """The date's seats as PriceTiers: runs of consecutive seats of one tier name and price.

    Uses concert_date.seats.all(), so a prefetch of seats makes this free.
    """
    tiers: list[PriceTier] = []
    for seat in sorted(concert_date.seats.all(), key=lambda s: s.seat_number):
        last = tiers[-1] if tiers else None
        if last and (last.name, last.price) == (seat.tier, seat.price) and last.last == seat.seat_number - 1:
            tiers[-1] = PriceTier(last.name, last.first, seat.seat_number, last.price)
        else:
            tiers.append(PriceTier(seat.tier, seat.seat_number, seat.seat_number, seat.price))
    return tiers


# --- staff: what a date's sold and held seats forbid ------------------------------------------------


@dataclass(frozen=True)
class SeatsTaken:
    """A date's seats that fans have taken. Booking changes a seat together with its reservation, under the
    seat's lock, so a RESERVED seat has its paid reservation and a live HELD seat its live hold; and every
    reservation begins as a hold, which writes the seat's HELD history row, so a seat held once has a booking
    record (booking keeps it for good: it protects the seat from deletion)."""

    sold: int  # RESERVED seats
    held: int  # HELD seats whose hold has not run out
    held_once: int  # seats that have ever been held, sold or not


def seats_taken(
    *, concert_dates: Iterable[object] | QuerySet[Any], now: datetime.datetime | None = None
) -> dict[uuid.UUID, SeatsTaken]:
    """{date id: SeatsTaken} for these dates (ids, rows or a pk query) whose seats fans have ever held, in
    one query; a date nobody has booked is not in it."""
    now = now or timezone.now()
    held_once = SeatStatusHistory.objects.filter(seat=OuterRef("pk"), to_status=Seat.Status.HELD)
    rows = (
        Seat.objects.filter(concert_date__in=concert_dates)
        .values("concert_date")
        .annotate(
            sold=Count("id", filter=Q(status=Seat.Status.RESERVED)),
            held=Count("id", filter=Q(status=Seat.Status.HELD, hold_expire_at__gt=now)),
            held_once=Count("id", filter=Exists(held_once)),
        )
        .order_by()
    )
    return {
        row["concert_date"]: SeatsTaken(row["sold"], row["held"], row["held_once"])
        for row in rows
        if row["sold"] or row["held"] or row["held_once"]
    }


def date_delete_refusal(concert_date: ConcertDate, *, now: datetime.datetime | None = None) -> str | None:
    """Why staff may not delete this date, or None: fans have paid for or hold its seats (cancel it: refunds)
    or a seat of it was ever held (its booking record is kept, and the ledger keeps pointing at the seat)."""
    taken = seats_taken(concert_dates=[concert_date.pk], now=now).get(concert_date.pk)
    if taken is None:
        return None
    if taken.sold or taken.held:
        count = taken.sold + taken.held
        return ngettext(
            "Fans have paid for or are holding %(count)d seat on this date, so it cannot be deleted. Cancel the "
            "date instead: every paid ticket is refunded.",
            "Fans have paid for or are holding %(count)d seats on this date, so it cannot be deleted. Cancel the "
            "date instead: every paid ticket is refunded.",
            count,
        ) % {"count": count}
    return _("This date has booking records, which are kept, so it cannot be deleted.")


def concert_delete_refusal(concert: Concert, *, now: datetime.datetime | None = None) -> str | None:
    """Why staff may not delete this concert, or None: one of its dates may not be deleted."""
    found = seats_taken(concert_dates=ConcertDate.objects.filter(concert=concert).values("pk"), now=now)
    if not found:
        return None
    sold, held = sum(t.sold for t in found.values()), sum(t.held for t in found.values())
    if sold or held:
        return ngettext(
            "Fans have paid for or are holding %(count)d seat on this concert's dates, so it cannot be deleted. "
            "Cancel its dates instead: every paid ticket is refunded.",
            "Fans have paid for or are holding %(count)d seats on this concert's dates, so it cannot be deleted. "
            "Cancel its dates instead: every paid ticket is refunded.",
            sold + held,
        ) % {"count": sold + held}
    return _("This concert's dates have booking records, which are kept, so it cannot be deleted.")


def date_move_refusal(
    *, concert_date: ConcertDate, day: datetime.date, now: datetime.datetime | None = None
) -> str | None:
    """Why this date may not move to `day`, or None: its concert has a date that day already, or fans
    have paid for or are holding its seats (a paid show moves by cancelling it, which refunds)."""
    if (
        ConcertDate.objects.filter(concert_id=concert_date.concert_id, concert_date=day)
        .exclude(pk=concert_date.pk)
        .exists()
    ):
        return _("This concert already has a date on %(day)s.") % {"day": day.isoformat()}
    taken = seats_taken(concert_dates=[concert_date.pk], now=now).get(concert_date.pk)
    if taken and taken.sold:
        return ngettext(
            "A fan has paid for %(count)d seat on this date, so its day cannot move. Cancel the date (every "
            "paid ticket is refunded) and add the new day as a new date.",
            "Fans have paid for %(count)d seats on this date, so its day cannot move. Cancel the date (every "
            "paid ticket is refunded) and add the new day as a new date.",
            taken.sold,
        ) % {"count": taken.sold}
    if taken and taken.held:
        return _(
            "Fans are holding seats on this date right now, so its day cannot move. Try again once their holds "
            "have ended."
        )
    return None


# --- fan-club presales -------------------------------------------------------------------------------------


def presale_capacity(concert: Concert) -> int:
    """The seats a presale of the concert could sell: those of its dates not cancelled."""
    return (
        Seat.objects.filter(concert_date__concert=concert)
        .exclude(concert_date__status=ConcertDate.Status.CANCELLED)
        .count()
    )


@dataclass(frozen=True)
class Sale:
    """One sale of a concert, as its waiting room serves it: a fan-club presale window, or the general sale.

    The concert's one waiting room serves its sales in turn (queueing.services.sales): each has its own pre-queue
    (from `prequeue_starts_at`), its own draw at `sale_opens_at` and, for a presale, a close. The methods read like
    Concert's, so the queue asks a sale what it asked the concert."""

    concert: Concert
    presale: Presale | None
    prequeue_starts_at: datetime.datetime
    sale_opens_at: datetime.datetime
    closes_at: datetime.datetime | None  # None: the general sale, open until the concert's last show starts

    @property
    def key(self) -> uuid.UUID | None:
        """What the waiting room records as the sale it serves (WaitingRoom.serving_presale): the presale's id."""
        return None if self.presale is None else self.presale.pk

    @property
    def is_presale(self) -> bool:
        return self.presale is not None

    def is_on_sale(self, now: datetime.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.sale_opens_at

    def is_in_prequeue(self, now: datetime.datetime | None = None) -> bool:
        return self.prequeue_starts_at <= (now or timezone.now()) < self.sale_opens_at

    def is_over(self, now: datetime.datetime | None = None) -> bool:
        """Nothing more to enter: the presale's window has closed, or the concert's last show has started."""
        now = now or timezone.now()
        return self.concert.is_over(now) or (self.closes_at is not None and now >= self.closes_at)


def general_sale(concert: Concert) -> Sale:
    return Sale(
        concert=concert,
        presale=None,
        prequeue_starts_at=concert.prequeue_starts_at,
        sale_opens_at=concert.sale_opens_at,
        closes_at=None,
    )


def current_sale(*, concert: Concert, now: datetime.datetime | None = None) -> Sale:
    """The sale the concert's waiting room serves at `now`: the first presale window not yet closed, else the general
    sale. No query from the general sale's pre-queue on (presales close by then: concerts.services.check_presale),
    so a sale's rush reads nothing more.

    A presale's pre-queue opens PREQUEUE_MINUTES before its window, but never before the window ahead of it has
    closed (one room, one sale at a time); past the general sale's pre-queue opening the general sale is served
    whatever a presale says (PREQUEUE_MINUTES raised after the presale was set up: the presale ends there)."""
    now = now or timezone.now()
    if now >= concert.prequeue_starts_at:
        return general_sale(concert)
    previous_close: datetime.datetime | None = None
    for presale in Presale.objects.filter(concert=concert).order_by("opens_at"):
        if presale.closes_at > now:
            starts = presale.opens_at - datetime.timedelta(minutes=settings.PREQUEUE_MINUTES)
            if previous_close is not None:
                starts = max(starts, previous_close)
            return Sale(
                concert=concert,
                presale=presale,
                prequeue_starts_at=min(starts, presale.opens_at),
                sale_opens_at=presale.opens_at,
                closes_at=min(presale.closes_at, concert.prequeue_starts_at),
            )
        previous_close = presale.closes_at
    return general_sale(concert)


def open_presale(*, concert: Concert, now: datetime.datetime | None = None) -> Presale | None:
    """The concert's presale window open now, if any (windows never overlap: concerts.services.check_presale)."""
    now = now or timezone.now()
    return Presale.objects.filter(concert=concert, opens_at__lte=now, closes_at__gt=now).first()


def coming_presales(*, concert: Concert, now: datetime.datetime | None = None) -> list[Presale]:
    """The concert's presale windows not yet closed, the earliest first (the concert page lists them)."""
    now = now or timezone.now()
    return list(Presale.objects.filter(concert=concert, closes_at__gt=now).order_by("opens_at"))


def is_presale_eligible(*, user: User | AnonymousUser, presale: Presale) -> bool:
    """May this fan enter the presale? By codes: they have used one of its codes. By e-mail list: their account's
    address is on it and verified (unless EMAIL_VERIFICATION_REQUIRED is off), so nobody enters as someone else
    by typing their address at sign-up."""
    if not isinstance(user, User):
        return False
    if presale.access == Presale.Access.CODES:
        return PresaleCode.objects.filter(presale=presale, used_by=user).exists()
    if settings.EMAIL_VERIFICATION_REQUIRED and user.email_verified_at is None:
        return False
    return PresaleEmail.objects.filter(presale=presale, email=user.email.lower()).exists()


def find_presale(*, concert_id: uuid.UUID, presale_id: uuid.UUID) -> Presale | None:
    """The concert's presale with its concert, or None (a presale of another concert is none of this one's)."""
    return Presale.objects.select_related("concert").filter(pk=presale_id, concert_id=concert_id).first()


@dataclass(frozen=True)
class PresaleStanding:
    """Where a fan stands with one presale (the presale page)."""

    eligible: bool  # may enter it (a code of theirs, or a verified address on its list)
    listed_unverified: bool  # their address is on its list, but not verified yet


def presale_standing(*, user: User | AnonymousUser, presale: Presale) -> PresaleStanding:
    if not isinstance(user, User):
        return PresaleStanding(eligible=False, listed_unverified=False)
    eligible = is_presale_eligible(user=user, presale=presale)
    listed_unverified = (
        not eligible
        and presale.access == Presale.Access.EMAILS
        and PresaleEmail.objects.filter(presale=presale, email=user.email.lower()).exists()
    )
    return PresaleStanding(eligible=eligible, listed_unverified=listed_unverified)
