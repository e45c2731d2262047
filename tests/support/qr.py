"""Read back the QR codes the e-tickets carry, as a phone would: the SVG drawn into pixels, then decoded."""

import re

import zxingcpp

_VIEW_BOX = re.compile(rb'viewBox="0 0 (\d+) (\d+)"')
_PATH = re.compile(rb'<path d="([^"]*)"')
_RUN = re.compile(rb"M(\d+) (\d+)h(\d+)v1h-\3z")


def decode_qr_svg(svg: bytes, *, pixels_per_module: int = 4) -> list[str]:
    """The texts of the QR codes in an SVG of booking.tickets.ticket_qr_svg (its one path of one-module-high
    rectangles), read by zxing-cpp's decoder from a grey image of it. Fails if the path holds anything else."""
    side = int(_VIEW_BOX.search(svg)[1])
    path = _PATH.search(svg)[1]
    assert _RUN.sub(b"", path) == b"", "the path is not made of one-module-high runs"
    scale = pixels_per_module
    width = side * scale
    image = bytearray(b"\xff" * width * width)
    for x, y, run in _RUN.findall(path):
        x, y, run = int(x), int(y), int(run)
        for row in range(y * scale, (y + 1) * scale):
            image[row * width + x * scale : row * width + (x + run) * scale] = b"\x00" * (run * scale)
    # QR codes only: a decoder looking for every format now and then reads a short linear barcode (ITF, say)
    # out of a row of modules, as a phone's QR scanner does not.
    found = zxingcpp.read_barcodes(memoryview(image).cast("B", (width, width)), formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]
