"""Writes about concerts: creating a date together with its priced seats."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import ConcertDate, Seat, SeatStatusHistory


@dataclass(frozen=True)
class PriceTier:
    """Seats first..last (inclusive) cost price won, e.g. PriceTier("VIP", 1, 10, 165_000)."""

    name: str
    first: int
    last: int
    price: int


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
                f"Cannot read the price tier {line!r}; write it as NAME FIRST-LAST PRICE, e.g. VIP 1-10 165000."
            )
        price = int(match["price"].replace(",", "").replace("_", ""))
        tiers.append(PriceTier(match["name"] or "", int(match["first"]), int(match["last"]), price))
    return tiers


def format_price_tiers(tiers):
    """The inverse of parse_price_tiers: one "NAME FIRST-LAST PRICE" line per tier."""
    return "\n".join(f"{t.name} {t.first}-{t.last} {t.price}".strip() for t in tiers)


def default_tiers():
    return [PriceTier("", 1, settings.SEATS_PER_DATE, settings.DEFAULT_SEAT_PRICE)]


def seat_prices(tiers):
    """Map every seat number 1..SEATS_PER_DATE to its price; tiers must cover each seat exactly once."""
    prices = {}
    for tier in tiers:
        if tier.price <= 0:
            raise ValidationError(f"Tier {tier.name or tier.first}: the price must be a positive number of won.")
        if tier.price > MAX_SEAT_PRICE:
            raise ValidationError(f"Tier {tier.name or tier.first}: the price may be at most {MAX_SEAT_PRICE:,} won.")
        if not 1 <= tier.first <= tier.last <= settings.SEATS_PER_DATE:
            raise ValidationError(
                f"Tier {tier.name or tier.first}: seats must run within 1..{settings.SEATS_PER_DATE}."
            )
        for number in range(tier.first, tier.last + 1):
            if number in prices:
                raise ValidationError(f"Seat {number} is in more than one price tier.")
            prices[number] = tier.price
    missing = sorted(set(range(1, settings.SEATS_PER_DATE + 1)) - prices.keys())
    if missing:
        raise ValidationError(f"Seats {missing[0]}..{missing[-1]} have no price tier.")
    return prices


@transaction.atomic
def create_concert_date(*, concert, concert_date, tiers=None, created_by=None):
    """Create a ConcertDate and all its seats (AVAILABLE, priced by tiers) in one transaction.

    Each seat gets its first SeatStatusHistory row (None → AVAILABLE), so history always explains the
    current status. Raises ValidationError for tiers that do not cover the seats exactly once.
    """
    prices = seat_prices(tiers or default_tiers())
    date = ConcertDate.objects.create(concert=concert, concert_date=concert_date)
    seats = Seat.objects.bulk_create(
        Seat(concert_date=date, seat_number=number, price=price) for number, price in sorted(prices.items())
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
