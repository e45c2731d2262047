"""The page django-axes shows once a login is locked out after too many failed attempts (AXES_LOCKOUT_CALLABLE).

429 Too Many Requests in the site's layout, with when to try again, and a Retry-After header.
"""

import math

from axes.helpers import get_cool_off, get_failure_limit
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

LOCKOUT_STATUS = 429


def lockout_response(request, original_response=None, credentials=None):
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    message = (
        _("Too many failed log-in attempts. For your safety, logging in is paused for %(minutes)d minutes.")
        % {"minutes": minutes}
        if minutes
        else _("Too many failed log-in attempts. Please contact us to unlock your account.")
    )
    if request.headers.get("x-requested-with") == "XMLHttpRequest" or "application/json" in request.headers.get(
        "accept", ""
    ):
        response = JsonResponse({"error": message, "locked_out": True}, status=LOCKOUT_STATUS)
    else:
        response = TemplateResponse(
            request,
            "accounts/locked_out.html",
            {"message": message, "minutes": minutes, "failure_limit": get_failure_limit(request, credentials)},
            status=LOCKOUT_STATUS,
        )
        response.render()
    if cool_off:
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response
