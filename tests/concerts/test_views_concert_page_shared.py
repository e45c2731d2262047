"""The concert page's shared body (concerts.detail_page): each visitor's own values filled into one cached
rendering, staff edits and seat counts no older than CONCERT_PAGE_CACHE_SECONDS."""

import datetime
import re

import pytest
import redis
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from concerts.models import Concert
from concerts.services import create_concert_date
from queueing import services as queue_services
from queueing.models import WaitingRoom
from tests import factories

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def shared(settings):
    settings.CONCERT_PAGE_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def _fan_client(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _open_sale(concert, *, minutes):
    Concert.objects.filter(pk=concert.pk).update(sale_opens_at=timezone.now() + datetime.timedelta(minutes=minutes))


@pytest.mark.parametrize("sale", ["open", "pre-queue"])
def test_two_fans_get_their_own_token_name_and_challenge_from_one_shared_body(
    shared, concert_date, sale, django_assert_num_queries
):
    concert = concert_date.concert
    if sale == "pre-queue":
        _open_sale(concert, minutes=10)
    WaitingRoom.objects.update_or_create(concert=concert, defaults={"challenge_enabled": True})
    ahn, baek = factories.UserFactory(name="Ahn"), factories.UserFactory(name="Baek")
    queue_services.join(user=ahn, concert=concert)  # Ahn holds a place: no challenge for him any more
    url = f"/concerts/{concert.pk}/"
    ahn_client, baek_client = _fan_client(ahn), _fan_client(baek)
    ahn_page = ahn_client.get(url).content.decode()
    # Baek's session, user row and whether he holds a place (his challenge): the body is the shared rendering.
    with django_assert_num_queries(3):
        baek_page = baek_client.get(url).content.decode()
    assert "Ahn" in ahn_page and "Baek" not in ahn_page
    assert "Baek" in baek_page and "Ahn" not in baek_page
    assert "altcha-widget" not in ahn_page
    assert "altcha-widget" in baek_page
    # Every form of each page carries that fan's token: the join works for each, with their own cookie.
    ahn_tokens, baek_tokens = set(TOKEN.findall(ahn_page)), set(TOKEN.findall(baek_page))
    assert len(ahn_tokens) == len(baek_tokens) == 1 and ahn_tokens != baek_tokens
    form = {"csrfmiddlewaretoken": ahn_tokens.pop()}
    if sale == "open":
        form["date"] = str(concert_date.pk)
    assert ahn_client.post(f"/concerts/{concert.pk}/queue/", form).status_code == 302
    # Baek's token does not pass with Ahn's cookie.
    refused = ahn_client.post(f"/concerts/{concert.pk}/queue/", {"csrfmiddlewaretoken": baek_tokens.pop()})
    assert refused.status_code == 403


def test_the_countdown_is_counted_for_each_visit_from_the_shared_body(shared, fan_client):
    now = timezone.now().replace(microsecond=0)
    concert = factories.ConcertFactory(sale_opens_at=now + datetime.timedelta(hours=3))
    factories.ConcertDateFactory(concert=concert)
    to_prequeue = concert.prequeue_starts_at - now
    url = f"/concerts/{concert.pk}/"
    with time_machine.travel(now, tick=False):
        first = fan_client.get(url)
    with time_machine.travel(now + datetime.timedelta(seconds=75), tick=False):
        later = fan_client.get(url)
    seconds = int(to_prequeue.total_seconds())
    assertContains(first, f'data-countdown-seconds="{seconds}"')
    assertContains(first, f">{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}</div>")
    assertContains(later, f'data-countdown-seconds="{seconds - 75}"')
    later_clock = seconds - 75
    assertContains(later, f">{later_clock // 3600}:{later_clock % 3600 // 60:02d}:{later_clock % 60:02d}</div>")


def test_staff_edits_of_the_concert_and_its_dates_show_at_once(
    shared, fan_client, concert_date, django_capture_on_commit_callbacks
):
    concert = concert_date.concert
    url = f"/concerts/{concert.pk}/"
    assertContains(fan_client.get(url), "Seoul Jazz Night")
    concert.title = "Busan Rock Night"
    with django_capture_on_commit_callbacks(execute=True):
        concert.save()  # as the admin does: the concert's copies go once it commits
    page = fan_client.get(url)
    assertContains(page, "Busan Rock Night")
    assertNotContains(page, "Seoul Jazz Night")
    with django_capture_on_commit_callbacks(execute=True):
        later = create_concert_date(concert=concert, starts_at=concert_date.starts_at + datetime.timedelta(days=2))
    assertContains(fan_client.get(url), f'name="date" value="{later.pk}"')


def test_the_rooms_challenge_setting_and_seats_left_show_once_the_shared_body_runs_out(
    shared, settings, fan, concert_date, hold
):
    """What is not forgotten on save (the room's settings, seat counts) lags the shared body's life at most."""
    concert = concert_date.concert
    WaitingRoom.objects.update_or_create(concert=concert, defaults={"challenge_enabled": False})
    url = f"/concerts/{concert.pk}/"
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        client = _fan_client(fan)
        assert "altcha-widget" not in client.get(url).content.decode()
        # Every entry in Redis lives no longer than the bound, for the body of each state it holds.
        keys = redis.Redis.from_url(settings.REDIS_URL).keys("*concerts:page:*")
        assert keys and all(
            0 < redis.Redis.from_url(settings.REDIS_URL).ttl(key) <= settings.CONCERT_PAGE_CACHE_SECONDS for key in keys
        )
    WaitingRoom.objects.filter(concert=concert).update(challenge_enabled=True)
    hold(factories.UserFactory(), concert_date, 1, 2, 3)
    with time_machine.travel(now + datetime.timedelta(seconds=30), tick=False):
        stale = client.get(url)
    assertNotContains(stale, "altcha-widget")
    assertContains(stale, "잔여 <b>50</b>석", html=False)
    with time_machine.travel(now + datetime.timedelta(seconds=settings.CONCERT_PAGE_CACHE_SECONDS), tick=False):
        fresh = client.get(url)
    assertContains(fresh, "altcha-widget")
    assertContains(fresh, "잔여 <b>47</b>석", html=False)


def test_the_sale_opening_turns_the_pre_queue_box_into_the_date_list_at_once(shared, fan_client, concert_date):
    concert = concert_date.concert
    opening = timezone.now() + datetime.timedelta(minutes=5)
    Concert.objects.filter(pk=concert.pk).update(sale_opens_at=opening)
    url = f"/concerts/{concert.pk}/"
    with time_machine.travel(opening - datetime.timedelta(seconds=1), tick=False):
        before = fan_client.get(url)
    assertContains(before, 'data-testid="enter-prequeue"')
    assertNotContains(before, 'name="date"')
    with time_machine.travel(opening, tick=False):
        after = fan_client.get(url)
    assertContains(after, 'data-testid="sale-open"')
    assertContains(after, f'name="date" value="{concert_date.pk}"')
    assertNotContains(after, 'data-testid="enter-prequeue"')


@pytest.mark.parametrize("language", ["ko", "en"])
def test_anonymous_visitors_are_sent_to_log_in_and_back_from_the_shared_body(shared, client, concert_date, language):
    concert = concert_date.concert
    client.cookies["django_language"] = language
    url = f"/concerts/{concert.pk}/"
    client.get(url)
    page = client.get(url + "?utm_source=x").content.decode()
    assert f'href="/accounts/login/?next=/dates/{concert_date.pk}/seats/"' in page
    assert "csrfmiddlewaretoken" in page  # the layout's own forms (language, no log-out)
    assert 'name="date"' not in page
    _open_sale(concert, minutes=10)
    cache.clear()
    page = client.get(url).content.decode()
    assert f'href="/accounts/login/?next=/concerts/{concert.pk}/queue/"' in page
    assert ("사전 대기열" if language == "ko" else "pre-queue") in page


def _rendered(response):
    return [template.name for template in response.templates]


def test_the_challenges_widget_is_not_even_loaded_for_a_fan_with_nothing_to_solve(shared, concert_date):
    """Most visits of an open sale's page: the room asks no challenge (or the fan holds a place already)."""
    concert = concert_date.concert
    WaitingRoom.objects.update_or_create(concert=concert, defaults={"challenge_enabled": False})
    client = _fan_client(factories.UserFactory())
    client.get(f"/concerts/{concert.pk}/")
    response = client.get(f"/concerts/{concert.pk}/")
    assert "queueing/_challenge.html" in _rendered(response)
    assert "queueing/_challenge_widget.html" not in _rendered(response)
    assert "altcha-widget" not in response.content.decode()
    WaitingRoom.objects.filter(concert=concert).update(challenge_enabled=True)
    cache.clear()
    response = client.get(f"/concerts/{concert.pk}/")
    assert "queueing/_challenge_widget.html" in _rendered(response)
    assert "altcha-widget" in response.content.decode()
