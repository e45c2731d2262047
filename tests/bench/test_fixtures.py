"""The rush bench's setup (bench/rush/fixtures.py): fans made in bulk are topped up as a charge would leave
them, their sessions log them in, and (--api) their tokens authenticate them as fans who may book."""

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import authenticate_api_token
from bench.rush.fixtures import TOP_UP, api_tokens, create_concert, create_fans, session_cookies
from wallet.models import ChargeHistory


@pytest.mark.django_db
def test_bulk_fans_have_the_balance_and_the_charge_row_a_top_up_leaves():
    users = create_fans("t1", 3, "fan")
    assert len({user.email for user in users}) == 3
    for user in users:
        user.refresh_from_db()
        charges = ChargeHistory.objects.filter(user=user, status=ChargeHistory.Status.SUCCESS)
        assert user.balance == TOP_UP == charges.aggregate(total=Sum("amount"))["total"]
        assert charges.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("engine", ["config.sessions", "django.contrib.sessions.backends.db"])
def test_each_bulk_session_logs_its_fan_in(client, settings, engine):
    settings.SESSION_ENGINE = engine  # production's cached_db (read from Redis), and the plain one
    users = create_fans("t2", 2, "fan")
    cookies = session_cookies(users)
    for user, cookie in zip(users, cookies, strict=True):
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie[settings.SESSION_COOKIE_NAME]
        response = client.get("/reservations/")
        assert response.status_code == 200
        assert response.wsgi_request.user == user


@pytest.mark.django_db
def test_the_rush_room_admits_at_the_default_rate_unless_told(settings):
    settings.QUEUE_ADMIT_PER_MINUTE = 900
    default = create_concert("t3", "Rush", dates=1, opens_at=timezone.now(), max_active=100)
    paced = create_concert("t4", "Rush", dates=1, opens_at=timezone.now(), max_active=100, admit_per_minute=300)
    assert default.waiting_room.admit_per_minute == 900
    assert paced.waiting_room.admit_per_minute == 300


@pytest.mark.django_db
def test_each_fan_gets_a_token_that_may_book_made_by_the_accounts_service():
    users = create_fans("t5", 2, "fan")

    tokens = api_tokens(users)

    assert len(set(tokens)) == 2
    for user, secret in zip(users, tokens, strict=True):
        token = authenticate_api_token(secret=secret)  # what the API's bearer check calls
        assert token.user == user and token.scope == ApiToken.Scope.BOOK
        assert token.token_hash != secret and token.prefix == secret[: len(token.prefix)]  # stored hashed, as made
