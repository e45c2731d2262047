"""Staff two-factor through the pages: staff who passed only the password are sent to the second factor from the
admin, the RQ dashboard and the door page (or get a 403 in JSON); the password log-in leads staff to it;
enrolment with the QR code and backup codes; wrong codes, backup codes used once, the rate limit and the
django-axes lockout; fans never see any of it."""

import base64
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from tests import factories
from tests.support.qr import decode_qr_svg
from tests.support.ratelimits import set_limit
from tests.support.two_factor import code_for, confirmed_device

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
DOOR = "/door/"  # the door staff's phone page (booking:door); the admin's old door address leads there
STAFF_PAGES = ["/admin/", "/admin/rq/", DOOR, "/admin/booking/checkin/door/", "/admin/booking/reservation/"]


def password_only(user) -> Client:
    """A client logged in as `user` by the password alone (the log-in page), not past any second factor."""
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def verify_url(next_url: str) -> str:
    return two_factor.verify_url(next_url)


@pytest.fixture
def enrolled_staff(staff):
    confirmed_device(staff)
    return staff


# --- the gate ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_without_the_second_factor_are_sent_to_it_from_every_staff_page(enrolled_staff, path):
    client = password_only(enrolled_staff)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == verify_url(path)


@pytest.mark.parametrize("path", ["/admin/", "/admin/rq/", DOOR])
def test_a_script_without_the_second_factor_gets_a_403_in_json(unverified_staff_client, path):
    response = unverified_staff_client.get(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"
    assert response.json()["verify_url"] == verify_url(path)


def test_the_door_staff_s_own_pages_are_guarded_too(settings, unverified_staff_client):
    door = reverse("booking:door")  # the door staff's phone page
    assert door.startswith(tuple(settings.STAFF_TWO_FACTOR_PATHS))
    response = unverified_staff_client.get(door)
    assert response.status_code == 302 and response["Location"] == verify_url(door)
    scripted = unverified_staff_client.post(door, {"code": "x"}, HTTP_ACCEPT="application/json")
    assert scripted.status_code == 403 and scripted.json()["code"] == "second_factor_required"


def test_a_post_to_a_staff_page_without_the_second_factor_does_nothing(unverified_staff_client, concert_date):
    before = concert_date.concert.title
    url = reverse("admin:concerts_concert_change", args=[concert_date.concert.pk])
    response = unverified_staff_client.post(url, {"title": "Hijacked"})
    assert response.status_code == 302 and response["Location"] == verify_url(url)
    concert_date.concert.refresh_from_db()
    assert concert_date.concert.title == before


@pytest.mark.parametrize("path", ["/admin/", "/admin/rq/", DOOR])
def test_staff_past_the_second_factor_reach_the_staff_pages(staff_client, path):
    assert staff_client.get(path).status_code == 200


def test_the_session_is_no_longer_verified_once_the_device_is_gone(staff_client, staff):
    assert staff_client.get("/admin/").status_code == 200
    two_factor.reset_two_factor(user=staff)
    response = staff_client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == verify_url("/admin/")


def test_another_staff_member_s_device_in_the_session_verifies_nothing(unverified_staff_client):
    other = factories.StaffFactory()
    session = unverified_staff_client.session
    session["otp_device_id"] = confirmed_device(other).persistent_id
    session.save()
    assert unverified_staff_client.get("/admin/").status_code == 302


def test_fans_have_no_second_factor(fan_client):
    assert fan_client.get(reverse("accounts:two_factor_verify")).status_code == 404
    assert fan_client.get(reverse("accounts:two_factor_setup")).status_code == 404
    # A fan at /admin/ meets the admin's own log-in, as before.
    response = fan_client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("who", ["fan", "verified staff"])
def test_the_gate_costs_a_page_off_the_staff_paths_nothing(fan, staff, settings, who):
    """Off the staff paths the middleware steps aside: the same queries with it and without it (a verified
    staff member's device is not even looked up there)."""
    user = fan if who == "fan" else staff
    url = reverse("wallet:home")

    def queries() -> list[str]:
        client = Client()
        client.force_login(user)
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return [re.sub(r"'[^']*'", "?", query["sql"]) for query in captured.captured_queries]

    with_gate = queries()
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "accounts.middleware.StaffTwoFactorMiddleware"]
    assert queries() == with_gate
    assert not any("otp_" in sql for sql in with_gate)


# --- the password log-in leads staff to the second factor -----------------------------------------------


def test_staff_logging_in_go_to_the_verify_page_then_where_they_were_going(enrolled_staff):
    client = Client()
    login = client.post(
        reverse("accounts:login") + "?next=/door/",
        {"username": enrolled_staff.email, "password": PASSWORD},
    )
    assert login["Location"] == verify_url(DOOR)
    page = client.get(login["Location"])
    assert page.status_code == 200
    assert 'name="code"' in page.content.decode()
    verified = client.post(login["Location"], {"code": code_for(confirmed_device(enrolled_staff)), "next": DOOR})
    assert verified.status_code == 302 and verified["Location"] == DOOR
    assert client.get(DOOR).status_code == 200


def test_the_admin_s_own_log_in_also_leads_to_the_second_factor(enrolled_staff):
    client = Client()
    login = client.post("/admin/login/?next=/admin/", {"username": enrolled_staff.email, "password": PASSWORD})
    assert login.status_code == 302
    response = client.get(login["Location"])
    assert response.status_code == 302 and response["Location"] == verify_url("/admin/")


def test_a_fan_logging_in_goes_straight_on(fan):
    login = Client().post(reverse("accounts:login"), {"username": fan.email, "password": PASSWORD})
    assert login["Location"] == "/"


def test_the_session_key_changes_when_the_second_factor_is_passed(enrolled_staff):
    client = password_only(enrolled_staff)
    before = client.session.session_key
    client.post(reverse("accounts:two_factor_verify"), {"code": code_for(confirmed_device(enrolled_staff))})
    assert client.session.session_key != before
    assert client.get("/admin/").status_code == 200


# --- wrong codes, backup codes -----------------------------------------------------------------------------


def test_a_wrong_code_is_refused_with_400_and_grants_nothing(enrolled_staff):
    client = password_only(enrolled_staff)
    device = confirmed_device(enrolled_staff)
    right = code_for(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:two_factor_verify"), {"code": wrong, "next": "/admin/"})
    assert response.status_code == 400
    assert "not right" in response.content.decode() or "올바르지" in response.content.decode()
    assert client.get("/admin/").status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp's throttle: the next try waits a second


def test_a_code_works_once(enrolled_staff):
    device = confirmed_device(enrolled_staff)
    code = code_for(device)
    first, second = password_only(enrolled_staff), password_only(enrolled_staff)
    assert first.post(reverse("accounts:two_factor_verify"), {"code": code})["Location"] == "/admin/"
    assert second.post(reverse("accounts:two_factor_verify"), {"code": code}).status_code == 400


def test_a_backup_code_lets_staff_in_once(enrolled_staff):
    client = password_only(enrolled_staff)
    client.get(reverse("accounts:two_factor_verify"))
    backup = two_factor.StaticDevice.objects.create(user=enrolled_staff, name="backup codes", confirmed=True)
    StaticToken.objects.create(device=backup, token="abcd2345")
    StaticToken.objects.create(device=backup, token="efgh6723")
    used = client.post(reverse("accounts:two_factor_verify"), {"code": "ABCD 2345"}, follow=True)
    assert used.redirect_chain[0][0] == "/admin/"
    assert used.status_code == 200
    assert list(StaticToken.objects.filter(device=backup).values_list("token", flat=True)) == ["efgh6723"]

    again = password_only(enrolled_staff)
    assert again.post(reverse("accounts:two_factor_verify"), {"code": "abcd2345"}).status_code == 400
    assert again.get("/admin/").status_code == 302


def test_the_verify_page_is_rate_limited(enrolled_staff, settings):
    set_limit(settings, "two_factor", account=3, ip=100)
    client = password_only(enrolled_staff)
    statuses = [client.post(reverse("accounts:two_factor_verify"), {"code": "000001"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert int(client.post(reverse("accounts:two_factor_verify"), {"code": "000001"})["Retry-After"]) > 0
    assert client.get("/admin/").status_code == 302


def test_wrong_codes_lock_the_account_out_like_wrong_passwords(enrolled_staff, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = password_only(enrolled_staff)  # (the axes backend needs a request: the log-in page gives one)
    device = confirmed_device(enrolled_staff)
    statuses = []
    for _ in range(4):
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)  # past django-otp's wait
        statuses.append(client.post(reverse("accounts:two_factor_verify"), {"code": "000001"}).status_code)
    assert statuses[:2] == [400, 400]
    assert statuses[2:] == [429, 429]  # locked out: even the right code is refused now
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    assert client.post(reverse("accounts:two_factor_verify"), {"code": code_for(device)}).status_code == 429
    # and so is the password, from this address, like any lockout
    login = Client().post(reverse("accounts:login"), {"username": enrolled_staff.email, "password": PASSWORD})
    assert login.status_code == 429


# --- enrolment ----------------------------------------------------------------------------------------------


def test_staff_with_no_authenticator_enrol_with_a_qr_code_and_get_backup_codes_once(settings):
    staff = factories.StaffFactory(authenticator=False)
    client = password_only(staff)
    verify = client.get(verify_url("/admin/"))
    setup_url = reverse("accounts:two_factor_setup") + "?next=%2Fadmin%2F"
    assert verify.status_code == 302 and verify["Location"] == setup_url

    page = client.get(setup_url)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<svg class="qr-code"' in html
    secret = re.search(r'data-testid="two-factor-secret">([A-Z2-7 ]+)<', html).group(1)
    device = TOTPDevice.objects.get(user=staff)
    assert not device.confirmed
    assert secret.replace(" ", "") == base64.b32encode(device.bin_key).decode().rstrip("=")
    assert secret in client.get(setup_url).content.decode()  # a reload shows the same key
    svg = re.search(r'<svg class="qr-code".*?</svg>', html).group(0).encode()
    (scanned,) = decode_qr_svg(svg)  # what the phone's camera reads: the key, for this account, from Frontrow
    assert scanned.startswith("otpauth://totp/Frontrow%3A")
    assert f"secret={secret.replace(' ', '')}" in scanned and "issuer=Frontrow" in scanned
    assert TOTPDevice.objects.filter(user=staff).count() == 1

    wrong = client.post(setup_url, {"code": "12345x", "next": "/admin/"})
    assert wrong.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)

    done = client.post(setup_url, {"code": code_for(device), "next": "/admin/"})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == settings.STAFF_BACKUP_CODES == len(set(codes))
    assert "no-store" in done["Cache-Control"]
    device.refresh_from_db()
    assert device.confirmed
    assert sorted(StaticToken.objects.filter(device__user=staff).values_list("token", flat=True)) == sorted(codes)
    assert client.get("/admin/").status_code == 200  # enrolling passed the second factor for this session

    # Enrolled: the page cannot replace the authenticator (that takes an operator), and a backup code works.
    assert client.get(setup_url)["Location"] == verify_url("/admin/")
    later = password_only(staff)
    assert later.post(reverse("accounts:two_factor_verify"), {"code": codes[3]})["Location"] == "/admin/"


def test_a_fan_cannot_enrol(fan_client):
    assert fan_client.post(reverse("accounts:two_factor_setup"), {"code": "123456"}).status_code == 404
    assert not TOTPDevice.objects.exists()


def test_the_admin_site_itself_refuses_staff_without_the_second_factor(settings, staff):
    """Defence in depth: with the middleware's paths emptied (an admin mounted elsewhere), the admin site still
    lets nobody in on a password alone, and still lets verified staff in."""
    settings.STAFF_TWO_FACTOR_PATHS = []
    unverified = Client()
    unverified.second_factor = False
    unverified.force_login(staff)
    response = unverified.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    verified = Client()
    verified.force_login(staff)
    assert verified.get("/admin/").status_code == 200


def test_the_door_page_itself_refuses_staff_without_the_second_factor(settings, staff):
    """Defence in depth, like the admin site: the door's own gate (booking.door_views) sends staff to the verify
    page even with the middleware's paths emptied."""
    settings.STAFF_TWO_FACTOR_PATHS = []
    door = reverse("booking:door")
    unverified = Client()
    unverified.second_factor = False
    unverified.force_login(staff)
    response = unverified.get(door)
    assert response.status_code == 302 and response["Location"] == verify_url(door)
    verified = Client()
    verified.force_login(staff)
    assert verified.get(door).status_code == 200
