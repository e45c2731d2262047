"""Sign up, log in and log out through the pages, with Django's password validators."""

import pytest
from django.contrib.auth import SESSION_KEY
from pytest_django.asserts import assertContains, assertRedirects

from accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "violet-harbor-2931"


def signup_data(**overrides):
    data = {"email": "New.Fan@Example.com", "name": "새 팬", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    data.update(overrides)
    return data


def test_signup_page_renders_the_form_in_korean(client):
    response = client.get("/accounts/signup/")
    assertContains(response, "회원가입")
    assertContains(response, 'name="email"')
    assertContains(response, 'name="password1"')


def test_signup_creates_the_account_logs_in_and_goes_to_the_concerts(client):
    response = client.post("/accounts/signup/", signup_data())
    assertRedirects(response, "/", fetch_redirect_response=False)
    user = User.objects.get()
    assert user.email == "new.fan@example.com"  # stored lower case
    assert user.name == "새 팬"
    assert user.check_password(GOOD_PASSWORD)
    assert user.balance == 0
    assert client.session[SESSION_KEY] == str(user.pk)


def test_signup_follows_a_safe_next_and_ignores_an_unsafe_one(client):
    response = client.post("/accounts/signup/?next=/wallet/", signup_data())
    assertRedirects(response, "/wallet/", fetch_redirect_response=False)
    client.logout()
    response = client.post(
        "/accounts/signup/", signup_data(email="other@example.com", next="https://evil.example/steal")
    )
    assertRedirects(response, "/", fetch_redirect_response=False)


def test_signup_refuses_an_e_mail_already_used_in_any_case(client):
    factories.UserFactory(email="taken@example.com")
    response = client.post("/accounts/signup/", signup_data(email="TAKEN@example.com"))
    assertContains(response, "이미 이 이메일 주소로 가입된 계정이 있습니다.", status_code=400)
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short1", "이 비밀번호는 너무 짧습니다"),  # MinimumLengthValidator
        ("12345678901", "비밀번호가 전부 숫자로 되어 있습니다"),  # NumericPasswordValidator
        ("password123", "너무 흔히 사용되는 비밀번호입니다"),  # CommonPasswordValidator
    ],
)
def test_signup_applies_djangos_password_validators(client, password, expected):
    response = client.post("/accounts/signup/", signup_data(password1=password, password2=password))
    assertContains(response, expected, status_code=400)
    assert not User.objects.exists()


def test_signup_refuses_mismatched_passwords_and_a_bad_e_mail(client):
    response = client.post("/accounts/signup/", signup_data(password2="something-else-9921"))
    assert response.status_code == 400
    response = client.post("/accounts/signup/", signup_data(email="not-an-email"))
    assertContains(response, "올바른 이메일 주소를 입력하세요.", status_code=400)
    assert not User.objects.exists()


def test_a_logged_in_fan_visiting_signup_is_sent_on(client):
    client.force_login(factories.UserFactory())
    assertRedirects(client.get("/accounts/signup/"), "/", fetch_redirect_response=False)


def test_login_with_e_mail_in_any_case_and_follows_next(client):
    user = factories.UserFactory(email="fan@example.com")
    response = client.post(
        "/accounts/login/", {"username": "Fan@Example.COM", "password": "correct-horse-battery", "next": "/wallet/"}
    )
    assertRedirects(response, "/wallet/", fetch_redirect_response=False)
    assert client.session[SESSION_KEY] == str(user.pk)


def test_login_with_a_wrong_password_is_a_400_with_a_message(client):
    factories.UserFactory(email="fan@example.com")
    response = client.post("/accounts/login/", {"username": "fan@example.com", "password": "wrong"})
    assertContains(response, "이메일 주소 또는 비밀번호가 올바르지 않습니다.", status_code=400)
    assert SESSION_KEY not in client.session


def test_logout_is_post_only(client):
    client.force_login(factories.UserFactory())
    assert client.get("/accounts/logout/").status_code == 405
    assert SESSION_KEY in client.session
    assertRedirects(client.post("/accounts/logout/"), "/", fetch_redirect_response=False)
    assert SESSION_KEY not in client.session


def test_every_fan_page_sends_anonymous_visitors_to_log_in(client, concert_date, paid_reservation):
    pages = [
        f"/dates/{concert_date.pk}/seats/",
        f"/checkout/{concert_date.pk}/",
        "/reservations/",
        "/wallet/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    posts = [
        f"/dates/{concert_date.pk}/hold/",
        f"/checkout/{concert_date.pk}/",
        f"/reservations/{paid_reservation.pk}/cancel/",
        "/wallet/charge/",
    ]
    for url in posts:
        response = client.post(url, {"seats": "1", "amount": "10000"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
