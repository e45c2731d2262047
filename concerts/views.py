"""Fans' concert pages: the listing and one concert's page, thin views over the selectors."""

import uuid

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_safe

from . import page_cache, selectors


@require_safe
def concert_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    on_sale, coming_up = selectors.concerts_for_listing(now=now)
    return render(request, "concerts/list.html", {"on_sale": on_sale, "coming_up": coming_up, "now": now})


@require_safe
def concert_detail(request: HttpRequest, concert_id: uuid.UUID) -> HttpResponse:
    """Dates with seats left, the sale countdown, and the way into the waiting room."""
    # Shared for a few seconds, with the waiting room the join form's challenge asks about (concerts.page_cache).
    concert = page_cache.concert(concert_id, related=["waiting_room"])
    if concert is None:
        raise Http404("No such concert.")
    now = timezone.now()
    # Lazy: read only when the template's cached date list has to be rendered again.
    dates = SimpleLazyObject(lambda: selectors.bookable_dates(concert=concert, now=now))
    return render(
        request,
        "concerts/detail.html",
        {
            "concert": concert,
            "dates": dates,
            "now": now,
            "on_sale": concert.is_on_sale(now),
            "in_prequeue": concert.is_in_prequeue(now),
            "seats_per_date": settings.SEATS_PER_DATE,
            "cache_seconds": settings.CONCERT_PAGE_CACHE_SECONDS,
        },
    )
