"""E-tickets: a signed code per paid reservation (shown as text and as a QR code) that door staff check.

The code is signed with SECRET_KEY, so it cannot be forged or altered; checking it also looks the
reservation up, so a refunded or cancelled ticket is refused even though its signature is still valid.
"""

import io

import qrcode
import qrcode.image.svg
from django.core import signing

from .models import Reservation

SALT = "frontrow.e-ticket"


class InvalidTicket(Exception):
    """The code is not one we issued, or its reservation is no longer paid."""


def ticket_code(reservation):
    return signing.dumps(str(reservation.pk), salt=SALT)


def ticket_qr_svg(code):
    """The code as a QR code, an SVG document (no image library needed)."""
    image = qrcode.make(code, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def check_ticket(code):
    """The CONFIRMED reservation a code admits, seat, date, concert and fan joined; else InvalidTicket."""
    try:
        reservation_id = signing.loads((code or "").strip(), salt=SALT)
    except signing.BadSignature as exc:
        raise InvalidTicket("This is not a Frontrow ticket code.") from exc
    reservation = (
        Reservation.objects.select_related("seat__concert_date__concert", "user").filter(pk=reservation_id).first()
    )
    if reservation is None:
        raise InvalidTicket("No such reservation.")
    if reservation.status != Reservation.Status.CONFIRMED:
        raise InvalidTicket(f"This ticket is {reservation.get_status_display().lower()}, not valid for entry.")
    return reservation
