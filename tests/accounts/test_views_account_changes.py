"""The account page and its changes, through the pages: a new e-mail address (confirmed with the password) is
unverified until its link is opened and the old address is told; a new password keeps this session and ends the
others, and the address is told. Bad input is a 400 that changes nothing; a race for an address a 409."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts import services
from accounts.exceptions import EmailAddressTaken
from accounts.models import ApiToken, User
from accounts.tokens import make_verification_token
from queueing.gate import room_url
from tests import factories
from tests.api.conftest import bearer_client, make_token
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://tickets.example.com"  # the e-mails' links start with it, whatever host was asked


PASSWORD = "correct-horse-battery"  # the factories'
NEW_PASSWORD = "amber-lantern-5813"


def test_the_account_page_needs_a_login_and_the_header_links_to_it(fan_client):
    assert Client().get("/accounts/")["Location"].startswith("/accounts/login/")
    page = fan_client.get("/accounts/")
    assertContains(page, "내 계정")
    assertContains(page, "fan@example.com")
    assertContains(page, 'data-testid="email-verified"')
    assertNotContains(page, 'data-testid="resend-verification"')
    assertContains(page, 'href="/accounts/email/"')
    assertContains(page, 'href="/accounts/password/"')
    assertContains(fan_client.get("/"), 'href="/accounts/" title="fan@example.com"')


def test_an_unverified_fan_sees_it_on_the_account_page_with_the_resend_button(client):
    client.force_login(factories.UserFactory(email_verified_at=None))
    page = client.get("/accounts/")
    assertContains(page, 'data-testid="email-unverified"')
    assertContains(page, 'data-testid="resend-verification"')


def change_email(client, capture, email, password=PASSWORD):
    with capture(execute=True):
        return client.post("/accounts/email/", {"email": email, "password": password})


def test_a_new_address_is_unverified_until_its_link_is_opened_and_the_old_one_is_told(
    fan, fan_client, concert_date, django_capture_on_commit_callbacks
):
    assertContains(fan_client.get("/accounts/email/"), 'name="email"')
    old_link = make_verification_token(fan)
    old_reset = f"/accounts/password/reset/{urlsafe_base64_encode(force_bytes(fan.pk))}/"
    old_reset += default_token_generator.make_token(fan) + "/"

    changed = change_email(fan_client, django_capture_on_commit_callbacks, " New.Address@Example.com ")
    assertRedirects(changed, "/accounts/", fetch_redirect_response=False)
    page = fan_client.get("/accounts/")
    assertContains(page, "이메일 주소를 new.address@example.com 주소로 변경했습니다")
    assertContains(page, 'data-testid="email-unverified"')
    fan.refresh_from_db()
    assert (fan.email, fan.email_verified_at) == ("new.address@example.com", None)

    verification, notice = sorted(mail.outbox, key=lambda m: m.to != ["new.address@example.com"])
    assert verification.to == ["new.address@example.com"]
    assert notice.to == ["fan@example.com"]
    assert notice.subject == "Frontrow 이메일 주소가 변경되었습니다"
    assert "new.address@example.com" in notice.body

    # Re-verification: the waiting room asks again; links made for the old address no longer work.
    assertContains(fan_client.get(room_url(concert_date.concert)), 'data-testid="verify-email-prompt"')
    assert Client().post(f"/accounts/email/verify/{old_link}/").status_code == 400
    assert Client().get(old_reset).status_code == 400
    link = re.search(r"https://tickets\.example\.com(/accounts/email/verify/\S+/)", verification.body).group(1)
    assert fan_client.post(link).status_code == 302
    assertContains(fan_client.get(room_url(concert_date.concert)), 'data-testid="join-queue"')

    # The new address logs in; the old one does not.
    assert Client().post("/accounts/login/", {"username": "fan@example.com", "password": PASSWORD}).status_code == 400
    assert Client().post("/accounts/login/", {"username": fan.email, "password": PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        pytest.param("new@example.com", "wrong-password", "비밀번호가 올바르지 않습니다.", id="wrong password"),
        pytest.param("FAN@example.com", PASSWORD, "이미 사용 중인 이메일 주소입니다.", id="same address"),
        pytest.param("Taken@Example.com", PASSWORD, "이미 이 이메일 주소로 가입된 계정이 있습니다.", id="taken"),
        pytest.param("not-an-address", PASSWORD, "올바른 이메일 주소를 입력하세요.", id="malformed"),
    ],
)
def test_a_refused_change_of_address_is_a_400_and_changes_nothing(
    fan, fan_client, django_capture_on_commit_callbacks, email, password, message
):
    factories.UserFactory(email="taken@example.com")
    answer = change_email(fan_client, django_capture_on_commit_callbacks, email, password)
    assertContains(answer, message, status_code=400)
    fan.refresh_from_db()
    assert fan.email == "fan@example.com" and fan.email_verified_at is not None
    assert mail.outbox == []


def test_two_accounts_racing_for_one_address_the_constraint_refuses_the_second(fan, django_capture_on_commit_callbacks):
    factories.UserFactory(email="taken@example.com")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(EmailAddressTaken):
        # As if the form's check had passed just before the other account took the address.
        services.change_email(user=fan, new_email="TAKEN@example.com", language="ko")
    fan.refresh_from_db()
    assert fan.email == "fan@example.com" and fan.email_verified_at is not None
    assert mail.outbox == []


def change_password(client, capture, old=PASSWORD, new=NEW_PASSWORD, again=None):
    data = {"old_password": old, "new_password1": new, "new_password2": again or new}
    with capture(execute=True):
        return client.post("/accounts/password/", data)


def test_a_new_password_keeps_this_session_ends_the_others_and_is_told(
    fan, fan_client, django_capture_on_commit_callbacks
):
    other_device = Client()
    other_device.force_login(fan)
    token, secret = make_token(fan)
    assertContains(fan_client.get("/accounts/password/"), 'name="old_password"')
    changed = change_password(fan_client, django_capture_on_commit_callbacks)
    assertRedirects(changed, "/accounts/", fetch_redirect_response=False)
    assertContains(fan_client.get("/accounts/"), "비밀번호가 변경되었습니다")
    fan.refresh_from_db()
    assert fan.check_password(NEW_PASSWORD)
    assert fan_client.session[SESSION_KEY] == str(fan.pk)
    assert other_device.get("/wallet/")["Location"].startswith("/accounts/login/")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None  # made before: ended with the other sessions
    assert bearer_client(secret).get("/api/v1/me").status_code == 401
    [notice] = mail.outbox
    assert notice.to == ["fan@example.com"] and notice.subject == "Frontrow 비밀번호가 변경되었습니다"


@pytest.mark.parametrize(
    ("old", "new", "again", "message"),
    [
        pytest.param("wrong-password", NEW_PASSWORD, None, "기존 비밀번호를 잘못 입력하셨습니다", id="wrong current"),
        pytest.param(PASSWORD, "12345678901", None, "비밀번호가 전부 숫자로 되어 있습니다", id="weak"),
        pytest.param(PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "비밀번호가 일치하지 않습니다", id="mismatch"),
    ],
)
def test_a_refused_new_password_is_a_400_and_changes_nothing(
    fan, fan_client, django_capture_on_commit_callbacks, old, new, again, message
):
    answer = change_password(fan_client, django_capture_on_commit_callbacks, old, new, again)
    assertContains(answer, message, status_code=400)
    fan.refresh_from_db()
    assert fan.check_password(PASSWORD)
    assert mail.outbox == []


def test_the_change_pages_need_a_login(client):
    for url in ("/accounts/email/", "/accounts/password/"):
        assert client.get(url)["Location"].startswith("/accounts/login/"), url
        assert client.post(url, {"email": "x@example.com"})["Location"].startswith("/accounts/login/"), url
    assert not User.objects.filter(email="x@example.com").exists()


def test_changes_over_the_limit_get_429_and_change_nothing(
    settings, fan, fan_client, django_capture_on_commit_callbacks
):
    set_limit(settings, "account_change", account=2, ip=100, seconds=3600)
    answers = [
        change_email(fan_client, django_capture_on_commit_callbacks, "x@example.com", "wrong").status_code,
        change_password(fan_client, django_capture_on_commit_callbacks, old="wrong").status_code,
        change_email(fan_client, django_capture_on_commit_callbacks, "x@example.com").status_code,
    ]
    assert answers == [400, 400, 429]
    fan.refresh_from_db()
    assert fan.email == "fan@example.com"
