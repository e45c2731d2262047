"""The door page: staff on a phone check tickets in for one date at one door (booking.services.check_in_ticket).

A page of its own, not the admin's: built for a phone held at the entrance (big answer, big buttons, nothing
else on screen), and under the fans' strict Content-Security-Policy (plus blob: workers for the QR scanner,
settings.CSP_DOOR_POLICY), which the admin's inline scripts would not allow.

Without JavaScript the code is typed (or typed by a scanner) and POSTed; the page answers with the entry or the
refusal and its status. static/js/door.js adds the camera (static/vendor/qr-scanner) and POSTs each decoded
code with fetch, asking for JSON (the same answer, as text for the page to show). The door's name and date are
kept in the session, so a phone stays set up from scan to scan and visit to visit.
"""

import functools
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import audit, two_factor
from accounts.requests import acting_user
from concerts.models import ConcertDate
from config.middleware import with_policy

from . import selectors, services
from .exceptions import TicketRefused
from .forms import DoorScanForm, DoorSetupForm
from .models import CheckIn

SESSION_DATE = "door_date"
SESSION_DOOR = "door_name"

PERMISSION = "booking.add_checkin"


def _door_staff(view: Any) -> Any:
    """Staff only (anyone else is sent to the staff log-in), past their second factor (else the verify page; the
    staff-paths middleware sends them there first, as /door/ is in STAFF_TWO_FACTOR_PATHS: this says it again),
    and only those who may check tickets in (403).

    The one gate of the door's views: whatever else staff pages come to require goes here.
    Inside it the view runs as audit.acting_view, so the check-in's audit entry names the staff member, their
    client address and the view ("door").
    """
    view = audit.acting_view(view)

    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not two_factor.session_verified(request):
            path = request.get_full_path() if request.method in ("GET", "HEAD") else request.path
            return HttpResponseRedirect(two_factor.verify_url(path))
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        response: HttpResponse = view(request, *args, **kwargs)
        return response

    functools.update_wrapper(checked, view)
    return never_cache(staff_member_required(checked, login_url="admin:login"))


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _setup(request: HttpRequest, dates: list[ConcertDate]) -> tuple[ConcertDate | None, str]:
    """The session's date (if the door may still check it, else the first date from today on) and door name."""
    by_pk = {str(date.pk): date for date in dates}
    chosen = by_pk.get(str(request.session.get(SESSION_DATE, "")))
    if chosen is None:
        today = timezone.localdate()
        chosen = next((date for date in dates if date.concert_date >= today), dates[0] if dates else None)
    return chosen, str(request.session.get(SESSION_DOOR, ""))


def _counts(concert_date: ConcertDate, door: str) -> dict[str, int]:
    total = selectors.checkin_counts(concert_date=concert_date)
    by_door = selectors.checkin_counts_by_door(concert_date=concert_date)
    here = next((row.entered for row in by_door if row.door == door), 0)
    return {"entered": total.entered, "expected": total.expected, "here": here}


def _answer(check_in: CheckIn | None, refusal: TicketRefused | None) -> dict[str, Any] | None:
    """The answer to show, as text: heading, the reason or the ticket, and the ticket's seat and holder."""
    if check_in is None and refusal is None:
        return None
    reservation = check_in.reservation if check_in else refusal.reservation if refusal else None
    details = []
    if reservation is not None:
        seat = reservation.seat
        details = [
            _("Seat %(number)s") % {"number": seat.seat_number},
            reservation.user.name or reservation.user.email,
            f"{seat.concert_date.concert.title} · {seat.concert_date.concert_date:%Y-%m-%d}",
        ]
    if check_in is not None:
        return {"entered": True, "heading": _("Entry recorded"), "message": "", "details": details}
    assert refusal is not None
    return {
        "entered": False,
        "heading": _("Do not let in"),
        "message": str(refusal.message),
        "details": details,
        "code": refusal.code,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@with_policy("CSP_DOOR_POLICY")
@_door_staff
def door(request: HttpRequest) -> HttpResponse:
    """GET: the door page for the session's date and door (the setup form first when the door has no name).

    POST a scan (code, and the page's date and door): 200 with the entry, or the refusal's status (400 a code
    that is not ours, 409 used / other date / refunded or never paid) with its reason, as the page or, when the
    request asks for JSON, as {"entered", "heading", "message", "details", "counts"}. A scan without a date, a
    door or a code is a 400 that records nothing.
    """
    dates = list(selectors.door_dates())
    concert_date, door_name = _setup(request, dates)
    status = 200
    check_in: CheckIn | None = None
    refusal: TicketRefused | None = None
    scan_form = None
    if request.method == "POST":
        scan_form = DoorScanForm(request.POST)
        if scan_form.is_valid():
            concert_date, door_name = scan_form.cleaned_data["concert_date"], scan_form.cleaned_data["door"]
            try:
                check_in = services.check_in_ticket(
                    code=scan_form.cleaned_data["code"],
                    concert_date=concert_date,
                    by=acting_user(request),
                    door=door_name,
                )
            except TicketRefused as exc:
                refusal, status = exc, exc.status
            scan_form = None  # the next scan starts empty: the code is not echoed back
        else:
            status = 400
            if _wants_json(request):
                return JsonResponse(
                    {
                        "entered": False,
                        "heading": _("Do not let in"),
                        "message": _("Scan or type a ticket code."),
                        "details": [],
                        "code": "door_scan_invalid",
                    },
                    status=400,
                )
    answer = _answer(check_in, refusal)
    counts = _counts(concert_date, door_name) if concert_date else None
    if request.method == "POST" and _wants_json(request):
        return JsonResponse({**(answer or {}), "counts": counts}, status=status)
    if scan_form is None and concert_date is not None:
        scan_form = DoorScanForm(initial={"concert_date": concert_date, "door": door_name})
    setup_form = DoorSetupForm(initial={"concert_date": concert_date, "door": door_name})
    return render(
        request,
        "booking/door.html",
        {
            "dates": dates,
            "concert_date": concert_date,
            "door_name": door_name,
            "scan_form": scan_form,
            "setup_form": setup_form,
            "answer": answer,
            "check_in": check_in,
            "refusal": refusal,
            "counts": counts,
            "scan_error": status == 400 and answer is None,
        },
        status=status,
    )


@require_POST
@with_policy("CSP_DOOR_POLICY")
@_door_staff
def door_setup(request: HttpRequest) -> HttpResponse:
    """POST the date this phone checks and its door's name: kept in the session, back to the door page (303).
    Incomplete: the page again with the form's errors, 400, the session unchanged."""
    form = DoorSetupForm(request.POST)
    if not form.is_valid():
        dates = list(selectors.door_dates())
        concert_date, door_name = _setup(request, dates)
        return render(
            request,
            "booking/door.html",
            {
                "dates": dates,
                "concert_date": concert_date,
                "door_name": door_name,
                "scan_form": None,
                "setup_form": form,
                "setup_open": True,
                "answer": None,
                "counts": _counts(concert_date, door_name) if concert_date else None,
            },
            status=400,
        )
    request.session[SESSION_DATE] = str(form.cleaned_data["concert_date"].pk)
    request.session[SESSION_DOOR] = form.cleaned_data["door"]
    return HttpResponseRedirect(reverse("booking:door"), status=303)
