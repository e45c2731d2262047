"""Money and prices as people read and type them: won amounts for the active language, and the price tiers
staff type for a date's seats (parsed, checked to cover every seat once, written back, described). Plain
functions over numbers and text, no database: the services, selectors, admin and template filters call them."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypedDict, overload

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


@overload
def won(amount: int | None) -> str: ...
@overload
def won(amount: object) -> object: ...
def won(amount: object) -> object:
    """Format a whole number of won for the active language: 12,000원 in Korean, ₩12,000 in English.

    Empty for None (or ""), unchanged for what is not a number.
    """
    if amount is None or amount == "":
        return ""
    try:
        value = int(amount)  # type: ignore[call-overload]  # whatever int() takes; the rest is returned as is
    except (TypeError, ValueError):
        return amount
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):,}"
    if (get_language() or "ko").startswith("ko"):
        return f"{sign}{digits}원"
    return f"{sign}₩{digits}"


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


def parse_price_tiers(text: str | None) -> list[PriceTier]:
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


def format_price_tiers(tiers: Iterable[PriceTier]) -> str:
    """The inverse of parse_price_tiers: one "NAME FIRST-LAST PRICE" line per tier."""
    return "\n".join(f"{t.name} {t.first}-{t.last} {t.price}".strip() for t in tiers)


def describe_price_tier(tier: PriceTier) -> str:
    """One tier for staff to read, in their language: "VIP seats 1–10: 165,000원"."""
    values = {"name": tier.name, "first": tier.first, "last": tier.last, "price": won(tier.price)}
    if tier.name:
        return _("%(name)s seats %(first)d–%(last)d: %(price)s") % values
    return _("Seats %(first)d–%(last)d: %(price)s") % values


def default_tiers() -> list[PriceTier]:
    """One price for every seat of a date (SEATS_PER_DATE seats at DEFAULT_SEAT_PRICE)."""
    return [PriceTier("", 1, settings.SEATS_PER_DATE, settings.DEFAULT_SEAT_PRICE)]


def _seat_runs(numbers: Iterable[int]) -> str:
    """Sorted seat numbers as runs: [11, 12, 13, 20] → "11–13, 20"."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][1] == number - 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(first) if first == last else f"{first}–{last}" for first, last in runs)


def seat_prices(tiers: Iterable[PriceTier]) -> dict[int, int]:
    """Map every seat number 1..SEATS_PER_DATE to its price; tiers must cover each seat exactly once.

    Raises ValidationError with a message staff read in their language (the admin shows it on the form).
    """
    prices: dict[int, int] = {}
    for tier in tiers:
        label: dict[str, str | int] = {"tier": tier.name or tier.first}
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


class PricedSeat(Protocol):
    """A seat-map entry: its number and price."""

    @property
    def number(self) -> int: ...
    @property
    def price(self) -> int: ...


class PriceRun(TypedDict):
    first: int
    last: int
    price: int


def price_runs(seats: Iterable[PricedSeat]) -> list[PriceRun]:
    """Group seat-map entries (number, price, in seat order) into runs of consecutive seats at one price.

    Returns dicts with first, last and price, e.g. [{"first": 1, "last": 10, "price": 165000}, ...].
    """
    runs: list[PriceRun] = []
    for seat in seats:
        if runs and runs[-1]["price"] == seat.price and runs[-1]["last"] == seat.number - 1:
            runs[-1]["last"] = seat.number
        else:
            runs.append({"first": seat.number, "last": seat.number, "price": seat.price})
    return runs
