"""E-tickets: a signed code per paid reservation (shown as text and as a QR code) that door staff check, and the
address of its printable page for e-mails.

The code is signed with SECRET_KEY, so it cannot be forged or altered. It names the reservation only:
whether that ticket may enter (paid, not refunded, this date, not used yet) is decided and recorded by
booking.services.checkins at the door. The QR code holds the bare code, not a URL, so a phone camera that reads
it opens nothing and the code never travels in a GET request to the server.
"""

import datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.safestring import SafeString

from config.qr import inline_svg
from config.qr import qr_drawing as _qr_drawing  # a module name of its own: tests count the drawings

from .exceptions import TicketCodeInvalid
from .models import Reservation

SALT = "frontrow.e-ticket"

# How the QR codes are drawn (config.qr, as fans have always received them): two blank modules around the code and
# 0.8 mm a module, 36 mm wide for a ticket code's 41 modules. Error correction M: a code 15% smudged still reads.
QR_MODULE_MM = 0.8


class _IssuedAtSigner(signing.TimestampSigner):
    """signing.dumps's signer, stamping the time the ticket was issued instead of the time it is signed."""

    def __init__(self, *, issued_at: datetime.datetime) -> None:
        super().__init__(salt=SALT)
        self.issued_at = issued_at

    def timestamp(self) -> str:
        return signing.b62_encode(int(self.issued_at.timestamp()))


def ticket_code(reservation: Reservation) -> str:
    """The reservation's ticket code: signing.dumps of its id, stamped with when it was paid, so the code is the same
    wherever and whenever it is shown (My tickets, the printed page, the e-mail). Codes stamped with the moment they
    were signed, as earlier e-mails carry, read the same: reservation_for_code checks no age."""
    issued_at = reservation.confirmed_at or reservation.created_at
    return _IssuedAtSigner(issued_at=issued_at).sign_object(str(reservation.pk))


def ticket_url(reservation: Reservation) -> str:
    """The absolute address of the reservation's printable ticket page, for e-mails (written with no request to
    take the host from): SITE_URL and the page's path. The page opens for the ticket's owner only, once logged in.
    """
    return settings.SITE_URL + reverse("booking:ticket", args=[reservation.pk])


def ticket_qr_svg(code: str) -> bytes:
    """The code as a QR code, an SVG document 0.8 mm a module (the confirmation e-mail's attachment)."""
    side, path = _qr_drawing(code)
    width = f"{side * QR_MODULE_MM:g}mm"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        f'width="{width}" height="{width}" viewBox="0 0 {side} {side}"><path d="{path}" fill="#000"/></svg>\n'
    ).encode()


def ticket_qr_inline_svg(code: str) -> SafeString:
    """The code as a QR code, an <svg> element to put in a page: the same drawing as ticket_qr_svg, sized by the
    page's CSS (class "qr-code"), on white so it reads on any background, and hidden from screen readers: the
    page names it (role="img" and an aria-label on the element around it), since the name is in the fan's
    language. The markup holds nothing but numbers and the letters of the path, so it is safe as it is.
    """
    return inline_svg(*_qr_drawing(code))


def reservation_for_code(code: str) -> Reservation:
    """The reservation a ticket code names (any status; booking.services.checkins decides whether it may enter).

    Raises TicketCodeInvalid for a code we did not sign, an altered one, or one naming no reservation.
    """
    try:
        reservation_id = signing.loads((code or "").strip(), salt=SALT)
        reservation = Reservation.objects.filter(pk=reservation_id).first()
    except (signing.BadSignature, ValueError, ValidationError) as exc:
        raise TicketCodeInvalid() from exc
    if reservation is None:
        raise TicketCodeInvalid()
    return reservation
