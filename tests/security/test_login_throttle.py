"""Log-in is throttled by django-axes: after AXES_FAILURE_LIMIT failures the page says so (429), even the
right password is refused until the cool-off has passed, and other fans are not affected."""

import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

LIMIT = 3
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)


def _login(client, email, password, url=None):
    return client.post(url or reverse("accounts:login"), {"username": email, "password": password})


def _logged_in(client):
    return "_auth_user_id" in client.session


def test_failures_below_the_limit_show_the_form_again(alice):
    client = Client()
    for _ in range(LIMIT - 1):
        response = _login(client, alice.email, "wrong-password")
        assert response.status_code == 400
        assert b'name="password"' in response.content
    assert _logged_in(client) is False
    assert _login(client, alice.email, PASSWORD).status_code == 302
    assert _logged_in(client)


def test_the_limit_locks_the_login_with_a_clear_message_in_the_site_layout(alice):
    client = Client()
    responses = [_login(client, alice.email, "wrong-password") for _ in range(LIMIT)]
    locked = responses[-1]
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(15 * 60)
    assert locked["Content-Type"].startswith("text/html")
    body = locked.content.decode()
    assert 'data-testid="locked-out"' in body
    assert 'class="site-header"' in body  # the site's layout, not a bare text response
    assert "15" in body  # how long to wait
    assert AccessAttempt.objects.get(username=alice.email).failures_since_start == LIMIT


def test_the_right_password_is_refused_while_locked_and_accepted_after_the_cool_off(alice):
    client = Client()
    for _ in range(LIMIT):
        _login(client, alice.email, "wrong-password")
    refused = _login(client, alice.email, PASSWORD)
    assert refused.status_code == 429
    assert _logged_in(client) is False

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        accepted = _login(client, alice.email, PASSWORD)
    assert accepted.status_code == 302
    assert _logged_in(client)


def test_the_e_mail_s_case_does_not_buy_extra_attempts(alice):
    client = Client()
    for email in ("ALICE@example.com", "Alice@Example.com", "alice@EXAMPLE.COM"):
        response = _login(client, email, "wrong-password")
    assert response.status_code == 429


def test_a_locked_out_fan_does_not_lock_out_anyone_else(alice, mallory):
    attacker = Client()
    for _ in range(LIMIT):
        _login(attacker, alice.email, "wrong-password")
    other = Client()
    assert _login(other, mallory.email, PASSWORD).status_code == 302
    assert _logged_in(other)


def test_the_admin_log_in_is_throttled_too(db):
    from tests.factories import StaffFactory

    staff = StaffFactory(email="staff@example.com")
    client = Client()
    url = reverse("admin:login")
    for _ in range(LIMIT):
        response = _login(client, staff.email, "wrong-password", url=url)
    assert response.status_code == 429
    assert _login(client, staff.email, PASSWORD, url=url).status_code == 429
    assert _logged_in(client) is False


def test_the_lockout_answers_json_to_a_script(alice):
    client = Client()
    for _ in range(LIMIT - 1):
        _login(client, alice.email, "wrong-password")
    response = client.post(
        reverse("accounts:login"),
        {"username": alice.email, "password": "wrong-password"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 429
    assert response.json()["locked_out"] is True
    assert response.json()["error"]


def test_the_lockout_page_speaks_korean_by_default(alice, settings):
    settings.LANGUAGE_CODE = "ko"
    client = Client()
    for _ in range(LIMIT):
        response = _login(client, alice.email, "wrong-password")
    assert response.status_code == 429
    body = response.content.decode()
    assert '<html lang="ko">' in body
    assert "로그인이 잠시 중지되었습니다" in body
    assert "15분 동안" in body


def _login_via(client, email, password, *, forwarded, proxy="10.0.0.1"):
    return client.post(
        reverse("accounts:login"),
        {"username": email, "password": password},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_without_trusted_proxies_a_forged_forwarded_for_buys_no_attempts(alice):
    client = Client()
    responses = [_login_via(client, alice.email, "wrong", forwarded=f"198.51.100.{n}") for n in range(LIMIT)]
    assert responses[-1].status_code == 429


def test_behind_a_trusted_proxy_the_address_it_appended_is_counted_not_the_forged_ones(alice, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1  # production's TRUSTED_PROXY_COUNT=1
    attacker, fan = Client(), Client()
    # The attacker forges a new left-hand entry each time; the proxy appends the real address last.
    responses = [
        _login_via(attacker, alice.email, "wrong", forwarded=f"192.0.2.{n}, 203.0.113.66") for n in range(LIMIT)
    ]
    assert responses[-1].status_code == 429
    # Alice herself, behind the same proxy from her own address, is not locked out by the attacker.
    assert _login_via(fan, alice.email, PASSWORD, forwarded="203.0.113.10").status_code == 302


def test_behind_a_trusted_proxy_a_request_that_bypassed_it_is_counted_by_its_own_address(alice, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 2
    client = Client()
    responses = [
        _login_via(client, alice.email, "wrong", forwarded="not-an-ip", proxy="10.9.9.9") for _ in range(LIMIT)
    ]
    assert responses[-1].status_code == 429
    assert AccessAttempt.objects.get().ip_address == "10.9.9.9"
