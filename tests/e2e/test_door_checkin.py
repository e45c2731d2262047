"""The door page in a real browser: staff log in, name their door and pick the date, then a ticket is checked in
(typed, or read by the camera) and answered green; the same ticket again is red, naming the first entry; the
counts follow. The code never appears in an address.

The camera: Chromium's fake capture device plays a video of the ticket's QR code (a Y4M file written here from
zxing-cpp's drawing of the code), so the scanner (static/vendor/qr-scanner; on desktop Linux Chromium has no
BarcodeDetector, so its decoder runs in its blob: Web Worker, under the page's Content-Security-Policy) reads it
and static/js/door.js posts it.
"""

import re

import pytest
import zxingcpp
from playwright.sync_api import expect

from booking.models import CheckIn
from booking.tickets import ticket_code
from tests import factories
from tests.support.sales import paid_fan
from tests.support.two_factor import pass_second_factor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "violet-harbor-2931"


@pytest.fixture
def door_staff():
    staff = factories.StaffFactory(email="door@example.com", name="Park Door")
    staff.set_password(PASSWORD)
    staff.save()
    return staff


@pytest.fixture
def ticket():
    date = factories.ConcertDateFactory(concert__title="Seoul Jazz Night")
    _fan, result = paid_fan(concert_date=date, seats=[12], user=factories.UserFactory(name="Kim Fan"))
    paid_fan(concert_date=date, seats=[13])  # expected: 2
    return result.reservations[0]


def log_in_and_set_up(page, door="Gate A"):
    page.goto("/admin/login/?next=/door/")
    page.fill("#id_username", "door@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    pass_second_factor(page, "door@example.com")
    expect(page).to_have_url(re.compile("/door/$"))
    assert "Seoul Jazz Night" in page.locator("#id_concert_date option:checked").inner_text()
    page.fill("#id_door", door)
    page.get_by_test_id("door-setup").locator("button[type=submit]").click()
    expect(page.get_by_test_id("door-name")).to_have_text(door)


@pytest.mark.parametrize(
    ("width", "height", "locale", "entered", "refused", "javascript"),
    [
        (1280, 800, "ko-KR", "입장 완료", "이미 사용된 티켓입니다", True),
        (390, 844, "en-US", "Entry recorded", "Already used", True),
        (390, 844, "en-US", "Entry recorded", "Already used", False),
    ],
)
def test_a_typed_ticket_enters_once_at_the_door(
    open_page, axe_check, artifacts, door_staff, ticket, width, height, locale, entered, refused, javascript
):
    page = open_page(width=width, height=height, locale=locale, javascript=javascript)
    name = f"door-{locale}-{width}{'' if javascript else '-nojs'}"
    log_in_and_set_up(page)
    expect(page.get_by_test_id("checkin-counts")).to_contain_text("0 / 2")
    camera = page.locator("[data-door-camera]")
    expect(camera).to_be_visible() if javascript else expect(camera).to_be_hidden()
    page.screenshot(path=artifacts / f"{name}-1-ready.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the phone

    code = ticket_code(ticket)
    page.fill("#id_code", code)
    page.locator("form[data-door-scan] button[type=submit]").click()
    expect(page.get_by_test_id("ticket-valid")).to_contain_text(entered)
    expect(page.get_by_test_id("ticket-valid")).to_contain_text("Kim Fan")
    expect(page.get_by_test_id("checkin-counts")).to_contain_text("1 / 2")
    assert code not in page.url
    expect(page.locator("#id_code")).to_have_value("")
    page.screenshot(path=artifacts / f"{name}-2-entered.png", full_page=True)
    assert CheckIn.objects.get(reservation=ticket).door == "Gate A"

    page.fill("#id_code", code)
    page.locator("form[data-door-scan] button[type=submit]").click()
    expect(page.get_by_test_id("ticket-invalid")).to_contain_text(refused)
    expect(page.get_by_test_id("ticket-invalid")).to_contain_text("Park Door")
    expect(page.get_by_test_id("ticket-invalid")).to_contain_text("Gate A")
    expect(page.get_by_test_id("checkin-counts")).to_contain_text("1 / 2")
    assert code not in page.url
    page.screenshot(path=artifacts / f"{name}-3-refused.png", full_page=True)
    assert CheckIn.objects.count() == 1
    if javascript:
        axe_check(page)  # no serious or critical WCAG violation, with the red answer shown


def qr_video(code, path, *, width=640, height=480, frames=15):
    """A Y4M video (4:2:0, grey) of the code's QR code on white, centred, 5 pixels a module (about 230 pixels: inside
    the scanner's region, the middle two thirds of the picture, as the page's frame shows it): what Chromium's fake
    camera plays over and over."""
    image = zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.QRCode, ec_level="M").to_image(
        scale=5, add_quiet_zones=True
    )
    side = image.shape[0]
    pixels = memoryview(image).tobytes()  # one byte a pixel, 0 dark, 255 light
    luma = bytearray([235]) * (width * height)
    top, left = (height - side) // 2, (width - side) // 2
    for y in range(side):
        row = pixels[y * side : (y + 1) * side]
        luma[(top + y) * width + left : (top + y) * width + left + side] = bytes(16 if b < 128 else 235 for b in row)
    chroma = bytes([128]) * (width * height // 4)
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


def test_the_camera_reads_a_ticket_and_the_door_lets_it_in_once(
    browser, live_server, artifacts, door_staff, ticket, tmp_path
):
    code = ticket_code(ticket)
    video = tmp_path / "ticket.y4m"
    qr_video(code, video)
    camera_browser = browser.browser_type.launch(
        executable_path="/usr/bin/chromium",
        args=[
            "--no-sandbox",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(
            base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="en-US"
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        log_in_and_set_up(page)

        page.get_by_role("button", name="Scan with the camera").click()
        # The fake camera shows the same code without end: one entry, then the repeat is ignored (not "used").
        # The scanner's module and worker load, the fake camera starts: a few seconds on a busy machine.
        expect(page.get_by_test_id("ticket-valid")).to_contain_text("Entry recorded", timeout=30_000)
        expect(page.get_by_test_id("ticket-valid")).to_contain_text("Kim Fan")
        expect(page.get_by_test_id("checkin-counts")).to_contain_text("1 / 2")
        expect(page.get_by_role("button", name="Stop the camera")).to_be_visible()
        page.wait_for_timeout(2_000)
        expect(page.get_by_test_id("ticket-valid")).to_be_visible()
        page.screenshot(path=artifacts / "door-camera-entered.png", full_page=True)
        assert CheckIn.objects.get(reservation=ticket).door == "Gate A"

        # After the repeat window, the code still in front of the camera is checked again: red, naming the entry.
        expect(page.get_by_test_id("ticket-invalid")).to_contain_text("Already used", timeout=15_000)
        expect(page.get_by_test_id("ticket-invalid")).to_contain_text("Gate A")
        page.screenshot(path=artifacts / "door-camera-refused.png", full_page=True)
        assert CheckIn.objects.count() == 1
        # A 4xx logged by the browser is the refusal itself (or the favicon); nothing else may go wrong
        # (a CSP violation by the scanner or its worker would be here).
        assert [p for p in problems if "responded with a status of 4" not in p] == []
        context.close()
    finally:
        camera_browser.close()
