"""E-tickets: a signed code per paid reservation (shown as text and as a QR code) that door staff check.

The code is signed with SECRET_KEY, so it cannot be forged or altered. It names the reservation only:
whether that ticket may enter (paid, not refunded, this date, not used yet) is decided and recorded by
booking.services.checkins at the door. The QR code holds the bare code, not a URL, so a phone camera that reads
it opens nothing and the code never travels in a GET request to the server.
"""

import io

import qrcode
import qrcode.image.svg
from django.core import signing
from django.core.exceptions import ValidationError

from .exceptions import TicketCodeInvalid
from .models import Reservation

SALT = "frontrow.e-ticket"


def ticket_code(reservation: Reservation) -> str:
    return signing.dumps(str(reservation.pk), salt=SALT)


def ticket_qr_svg(code: str) -> bytes:
    """The code as a QR code, an SVG document (no image library needed)."""
    image = qrcode.make(code, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


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
