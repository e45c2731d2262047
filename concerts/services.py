"""Writes about concerts: creating a concert and its dates together with their priced seats, whether its sale's
opening may still move, moving and deleting a date (cancelling one is booking's:
booking.services.date_cancellations), deleting a concert. The concert's span (start_time / end_time) follows its
dates here and only here."""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User

from .models import Concert, ConcertDate, Seat, SeatStatusHistory, local_day
from .pricing import PriceTier, default_tiers, seat_prices
from .selectors import concert_delete_refusal, date_delete_refusal, date_move_refusal


def _lock_concert(concert: Concert) -> Concert:
    # FOR NO KEY UPDATE: queue tokens and history rows that reference the concert can still be inserted.
    return Concert.objects.select_for_update(no_key=True).get(pk=concert.pk)


def _sync_span(concert: Concert) -> None:
    """Set the concert's start_time / end_time to the start of its first and last date (None without dates).

    Call it with the concert row locked (_lock_concert), so two staff members adding dates at once both count.
    """
    span = ConcertDate.objects.filter(concert_id=concert.pk).aggregate(first=Min("starts_at"), last=Max("starts_at"))
    Concert.objects.filter(pk=concert.pk).update(start_time=span["first"], end_time=span["last"])
    concert.start_time, concert.end_time = span["first"], span["last"]


def check_date_start(*, concert: Concert, starts_at: datetime.datetime, date: ConcertDate | None = None) -> None:
    """Raise ValidationError if `date` (None: a new date) of `concert` may not start at `starts_at`.

    One show per concert per day; a cancelled date does not move; a new time on the same day is always
    fine; a move to another day is refused while fans have paid for or hold its seats (check_date_move).
    Locks the concert row, then the date's row (re-read: a cancellation that landed meanwhile counts), in
    the services' order, so the answer holds until the caller's transaction ends: forms call it inside the
    transaction that saves them (the admin's change view runs in one), the services call it again.
    """
    day = local_day(starts_at)
    with transaction.atomic():
        _lock_concert(concert)
        if date is None:
            if ConcertDate.objects.filter(concert_id=concert.pk, concert_date=day).exists():
                raise ValidationError(
                    _("This concert already has a date on %(day)s."), code="day_taken", params={"day": day.isoformat()}
                )
            return
        date = ConcertDate.objects.select_for_update(no_key=True).get(pk=date.pk)
        if date.is_cancelled:
            raise ValidationError(_("A cancelled date cannot be moved."), code="cancelled")
        if day != date.concert_date:
            check_date_move(concert_date=date, day=day)


def check_sale_opening_change(
    *,
    concert: Concert,
    sale_opens_at: datetime.datetime,
    prequeue_opens_at: datetime.datetime | None,
    now: datetime.datetime | None = None,
) -> None:
    """Raise ValidationError (code "sale_opened") if `concert` may not take this sale opening and pre-queue
    opening (None: the default) now: once its stored sale opening has passed, neither may change, because the
    pre-queue's entrants were drawn at that opening and the pages would offer a pre-queue that is over. Until
    then staff move both freely (the model's constraint keeps the pre-queue first).

    Locks the concert row (re-read, so a form loaded before the opening and sent after it is refused), which
    the caller's transaction keeps until it saves: the admin's change view runs in one.
    """
    now = now or timezone.now()
    with transaction.atomic():
        stored = _lock_concert(concert)
        if now < stored.sale_opens_at:
            return
        if (sale_opens_at, prequeue_opens_at) != (stored.sale_opens_at, stored.prequeue_opens_at):
            raise ValidationError(
                _(
                    "The sale opened at %(opened)s, so neither its opening nor the pre-queue's can be changed: "
                    "the pre-queue's fans were drawn when the sale opened."
                ),
                code="sale_opened",
                params={"opened": formats.date_format(timezone.localtime(stored.sale_opens_at), "DATETIME_FORMAT")},
            )


def _aware(starts_at: object) -> datetime.datetime:
    if not isinstance(starts_at, datetime.datetime) or timezone.is_naive(starts_at):
        raise ValueError(f"A date's start must be a timezone-aware datetime, not {starts_at!r}.")
    return starts_at


@transaction.atomic
def create_concert_date(
    *,
    concert: Concert,
    starts_at: datetime.datetime,
    tiers: list[PriceTier] | None = None,
    created_by: User | None = None,
) -> ConcertDate:
    """Create a ConcertDate starting at `starts_at` (timezone-aware) and all its seats, in one transaction.

    Each seat gets its first SeatStatusHistory row (None → AVAILABLE), so history always explains the
    current status. Locks the concert row and widens (or sets) its span to cover the new date. Raises
    ValidationError for tiers that do not cover the seats exactly once, or a day the concert already has.
    """
    starts_at = _aware(starts_at)
    tiers = tiers or default_tiers()
    prices = seat_prices(tiers)
    names = {number: tier.name for tier in tiers for number in range(tier.first, tier.last + 1)}
    check_date_start(concert=concert, starts_at=starts_at)  # locks the concert row
    date = ConcertDate(concert=concert, starts_at=starts_at)
    date.save(force_insert=True)
    seats = Seat.objects.bulk_create(
        Seat(concert_date=date, seat_number=number, price=price, tier=names[number])
        for number, price in sorted(prices.items())
    )
    now = timezone.now()
    SeatStatusHistory.objects.bulk_create(
        SeatStatusHistory(
            seat=seat,
            from_status=None,
            to_status=Seat.Status.AVAILABLE,
            changed_by=created_by,
            reason="seat created",
            changed_at=now,
        )
        for seat in seats
    )
    _sync_span(concert)
    return date


@transaction.atomic
def reschedule_concert_date(*, concert_date: ConcertDate, starts_at: datetime.datetime) -> ConcertDate:
    """Move a date's start to `starts_at` (timezone-aware); the concert's span follows. Returns the date.

    Locks the concert row, then the date row (a hold or payment on the date finishes first: they share-lock
    it). A new time on the same day is always allowed; check_date_start's refusals raise ValidationError.
    """
    starts_at = _aware(starts_at)
    concert = concert_date.concert
    check_date_start(concert=concert, starts_at=starts_at, date=concert_date)  # locks the concert, then the date
    date = ConcertDate.objects.get(pk=concert_date.pk)
    date.starts_at = starts_at
    date.save(update_fields=["starts_at"])  # save() keeps concert_date in step
    _sync_span(concert)
    concert_date.starts_at, concert_date.concert_date = date.starts_at, date.concert_date
    return concert_date


def check_date_delete(*, concert_date: ConcertDate, now: datetime.datetime | None = None) -> bool:
    """Raise ValidationError (code "date_not_deletable") if staff may not delete `concert_date` now (see
    selectors.date_delete_refusal); return False if it is gone already, True if it may go.

    Locks the concert row, then the date's row FOR UPDATE (the lock order in accounts.locking): a hold or
    payment in flight on the date (they share-lock it) finishes first and is counted, and none starts until
    the caller's transaction ends. So the admin's check before it (without locks) only gives the early
    answer; call this inside the transaction that deletes.
    """
    with transaction.atomic():
        _lock_concert(concert_date.concert)
        if not ConcertDate.objects.select_for_update().filter(pk=concert_date.pk).exists():
            return False
        refusal = date_delete_refusal(concert_date, now=now)
    if refusal:
        raise ValidationError(refusal, code="date_not_deletable")
    return True


@transaction.atomic
def delete_concert_date(*, concert_date: ConcertDate) -> None:
    """Delete a date with its seats and their history; the concert's span follows. Idempotent.

    Locks the concert row, then the date's row, and checks again under those locks (check_date_delete):
    a date whose seats fans have held or paid for, even a moment ago, raises ValidationError and nothing is
    deleted (reservations keep their seats: the database would refuse with ProtectedError).
    """
    if check_date_delete(concert_date=concert_date):
        ConcertDate.objects.filter(pk=concert_date.pk).delete()
        _sync_span(concert_date.concert)


@transaction.atomic
def delete_concert(*, concert: Concert) -> None:
    """Delete a concert with its dates, their seats and history (and its waiting room). Idempotent.

    Locks the concert row, then every date of it FOR UPDATE in day order (the lock order in accounts.locking),
    and checks again under those locks: a concert any of whose dates' seats fans have held or paid for,
    even a moment ago, raises ValidationError (code "concert_not_deletable") and nothing is deleted.
    """
    try:
        _lock_concert(concert)
    except Concert.DoesNotExist:
        return
    list(ConcertDate.objects.select_for_update().filter(concert_id=concert.pk).order_by("concert_date").values("pk"))
    refusal = concert_delete_refusal(concert)
    if refusal:
        raise ValidationError(refusal, code="concert_not_deletable")
    Concert.objects.filter(pk=concert.pk).delete()


@transaction.atomic
def create_concert(
    *,
    title: str,
    starts: Iterable[datetime.datetime],
    sale_opens_at: datetime.datetime,
    tiers: list[PriceTier] | None = None,
    venue: str = "",
    description: str = "",
    created_by: User | None = None,
) -> tuple[Concert, list[ConcertDate]]:
    """Create a concert and its dates (each with priced seats) in one transaction; idempotent by title.

    `starts` are the timezone-aware starts of the shows, one a day at most. A concert with this title that
    is not over yet is reused: only the days it does not have yet are added (a day it has keeps its own
    start); its sale time is left alone. Returns (concert, created_dates). Raises ValidationError for no
    starts, two starts on one day, bad tiers or a sale opening after the first show.
    """
    starts = sorted(_aware(start) for start in starts)
    if not starts:
        raise ValidationError(_("Give at least one date."))
    days = [local_day(start) for start in starts]
    if len(set(days)) != len(days):
        raise ValidationError(_("Give at most one show a day."))
    if not title.strip():
        raise ValidationError(_("The title may not be empty."))
    prices_tiers = tiers or default_tiers()
    seat_prices(prices_tiers)
    if sale_opens_at > starts[0]:
        raise ValidationError(_("The sale must open before the first show."))
    concert = (
        Concert.objects.select_for_update(no_key=True)
        .filter(title=title.strip(), end_time__gte=timezone.now())
        .order_by("start_time")
        .first()
    )
    if concert is None:
        concert = Concert.objects.create(
            title=title.strip(), venue=venue, description=description, sale_opens_at=sale_opens_at
        )
    existing = set(concert.dates.values_list("concert_date", flat=True))
    created = [
        create_concert_date(concert=concert, starts_at=start, tiers=prices_tiers, created_by=created_by)
        for start, day in zip(starts, days, strict=True)
        if day not in existing
    ]
    return concert, created


def check_date_move(*, concert_date: ConcertDate, day: datetime.date, now: datetime.datetime | None = None) -> None:
    """Raise ValidationError when the date may not move to `day` (see selectors.date_move_refusal).

    Locks the date's seats first, in seat order (the lock order in accounts.locking), so no hold or payment lands
    between this check and the caller's write of the new day: call it inside the transaction that writes
    the move (the admin's change view runs in one; reschedule_concert_date does).
    """
    with transaction.atomic():
        list(Seat.objects.select_for_update().filter(concert_date=concert_date).order_by("seat_number").values("pk"))
        refusal = date_move_refusal(concert_date=concert_date, day=day, now=now)
    if refusal:
        raise ValidationError(refusal, code="date_not_movable")
