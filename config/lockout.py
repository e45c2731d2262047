"""How django-axes sees a log-in: the client's address behind trusted proxies (AXES_CLIENT_IP_CALLABLE), and
the page shown once a log-in is locked out (AXES_LOCKOUT_CALLABLE): 429 Too Many Requests in the site's layout,
with when to try again, and a Retry-After header (JSON for a script: wants_json, which the rate limits' 429
shares).
"""

import ipaddress
import math
from typing import Any

from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

LOCKOUT_STATUS = 429


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    message = (
        _("Too many failed log-in attempts. For your safety, logging in is paused for %(minutes)d minutes.")
        % {"minutes": minutes}
        if minutes
        else _("Too many failed log-in attempts. Please contact us to unlock your account.")
    )
    if wants_json(request):
        response: HttpResponse = JsonResponse({"error": message, "locked_out": True}, status=LOCKOUT_STATUS)
    else:
        page = TemplateResponse(
            request,
            "accounts/locked_out.html",
            {"message": message, "minutes": minutes, "failure_limit": get_failure_limit(request, credentials)},
            status=LOCKOUT_STATUS,
        )
        response = page.render()
    if cool_off:
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response


def wants_json(request: HttpRequest) -> bool:
    """A script asked (XMLHttpRequest, or JSON in Accept): the lockout and the rate limits answer it in JSON."""
    return request.headers.get("x-requested-with") == "XMLHttpRequest" or "application/json" in request.headers.get(
        "accept", ""
    )


def client_ip(request: HttpRequest) -> str | None:
    """The address django-axes counts failed log-ins against (AXES_CLIENT_IP_CALLABLE).

    REMOTE_ADDR, unless the site runs behind AXES_IPWARE_PROXY_COUNT trusted proxies (production's
    TRUSTED_PROXY_COUNT): then the address the outermost trusted proxy appended to X-Forwarded-For.
    Entries further left were sent by the client and may be forged, so they are never used; a header
    shorter than the proxy count (a request that bypassed the proxies) falls back to REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = getattr(settings, "AXES_IPWARE_PROXY_COUNT", None) or 0
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-count]))
    except ValueError:
        return remote
