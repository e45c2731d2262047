"""Concerts and their dates (public, like the listing and concert pages), and a date's seats (for fans admitted from
the concert's waiting room, like the seat map)."""

import datetime
import uuid

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from accounts.requests import AuthenticatedRequest
from booking import selectors as booking_selectors
from concerts import selectors as concert_selectors
from concerts.models import Concert

from ..auth import FAN
from ..exceptions import NotFound
from ..gates import concert_date_or_404, require_admission
from ..problems import Problem
from ..ratelimits import rate_limit

router = Router()


class ConcertOut(Schema):
    id: uuid.UUID
    title: str
    venue: str
    description: str
    first_show_at: datetime.datetime | None
    last_show_at: datetime.datetime | None
    sale_opens_at: datetime.datetime
    waiting_room_opens_at: datetime.datetime  # the pre-queue: fans may enter the waiting room from then
    on_sale: bool


class DateOut(Schema):
    id: uuid.UUID
    starts_at: datetime.datetime
    seats_left: int  # seats a fan could hold now (a hold that ran out counts as free; none while fans wait on the list)


class ConcertDetailOut(ConcertOut):
    dates: list[DateOut]  # the dates still bookable: not cancelled, show not started


class SeatOut(Schema):
    number: int
    tier: str
    price: int  # whole won
    state: str  # AVAILABLE, HELD (by another fan, or kept for the waiting list), RESERVED, or MINE
    hold_expires_at: datetime.datetime | None = None  # for MINE while held


class DateSeatsOut(Schema):
    date_id: uuid.UUID
    concert_id: uuid.UUID
    starts_at: datetime.datetime
    seats: list[SeatOut]


def _concert(concert: Concert, *, now: datetime.datetime) -> dict[str, object]:
    return {
        "id": concert.pk,
        "title": concert.title,
        "venue": concert.venue,
        "description": concert.description,
        "first_show_at": concert.start_time,
        "last_show_at": concert.end_time,
        "sale_opens_at": concert.sale_opens_at,
        "waiting_room_opens_at": concert.prequeue_starts_at,
        "on_sale": concert.is_on_sale(now),
    }


@router.get("", auth=None, response={200: list[ConcertOut], 429: Problem}, summary="Concerts on sale and coming up")
def concert_list(request: HttpRequest) -> list[dict[str, object]]:
    """Concerts whose last show is still ahead: on sale first, then coming up, each by its first show."""
    rate_limit(request, "api_read")
    now = timezone.now()
    on_sale, coming_up = concert_selectors.concerts_for_listing(now=now)
    return [_concert(concert, now=now) for concert in [*on_sale, *coming_up]]


@router.get(
    "/{concert_id}",
    auth=None,
    response={200: ConcertDetailOut, 400: Problem, 404: Problem, 429: Problem},
    summary="One concert",
)
def concert_detail(request: HttpRequest, concert_id: uuid.UUID) -> dict[str, object]:
    """The concert with its bookable dates and the seats left on each."""
    rate_limit(request, "api_read")
    now = timezone.now()
    concert = concert_selectors.find_concert(concert_id)
    if concert is None:
        raise NotFound()
    dates = concert_selectors.bookable_dates(concert=concert, now=now)
    return {
        **_concert(concert, now=now),
        "dates": [{"id": d.pk, "starts_at": d.starts_at, "seats_left": d.seats_left} for d in dates],
    }


dates_router = Router()


@dates_router.get(
    "/{date_id}/seats",
    auth=FAN,
    response={200: DateSeatsOut, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem, 503: Problem},
    summary="A date's seats (admitted fans)",
)
def date_seats(request: AuthenticatedRequest, date_id: uuid.UUID) -> dict[str, object]:
    """Every seat of the date with its tier, price and state as this fan sees it (their own holds and paid seats
    MINE). Only for fans admitted from the concert's waiting room, like the seat map: anyone else gets 403
    not_admitted (enter it with POST /concerts/{concert_id}/queue)."""
    rate_limit(request, "seat_map")
    concert_date = concert_date_or_404(date_id)
    require_admission(user=request.user, concert=concert_date.concert)
    now = timezone.now()
    tiers = {
        number: tier.name
        for tier in concert_selectors.price_tiers_of(concert_date)
        for number in range(tier.first, tier.last + 1)
    }
    seats = booking_selectors.seat_map(concert_date=concert_date, user=request.user, now=now)
    return {
        "date_id": concert_date.pk,
        "concert_id": concert_date.concert_id,
        "starts_at": concert_date.starts_at,
        "seats": [
            {
                "number": seat.number,
                "tier": tiers.get(seat.number, ""),
                "price": seat.price,
                "state": seat.status,
                "hold_expires_at": seat.hold_expire_at,
            }
            for seat in seats
        ],
    }
