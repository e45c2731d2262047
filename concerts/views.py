"""Fans' concert pages: the listing and one concert's page, thin views over the selectors."""

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.redirects import login_required
from accounts.requests import AuthenticatedRequest
from config.ratelimit import rate_limited

from . import detail_page, selectors, services
from .exceptions import PresaleError
from .models import Presale


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


def _presale_or_404(concert_id: uuid.UUID, presale_id: uuid.UUID) -> Presale:
    presale = selectors.find_presale(concert_id=concert_id, presale_id=presale_id)
    if presale is None:
        raise Http404("No such presale.")
    return presale


def _presale_url(request: HttpRequest, concert_id: uuid.UUID, presale_id: uuid.UUID) -> str:
    return reverse("concerts:presale", args=[concert_id, presale_id])


def _render_presale(request: HttpRequest, presale: Presale, *, status: int = 200) -> HttpResponse:
    now = timezone.now()
    sale = selectors.current_sale(concert=presale.concert, now=now)
    serving = sale.presale is not None and sale.presale.pk == presale.pk
    context = {
        "presale": presale,
        "concert": presale.concert,
        # The concert's waiting room serves this presale now or next: from when fans on its list may enter it.
        "room_opens_at": sale.prequeue_starts_at if serving else None,
        "room_open": serving and now >= sale.prequeue_starts_at,
        "standing": selectors.presale_standing(user=request.user, presale=presale),
        "is_open": presale.is_open(now),
        "is_closed": now >= presale.closes_at,
        "now": now,
    }
    return render(request, "concerts/presale.html", context, status=status)


@require_safe
def presale_detail(request: HttpRequest, concert_id: uuid.UUID, presale_id: uuid.UUID) -> HttpResponse:
    """A fan-club presale: its window, when the general sale opens, and for a logged-in fan whether they may enter
    it (with the form to enter a code, for a presale by codes)."""
    return _render_presale(request, _presale_or_404(concert_id, presale_id))


@require_POST
@login_required(form_page=_presale_url)
@rate_limited("presale_code")
def presale_code(request: AuthenticatedRequest, concert_id: uuid.UUID, presale_id: uuid.UUID) -> HttpResponse:
    """POST `code`: bind one of the presale's codes to the fan (concerts.services.redeem_presale_code); 303 back to
    the presale's page, or the page again with the refusal (400 for any code that is not an unused one of this
    presale, 409 once it has closed). Rate limited (presale_code), each try counted, right or wrong."""
    presale = _presale_or_404(concert_id, presale_id)
    try:
        services.redeem_presale_code(user=request.user, presale=presale, code=request.POST.get("code", ""))
    except PresaleError as error:
        messages.error(request, error.message)
        return _render_presale(request, presale, status=error.status)
    messages.success(request, _("Your code is registered: you may book in this presale while it is open."))
    response = HttpResponseRedirect(_presale_url(request, concert_id, presale_id))
    response.status_code = 303
    return response
