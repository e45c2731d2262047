"""Where a date's seats sit, as the seat map draws them (static/css/site.css, .seat-grid): rows of ROW_LENGTH seats
facing the stage, seat 1 at the left end of the row nearest it, numbers running left to right and row after row
away from the stage, and an aisle down the middle of every row (after its fifth seat). And which free seats side
by side are best (best_block), for "Pick the best seats for me".

Seats are side by side when they are in one row, on the same side of the aisle, with consecutive numbers: seats 5
and 6 are in one row but the aisle runs between them (the phone's map, five a row, draws them in two rows). The
best block of seats is, in this order: in the row nearest the stage; then the one whose middle is nearest the
middle of the row (the aisle); then the one with the lowest numbers (the left side, for two blocks as near the
middle). A price, when given, is the price of every seat of the block. README.md ("Pick the best seats for me")
says the same for fans.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.conf import settings

ROW_LENGTH = 10  # seats a row
SIDE_LENGTH = 5  # seats a row has on each side of its aisle: the most that can sit side by side


@dataclass(frozen=True, order=True)
class SeatBlock:
    """Seats side by side, sortable best first: (row, off_centre, first)."""

    row: int  # 0 is the row nearest the stage
    off_centre: float  # how far the block's middle is from the row's middle, in seats
    first: int  # the block's lowest seat number
    count: int

    @property
    def numbers(self) -> list[int]:
        return list(range(self.first, self.first + self.count))


def most_to_pick() -> int:
    """The most seats one pick may ask for: the seat limit, and no more than sit side by side."""
    return min(settings.MAX_SEATS_PER_USER, SIDE_LENGTH)


def row_of(number: int) -> int:
    """The row of seat `number` (1-based), 0 nearest the stage."""
    return (number - 1) // ROW_LENGTH


def blocks(*, count: int, seats: int) -> Iterator[SeatBlock]:
    """Every block of `count` seats side by side among seats 1..`seats`, in no particular order."""
    middle = (ROW_LENGTH + 1) / 2  # the aisle, between the row's places 5 and 6 (places counted from 1)
    for first in range(1, seats - count + 2):
        place = (first - 1) % ROW_LENGTH  # 0-based place in the row
        if place // SIDE_LENGTH != (place + count - 1) // SIDE_LENGTH:
            continue  # crosses the aisle, or runs past the row's end
        block_middle = place + 1 + (count - 1) / 2
        yield SeatBlock(row_of(first), abs(block_middle - middle), first, count)


def best_block(free: Mapping[int, int], *, count: int, seats: int, price: int | None = None) -> SeatBlock | None:
    """The best block of `count` seats side by side among the `free` seats ({number: price}), every one at `price`
    when it is given; None when no block fits. `seats` is how many seats the date has."""
    fitting = (
        block
        for block in blocks(count=count, seats=seats)
        if all(number in free and (price is None or free[number] == price) for number in block.numbers)
    )
    return min(fitting, default=None)
