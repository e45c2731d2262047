"""The waiting rooms' admin list shows who the rate limits refused most over the last day (config.ratelimit)."""

import contextlib

import pytest
from django.test import RequestFactory
from django.urls import reverse

from config.ratelimit import RateLimited, check_rate_limit
from tests.factories import StaffFactory, UserFactory
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


def _hammer(user, address, times):
    for _ in range(times):
        request = RequestFactory().post("/", REMOTE_ADDR=address)
        request.user = user
        with contextlib.suppress(RateLimited):
            check_rate_limit("hold", request)


def test_the_waiting_room_list_shows_the_accounts_and_addresses_refused_most(settings, client, make_room):
    settings.LANGUAGE_CODE = "en"
    make_room()
    set_limit(settings, "hold", account=1, ip=4)
    _hammer(UserFactory(email="bot@example.com"), "198.51.100.66", 4)  # 3 refused by the account
    for _ in range(4):
        _hammer(UserFactory(), "198.51.100.77", 1)
    _hammer(UserFactory(), "198.51.100.77", 2)  # 2 refused by the address
    client.force_login(StaffFactory())
    page = client.get(reverse("admin:queueing_waitingroom_changelist"))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="rate-limit-offenders"' in body
    assert ">bot@example.com</a></td><td>3</td>" in body
    assert "<td>198.51.100.77</td><td>2</td>" in body


def test_with_nobody_refused_the_panel_says_none(client, make_room):
    make_room()
    client.force_login(StaffFactory())
    body = client.get(reverse("admin:queueing_waitingroom_changelist")).content.decode()
    assert body.count('<td colspan="2">') == 2
