"""The staff pages' second-factor gate: under STAFF_TWO_FACTOR_PATHS (the admin, with django-rq's dashboard and
the door page under it), a staff member whose session has not passed the second factor gets the verify page
(or the enrolment, from there) instead of the page: a redirect, or a 403 in JSON for a script. The view never
runs, so nothing is done.

Every other path (the fans' pages: the waiting room, the seat map, hold, pay) passes straight through: one
string comparison, no lookup, request.user left untouched. django-otp's own OTPMiddleware wraps every request's
user and looks the session's device up on each request of a verified session; here that happens only on the
staff paths, where it costs one query by primary key (the device), after the session and user the admin reads
anyway.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django_otp.middleware import OTPMiddleware

from config.lockout import wants_json

from . import two_factor
from .exceptions import SecondFactorRequired


class StaffTwoFactorMiddleware(OTPMiddleware):  # type: ignore[misc]  # django-otp ships no annotations
    """After AuthenticationMiddleware. Sync only (Django adapts it under ASGI)."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self.paths = tuple(settings.STAFF_TWO_FACTOR_PATHS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse
        if not self.paths or not request.path_info.startswith(self.paths):
            response = self.get_response(request)
            return response
        self._install_lazy_accessors(request)  # request.user.otp_device / is_verified(), as django-otp sets them
        refusal = self._refusal(request)
        response = refusal if refusal is not None else self.get_response(request)
        return response

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not two_factor.needs_second_factor(user) or user.is_verified():  # type: ignore[union-attr]
            return None
        if request.path_info == reverse("admin:logout"):
            return None  # leaving is always allowed
        next_url = request.get_full_path() if request.method in ("GET", "HEAD") else request.path
        if wants_json(request):
            refusal = SecondFactorRequired()
            return JsonResponse(
                {"error": str(refusal.message), "code": refusal.code, "verify_url": two_factor.verify_url(next_url)},
                status=refusal.status,
            )
        return HttpResponseRedirect(two_factor.verify_url(next_url))
