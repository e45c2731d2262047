"""Writes about concerts: creating a concert and its dates together with their priced seats, whether its sale's
opening may still move, moving and deleting a date (cancelling one is booking's:
booking.services.date_cancellations), deleting a concert. The concert's span (start_time / end_time) follows its
dates here and only here. Fan-club presales: checking a window, adding its codes (uploaded or generated, kept
as keyed hashes) and e-mail addresses, and a fan's use of a code."""

import datetime
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from accounts import audit
from accounts.models import User

from .exceptions import PresaleClosed, PresaleCodeInvalid
from .models import Concert, ConcertDate, Presale, PresaleCode, PresaleEmail, Seat, SeatStatusHistory, local_day
from .presale_codes import code_hash, is_too_easy_to_guess, new_code, normalize_code
from .pricing import PriceTier, default_tiers, seat_prices
from .selectors import concert_delete_refusal, date_delete_refusal, date_move_refusal, presale_capacity

logger = logging.getLogger(__name__)


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
    prequeue_starts_at = prequeue_opens_at or sale_opens_at - datetime.timedelta(minutes=settings.PREQUEUE_MINUTES)
    late = Presale.objects.filter(concert=concert, closes_at__gt=prequeue_starts_at).order_by("closes_at").last()
    if late is not None:
        raise ValidationError(
            _(
                "The presale %(name)s closes at %(closes)s: the general sale's waiting room may not open before "
                "that (it opens %(minutes)s minutes before the sale unless set)."
            ),
            code="presale_after_sale",
            params={
                "name": late.name,
                "closes": formats.date_format(timezone.localtime(late.closes_at), "DATETIME_FORMAT"),
                "minutes": settings.PREQUEUE_MINUTES,
            },
        )
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
            reason=SeatStatusHistory.Reason.SEAT_CREATED,
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


# --- fan-club presales -------------------------------------------------------------------------------------

# At most this many codes are generated in one go (the admin shows them once, on one page and as a CSV).
MAX_GENERATED_CODES = 10_000
WEAK_CODES_REFUSED = _(
    "Some codes are too easy to guess: uploaded codes need at least 8 characters mixing letters and digits, "
    "9 letters or 13 digits. Nothing was added."
)
_HASH_CHUNK = 5_000


def check_presale(
    *,
    concert: Concert,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    quota: int,
    presale: Presale | None = None,
    other_windows: Iterable[tuple[datetime.datetime, datetime.datetime]] | None = None,
) -> None:
    """Raise ValidationError if `concert` may not have a presale window (new: `presale` None) from `opens_at` to
    `closes_at` with `quota` seats: it must close after it opens and by the general sale's pre-queue opening (the
    concert's one waiting room serves one sale at a time: queueing.services.sales), not overlap the concert's other
    windows (`other_windows` when the caller knows them better than the database, as the
    admin's inline forms do), and its quota may not exceed the concert's seats."""
    errors: dict[str, list[ValidationError]] = {}
    if closes_at <= opens_at:
        errors.setdefault("closes_at", []).append(ValidationError(_("A presale must close after it opens.")))
    if closes_at > concert.prequeue_starts_at:
        # The concert's one waiting room serves its sales in turn: the general sale's opens with its pre-queue.
        errors.setdefault("closes_at", []).append(
            ValidationError(
                _("A presale must close by the time the general sale's waiting room opens (%(opens)s)."),
                code="presale_after_sale",
                params={
                    "opens": formats.date_format(timezone.localtime(concert.prequeue_starts_at), "DATETIME_FORMAT")
                },
            )
        )
    if other_windows is None:
        others = Presale.objects.filter(concert=concert)
        if presale is not None:
            others = others.exclude(pk=presale.pk)
        other_windows = others.values_list("opens_at", "closes_at")
    # Each window has its own waiting room, whose pre-queue opens PREQUEUE_MINUTES before it: windows that close
    # closer than that to the next would give the next a short pre-queue (or none: first come, first served).
    gap = datetime.timedelta(minutes=settings.PREQUEUE_MINUTES)
    windows = list(other_windows)
    if any(opens_at < other_closes and other_opens < closes_at for other_opens, other_closes in windows):
        errors.setdefault("opens_at", []).append(
            ValidationError(_("Presale windows of one concert may not overlap."), code="presale_overlap")
        )
    elif any(opens_at - gap < other_closes and other_opens - gap < closes_at for other_opens, other_closes in windows):
        errors.setdefault("opens_at", []).append(
            ValidationError(
                _(
                    "Presale windows of one concert must be at least %(minutes)s minutes apart: each has its own "
                    "waiting room, whose pre-queue opens that long before the window."
                ),
                code="presale_overlap",
                params={"minutes": settings.PREQUEUE_MINUTES},
            )
        )
    capacity = presale_capacity(concert)
    if capacity == 0:
        errors.setdefault("quota", []).append(
            ValidationError(
                _("Save the concert's dates first: a presale's quota is counted in their seats."),
                code="presale_without_seats",
            )
        )
    elif quota > capacity:
        errors.setdefault("quota", []).append(
            ValidationError(
                _("The quota is more than the concert's %(seats)s seats."),
                code="presale_quota_too_big",
                params={"seats": f"{capacity:,}"},
            )
        )
    if errors:
        raise ValidationError(errors)


def add_presale_codes(*, presale: Presale, codes: Iterable[str]) -> tuple[int, int]:
    """Add normalised codes (concerts.presale_codes.normalize_code) to the presale, kept as keyed hashes: returns
    (added, already there). Codes it has already, or twice in `codes`, are added once. One transaction.

    Raises ValidationError (code presale_weak_code), adding none, if any code is too easy to guess
    (presale_codes.is_too_easy_to_guess): fans could find it by trying codes across accounts."""
    codes = list(codes)
    if any(is_too_easy_to_guess(code) for code in codes):
        raise ValidationError(WEAK_CODES_REFUSED, code="presale_weak_code")
    hashes = list(dict.fromkeys(code_hash(presale.pk, code) for code in codes))
    added = 0
    with transaction.atomic():
        for start in range(0, len(hashes), _HASH_CHUNK):
            chunk = hashes[start : start + _HASH_CHUNK]
            known = set(
                PresaleCode.objects.filter(presale=presale, code_hash__in=chunk).values_list("code_hash", flat=True)
            )
            rows = [PresaleCode(presale=presale, code_hash=h) for h in chunk if h not in known]
            # Another upload of the same codes at once: the unique constraint keeps one, this one skips it.
            created = PresaleCode.objects.bulk_create(rows, ignore_conflicts=True)
            added += len(created)
        _audit_list(
            presale, "presale.codes_upload", PresaleCode, added, f"{added} added, {len(hashes) - added} listed already"
        )
    return added, len(hashes) - added


def _audit_list(
    presale: Presale, action: str, model: type[PresaleCode] | type[PresaleEmail], added: int, note: str
) -> None:
    """The audit entry of a change to a presale's list (accounts.audit; in the caller's transaction): how long the
    list was and is. Never a code: the codes are secrets, and only their count is recorded."""
    size = model.objects.filter(presale=presale).count()
    audit.record(action, presale, changes={"list_size": (size - added, size)}, note=note)


def generate_presale_codes(*, presale: Presale, count: int) -> list[str]:
    """Make `count` (1 to MAX_GENERATED_CODES) new random codes for the presale and return them in clear: the
    only time they exist in clear (the database keeps their keyed hashes). One transaction."""
    if not 1 <= count <= MAX_GENERATED_CODES:
        raise ValidationError(
            _("Generate between 1 and %(most)s codes at a time."), params={"most": f"{MAX_GENERATED_CODES:,}"}
        )
    codes: list[str] = []
    with transaction.atomic():
        while len(codes) < count:
            batch = {new_code() for _n in range(count - len(codes))} - set(codes)
            by_hash = {code_hash(presale.pk, code): code for code in batch}
            taken = set(
                PresaleCode.objects.filter(presale=presale, code_hash__in=list(by_hash)).values_list(
                    "code_hash", flat=True
                )
            )
            fresh = {h: code for h, code in by_hash.items() if h not in taken}
            PresaleCode.objects.bulk_create(PresaleCode(presale=presale, code_hash=h) for h in fresh)
            codes.extend(fresh.values())
        _audit_list(presale, "presale.codes_generate", PresaleCode, count, f"{count} generated")
    return codes


def clean_presale_emails(emails: Iterable[str]) -> list[str]:
    """The addresses as a presale's list keeps them (lower case, once each, blanks left out). Raises
    ValidationError naming the entries that are no e-mail address."""
    wanted = list(dict.fromkeys(email.strip().lower() for email in emails if email.strip()))
    bad = []
    for email in wanted:
        try:
            validate_email(email)
        except ValidationError:
            bad.append(email)
    if bad:
        raise ValidationError(
            _("Not an e-mail address: %(entries)s"), code="presale_bad_email", params={"entries": ", ".join(bad[:10])}
        )
    return wanted


def add_presale_emails(*, presale: Presale, emails: Iterable[str]) -> tuple[int, int]:
    """Add account e-mail addresses (any case; kept in lower case) to the presale's list: (added, already there).
    Raises ValidationError naming the entries that are no e-mail address (clean_presale_emails), adding nothing."""
    wanted = clean_presale_emails(emails)
    with transaction.atomic():
        known = set(PresaleEmail.objects.filter(presale=presale, email__in=wanted).values_list("email", flat=True))
        created = PresaleEmail.objects.bulk_create(
            (PresaleEmail(presale=presale, email=email) for email in wanted if email not in known),
            ignore_conflicts=True,
        )
        note = f"{len(created)} added, {len(wanted) - len(created)} listed already"
        _audit_list(presale, "presale.emails_add", PresaleEmail, len(created), note)
    return len(created), len(wanted) - len(created)


def redeem_presale_code(
    *, user: User, presale: Presale, code: str, now: datetime.datetime | None = None
) -> PresaleCode:
    """Bind one of the presale's unused codes to the fan: the fan may then enter the presale. Returns the fan's code.

    The code is looked up by its keyed hash (one unique-index lookup) and bound by one conditional UPDATE (WHERE
    used_by IS NULL), so two fans racing one code: exactly one wins. A fan who already holds a code of the
    presale gets theirs back and spends no other (constraint presale_code_one_per_fan). Raises
    PresaleCodeInvalid for anything but an unused code of this presale (unknown, used by another fan, malformed,
    or a presale by e-mail list: one answer for all) and PresaleClosed once the window has closed. Codes may be
    entered before the window opens.
    """
    now = now or timezone.now()
    if now >= presale.closes_at:
        raise PresaleClosed()
    normalized = normalize_code(code)
    if presale.access != Presale.Access.CODES or normalized is None:
        raise PresaleCodeInvalid()
    mine = PresaleCode.objects.filter(presale=presale, used_by=user).first()
    if mine is not None:
        return mine
    try:
        with transaction.atomic():
            bound = PresaleCode.objects.filter(
                presale=presale, code_hash=code_hash(presale.pk, normalized), used_by__isnull=True
            ).update(used_by=user, used_at=now)
    except IntegrityError:  # the fan bound another code of this presale at the same moment: that one stands
        bound = 0
    mine = PresaleCode.objects.filter(presale=presale, used_by=user).first()
    if mine is None:
        raise PresaleCodeInvalid()
    if not bound:
        logger.info("presale %s: %s already held a code, this one was not spent", presale.pk, user.pk)
    return mine
