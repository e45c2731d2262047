"""Fans' booking pages: seat map, hold, checkout (with each hold's Release button), my reservations, the printable
e-ticket and cancel, and a sold-out date's waiting list with the offer page of a returned seat.

Thin views: parse the request, call one booking service or selector, render. A refusal from a service
(a BookingError or WalletError) is shown as a message on the page it came from, with the refusal's own
status.
"""

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.redirects import login_required
from accounts.requests import AuthenticatedRequest
from concerts.models import ConcertDate
from concerts.pricing import won
from config.ratelimit import rate_limited
from queueing.gate import AdmittedRequest, admitted_required
from wallet.exceptions import WalletError

from . import exceptions, offer_links, seat_map_cache, seat_versions, selectors, services
from .forms import CheckoutForm, HoldForm, PickForm
from .models import Reservation, WaitlistOffer


def _render_seat_map(request: AdmittedRequest, *, status: int = 200, selected: Iterable[int] = ()) -> HttpResponse:
    page = seat_map_cache.seat_page(
        concert_date=request.concert_date, now=timezone.now(), found=request.cached_with_date
    )
    csrf_token = get_token(request)  # the hold form's and the layout's forms': one token per page, not two
    return render(
        request,
        "booking/seats.html",
        {
            "seat_page_title": page.title,
            "seat_page": page.fill(user_id=request.user.pk, selected=selected, csrf_token=csrf_token),
            "csrf_token": csrf_token,
            "page_url": page.url,
        },
        status=status,
    )


@require_safe
@login_required
@rate_limited("seat_map")
@admitted_required(also_cached=seat_map_cache.read_with_date)  # the seat version, read with the date's copy
def seats(request: AdmittedRequest, date_id: uuid.UUID) -> HttpResponse:
    """The 50 seats of a date with their status and price; the fan's own holds are marked.

    `?seats=<n>` (repeatable) checks those seats if they are free: the choice a refused hold sends back.
    """
    chosen = request.GET.getlist("seats")[: settings.SEATS_PER_DATE]
    return _render_seat_map(request, selected=[int(n) for n in chosen if n.isascii() and n.isdigit() and len(n) < 4])


@require_safe
@login_required
@rate_limited("seat_state", json=True)
@admitted_required(also_cached=seat_map_cache.read_with_date, json=True)
def seat_state(request: AdmittedRequest, date_id: uuid.UUID) -> HttpResponse:
    """JSON for the open seat map's poll (static/js/seat-map.js): `{"taken": [seat numbers not free now]}`.

    Its ETag is the seat version (booking.seat_map_cache.state_etag): a poll sending back an ETag that is still
    true is answered 304 from the version the gate read with the date, without the grid. Only for admitted fans
    (anyone else: 403 JSON), and counted against a rate limit of its own.
    """
    now = timezone.now()
    version = seat_versions.current_version(request.concert_date.pk, request.cached_with_date)
    etag = seat_map_cache.still_true(request.headers.get("if-none-match", ""), version=version, now=now)
    if etag is None:
        # Read after the version: the state may be newer than the version, never older (seat_versions).
        page = seat_map_cache.seat_page(concert_date=request.concert_date, now=now, found=request.cached_with_date)
        response = HttpResponse(page.state_json(), content_type="application/json")
        etag = seat_map_cache.state_etag(version, page.valid_until)
    else:
        response = HttpResponseNotModified()
    if etag is not None:
        response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"  # the browser keeps it, and asks every time
    return response


def _back_to_seat_map(request: AdmittedRequest, *, keep: Iterable[int] = ()) -> HttpResponseRedirect:
    """A refused hold answers with a 303 to the seat map, the fan's choice kept in its query string, so a
    reload shows the map again instead of asking to send the form a second time."""
    url = reverse("booking:seats", args=[request.concert_date.pk])
    if keep:
        url += "?" + urlencode({"seats": list(keep)}, doseq=True)
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _seat_map_url(request: AuthenticatedRequest, date_id: uuid.UUID) -> str:
    return reverse("booking:seats", args=[date_id])


@require_POST
@login_required(form_page=_seat_map_url)
@rate_limited("hold")
@admitted_required(form_page=_seat_map_url)
def hold(request: AdmittedRequest, date_id: uuid.UUID) -> HttpResponseBase:
    """Hold the checked seats together (all or nothing), then go to checkout.

    A refusal goes back to the seat map with its message (see _back_to_seat_map). Seat numbers the map never
    sends (a hand-made request) are a 400 on the map instead.
    """
    form = HoldForm(request.POST)
    if not form.is_valid():
        for error in form.errors["seats"]:
            messages.error(request, str(error))  # ErrorList hands out its messages as text
        if form.has_error("seats", "required"):  # nothing checked: the page allows it without JavaScript
            return _back_to_seat_map(request)
        return _render_seat_map(request, status=400)
    seat_numbers: list[int] = form.cleaned_data["seats"]
    try:
        services.hold_seats(user=request.user, concert_date=request.concert_date, seat_numbers=seat_numbers)
    except exceptions.BookingError as error:
        messages.error(request, error.message)
        # Keep the fan's choice checked, minus the seats someone else took, so one click tries again.
        kept = [n for n in seat_numbers if n not in getattr(error, "seat_numbers", ())]
        return _back_to_seat_map(request, keep=kept)
    messages.success(
        request,
        ngettext(
            "Seat %(seats)s is yours for a few minutes. Pay before the timer runs out.",
            "Seats %(seats)s are yours for a few minutes. Pay before the timer runs out.",
            len(seat_numbers),
        )
        % {"seats": ", ".join(str(n) for n in seat_numbers)},
    )
    return redirect("booking:checkout", date_id=request.concert_date.pk)


@require_POST
@login_required(form_page=_seat_map_url)
@rate_limited("hold")  # a pick is a hold
@admitted_required(form_page=_seat_map_url)
def pick(request: AdmittedRequest, date_id: uuid.UUID) -> HttpResponseBase:
    """The seat picker ("Pick the best seats for me"): hold the best free seats side by side for the count and
    price asked (booking.seat_rows), then go to checkout. A refusal (none fit, the seat limit, a bad count or
    price) shows the seat map with its message and the refusal's status (a 4xx)."""
    form = PickForm(request.POST)
    if not form.is_valid():
        for error in dict.fromkeys(e for errors in form.errors.values() for e in errors):
            messages.error(request, str(error))  # ErrorList hands out its messages as text
        return _render_seat_map(request, status=400)
    try:
        held = services.hold_best_seats(
            user=request.user,
            concert_date=request.concert_date,
            count=form.cleaned_data["count"],
            price=form.cleaned_data["price"],
        )
    except exceptions.BookingError as error:
        messages.error(request, error.message)
        return _render_seat_map(request, status=error.status)
    seat_numbers = [reservation.seat.seat_number for reservation in held]
    messages.success(
        request,
        ngettext(
            "We picked seat %(seats)s for you; it is yours for a few minutes. Pay before the timer runs out.",
            "We picked seats %(seats)s for you, side by side; they are yours for a few minutes. Pay before the "
            "timer runs out.",
            len(seat_numbers),
        )
        % {"seats": ", ".join(str(n) for n in seat_numbers)},
    )
    return redirect("booking:checkout", date_id=request.concert_date.pk)


def _render_checkout(
    request: AdmittedRequest, *, status: int = 200, holds: list[Reservation] | None = None
) -> HttpResponse:
    date = request.concert_date
    now = timezone.now()
    if holds is None:
        holds = list(selectors.live_holds(user=request.user, concert_date=date, now=now))
    hold_ran_out = not holds and selectors.last_hold_ran_out(user=request.user, concert_date=date, now=now)
    total = sum(reservation.price for reservation in holds)
    balance = request.user.balance
    expires_at = min((r.hold_expire_at for r in holds if r.hold_expire_at is not None), default=None)
    return render(
        request,
        "booking/checkout.html",
        {
            "concert": request.concert,
            "date": date,
            "holds": holds,
            "total": total,
            "balance": balance,
            "shortfall": max(total - balance, 0),
            "balance_after": balance - total,
            "cancel_cutoff_hours": settings.CANCEL_CUTOFF_HOURS,
            "expires_at": expires_at,
            "hold_ran_out": hold_ran_out,
            "form": CheckoutForm(initial={"idempotency_key": uuid.uuid4(), "reservations": [r.pk for r in holds]}),
            # A fan let through only to pay what they hold cannot pick other seats until admitted again.
            "can_change_seats": request.admitted,
            "page_url": reverse("booking:checkout", args=[date.pk]),
        },
        status=status,
    )


def _checkout_state(request: AdmittedRequest) -> selectors.CheckoutState:
    """The checkout state of the request's date, read once per request."""
    state: selectors.CheckoutState | None = getattr(request, "checkout_state", None)
    if state is None:
        state = selectors.checkout_state(user=request.user, concert_date=request.concert_date, now=timezone.now())
        request.checkout_state = state  # type: ignore[attr-defined]  # kept on the request
    return state


def _checkout_open_without_admission(request: AdmittedRequest) -> bool:
    """The gate's exception for checkout: seats the fan already holds on this date stay payable after the
    admission ended (it ran out, or a payment on another date ended it), and a checkout that was paid
    answers with My tickets instead of the waiting room. Nothing new can be held this way.

    Paying ends the admission, so a second click on Pay arriving after the first payment finished comes
    through here too: its key has paid, and pay() answers it as a replay (My tickets, nothing charged). An
    admitted fan's replay never needs this: pay() finds the key first thing under the fan's lock.
    """
    key = None
    if request.method == "POST":
        form = CheckoutForm(request.POST)
        if form.is_valid():
            key = str(form.cleaned_data["idempotency_key"])
    return selectors.may_pay_without_admission(
        user=request.user,
        concert_date=request.concert_date,
        idempotency_key=key,
        now=timezone.now(),
        state=_checkout_state(request),  # read once: the GET below reads it again
    )


def _paid_checkout_goes_to_tickets(request: HttpRequest) -> HttpResponseRedirect:
    """Back, reload or a second tab after paying: My tickets, saying the seats are paid (not the waiting
    room, nor an empty checkout that reads like a failed payment)."""
    messages.info(request, _("Your seats for this date are already paid: here are your tickets."))
    return redirect("booking:reservations")


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@rate_limited("pay", methods=["POST"])
@admitted_required(open_without_admission=_checkout_open_without_admission)
def checkout(request: AdmittedRequest, date_id: uuid.UUID) -> HttpResponseBase:
    """GET: the fan's holds, total, balance and the hold's countdown. POST: pay them all, once per key.

    With nothing left to pay because the date's last checkout was paid, both go to My tickets.
    """
    if request.method != "POST":  # GET or HEAD
        holds = selectors.live_holds(user=request.user, concert_date=request.concert_date, now=timezone.now())
        if not holds and _checkout_state(request).paid:
            return _paid_checkout_goes_to_tickets(request)
        return _render_checkout(request, holds=holds)
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        for error in dict.fromkeys(e for errors in form.errors.values() for e in errors):
            messages.error(request, str(error))  # ErrorList hands out its messages as text
        return _render_checkout(request, status=400)
    try:
        result = services.pay(
            user=request.user,
            concert_date=request.concert_date,
            idempotency_key=str(form.cleaned_data["idempotency_key"]),
            reservation_ids=form.cleaned_data["reservations"],  # what the page showed, nothing else
            language=request.LANGUAGE_CODE,  # the confirmation e-mail is written in the fan's language
        )
    except (exceptions.BookingError, WalletError) as error:
        if (
            isinstance(error, exceptions.NothingToPay)
            and selectors.checkout_state(user=request.user, concert_date=request.concert_date, now=timezone.now()).paid
        ):  # read afresh: a payment in another tab may have just taken the holds
            return _paid_checkout_goes_to_tickets(request)
        messages.error(request, error.message)
        # The balance may have been read before a failed payment; show the current one.
        request.user.refresh_from_db(fields=["balance"])
        return _render_checkout(request, status=error.status)
    if result.replayed:
        messages.info(request, _("This payment was already made; nothing more was charged."))
        return redirect("booking:reservations")
    messages.success(
        request,
        ngettext(
            "Payment complete: %(count)d seat is booked. Enjoy the show!",
            "Payment complete: %(count)d seats are booked. Enjoy the show!",
            len(result.reservations),
        )
        % {"count": len(result.reservations)},
    )
    return redirect("booking:reservations")


@require_POST
@login_required(form_page="booking:reservations")
def release(request: AuthenticatedRequest, reservation_id: uuid.UUID) -> HttpResponseBase:
    """Checkout's Release button on one of the fan's holds: the seat is let go (services.release_own_hold, as the
    JSON API's DELETE /holds/{id}), then a 303 back to checkout with a message (POST/redirect/GET: a reload sends
    nothing again, and no JavaScript is needed). A hold that had already ended says so and changes nothing; a paid
    seat is refused with its message; another fan's hold is a 404. Needs no admission: giving a seat back is
    always allowed."""
    reservation = get_object_or_404(
        Reservation.objects.select_related("seat"), pk=reservation_id, user_id=request.user.pk
    )
    back = _see_other(reverse("booking:checkout", args=[reservation.seat.concert_date_id]))
    seat, was_held = reservation.seat.seat_number, reservation.status == Reservation.Status.HOLD
    try:
        released = services.release_own_hold(user=request.user, reservation=reservation)
    except exceptions.BookingError as error:
        messages.error(request, error.message)
        return back
    if was_held and released.end_reason == Reservation.EndReason.FAN_RELEASED:
        messages.success(request, _("Seat %(seat)s is released: other fans can choose it now.") % {"seat": seat})
    else:
        messages.info(request, _("Your hold on seat %(seat)s had already ended; nothing changed.") % {"seat": seat})
    return back


def _render_reservations(request: AuthenticatedRequest, *, status: int = 200) -> HttpResponse:
    page = selectors.reservations_for(user=request.user, page=request.GET.get("page"))
    return render(
        request,
        "booking/reservations.html",
        {
            "reservations": page.object_list,
            "page": page,
            "cancel_cutoff_hours": settings.CANCEL_CUTOFF_HOURS,
            "page_url": reverse("booking:reservations"),
        },
        status=status,
    )


@require_safe
@login_required
@cache_control(private=True, no_cache=True)  # its ticket codes let a seat in: no shared cache keeps them
def reservations(request: AuthenticatedRequest) -> HttpResponse:
    """The fan's reservations, newest first, a page at a time, with a cancel button while cancellation is
    allowed."""
    return _render_reservations(request)


@require_safe
@login_required
@cache_control(private=True, no_cache=True)  # the browser keeps it (a fan at the door with no signal), no proxy does
def ticket(request: AuthenticatedRequest, reservation_id: uuid.UUID) -> HttpResponse:
    """The printable e-ticket of one of the fan's paid seats: its QR code and code, or VOID once refunded.

    404 for a reservation that is not the fan's or was never paid (the same answer, so it tells nothing).
    Printing leaves the site's header and footer out (site.css); the page needs no JavaScript.
    """
    found = selectors.ticket_for(user=request.user, reservation_id=reservation_id)
    if found is None:
        raise Http404("No such ticket.")
    return render(
        request,
        "booking/ticket.html",
        {"ticket": found, "page_url": reverse("booking:ticket", args=[reservation_id])},
    )


def _cancel_page_url(request: AuthenticatedRequest, reservation_id: uuid.UUID) -> str:
    return reverse("booking:cancel", args=[reservation_id])


def _render_cancel_page(request: AuthenticatedRequest, reservation: Reservation, *, status: int = 200) -> HttpResponse:
    quote = selectors.cancellation_quote(reservation=reservation)
    if quote.refusal is not None:
        messages.error(request, quote.refusal.message)
        status = quote.refusal.status
    return render(
        request,
        "booking/cancel.html",
        {"quote": quote, "reservation": reservation, "page_url": _cancel_page_url(request, reservation.pk)},
        status=status,
    )


def _accepted_fee(request: AuthenticatedRequest) -> int:
    """The fee the cancel page showed the fan (its hidden `fee`). A form without one, or with anything but a
    whole number of won, counts as a fee of 0: the fan confirmed no fee they did not see."""
    raw = request.POST.get("fee", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else 0


@require_http_methods(["GET", "HEAD", "POST"])
@login_required(form_page=_cancel_page_url)
def cancel_view(request: AuthenticatedRequest, reservation_id: uuid.UUID) -> HttpResponse:
    """GET: what cancelling one of the fan's paid reservations gives back (price, fee, refund, deadline, the
    concert's fee schedule), with the button that confirms; a 409 with the reason when it cannot be cancelled.
    POST: cancel it, refunding the price less the fee the page showed, or less a lower fee if it went down;
    a higher fee now (a day passed since the page) is a 409 showing the page again with the new amounts.
    The confirmation is a page, not a script dialog, so it is the same without JavaScript."""
    reservation = get_object_or_404(
        Reservation.objects.select_related("seat__concert_date__concert"), pk=reservation_id, user=request.user
    )
    if request.method != "POST":
        return _render_cancel_page(request, reservation)
    try:
        cancelled = services.cancel(user=request.user, reservation=reservation, accepted_fee=_accepted_fee(request))
    except exceptions.CancellationFeeChanged as error:
        messages.error(request, error.message)
        return _render_cancel_page(request, reservation, status=error.status)
    except exceptions.BookingError as error:
        messages.error(request, error.message)
        return _render_reservations(request, status=error.status)
    if cancelled.fee_charged:
        messages.success(
            request,
            _("Your booking is cancelled: %(refund)s is back in your wallet, after a cancellation fee of %(fee)s.")
            % {"refund": won(cancelled.refunded), "fee": won(cancelled.fee_charged)},
        )
    else:
        messages.success(request, _("Your reservation is cancelled and the full price is back in your wallet."))
    return redirect("booking:reservations")


# --- the waiting list of a sold-out date (취소표) -------------------------------------------------------------


def _waitlist_url(request: HttpRequest, date_id: uuid.UUID) -> str:
    return reverse("booking:waitlist", args=[date_id])


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _render_waitlist(request: AuthenticatedRequest, date: ConcertDate, *, status: int = 200) -> HttpResponse:
    place = selectors.waitlist_place(user=request.user, concert_date=date)
    if place.waiting:  # seats whose holds ran out unswept go to the list now, not at the next sweep
        services.waitlist.offer_expired_holds_soon(concert_date=date)
    return render(
        request,
        "booking/waitlist.html",
        {
            "date": date,
            "concert": date.concert,
            "place": place,
            "offer_minutes": max(settings.OFFER_SECONDS // 60, 1),
            "offer_path": offer_links.offer_path(place.offer) if place.offer else None,
            "page_url": _waitlist_url(request, date.pk),
        },
        status=status,
    )


@rate_limited("waitlist_join")
@admitted_required(form_page=_waitlist_url)
def _join_waitlist(request: AuthenticatedRequest, date_id: uuid.UUID) -> HttpResponse:
    """The join POST of the waiting-list page, behind the same gate as the date's seat map: a date counts as
    sold out while its seats are merely held, so without it anyone (or a bot with many accounts) could join in
    the first minutes of a rush and be offered expired holds without ever being admitted. A fan not admitted is
    sent to the waiting room, which brings them back to the waiting-list page once let in; rate limited
    (waitlist_join)."""
    date = get_object_or_404(ConcertDate.objects.select_related("concert"), pk=date_id)  # fresh, not the copy
    try:
        services.waitlist.join_waitlist(user=request.user, concert_date=date, language=request.LANGUAGE_CODE)
    except exceptions.BookingError as error:
        messages.error(request, error.message)
        return _render_waitlist(request, date, status=error.status)
    messages.success(request, _("You are on the waiting list. If a seat comes back, we will e-mail you."))
    return _see_other(_waitlist_url(request, date.pk))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required(form_page=_waitlist_url)
def waitlist(request: AuthenticatedRequest, date_id: uuid.UUID) -> HttpResponseBase:
    """GET: the date's waiting list as the fan sees it (sold out or not, their place, an offer made to them).
    POST `action=join` puts the fan on it, only admitted from the concert's waiting room (_join_waitlist);
    `action=leave` takes them off (declining an open offer), at any time; both answer with a 303 back here."""
    if request.method == "POST" and request.POST.get("action") == "join":
        return _join_waitlist(request, date_id=date_id)
    date = get_object_or_404(ConcertDate.objects.select_related("concert"), pk=date_id)
    if request.method != "POST":
        return _render_waitlist(request, date)
    action = request.POST.get("action")
    try:
        if action == "leave":
            if services.waitlist.leave_waitlist(user=request.user, concert_date=date) is not None:
                messages.info(request, _("You have left the waiting list."))
        else:
            messages.error(request, _("Choose whether to join or leave the waiting list."))
            return _render_waitlist(request, date, status=400)
    except exceptions.BookingError as error:
        messages.error(request, error.message)
        return _render_waitlist(request, date, status=error.status)
    return _see_other(_waitlist_url(request, date.pk))


def _offer_page_url(request: HttpRequest, token: str) -> str:
    return reverse("booking:offer", args=[token])


def _render_offer(
    request: AuthenticatedRequest, offer: WaitlistOffer | None, *, status: int = 200, token: str = ""
) -> HttpResponse:
    now = timezone.now()
    is_open = bool(
        offer is not None
        and offer.is_open
        and offer.expires_at > now
        and offer.reservation.status == Reservation.Status.HOLD
    )
    return render(
        request,
        "booking/offer.html",
        {
            "offer": offer,
            "is_open": is_open,
            "date": offer.seat.concert_date if offer else None,
            "token": token,
            "page_url": _offer_page_url(request, token) if token else reverse("concerts:list"),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required(form_page=_offer_page_url)
def offer(request: AuthenticatedRequest, token: str) -> HttpResponseBase:
    """A waiting-list offer's page (the link of its e-mail and banner): the seat held for the fan and until when.
    POST `action=accept` takes it up and goes to checkout, without the waiting room; `action=decline` lets it go
    to the next fan. A link that is not ours or another fan's is a 404, an offer that ended a 410."""
    try:
        found = offer_links.offer_for_token(token)
        if found.entry.user_id != request.user.pk:
            raise exceptions.OfferLinkInvalid()
    except exceptions.OfferLinkInvalid as error:
        messages.error(request, error.message)
        return _render_offer(request, None, status=error.status)
    if request.method != "POST":
        return _offer_or_gone(request, found, token)
    action = request.POST.get("action")
    try:
        if action == "accept":
            services.waitlist.accept_offer(user=request.user, offer=found)
        elif action == "decline":
            services.waitlist.decline_offer(user=request.user, offer=found)
            messages.info(request, _("You let the seat go: it has been offered to the next fan."))
            return _see_other(_waitlist_url(request, found.seat.concert_date_id))
        else:
            messages.error(request, _("Choose whether to book the seat or let it go."))
            return _render_offer(request, found, status=400, token=token)
    except exceptions.BookingError as error:
        messages.error(request, error.message)
        found.refresh_from_db()
        found.reservation.refresh_from_db()
        return _render_offer(request, found, status=error.status, token=token)
    messages.success(request, _("The seat is yours until the time below: pay to book it."))
    return _see_other(reverse("booking:checkout", args=[found.seat.concert_date_id]))


def _offer_or_gone(request: AuthenticatedRequest, offer: WaitlistOffer, token: str) -> HttpResponseBase:
    """The offer page; 410 with the reason once the offer has ended or run out."""
    ended = not (
        offer.is_open and offer.expires_at > timezone.now() and offer.reservation.status == Reservation.Status.HOLD
    )
    if ended and offer.reservation.confirmed_at is not None:  # paid: the link's use is over
        messages.info(request, _("You booked this seat: it is on My tickets."))
        return _see_other(reverse("booking:reservations"))
    if ended:
        error = exceptions.OfferExpired()
        messages.error(request, error.message)
        return _render_offer(request, offer, status=error.status, token=token)
    return _render_offer(request, offer, token=token)
