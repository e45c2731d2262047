"""The account page's API access tokens: create one (shown once, only its hash kept), list them with their state,
revoke one; another fan's token is a 404; in Korean and English; without JavaScript (plain forms)."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts import services
from accounts.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _create(client, **fields):
    data = {"name": "my phone", "scope": "book", "lifetime_days": "30", **fields}
    return client.post("/accounts/tokens/", data)


def test_the_account_page_links_to_the_tokens_and_they_need_a_login(fan_client):
    assertContains(fan_client.get("/accounts/"), 'href="/accounts/tokens/"')
    assert Client().get("/accounts/tokens/")["Location"].startswith("/accounts/login/")


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(fan_client, fan):
    answer = _create(fan_client)
    assert answer.status_code == 200
    secret = re.search(r'value="(frt_[^"]+)"', answer.content.decode()).group(1)
    token = ApiToken.objects.get(user=fan)
    assert (token.name, token.scope, token.prefix) == ("my phone", "book", secret[:12])
    assert token.token_hash == services.api_token_hash(secret) and secret not in token.token_hash
    assert token.expires_at - token.created_at == datetime.timedelta(days=30)
    assert "no-store" in answer["Cache-Control"] or "max-age=0" in answer["Cache-Control"]
    again = fan_client.get("/accounts/tokens/")
    assertNotContains(again, secret)
    assertContains(again, secret[:12])  # recognisable by its start
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me").status_code == 200


def test_a_form_without_a_name_or_with_an_unknown_scope_or_lifetime_is_a_400_that_creates_nothing(fan_client, fan):
    for fields in ({"name": "  "}, {"scope": "admin"}, {"lifetime_days": "10000"}):
        assert _create(fan_client, **fields).status_code == 400
    assert not ApiToken.objects.exists()


def test_one_token_too_many_is_a_409(fan_client, fan, settings):
    settings.API_TOKENS_PER_USER = 2
    assert _create(fan_client).status_code == 200
    assert _create(fan_client).status_code == 200
    refused = _create(fan_client)
    assert refused.status_code == 409
    assertContains(refused, "폐기", status_code=409)
    assert ApiToken.objects.filter(user=fan).count() == 2


def test_revoking_a_token_stops_it_and_the_list_says_so(fan_client, fan):
    created = services.create_api_token(user=fan, name="script", scope="read", lifetime_days=7)
    answer = fan_client.post(f"/accounts/tokens/{created.token.pk}/revoke/")
    assertRedirects(answer, "/accounts/tokens/")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {created.secret}").get("/api/v1/me").status_code == 401
    page = fan_client.get("/accounts/tokens/")
    assertContains(page, "폐기됨")
    assertNotContains(page, 'data-testid="revoke-token"')


def test_another_fans_token_is_a_404_and_stays_live(fan_client):
    other = services.create_api_token(user=UserFactory(), name="theirs", scope="book", lifetime_days=7)
    assert fan_client.post(f"/accounts/tokens/{other.token.pk}/revoke/").status_code == 404
    other.token.refresh_from_db()
    assert other.token.revoked_at is None
    assertNotContains(fan_client.get("/accounts/tokens/"), "theirs")


def test_the_list_shows_expired_tokens_as_expired(fan_client, fan):
    services.create_api_token(
        user=fan, name="old", scope="read", lifetime_days=7, now=timezone.now() - datetime.timedelta(days=8)
    )
    assertContains(fan_client.get("/accounts/tokens/"), "만료")


def test_the_page_speaks_english_too(fan_client):
    fan_client.cookies["django_language"] = "en"
    page = fan_client.get("/accounts/tokens/")
    assertContains(page, "API access tokens")
    assertContains(page, "Read and book")


def test_creating_needs_the_csrf_token(csrf_client, fan):
    assert _create(csrf_client).status_code == 403
    assert not ApiToken.objects.exists()
