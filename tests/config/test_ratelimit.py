"""Rate limits (config.ratelimit): counted per account and per client address in the real Redis, one atomic
script; 429 with Retry-After and nothing done over a limit; windows that end; the address as django-axes
takes it; a store that cannot be reached lets requests through; who hit the limits, for staff.

The apps' own view tests (tests/<app>/test_views_rate_limits.py) show each limited page changing nothing.
"""

import logging
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from config.ratelimit import RateLimited, check_account_limit, check_rate_limit, rate_limited, top_offenders
from config.refusals import RefusalCode
from tests.factories import UserFactory
from tests.support.concurrency import run_together
from tests.support.ratelimits import set_limit
from wallet.models import ChargeHistory

NOW = 1_900_000_000.0  # a fixed moment (epoch seconds): the windows below are moved by `now=`, not by sleeping
DEAD_REDIS = "redis://127.0.0.1:1/5"  # nothing listens on port 1


def _request(user=None, *, address="203.0.113.7", forwarded=None, method="get", data=None):
    extra = {"REMOTE_ADDR": address}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    request = getattr(RequestFactory(), method)("/", data or {}, **extra)
    request.user = user or AnonymousUser()
    return request


def _let_through(action, request, *, now=NOW, **kwargs):
    """True if the request passes (and is counted), False if refused."""
    try:
        check_rate_limit(action, request, now=now, **kwargs)
    except RateLimited:
        return False
    return True


@pytest.fixture
def user(db):
    return UserFactory(email="speedy@example.com")


# --- counting -------------------------------------------------------------------------------------------------


def test_an_account_gets_its_limit_then_a_refusal_saying_when_the_window_ends(settings, user):
    set_limit(settings, "hold", account=3, ip=100, seconds=60)
    assert [_let_through("hold", _request(user), now=NOW + i) for i in range(3)] == [True, True, True]
    with pytest.raises(RateLimited) as refused:
        check_rate_limit("hold", _request(user), now=NOW + 20)
    # The window opened with the first request, at NOW: it ends at NOW + 60.
    assert refused.value.retry_after == 40
    assert (refused.value.status, refused.value.code) == (429, RefusalCode.RATE_LIMITED)
    assert refused.value.reason.endswith("Nothing was done: please try again in 40 seconds.")


def test_the_window_ends_and_the_account_may_go_on(settings, user):
    set_limit(settings, "hold", account=2, ip=100, seconds=60)
    assert [_let_through("hold", _request(user)) for _ in range(3)] == [True, True, False]
    assert _let_through("hold", _request(user), now=NOW + 59.9) is False
    assert [_let_through("hold", _request(user), now=NOW + 60) for _ in range(3)] == [True, True, False]


def test_each_action_counts_on_its_own(settings, user):
    set_limit(settings, "hold", account=1, ip=100)
    set_limit(settings, "pay", account=1, ip=100)
    assert _let_through("hold", _request(user))
    assert _let_through("pay", _request(user))
    assert not _let_through("hold", _request(user))


def test_the_account_is_counted_whatever_address_it_comes_from(settings, user):
    set_limit(settings, "hold", account=2, ip=100)
    assert _let_through("hold", _request(user, address="198.51.100.1"))
    assert _let_through("hold", _request(user, address="198.51.100.2"))
    assert not _let_through("hold", _request(user, address="198.51.100.3"))


def test_the_address_is_counted_whatever_account_comes_from_it(settings, db):
    set_limit(settings, "hold", account=100, ip=2)
    fans = UserFactory.create_batch(3)
    assert [_let_through("hold", _request(fan)) for fan in fans] == [True, True, False]
    assert _let_through("hold", _request(fans[2], address="198.51.100.9"))  # the same fan elsewhere


def test_a_refused_request_counts_against_nothing(settings, db):
    """A bot refused by its account's limit does not spend the limit of the address it shares with fans."""
    set_limit(settings, "hold", account=1, ip=3)
    bot, fan = UserFactory.create_batch(2)
    assert _let_through("hold", _request(bot))
    assert [_let_through("hold", _request(bot)) for _ in range(20)] == [False] * 20
    assert _let_through("hold", _request(fan))  # the address had 2 of 3 left
    assert _let_through("hold", _request(UserFactory()))
    assert not _let_through("hold", _request(UserFactory()))


def test_anonymous_requests_count_against_their_address_only(settings):
    set_limit(settings, "queue_status", account=1, ip=2)
    assert [_let_through("queue_status", _request()) for _ in range(3)] == [True, True, False]


def test_a_limit_of_zero_is_no_limit_and_the_switch_turns_them_all_off(settings, user):
    set_limit(settings, "hold", account=0, ip=1)
    assert _let_through("hold", _request(user))
    assert not _let_through("hold", _request(user))
    settings.RATE_LIMITS_ENABLED = False
    assert all(_let_through("hold", _request(user)) for _ in range(5))


def test_log_in_counts_the_e_mail_address_typed_per_address_it_is_typed_from(settings):
    set_limit(settings, "login", account=2, ip=100)

    def attempt(email, address):
        request = _request(method="post", data={"username": email, "password": "x"}, address=address)
        return _let_through("login", request, account_field="username")

    assert attempt("Victim@Example.com", "198.51.100.1")
    assert attempt(" victim@example.com ", "198.51.100.1")  # the same account, as the form reads it
    assert not attempt("victim@example.com", "198.51.100.1")
    assert attempt("someone.else@example.com", "198.51.100.1")
    assert attempt("victim@example.com", "198.51.100.2")  # the victim, elsewhere: not locked out by the first
    assert top_offenders("account", now=NOW) == [("victim@example.com", 1)]  # staff read the e-mail targeted


# --- the client address: django-axes's, through trusted proxies only ----------------------------------------


def test_without_trusted_proxies_a_forged_forwarded_for_buys_nothing(settings, user):
    set_limit(settings, "hold", account=100, ip=2)
    results = [_let_through("hold", _request(user, forwarded=f"192.0.2.{n}")) for n in range(3)]
    assert results == [True, True, False]  # all counted against REMOTE_ADDR


def test_behind_a_trusted_proxy_the_address_it_appended_is_counted(settings, db):
    settings.AXES_IPWARE_PROXY_COUNT = 1  # production's TRUSTED_PROXY_COUNT=1
    set_limit(settings, "hold", account=100, ip=2)
    fans = UserFactory.create_batch(4)
    # A client forges a new left-hand entry each time; the proxy appends the real address last.
    forged = [
        _let_through("hold", _request(fan, address="10.0.0.1", forwarded=f"192.0.2.{n}, 203.0.113.66"))
        for n, fan in enumerate(fans[:3])
    ]
    assert forged == [True, True, False]
    # Another fan behind the same proxy, from their own address, is not limited by that client.
    assert _let_through("hold", _request(fans[3], address="10.0.0.1", forwarded="203.0.113.10"))


def test_an_ipv6_client_counts_by_its_64(settings, db):
    set_limit(settings, "hold", account=100, ip=2)
    fans = UserFactory.create_batch(3)
    addresses = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2::abcd"]
    assert [_let_through("hold", _request(fan, address=a)) for fan, a in zip(fans, addresses, strict=True)] == [
        True,
        True,
        False,
    ]
    assert _let_through("hold", _request(fans[2], address="2001:db8:1:3::1"))  # the next /64


def test_addresses_of_an_exempt_network_are_never_limited_nor_counted(settings, user):
    set_limit(settings, "hold", account=1, ip=1)
    settings.RATE_LIMIT_EXEMPT_NETWORKS = ["198.18.0.0/15"]
    assert all(_let_through("hold", _request(user, address="198.18.4.2")) for _ in range(5))
    assert _let_through("hold", _request(user, address="198.20.0.1"))  # outside it: the first is counted
    assert not _let_through("hold", _request(user, address="198.20.0.1"))


# --- atomic under concurrency -------------------------------------------------------------------------------


def test_requests_at_once_against_a_limit_of_k_let_exactly_k_through(settings, user):
    set_limit(settings, "pay", account=7, ip=1000)
    results = run_together(24, lambda i: _let_through("pay", _request(user, address=f"198.51.100.{i}")))
    assert sum(results) == 7


def test_requests_at_once_from_one_address_let_exactly_its_limit_through(settings, db):
    set_limit(settings, "queue_status", account=1000, ip=5)
    fans = UserFactory.create_batch(16)
    results = run_together(16, lambda i: _let_through("queue_status", _request(fans[i])))
    assert sum(results) == 5


# --- a store that cannot be reached lets everything through -----------------------------------------------


def test_with_redis_down_requests_go_through_with_a_warning(settings, user, caplog):
    set_limit(settings, "hold", account=1, ip=1)
    settings.REDIS_URL = DEAD_REDIS
    with caplog.at_level(logging.WARNING, logger="config.ratelimit"):
        assert all(_let_through("hold", _request(user)) for _ in range(3))
    assert "rate limit hold not checked" in caplog.text
    assert top_offenders("account") == []


def test_with_redis_down_a_top_up_goes_through(settings, client, user):
    set_limit(settings, "top_up", account=1, ip=1)
    settings.REDIS_URL = DEAD_REDIS
    client.force_login(user)
    started = time.monotonic()
    answers = [client.post(reverse("wallet:charge"), {"amount": "10000"}).status_code for _ in range(3)]
    assert answers == [302, 302, 302]
    assert ChargeHistory.objects.filter(user=user, status="SUCCESS").count() == 3
    assert time.monotonic() - started < 5  # the breaker: one short timeout, not one per request


# --- the answers ------------------------------------------------------------------------------------------------


def test_over_the_limit_a_page_answers_429_in_the_site_layout_and_does_nothing(settings, client, user):
    set_limit(settings, "top_up", account=1, ip=100, seconds=60)
    client.force_login(user)
    assert client.post(reverse("wallet:charge"), {"amount": "10000"}).status_code == 302
    refused = client.post(reverse("wallet:charge"), {"amount": "10000"}, HTTP_REFERER="http://testserver/wallet/")
    assert refused.status_code == 429
    assert 58 <= int(refused["Retry-After"]) <= 60
    assert "no-store" in refused["Cache-Control"]
    body = refused.content.decode()
    assert 'data-testid="rate-limited"' in body and 'class="site-header"' in body
    assert "짧은 시간에 요청이 너무 많습니다" in body
    assert 'href="http://testserver/wallet/"' in body  # back to the form's page
    assert 'http-equiv="refresh"' not in body  # a POST is not sent again by itself
    assert ChargeHistory.objects.filter(user=user).count() == 1


def test_the_page_is_english_for_an_english_fan_and_a_get_links_to_itself_for_when_the_window_ends(settings, user):
    set_limit(settings, "seat_map", account=0, ip=1)
    view = rate_limited("seat_map")(lambda request: HttpResponse("the seat map"))
    assert view(_request(user)).status_code == 200
    with translation.override("en"):
        refused = view(_request(user))
    body = refused.content.decode()
    assert refused.status_code == 429
    assert "Too many requests in a short time. Nothing was done: please try again in" in body
    # No reload by itself (WCAG 2.2.1: a reader's place on the page is not taken away unasked): a link to try again.
    assert 'http-equiv="refresh"' not in body
    assert 'href="/" data-testid="try-again"' in body
    assert 'href="/"' in body or "Back to concerts" in body  # no page to go back to: the concerts


def test_the_status_poll_answers_json_with_the_code_and_the_wait(settings, client, user, concert_date):
    set_limit(settings, "queue_status", account=1, ip=100)
    client.force_login(user)
    url = reverse("queueing:status", kwargs={"concert_id": concert_date.concert.pk})
    assert client.get(url).status_code == 200
    refused = client.get(url)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    payload = refused.json()
    assert payload["code"] == "rate_limited"
    assert payload["retry_after"] == int(refused["Retry-After"]) > 0
    assert "요청이 너무 많습니다" in payload["error"]


def test_a_long_wait_is_said_in_minutes(settings):
    set_limit(settings, "signup", account=0, ip=1, seconds=600)
    assert _let_through("signup", _request(method="post"))
    with pytest.raises(RateLimited) as refused:
        check_rate_limit("signup", _request(method="post"), now=NOW + 5)
    assert refused.value.retry_after == 595
    assert refused.value.reason.endswith("please try again in 10 minutes.")


def test_only_the_methods_named_are_counted(settings, user):
    set_limit(settings, "queue_join", account=1, ip=100)
    view = rate_limited("queue_join", methods=["POST"])(lambda request: HttpResponse("ok"))
    assert [view(_request(user)).status_code for _ in range(3)] == [200, 200, 200]
    assert [view(_request(user, method="post")).status_code for _ in range(2)] == [200, 429]


def test_a_limit_that_does_not_exist_is_refused_when_the_view_is_decorated():
    with pytest.raises(ImproperlyConfigured):
        rate_limited("holdd")


# --- staff: who hit the limits ------------------------------------------------------------------------------------


def test_an_account_limit_counted_without_a_request_refuses_past_it_and_names_the_account_for_staff(settings, db):
    set_limit(settings, "password_reset_mail", account=2, seconds=3600)
    fan, other = ("fan-id", "fan@example.com"), ("other-id", "other@example.com")
    check_account_limit("password_reset_mail", account=fan, now=NOW)
    check_account_limit("password_reset_mail", account=fan, now=NOW + 1)
    with pytest.raises(RateLimited) as refused:
        check_account_limit("password_reset_mail", account=fan, now=NOW + 2)
    assert refused.value.retry_after == 3600 - 2
    check_account_limit("password_reset_mail", account=other, now=NOW + 2)  # another account: its own count
    check_account_limit("password_reset_mail", account=fan, now=NOW + 3600)  # the window ended
    assert top_offenders("account", action="password_reset_mail", now=NOW) == [("fan@example.com", 1)]


def test_an_account_limit_of_zero_or_limits_off_count_nothing(settings, db):
    set_limit(settings, "password_reset_mail", account=0, seconds=3600)
    for _ in range(5):
        check_account_limit("password_reset_mail", account=("fan-id", "fan@example.com"), now=NOW)
    set_limit(settings, "password_reset_mail", account=1, seconds=3600)
    settings.RATE_LIMITS_ENABLED = False
    for _ in range(5):
        check_account_limit("password_reset_mail", account=("fan-id", "fan@example.com"), now=NOW)


def test_top_offenders_counts_refusals_per_account_and_address_over_the_last_day(settings, db):
    set_limit(settings, "hold", account=1, ip=1000)
    set_limit(settings, "pay", account=1, ip=1000)
    bot, fan = UserFactory(email="bot@example.com"), UserFactory(email="fan@example.com")
    for action, who, address, tries in [
        ("hold", bot, "198.51.100.66", 5),  # 4 refused
        ("pay", bot, "198.51.100.66", 3),  # 2 refused
        ("hold", fan, "198.51.100.7", 2),  # 1 refused
    ]:
        for _ in range(tries):
            _let_through(action, _request(who, address=address))
    assert top_offenders("account", now=NOW) == [("bot@example.com", 6), ("fan@example.com", 1)]
    assert top_offenders("account", action="pay", now=NOW) == [("bot@example.com", 2)]
    assert top_offenders("account", limit=1, now=NOW) == [("bot@example.com", 6)]
    # The addresses were never over their limit: no address is an offender.
    assert top_offenders("ip", now=NOW) == []
    assert top_offenders("account", now=NOW + 23 * 3600) == [("bot@example.com", 6), ("fan@example.com", 1)]
    assert top_offenders("account", now=NOW + 24 * 3600) == []


def test_top_offenders_names_the_address_when_the_address_refused(settings, db):
    set_limit(settings, "queue_join", account=100, ip=2)
    for fan in UserFactory.create_batch(5):
        _let_through("queue_join", _request(fan, address="198.51.100.200"))
    assert top_offenders("ip", now=NOW) == [("198.51.100.200", 3)]
    assert top_offenders("account", now=NOW) == []
    with pytest.raises(ValueError):
        top_offenders("email")  # type: ignore[arg-type]


# --- without Redis (the embedded `make run`): the Django cache counts -------------------------------------------


@pytest.fixture
def without_redis(settings):
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"}}
    yield
    from django.core.cache import caches

    caches["default"].clear()


def test_without_redis_the_cache_counts_the_same_way(settings, user, without_redis):
    set_limit(settings, "hold", account=2, ip=100, seconds=60)
    assert [_let_through("hold", _request(user)) for _ in range(3)] == [True, True, False]
    with pytest.raises(RateLimited) as refused:
        check_rate_limit("hold", _request(user), now=NOW + 15)
    assert refused.value.retry_after == 45
    assert _let_through("hold", _request(user), now=NOW + 60)
    assert top_offenders("account", now=NOW) == [("speedy@example.com", 2)]


def test_without_redis_a_page_over_the_limit_answers_429(settings, client, user, without_redis):
    set_limit(settings, "top_up", account=1, ip=100)
    client.force_login(user)
    answers = [client.post(reverse("wallet:charge"), {"amount": "10000"}).status_code for _ in range(2)]
    assert answers == [302, 429]


# --- settings ---------------------------------------------------------------------------------------------------


def test_the_defaults_let_a_fan_poll_every_three_seconds_from_two_tabs_and_a_crowd_share_an_address():
    limits = django_settings.RATE_LIMITS
    poll = limits["queue_status"]
    assert poll["account"] * 60 / poll["seconds"] >= 2 * 60 / 3 * 1.5  # two tabs, with room for reloads
    for action, limit in limits.items():
        if limit["account"] and limit["ip"]:  # an address limit of 0 is none at all (password_reset_mail)
            assert limit["ip"] >= 10 * limit["account"], action


@pytest.mark.parametrize("value", ["5,50", "a,b,c", "-1,50,60"])
def test_a_malformed_limit_in_the_environment_stops_the_settings_from_loading(value):
    env = {"RATE_LIMIT_HOLD": value, "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings"}
    found = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    assert found.returncode != 0
    assert "ImproperlyConfigured: RATE_LIMIT_HOLD is three whole numbers, account,ip,seconds" in found.stderr


def test_a_limit_from_the_environment_is_read():
    env = {"RATE_LIMIT_HOLD": "5,50,30", "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings"}
    found = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.RATE_LIMITS['hold'])"],
        env=env,
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
        check=True,
    )
    assert found.stdout.strip() == "{'account': 5, 'ip': 50, 'seconds': 30}"
