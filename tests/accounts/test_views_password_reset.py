"""A forgotten password, through the pages: the request form answers the same whether or not an account has the
address, the e-mail (an RQ job queued on commit, in the fan's language) carries Django's reset link, and a
forged, expired or used link is refused with a 400 page that offers a new one."""

import datetime
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core import mail
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from pytest_django.asserts import assertContains, assertRedirects

from accounts.models import User
from tests import factories
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://tickets.example.com"  # the e-mails' links start with it, whatever host was asked


NEW_PASSWORD = "amber-lantern-5813"
LINK = re.compile(r"https://tickets\.example\.com(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


def ask(client, email, capture, **extra):
    with capture(execute=True):
        return client.post("/accounts/password/reset/", {"email": email}, **extra)


def link_in(message):
    return LINK.search(message.body).group(1)


def test_the_log_in_page_links_to_the_reset_form_which_asks_in_korean(client):
    assertContains(client.get("/accounts/login/"), 'href="/accounts/password/reset/"')
    page = client.get("/accounts/password/reset/")
    assertContains(page, "비밀번호를 잊으셨나요?")
    assertContains(page, 'name="email"')


def test_a_known_address_in_any_case_gets_one_mail_with_a_link_that_sets_the_password_and_logs_in(
    client, django_capture_on_commit_callbacks
):
    fan = factories.UserFactory(email="fan@example.com", name="김팬")
    answer = ask(client, "  FAN@Example.com ", django_capture_on_commit_callbacks)
    assertRedirects(answer, "/accounts/password/reset/sent/", fetch_redirect_response=False)
    [message] = mail.outbox
    assert message.to == ["fan@example.com"]
    assert message.subject == "Frontrow 비밀번호 재설정 안내"
    assert "김팬님, 안녕하세요." in message.body
    assert link_in(message) in message.alternatives[0][0]

    opened = client.get(link_in(message))  # the token leaves the URL for the session (no Referer leak)
    form_url = re.sub(r"/[^/]+/$", "/set-password/", link_in(message))
    assertRedirects(opened, form_url, fetch_redirect_response=False)
    assertContains(client.get(form_url), 'name="new_password1"')
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assertRedirects(done, "/accounts/password/reset/done/", fetch_redirect_response=False)
    fan.refresh_from_db()
    assert fan.check_password(NEW_PASSWORD)
    assert client.session[SESSION_KEY] == str(fan.pk)
    assertContains(client.get("/accounts/password/reset/done/"), "새 비밀번호가 설정되었습니다")


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, django_capture_on_commit_callbacks):
    factories.UserFactory(email="fan@example.com")
    known = ask(Client(), "fan@example.com", django_capture_on_commit_callbacks)
    unknown = ask(client, "nobody@example.com", django_capture_on_commit_callbacks)
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert len(mail.outbox) == 1  # the known one's
    sent = client.get(unknown["Location"])
    assertContains(sent, "해당 주소로 가입한 계정이 있다면")


@pytest.mark.parametrize("who", ["inactive", "no password"])
def test_an_account_that_cannot_log_in_gets_no_mail(client, django_capture_on_commit_callbacks, who):
    fan = factories.UserFactory(email="fan@example.com")
    if who == "inactive":
        fan.is_active = False
    else:
        fan.set_unusable_password()
    fan.save()
    assertRedirects(
        ask(client, "fan@example.com", django_capture_on_commit_callbacks),
        "/accounts/password/reset/sent/",
        fetch_redirect_response=False,
    )
    assert mail.outbox == []


def test_nothing_is_sent_before_the_request_commits(client, django_capture_on_commit_callbacks):
    factories.UserFactory(email="fan@example.com")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post("/accounts/password/reset/", {"email": "fan@example.com"})
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1


def test_the_mail_is_in_english_for_a_fan_asking_in_english(client, django_capture_on_commit_callbacks, settings):
    factories.UserFactory(email="fan@example.com", name="Kim")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/accounts/password/reset/")
    assertContains(page, "Forgot your password?")
    ask(client, "fan@example.com", django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.subject == "Choose a new Frontrow password"
    assert "Hello Kim," in message.body


def test_a_malformed_address_is_a_400_with_a_message_and_no_mail(client, django_capture_on_commit_callbacks):
    answer = ask(client, "not-an-address", django_capture_on_commit_callbacks)
    assertContains(answer, "올바른 이메일 주소를 입력하세요.", status_code=400)
    assert mail.outbox == []


def _link(user, token):
    return f"/accounts/password/reset/{urlsafe_base64_encode(force_bytes(user.pk))}/{token}/"


class _TwoHoursAgo(PasswordResetTokenGenerator):
    def _now(self):
        return super()._now() - datetime.timedelta(hours=2)


@pytest.mark.parametrize(
    "make_link",
    [
        pytest.param(lambda user: _link(user, "ckx3f1-0123456789abcdef0123"), id="forged token"),
        pytest.param(lambda user: "/accounts/password/reset/bm90LWEtdXNlcg/ckx3f1-0123456789abcdef0123/", id="no user"),
        pytest.param(lambda user: _link(user, _TwoHoursAgo().make_token(user)), id="expired"),
    ],
)
def test_a_forged_or_expired_link_is_a_400_page_offering_a_new_one(client, make_link):
    fan = factories.UserFactory()
    refused = client.get(make_link(fan))
    assertContains(refused, 'data-testid="link-refused"', status_code=400)
    assertContains(refused, "비밀번호 재설정 링크가 잘못되었거나", status_code=400)
    assertContains(refused, 'href="/accounts/password/reset/"', status_code=400)
    # Posting a password to the form's URL without a valid link in the session changes nothing either.
    form_url = _link(fan, "set-password")
    posted = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert posted.status_code == 400
    fan.refresh_from_db()
    assert not fan.check_password(NEW_PASSWORD)


def test_a_used_link_is_refused_the_second_time(client):
    fan = factories.UserFactory()
    link = _link(fan, default_token_generator.make_token(fan))
    form_url = client.get(link)["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    again = Client()
    assertContains(again.get(link), 'data-testid="link-refused"', status_code=400)
    fan.refresh_from_db()
    assert fan.check_password(NEW_PASSWORD)


def test_a_weak_or_mismatched_new_password_is_a_400_and_changes_nothing(client):
    fan = factories.UserFactory()
    form_url = client.get(_link(fan, default_token_generator.make_token(fan)))["Location"]
    weak = client.post(form_url, {"new_password1": "12345678901", "new_password2": "12345678901"})
    assertContains(weak, "비밀번호가 전부 숫자로 되어 있습니다", status_code=400)
    mismatched = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert mismatched.status_code == 400
    fan.refresh_from_db()
    assert fan.check_password("correct-horse-battery")
    assert SESSION_KEY not in client.session


def test_requests_over_the_limit_get_429_and_send_nothing(settings, django_capture_on_commit_callbacks):
    factories.UserFactory(email="fan@example.com")
    set_limit(settings, "password_reset", account=2, ip=100, seconds=3600)
    answers = [
        ask(Client(), "fan@example.com", django_capture_on_commit_callbacks, REMOTE_ADDR="198.51.100.3").status_code
        for _ in range(3)
    ]
    assert answers == [302, 302, 429]
    assert len(mail.outbox) == 2
    # Another address may still ask for the fan (the limit is per address typed from one client address).
    elsewhere = ask(Client(), "fan@example.com", django_capture_on_commit_callbacks, REMOTE_ADDR="198.51.100.4")
    assert elsewhere.status_code == 302
    assert User.objects.count() == 1


# --- one inbox is not flooded, and the answer's cost does not tell who has an account ---------------------


def test_one_account_gets_at_most_its_cap_of_mails_however_many_addresses_ask(
    settings, django_capture_on_commit_callbacks
):
    factories.UserFactory(email="fan@example.com")
    set_limit(settings, "password_reset_mail", account=3, seconds=3600)
    answers = [
        ask(Client(), "fan@example.com", django_capture_on_commit_callbacks, REMOTE_ADDR=f"198.51.100.{n}")
        for n in range(1, 8)
    ]
    # Every request gets the same answer (no 429, nothing that tells the cap was reached) ...
    assert {(answer.status_code, answer["Location"]) for answer in answers} == {(302, "/accounts/password/reset/sent/")}
    # ... and only the cap's worth of mails reaches the inbox.
    assert len(mail.outbox) == 3
    assert {message.to[0] for message in mail.outbox} == {"fan@example.com"}


def test_the_cap_is_per_account_so_another_fan_still_gets_their_mail(settings, django_capture_on_commit_callbacks):
    factories.UserFactory(email="fan@example.com")
    factories.UserFactory(email="other@example.com")
    set_limit(settings, "password_reset_mail", account=1, seconds=3600)
    for n in range(3):
        ask(Client(), "fan@example.com", django_capture_on_commit_callbacks, REMOTE_ADDR=f"198.51.100.{n}")
    ask(Client(), "other@example.com", django_capture_on_commit_callbacks, REMOTE_ADDR="198.51.100.9")
    assert sorted(message.to[0] for message in mail.outbox) == ["fan@example.com", "other@example.com"]


@pytest.fixture
def rq_queue(settings):
    """RQ's default queue, really queueing (the test settings run jobs inline otherwise), empty before and after."""
    import django_rq

    settings.RQ_QUEUES = {"default": {**settings.RQ_QUEUES["default"], "ASYNC": True}}
    queue = django_rq.get_queue("default")
    queue.empty()
    yield queue
    queue.empty()


def test_a_known_and_an_unknown_address_do_the_same_work_and_queue_the_same_job(
    client, rq_queue, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    factories.UserFactory(email="fan@example.com")
    client.get("/accounts/password/reset/")  # the session and CSRF cookie exist for both posts alike
    answers, queries, queued = [], [], []
    for email in ("fan@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as captured:
            answers.append(ask(client, email, django_capture_on_commit_callbacks))
        queries.append([query["sql"] for query in captured.captured_queries])
        [job] = rq_queue.get_jobs()
        queued.append(job)
        rq_queue.empty()
    known, unknown = answers
    assert (known.status_code, known["Location"], known.content) == (
        unknown.status_code,
        unknown["Location"],
        unknown.content,
    )
    assert queries[0] == queries[1]  # the request reads no account: same statements for both
    assert queued[0].func_name == queued[1].func_name == "accounts.jobs.send_password_reset"
    assert queued[0].kwargs.keys() == queued[1].kwargs.keys()
    assert mail.outbox == []  # nothing sent on the request's path

    # The job looks the account up itself: the known address gets the mail, the unknown one nothing.
    assert queued[0].perform() == 1
    assert queued[1].perform() == 0
    assert [message.to for message in mail.outbox] == [["fan@example.com"]]


# --- the reset link proves the fan reads mail at the address ------------------------------------------------


def _reset_through_the_link(client, fan):
    form_url = client.get(_link(fan, default_token_generator.make_token(fan)))["Location"]
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assertRedirects(done, "/accounts/password/reset/done/", fetch_redirect_response=False)
    fan.refresh_from_db()


def test_completing_a_reset_verifies_an_unverified_address(client):
    fan = factories.UserFactory(email="fan@example.com", email_verified_at=None)
    _reset_through_the_link(client, fan)
    assert fan.check_password(NEW_PASSWORD)
    assert fan.email_verified_at is not None
    assertContains(client.get("/accounts/"), 'data-testid="email-verified"')


def test_completing_a_reset_keeps_when_a_verified_address_was_verified(client):
    fan = factories.UserFactory(email="fan@example.com")
    verified_at = fan.email_verified_at
    _reset_through_the_link(client, fan)
    assert fan.email_verified_at == verified_at


def test_a_reset_that_fails_verifies_nothing(client):
    fan = factories.UserFactory(email="fan@example.com", email_verified_at=None)
    form_url = client.get(_link(fan, default_token_generator.make_token(fan)))["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    fan.refresh_from_db()
    assert fan.email_verified_at is None
