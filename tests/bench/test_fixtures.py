"""The rush bench's setup (bench/rush/fixtures.py): fans made in bulk are topped up as a charge would leave
them, and their sessions log them in."""

import pytest
from django.db.models import Sum
from django.utils import timezone

from bench.rush.fixtures import TOP_UP, create_concert, create_fans, session_cookies
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
