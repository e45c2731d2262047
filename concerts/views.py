"""Fans' concert pages: the listing and one concert's page, thin views over the selectors."""

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from . import detail_page, selectors


@require_safe
def concert_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    on_sale, coming_up = selectors.concerts_for_listing(now=now)
    return render(request, "concerts/list.html", {"on_sale": on_sale, "coming_up": coming_up, "now": now})


@require_safe
def concert_detail(request: HttpRequest, concert_id: uuid.UUID) -> HttpResponse:
    """Dates with seats left, the sale countdown, and the way into the waiting room."""
    now = timezone.now()
    # The body is shared between visitors for a few seconds, with this visit's own values filled in
    # as the template renders (concerts.detail_page, the {% concert_page_body %} tag).
    page = detail_page.concert_page(concert_id, authenticated=request.user.is_authenticated, now=now)
    if page is None:
        raise Http404("No such concert.")
    context = {"page": page, "concert": page.concert, "dates": page.dates, "now": now}
    return render(request, "concerts/detail.html", context)
