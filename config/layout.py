"""The site header of every page (templates/_site_header.html), rendered once and filled in per request.

The header is the same for every visitor of a page but for a few values: the name, e-mail address and balance
of the fan logged in, the CSRF token of its forms and the path the language switch and the log-in links return
to. `{% site_header %}` (base.html) renders it as a config.stencil.Stencil once per process, language, URL
prefix, app and URL name and log-in state, with those values as slots, and fills them in per request: a page
no longer walks the header's ~70 template nodes (URL reversing, translations, conditions) on every request.

The header template sees only the keys and slots below, never the request or the user, in both ways it is
rendered (as a stencil, or directly where there is no request), so a value that is not a slot cannot be
shared between visitors and both ways print the same.
"""

from typing import Any
from urllib.parse import quote

from django import template
from django.core.signals import setting_changed
from django.template import loader
from django.template.context import Context
from django.urls import get_script_prefix
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from .stencil import Stencil

register = template.Library()

HEADER_TEMPLATE = "_site_header.html"
SLOTS = ("balance", "name", "email", "csrf_token", "next_path", "login_next")

# Rendered headers by (language, script prefix, keys). The keys come from small sets (URL names, booleans),
# so this stays small; the cap only guards against the unforeseen.
_HEADERS: dict[tuple[object, ...], Stencil] = {}
_HEADERS_MAX = 1024


@setting_changed.connect
def _forget_headers(**kwargs: object) -> None:
    """Tests that change settings (URLs, languages, static files) get the header rendered afresh."""
    _HEADERS.clear()


def header_values(context: Context, balance: str) -> tuple[dict[str, Any], dict[str, str]]:
    """What the header shows of this page's context: the keys it is rendered by and the per-request slots."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    user = context.get("user")
    signed_in = user is not None and bool(user.is_authenticated)
    keys = {
        "LANGUAGE_CODE": get_language(),
        "section": match.app_name if match else None,
        "page": match.url_name if match else None,
        "routed": match is not None,
        "signed_in": signed_in,
    }
    full_path = request.get_full_path() if request is not None else ""
    values = {
        "balance": balance if signed_in else "",
        "name": (user.name or user.email) if user is not None and signed_in else "",
        "email": user.email if user is not None and signed_in else "",
        "csrf_token": str(context.get("csrf_token") or ""),
        "next_path": context.get("page_url") or full_path or "/",
        "login_next": quote(full_path, safe="/"),
    }
    return keys, values


@register.simple_tag(takes_context=True)
def site_header(context: Context, balance: object = "") -> SafeString:
    """{% site_header balance=user.balance|won %}: templates/_site_header.html for this request (see the module's
    docstring); the balance comes formatted (concerts.pricing is a layer above config)."""
    keys, values = header_values(context, str(balance))
    if context.get("request") is None or values["csrf_token"] in ("", "NOTPROVIDED"):
        # A page rendered without a request (Django's 500 page) prints no token field: render it as it is.
        return loader.render_to_string(HEADER_TEMPLATE, {**keys, **values})
    key = (get_script_prefix(), *keys.values())
    stencil = _HEADERS.get(key)
    if stencil is None:
        stencil = Stencil.render(HEADER_TEMPLATE, keys, slots=SLOTS)
        if len(_HEADERS) < _HEADERS_MAX:
            _HEADERS[key] = stencil
    return stencil.fill(values)
