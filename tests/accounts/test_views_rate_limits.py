"""Log-in and sign-up over their rate limits (config.ratelimit): counted per address, and log-in per e-mail
address typed from that address too (never per e-mail alone: others could lock a fan out); over the limit a
429 page, and nobody is logged in or signed up."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts.models import User
from tests import factories
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db

PASSWORD = "violet-harbor-2931"


@pytest.fixture
def alice(db):
    user = factories.UserFactory(email="alice@example.com")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def _login(client, email, password, address="203.0.113.5"):
    return client.post("/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def test_log_in_attempts_over_the_address_limit_are_refused_even_with_the_right_password(settings, alice):
    set_limit(settings, "login", account=100, ip=2)
    client = Client()
    assert [_login(client, f"guess{n}@example.com", "wrong").status_code for n in range(2)] == [400, 400]
    refused = _login(client, alice.email, PASSWORD)
    assert refused.status_code == 429
    assert 'data-testid="rate-limited"' in refused.content.decode()
    assert SESSION_KEY not in client.session
    assert _login(Client(), alice.email, PASSWORD, address="203.0.113.6").status_code == 302  # elsewhere


def test_log_ins_with_a_fans_e_mail_from_one_address_are_refused_there_and_nowhere_else(settings, alice):
    set_limit(settings, "login", account=3, ip=100)
    from_x = [_login(Client(), alice.email, "wrong", address="198.51.100.7").status_code for _ in range(4)]
    assert from_x == [400, 400, 400, 429]
    assert _login(Client(), alice.email, PASSWORD, address="198.51.100.7").status_code == 429
    client = Client()
    assert _login(client, alice.email, PASSWORD, address="203.0.113.44").status_code == 302  # alice, from Y
    assert client.session[SESSION_KEY] == str(alice.pk)


def test_an_address_guessing_one_fans_password_meets_the_pair_limit_before_its_own(settings, alice):
    set_limit(settings, "login", account=2, ip=100)
    answers = [_login(Client(), alice.email, "wrong", address="198.51.100.8").status_code for _ in range(3)]
    assert answers == [400, 400, 429]
    assert _login(Client(), "bob@example.com", "wrong", address="198.51.100.8").status_code == 400  # another e-mail


def test_the_log_in_page_itself_is_not_counted(settings, client):
    set_limit(settings, "login", account=1, ip=1)
    assert {client.get("/accounts/login/").status_code for _ in range(3)} == {200}


def test_sign_ups_over_the_address_limit_create_no_account(settings):
    set_limit(settings, "signup", ip=2, seconds=600)
    answers = [
        Client()
        .post(
            "/accounts/signup/",
            {"email": f"new{n}@example.com", "name": "새 팬", "password1": PASSWORD, "password2": PASSWORD},
            REMOTE_ADDR="203.0.113.9",
        )
        .status_code
        for n in range(3)
    ]
    assert answers == [302, 302, 429]
    assert sorted(User.objects.values_list("email", flat=True)) == ["new0@example.com", "new1@example.com"]
