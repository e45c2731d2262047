"""The link of a waiting-list offer (in its e-mail and banner): the offer's id signed with SECRET_KEY, so a link
cannot be guessed, forged or altered. It grants nothing by itself: the page also requires the offer's fan to be
logged in, and booking.services.waitlist decides whether the offer is still open.
"""

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse

from .exceptions import OfferLinkInvalid
from .models import WaitlistOffer

SALT = "frontrow.waitlist-offer"


def offer_token(offer: WaitlistOffer) -> str:
    return signing.dumps(str(offer.pk), salt=SALT)


def offer_path(offer: WaitlistOffer) -> str:
    return reverse("booking:offer", args=[offer_token(offer)])


def offer_url(offer: WaitlistOffer) -> str:
    """The offer page's absolute URL, for the e-mail (settings.SITE_URL)."""
    return settings.SITE_URL + offer_path(offer)


def offer_for_token(token: str) -> WaitlistOffer:
    """The offer a link names (any status; entry, seat, date and concert joined). Raises OfferLinkInvalid for a
    token we did not sign, an altered one, or one naming no offer."""
    try:
        offer_id = signing.loads((token or "").strip(), salt=SALT)
        offer = (
            WaitlistOffer.objects.filter(pk=offer_id)
            .select_related("entry", "seat__concert_date__concert", "reservation")
            .first()
        )
    except (signing.BadSignature, ValueError, ValidationError) as exc:
        raise OfferLinkInvalid() from exc
    if offer is None:
        raise OfferLinkInvalid()
    return offer
