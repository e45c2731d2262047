"""QR codes drawn on the server as SVG (zxing-cpp encodes, we write the path): the e-tickets' codes
(booking.tickets) and the staff's authenticator enrolment (accounts.two_factor). No JavaScript, no image files."""

import re

import zxingcpp
from django.utils.safestring import SafeString, mark_safe

# Two blank modules around the code (the quiet zone).
QR_QUIET_MODULES = 2
_DARK_RUN = re.compile(rb"\x00+")


def qr_drawing(text: str) -> tuple[int, str]:
    """The text as a QR code (error correction M: a code 15% smudged still reads): the side of its drawing in
    modules (quiet zone included) and one SVG path, a rectangle per run of dark modules in a row.

    zxing-cpp encodes it (in C++: a twentieth of the CPU of a pure-Python encoder, which was most of the
    confirmation e-mail's cost); the path is written here from its module matrix, small and drawn as before.
    """
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = barcode.to_image(scale=1, add_quiet_zones=False)  # one byte a module, row by row, 0 is dark
    size = image.shape[0]
    rows = memoryview(image).tobytes()  # type: ignore[arg-type]  # its stubs leave out the buffer protocol
    quiet = QR_QUIET_MODULES
    path = "".join(
        f"M{run.start() - y * size + quiet} {y + quiet}h{run.end() - run.start()}v1h-{run.end() - run.start()}z"
        for y in range(size)
        for run in _DARK_RUN.finditer(rows, y * size, (y + 1) * size)
    )
    return size + 2 * quiet, path


def inline_svg(side: int, path: str) -> SafeString:
    """A drawing of qr_drawing as an <svg> element to put in a page, sized by the page's CSS (class "qr-code"), on
    white so it reads on any background, and hidden from screen readers: the page names it (role="img" and an
    aria-label on the element around it), in the reader's language. The markup holds nothing but numbers and the
    letters of the path, so it is safe as it is.
    """
    return mark_safe(  # our own drawing: digits and path letters only
        f'<svg class="qr-code" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" aria-hidden="true" '
        f'focusable="false" shape-rendering="crispEdges"><rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )


def qr_inline_svg(text: str) -> SafeString:
    """The text as a QR code, an inline <svg> element (inline_svg)."""
    return inline_svg(*qr_drawing(text))
