"""E-mail verification through the pages: a link is mailed at sign-up (an RQ job queued on commit, in the fan's
language); its page verifies on a button press; a forged, expired, stale or used link gets a clear 4xx page. An
unverified fan browses and tops up, but the waiting room asks them to verify first, with a button that sends the
link again (rate limited); staff never are asked, and EMAIL_VERIFICATION_REQUIRED=false turns it off."""

import re
import time

import pytest
from django.core import mail, signing
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts import services
from accounts.models import User
from accounts.tokens import make_verification_token
from queueing import services as queue_services
from queueing.gate import room_url
from queueing.models import QueueEntryHistory
from tests import factories
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://tickets.example.com"  # the e-mails' links start with it, whatever host was asked


PASSWORD = "violet-harbor-2931"
LINK = re.compile(r"https://tickets\.example\.com(/accounts/email/verify/[^/\s]+/)(\?next=\S+)?")


def verify_path(message):
    found = LINK.search(message.body)
    return found.group(1) + (found.group(2) or "")


@pytest.fixture
def unverified(db):
    return factories.UserFactory(email="new@example.com", name="새 팬", email_verified_at=None)


@pytest.fixture
def unverified_client(unverified):
    client = Client()
    client.force_login(unverified)
    return client


def test_sign_up_mails_a_link_that_verifies_the_address_on_its_pages_button(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signed_up = client.post(
            "/accounts/signup/",
            {"email": "New@Example.com", "name": "새 팬", "password1": PASSWORD, "password2": PASSWORD},
        )
    landing = client.get(signed_up["Location"])
    assertContains(landing, "new@example.com 주소로 인증 링크를 보냈습니다")
    user = User.objects.get()
    assert user.email_verified_at is None
    [message] = mail.outbox
    assert message.to == ["new@example.com"]
    assert message.subject == "Frontrow 이메일 주소 인증"
    assert verify_path(message).split("?")[0] in message.alternatives[0][0]

    page = client.get(verify_path(message))  # opening the link (or a mail scanner fetching it) verifies nothing
    assertContains(page, 'data-testid="confirm-email"')
    user.refresh_from_db()
    assert user.email_verified_at is None
    verified = client.post(verify_path(message))
    assertRedirects(verified, "/", fetch_redirect_response=False)
    assertContains(client.get("/"), "이메일 주소 인증이 완료되었습니다")
    user.refresh_from_db()
    assert user.email_verified_at is not None


def test_the_link_goes_on_to_its_next_page_once_verified_and_works_logged_out(unverified):
    token = make_verification_token(unverified)
    anonymous = Client()
    page = anonymous.get(f"/accounts/email/verify/{token}/?next=/wallet/")
    assertContains(page, 'name="next" value="/wallet/"')
    done = anonymous.post(f"/accounts/email/verify/{token}/", {"next": "/wallet/"})
    assertRedirects(done, "/wallet/", fetch_redirect_response=False)
    evil = Client().post(f"/accounts/email/verify/{token}/", {"next": "https://evil.example/"})
    assert evil.status_code == 409  # used: and an unsafe next is never followed anyway


def test_a_used_link_is_refused_with_409(client, unverified):
    token = make_verification_token(unverified)
    client.post(f"/accounts/email/verify/{token}/")
    again = client.post(f"/accounts/email/verify/{token}/")
    assertContains(again, "이미 사용된 인증 링크입니다", status_code=409)
    opened = client.get(f"/accounts/email/verify/{token}/")
    assertContains(opened, 'data-code="verification_link_used"', status_code=409)


def _forged(token):
    payload, timestamp, signature = token.rsplit(":", 2)
    return f"{payload}:{timestamp}:{'A' * len(signature)}"


@pytest.mark.parametrize(
    ("make_token", "status", "code"),
    [
        pytest.param(
            lambda user: _forged(make_verification_token(user)), 400, "verification_link_invalid", id="forged"
        ),
        pytest.param(lambda user: "not-a-token", 400, "verification_link_invalid", id="garbage"),
        pytest.param(
            # Signed by this site's key, but for something else (another salt): not a verification link.
            lambda user: signing.dumps({"u": str(user.pk), "e": user.email}),
            400,
            "verification_link_invalid",
            id="another salt",
        ),
        pytest.param(
            lambda user: make_verification_token(user, at=time.time() - 4 * 24 * 3600),
            410,
            "verification_link_expired",
            id="expired",
        ),
    ],
)
def test_a_forged_or_expired_link_is_a_4xx_page_and_verifies_nothing(
    unverified_client, unverified, make_token, status, code
):
    token = make_token(unverified)
    for answer in (
        unverified_client.get(f"/accounts/email/verify/{token}/"),
        unverified_client.post(f"/accounts/email/verify/{token}/"),
    ):
        assertContains(answer, f'data-code="{code}"', status_code=status)
        assertContains(answer, 'data-testid="resend-verification"', status_code=status)  # a way to get a new one
    unverified.refresh_from_db()
    assert unverified.email_verified_at is None


def test_a_link_for_an_address_the_account_no_longer_has_is_refused(client, unverified):
    token = make_verification_token(unverified)
    User.objects.filter(pk=unverified.pk).update(email="changed@example.com")
    answer = client.post(f"/accounts/email/verify/{token}/")
    assertContains(answer, 'data-code="verification_link_invalid"', status_code=400)
    assertContains(answer, "로그인하고 새 링크 받기", status_code=400)
    unverified.refresh_from_db()
    assert unverified.email_verified_at is None


# --- the waiting room asks first ------------------------------------------------------------------------------


def test_an_unverified_fan_is_asked_to_verify_on_the_waiting_room_page_and_cannot_join(unverified_client, concert_date):
    concert = concert_date.concert
    page = unverified_client.get(room_url(concert))
    assertContains(page, 'data-testid="verify-email-prompt"')
    assertContains(page, "new@example.com")
    assertNotContains(page, 'data-testid="join-queue"')
    assertContains(page, f'name="next" value="{room_url(concert)}"')

    refused = unverified_client.post(room_url(concert), {"date": str(concert_date.pk)})  # the concert page's Book
    assertContains(refused, 'data-testid="verify-required"', status_code=403)
    assertContains(refused, "이메일 주소를 인증해 주세요", status_code=403)
    seats = f"/dates/{concert_date.pk}/seats/"
    assertContains(refused, f'value="{room_url(concert, next_url=seats)}"', status_code=403)
    assert not QueueEntryHistory.objects.exists()
    assert queue_services.poll_place(user=User.objects.get(email="new@example.com"), concert=concert) is None


def test_an_unverified_fan_may_still_browse_and_top_up(unverified_client, concert_date):
    assert unverified_client.get(f"/concerts/{concert_date.concert.pk}/").status_code == 200
    topped = unverified_client.post("/wallet/charge/", {"amount": "10000"})
    assert topped.status_code == 302
    assert User.objects.get(email="new@example.com").balance == 10_000


def test_resend_mails_a_new_link_that_comes_back_to_the_waiting_room_then_the_fan_joins(
    unverified_client, unverified, concert_date, django_capture_on_commit_callbacks
):
    concert = concert_date.concert
    with django_capture_on_commit_callbacks(execute=True):
        sent = unverified_client.post("/accounts/email/verify/resend/", {"next": room_url(concert)})
    assertRedirects(sent, room_url(concert), fetch_redirect_response=False)
    assertContains(unverified_client.get(room_url(concert)), "new@example.com 주소로 새 링크를 보냈습니다")
    [message] = mail.outbox
    back = unverified_client.post(verify_path(message), {"next": room_url(concert)})
    assertRedirects(back, room_url(concert), fetch_redirect_response=False)
    assertContains(unverified_client.get(room_url(concert)), 'data-testid="join-queue"')
    joined = unverified_client.post(room_url(concert))
    assert joined.status_code == 302
    assert QueueEntryHistory.objects.filter(user=unverified).exists()


def test_resend_to_a_verified_fan_sends_nothing(fan_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fan_client.post("/accounts/email/verify/resend/")
    assert mail.outbox == []


def test_resend_is_post_only_for_logged_in_fans(client, unverified_client):
    assert unverified_client.get("/accounts/email/verify/resend/").status_code == 405
    assert client.post("/accounts/email/verify/resend/")["Location"].startswith("/accounts/login/")


def test_resends_over_the_limit_get_429_and_send_nothing(
    settings, unverified_client, django_capture_on_commit_callbacks
):
    set_limit(settings, "verification_email", account=2, ip=100, seconds=3600)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [unverified_client.post("/accounts/email/verify/resend/").status_code for _ in range(3)]
    assert answers == [302, 302, 429]
    assert len(mail.outbox) == 2


def test_a_mail_queued_before_the_address_changed_or_was_verified_is_not_sent(unverified):
    queued = {"user_id": unverified.pk, "email": unverified.email, "language": "ko"}
    User.objects.filter(pk=unverified.pk).update(email="other@example.com")
    assert services.send_verification(**queued) == 0
    User.objects.filter(pk=unverified.pk).update(email="new@example.com", email_verified_at="2026-01-01T00:00Z")
    assert services.send_verification(**queued) == 0
    assert mail.outbox == []


def test_the_verification_mail_is_in_english_for_a_fan_who_signed_up_in_english(
    client, settings, django_capture_on_commit_callbacks
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with django_capture_on_commit_callbacks(execute=True):
        data = {"email": "en@example.com", "name": "Kim", "password1": PASSWORD, "password2": PASSWORD}
        client.post("/accounts/signup/", data)
    [message] = mail.outbox
    assert message.subject == "Verify your Frontrow e-mail address"
    assert "Hello Kim," in message.body


@pytest.mark.parametrize("who", ["staff", "requirement off"])
def test_staff_and_everyone_when_the_setting_is_off_join_without_verifying(settings, concert_date, who):
    if who == "staff":
        user = factories.StaffFactory(email_verified_at=None)
    else:
        settings.EMAIL_VERIFICATION_REQUIRED = False
        user = factories.UserFactory(email_verified_at=None)
    client = Client()
    client.force_login(user)
    assertContains(client.get(room_url(concert_date.concert)), 'data-testid="join-queue"')
    assert client.post(room_url(concert_date.concert)).status_code == 302
    assert QueueEntryHistory.objects.filter(user=user).exists()


def test_staff_made_by_createsuperuser_are_verified():
    assert User.objects.create_superuser("boss@example.com", PASSWORD, name="Boss").email_verified_at is not None
    assert User.objects.create_user("fan2@example.com", PASSWORD, name="Fan").email_verified_at is None


# --- EMAIL_VERIFICATION_REQUIRED=false: nothing asks a fan to verify, so nothing is mailed or shown for it ------


def test_with_the_requirement_off_sign_up_mails_no_link_and_says_none_was_sent(
    settings, client, django_capture_on_commit_callbacks
):
    settings.EMAIL_VERIFICATION_REQUIRED = False
    with django_capture_on_commit_callbacks(execute=True):
        signed_up = client.post(
            "/accounts/signup/",
            {"email": "new@example.com", "name": "새 팬", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert mail.outbox == []
    landing = client.get(signed_up["Location"])
    assertContains(landing, "Frontrow에 오신 것을 환영합니다")
    assertNotContains(landing, "인증 링크")
    # The account page does not nag about a link that was never sent.
    page = client.get("/accounts/")
    assertContains(page, 'data-testid="account-email"')
    assertNotContains(page, 'data-testid="email-unverified"')
    assertNotContains(page, 'data-testid="resend-verification"')
    assertNotContains(page, "인증")
    assert User.objects.get().email_verified_at is None


def test_with_the_requirement_off_a_verified_address_still_shows_as_verified(settings, client):
    settings.EMAIL_VERIFICATION_REQUIRED = False
    client.force_login(factories.UserFactory())
    assertContains(client.get("/accounts/"), 'data-testid="email-verified"')


def test_with_the_requirement_off_a_change_of_address_mails_only_the_notice_to_the_old_one(
    settings, fan_client, fan, django_capture_on_commit_callbacks
):
    settings.EMAIL_VERIFICATION_REQUIRED = False
    with django_capture_on_commit_callbacks(execute=True):
        changed = fan_client.post(
            "/accounts/email/", {"email": "moved@example.com", "password": "correct-horse-battery"}
        )
    assert changed.status_code == 302
    [notice] = mail.outbox
    assert notice.to == ["fan@example.com"]
    page = fan_client.get("/accounts/")
    assertContains(page, "이메일 주소를 moved@example.com 주소로 변경했습니다.")
    assertNotContains(page, "인증")
    fan.refresh_from_db()
    assert (fan.email, fan.email_verified_at) == ("moved@example.com", None)  # true: nobody verified it


def test_with_the_requirement_off_the_english_welcome_says_no_link_was_sent(
    settings, client, django_capture_on_commit_callbacks
):
    settings.EMAIL_VERIFICATION_REQUIRED = False
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with django_capture_on_commit_callbacks(execute=True):
        signed_up = client.post(
            "/accounts/signup/",
            {"email": "new@example.com", "name": "Kim", "password1": PASSWORD, "password2": PASSWORD},
        )
    landing = client.get(signed_up["Location"])
    assertContains(landing, "Welcome to Frontrow!")
    assertNotContains(landing, "We sent a link")
