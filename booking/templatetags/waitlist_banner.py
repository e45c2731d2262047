"""{% offer_banner %}: the banner of a fan who has an open waiting-list offer (a returned seat held for them),
with the link to it. Shown in the layout (base.html) on the pages listed in OFFER_BANNER_PAGES (the waiting list's
own page shows the offer itself);
the rush pages (waiting room, seat map, checkout) never read it, so they keep their query counts."""

from django import template
from django.db import DatabaseError
from django.template.context import Context
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from booking import offer_links, selectors

register = template.Library()

# (namespace, URL name) of the pages that show the banner: My tickets, where a fan looks for their bookings. Each
# page listed here reads one query more for a logged-in fan (their open offers), so the home page and the wallet,
# whose query counts are kept fixed, are left out.
OFFER_BANNER_PAGES = {
    ("booking", "reservations"),
}


@register.simple_tag(takes_context=True)
def offer_banner(context: Context) -> SafeString:
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    if match is None or user is None or not user.is_authenticated:
        return mark_safe("")
    if (match.namespace, match.url_name) not in OFFER_BANNER_PAGES:
        return mark_safe("")
    try:
        offers = list(selectors.open_offers_for(user=user)[:3])
    except DatabaseError:  # an error page for a database that is away: no banner rather than a second error
        return mark_safe("")
    if not offers:
        return mark_safe("")
    return mark_safe(
        render_to_string(
            "booking/_offer_banner.html",
            {"offers": [(offer, offer_links.offer_path(offer)) for offer in offers]},
        )
    )
