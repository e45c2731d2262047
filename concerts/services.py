"""Writes about concerts: creating a concert and its dates together with their priced seats, cancelling a date."""

import datetime
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from booking.models import Reservation

from .models import Concert, ConcertDate, DateCancellation, Seat, SeatStatusHistory


@dataclass(frozen=True)
class PriceTier:
    """Seats first..last (inclusive) cost price won, e.g. PriceTier("VIP", 1, 10, 165_000)."""

    name: str
    first: int
    last: int
    price: int


# Seat.tier's length.
MAX_TIER_NAME = 20
# The seat price column is a 32-bit integer; refuse more than it holds with a message, not a DataError.
MAX_SEAT_PRICE = 2_147_483_647

_TIER_LINE = re.compile(
    r"(?:(?P<name>[^\s:]+)[\s:]+)?(?P<first>\d+)\s*-\s*(?P<last>\d+)[\s:]+(?P<price>\d[\d,_]*)\s*(?:원|won|krw)?",
    re.IGNORECASE,
)


def parse_price_tiers(text):
    """Read tiers staff type, one per line (or separated by ";"): "VIP 1-10 165,000" or "VIP:1-10:165000".

    The name is optional ("1-50 99000"). Raises ValidationError naming the line it cannot read; it does
    not check coverage (seat_prices does). An empty text gives an empty list.
    """
    tiers = []
    for raw in re.split(r"[\n;]", text or ""):
        line = raw.strip()
        if not line:
            continue
        match = _TIER_LINE.fullmatch(line)
        if not match:
            raise ValidationError(
                _("Cannot read the price tier %(line)s; write it as NAME FIRST-LAST PRICE, e.g. VIP 1-10 165000."),
                code="unreadable_tier",
                params={"line": repr(line)},
            )
        price = int(match["price"].replace(",", "").replace("_", ""))
        tiers.append(PriceTier(match["name"] or "", int(match["first"]), int(match["last"]), price))
    return tiers


def format_price_tiers(tiers):
    """The inverse of parse_price_tiers: one "NAME FIRST-LAST PRICE" line per tier."""
    return "\n".join(f"{t.name} {t.first}-{t.last} {t.price}".strip() for t in tiers)


def default_tiers():
    return [PriceTier("", 1, settings.SEATS_PER_DATE, settings.DEFAULT_SEAT_PRICE)]


def _seat_runs(numbers):
    """Sorted seat numbers as runs: [11, 12, 13, 20] → "11–13, 20"."""
    runs = []
    for number in numbers:
        if runs and runs[-1][1] == number - 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(first) if first == last else f"{first}–{last}" for first, last in runs)


def seat_prices(tiers):
    """Map every seat number 1..SEATS_PER_DATE to its price; tiers must cover each seat exactly once.

    Raises ValidationError with a message staff read in their language (the admin shows it on the form).
    """
    prices = {}
    for tier in tiers:
        label = {"tier": tier.name or tier.first}
        if len(tier.name) > MAX_TIER_NAME:
            raise ValidationError(
                _("Tier %(tier)s: a tier name may have at most %(max)s characters."),
                code="tier_name_too_long",
                params={"tier": tier.name[:MAX_TIER_NAME] + "…", "max": MAX_TIER_NAME},
            )
        if tier.price <= 0:
            raise ValidationError(
                _("Tier %(tier)s: the price must be a positive number of won."), code="tier_price", params=label
            )
        if tier.price > MAX_SEAT_PRICE:
            raise ValidationError(
                _("Tier %(tier)s: the price may be at most %(max)s won."),
                code="tier_price",
                params={**label, "max": f"{MAX_SEAT_PRICE:,}"},
            )
        if not 1 <= tier.first <= tier.last <= settings.SEATS_PER_DATE:
            raise ValidationError(
                _("Tier %(tier)s: seats must run within 1..%(last)s."),
                code="tier_seats",
                params={**label, "last": settings.SEATS_PER_DATE},
            )
        for number in range(tier.first, tier.last + 1):
            if number in prices:
                raise ValidationError(
                    _("Seat %(number)s is in more than one price tier."), code="tier_overlap", params={"number": number}
                )
            prices[number] = tier.price
    missing = sorted(set(range(1, settings.SEATS_PER_DATE + 1)) - prices.keys())
    if missing:
        raise ValidationError(
            _("Seats %(seats)s have no price tier."), code="tier_gap", params={"seats": _seat_runs(missing)}
        )
    return prices


@transaction.atomic
def create_concert_date(*, concert, concert_date, tiers=None, created_by=None):
    """Create a ConcertDate and all its seats (AVAILABLE, priced by tiers) in one transaction.

    Each seat gets its first SeatStatusHistory row (None → AVAILABLE), so history always explains the
    current status. Raises ValidationError for tiers that do not cover the seats exactly once.
    """
    tiers = tiers or default_tiers()
    prices = seat_prices(tiers)
    names = {number: tier.name for tier in tiers for number in range(tier.first, tier.last + 1)}
    date = ConcertDate.objects.create(concert=concert, concert_date=concert_date)
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
    return date


@transaction.atomic
def create_concert(
    *, title, dates, start_time, duration, sale_opens_at, tiers=None, venue="", description="", created_by=None
):
    """Create a concert and its dates (each with priced seats) in one transaction; idempotent by title.

    `dates` are days, `start_time` the local time shows begin, `duration` a timedelta. A concert with this
    title that is not over yet is reused: only its missing dates are added (and its start and end widened
    to cover them); its sale time is left alone. Returns (concert, created_dates). Raises ValidationError
    for no dates, bad tiers or a sale opening after the first show.
    """
    days = sorted(set(dates))
    if not days:
        raise ValidationError(_("Give at least one date."))
    if not title.strip():
        raise ValidationError(_("The title may not be empty."))
    prices_tiers = tiers or default_tiers()
    seat_prices(prices_tiers)
    tz = timezone.get_current_timezone()
    first_show = datetime.datetime.combine(days[0], start_time, tzinfo=tz)
    last_end = datetime.datetime.combine(days[-1], start_time, tzinfo=tz) + duration
    if sale_opens_at > first_show:
        raise ValidationError(_("The sale must open before the first show."))
    concert = (
        Concert.objects.select_for_update()
        .filter(title=title.strip(), end_time__gte=timezone.now())
        .order_by("start_time")
        .first()
    )
    if concert is None:
        concert = Concert.objects.create(
            title=title.strip(),
            venue=venue,
            description=description,
            start_time=first_show,
            end_time=last_end,
            sale_opens_at=sale_opens_at,
        )
    elif concert.start_time > first_show or concert.end_time < last_end:
        concert.start_time = min(concert.start_time, first_show)
        concert.end_time = max(concert.end_time, last_end)
        Concert.objects.filter(pk=concert.pk).update(start_time=concert.start_time, end_time=concert.end_time)
    existing = set(concert.dates.values_list("concert_date", flat=True))
    created = [
        create_concert_date(concert=concert, concert_date=day, tiers=prices_tiers, created_by=created_by)
        for day in days
        if day not in existing
    ]
    return concert, created


def cancel_date(*, concert_date, by=None, reason, now=None):
    """Mark the date CANCELLED and record who, why and how many live reservations it had. Idempotent.

    Locks the date row, so two staff members cancelling at once make one DateCancellation. Returns
    (cancellation, created). Refunding the reservations is booking's job (booking.staff).
    """
    now = now or timezone.now()
    reason = (reason or "").strip()[:200] or "date cancelled"
    with transaction.atomic():
        date = ConcertDate.objects.select_for_update().get(pk=concert_date.pk)
        if date.is_cancelled:
            return DateCancellation.objects.get(concert_date=date), False
        ConcertDate.objects.filter(pk=date.pk).update(status=ConcertDate.Status.CANCELLED, cancelled_at=now)
        live = Reservation.objects.filter(seat__concert_date=date, status__in=Reservation.LIVE_STATUSES).count()
        cancellation = DateCancellation.objects.create(
            concert_date=date, requested_by=by, reason=reason, requested_at=now, total=live
        )
    concert_date.status, concert_date.cancelled_at = ConcertDate.Status.CANCELLED, now
    return cancellation, True


def check_date_move(*, concert_date, day, now=None):
    """Raise ValidationError when the date may not move to `day` (see selectors.date_move_refusal).

    Locks the date's seats first, in seat order (booking's lock order), so no hold or payment lands
    between this check and the caller's write of the new day: call it inside the transaction that writes
    the move (the admin's change view runs in one). The write itself changes concert_date only.
    """
    from .selectors import date_move_refusal

    with transaction.atomic():
        list(Seat.objects.select_for_update().filter(concert_date=concert_date).order_by("seat_number").values("pk"))
        refusal = date_move_refusal(concert_date=concert_date, day=day, now=now)
    if refusal:
        raise ValidationError(refusal, code="date_not_movable")
