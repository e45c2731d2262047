"""Who may call the JSON API: a personal access token (Bearer), checked for its scope, expiry and revocation, and
one that was never issued; or the site's session with its CSRF token. Refusals are problems (401/403)."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from accounts.models import ApiToken
from tests.api.conftest import assert_problem, bearer_client, make_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_token_that_may_book_calls_the_api_as_its_fan_and_its_use_is_noted(fan, book_token):
    token, secret = book_token
    answer = bearer_client(secret).get("/api/v1/me")
    assert answer.status_code == 200
    body = answer.json()
    assert body["email"] == "fan@example.com" and body["balance"] == 0
    assert body["token"] == {
        "name": "script",
        "scope": "book",
        "prefix": secret[:12],
        "expires_at": body["token"]["expires_at"],
    }
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_only_a_hash_of_the_token_is_stored(fan, book_token):
    token, secret = book_token
    assert secret.startswith("frt_") and len(secret) >= 40
    stored = ApiToken.objects.values_list("token_hash", "prefix").get(pk=token.pk)
    assert secret not in stored[0] and stored[0] == account_services.api_token_hash(secret)
    assert stored[1] == secret[:12]


def test_no_credentials_is_a_401_problem_naming_the_bearer_scheme():
    answer = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/me")
    body = assert_problem(answer, status=401, code="not_authenticated")
    assert "Bearer" in body["detail"]
    assert answer["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "forged",
    ["frt_" + "A" * 43, "not-even-ours", "frt_", "Bearer", "frt_" + "x" * 200],
    ids=["well-formed", "foreign", "prefix-only", "word", "too-long"],
)
def test_a_token_never_issued_is_refused(fan, book_token, forged):
    assert_problem(bearer_client(forged).get("/api/v1/me"), status=401, code="token_invalid")


def test_a_token_differing_in_one_character_is_refused(fan, book_token):
    _, secret = book_token
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert_problem(bearer_client(forged).get("/api/v1/me"), status=401, code="token_invalid")


def test_an_invalid_token_does_not_fall_back_to_the_session(fan):
    client = bearer_client("frt_" + "A" * 43)
    client.force_login(fan)
    assert_problem(client.get("/api/v1/me"), status=401, code="token_invalid")


def test_an_expired_token_is_refused(fan):
    long_ago = timezone.now() - datetime.timedelta(days=8)
    _, secret = make_token(fan, lifetime_days=7, now=long_ago)
    assert_problem(bearer_client(secret).get("/api/v1/me"), status=401, code="token_invalid")


def test_a_revoked_token_is_refused_and_revoking_again_changes_nothing(fan, book_token):
    token, secret = book_token
    assert bearer_client(secret).get("/api/v1/me").status_code == 200
    first = account_services.revoke_api_token(user=fan, token_id=token.pk)
    again = account_services.revoke_api_token(user=fan, token_id=token.pk)
    assert first.revoked_at == again.revoked_at is not None
    assert_problem(bearer_client(secret).get("/api/v1/me"), status=401, code="token_invalid")


def test_a_deactivated_accounts_token_is_refused(fan, book_token):
    fan.is_active = False
    fan.save(update_fields=["is_active"])
    assert_problem(bearer_client(book_token[1]).get("/api/v1/me"), status=401, code="token_invalid")


def test_the_refusal_is_in_the_language_asked_for(fan):
    korean = bearer_client("frt_x", language="ko").get("/api/v1/me").json()["detail"]
    english = bearer_client("frt_x", language="en").get("/api/v1/me").json()["detail"]
    assert english.startswith("This access token is not valid")
    assert korean != english and "토큰" in korean


def test_a_read_token_reads(fan, read_token):
    answer = bearer_client(read_token[1]).get("/api/v1/me")
    assert answer.status_code == 200 and answer.json()["token"]["scope"] == "read"


def test_the_site_session_reads_without_a_token(fan_client):
    answer = fan_client.get("/api/v1/me")
    assert answer.status_code == 200
    assert answer.json()["token"] is None


def test_another_fans_token_cannot_be_revoked(fan, book_token):
    other = account_services.create_api_token(user=UserFactory(), name="x", scope="read", lifetime_days=7)
    assert account_services.revoke_api_token(user=fan, token_id=other.token.pk) is None
    other.token.refresh_from_db()
    assert other.token.revoked_at is None


def test_a_new_password_revokes_the_tokens_made_before_it(fan, book_token):
    """After an account takeover the owner sets a new password (which ends the intruder's sessions): a token the
    intruder made ends too, however the password was set (here as the reset link, the admin and commands do)."""
    token, secret = book_token
    assert bearer_client(secret).get("/api/v1/me").status_code == 200
    fan.set_password("a-new-password-after-takeover")
    fan.save()
    assert bearer_client(secret).get("/api/v1/me").status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None  # the account page lists it as revoked
    fresh, fresh_secret = make_token(fan)
    assert bearer_client(fresh_secret).get("/api/v1/me").status_code == 200
    fan.name = "renamed"
    fan.save()  # a save without a new password ends nothing
    assert bearer_client(fresh_secret).get("/api/v1/me").status_code == 200
