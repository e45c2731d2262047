"""The concert list and a concert's page: what is on sale, dates with seats left, the sale countdown."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from booking import services as booking_services
from concerts.models import Concert
from tests import factories

pytestmark = pytest.mark.django_db


def test_home_lists_concerts_on_sale_and_coming_up(client):
    now = timezone.now()
    factories.ConcertFactory(title="Neon Harbor")
    factories.ConcertFactory(title="Aurora Skies", sale_opens_at=now + datetime.timedelta(days=2))
    factories.ConcertFactory(
        title="Last Year's Show",
        start_time=now - datetime.timedelta(days=30),
        end_time=now - datetime.timedelta(days=29),
        sale_opens_at=now - datetime.timedelta(days=60),
    )
    response = client.get("/")
    assert response.status_code == 200
    on_sale = [c.title for c in response.context["on_sale"]]
    coming_up = [c.title for c in response.context["coming_up"]]
    assert on_sale == ["Neon Harbor"]
    assert coming_up == ["Aurora Skies"]
    assertContains(response, "지금 예매 중")
    assertContains(response, "티켓 오픈")  # the coming-up card says when the sale opens
    assertNotContains(response, "Last Year")


@pytest.mark.parametrize("concert_count", [1, 12])
def test_home_runs_a_fixed_number_of_queries(client, fan, concert_count, django_assert_max_num_queries):
    for _ in range(concert_count):
        concert = factories.ConcertFactory()
        factories.ConcertDateFactory(concert=concert)
    client.force_login(fan)
    # session, user, concerts with their date counts
    with django_assert_max_num_queries(3):
        response = client.get("/")
    assert len(response.context["on_sale"]) == concert_count


def test_concert_page_shows_dates_with_seats_left_and_a_book_button(fan_client, concert_date, fan, hold):
    other = factories.UserFactory()
    hold(other, concert_date, 1, 2, 3)
    response = fan_client.get(f"/concerts/{concert_date.concert.pk}/")
    assert response.status_code == 200
    assertContains(response, "Seoul Jazz Night")
    assertContains(response, "잔여 <b>47</b>석", html=False)
    # Booking a date posts to the concert's waiting room with that date.
    assertContains(response, f'action="/concerts/{concert_date.concert.pk}/queue/"')
    assertContains(response, f'name="date" value="{concert_date.pk}"')
    assertContains(response, "예매하기")


def test_concert_page_shows_no_developer_comment(client, concert_date):
    for language in ("ko", "en"):
        client.cookies["django_language"] = language
        response = client.get(f"/concerts/{concert_date.concert.pk}/")
        assertNotContains(response, "CONCERT_PAGE_CACHE_SECONDS")
        for syntax in ("{#", "#}", "{%", "{{"):
            assertNotContains(response, syntax)


def test_concert_page_shares_its_date_list_for_a_moment(
    fan_client, concert_date, hold, settings, django_assert_max_num_queries
):
    """At a sale's opening every fan reloads this page: the list of dates is rendered once per moment."""
    from django.core.cache import cache

    settings.CONCERT_PAGE_CACHE_SECONDS = 60
    cache.clear()
    url = f"/concerts/{concert_date.concert.pk}/"
    assertContains(fan_client.get(url), "잔여 <b>50</b>석", html=False)
    hold(factories.UserFactory(), concert_date, 1, 2)
    # session, user, concert, its waiting room (is the entry challenge on?): the dates and their seat counts
    # come from the cache
    with django_assert_max_num_queries(4):
        cached = fan_client.get(url)
    assertContains(cached, "잔여 <b>50</b>석", html=False)
    assertContains(cached, f'name="date" value="{concert_date.pk}"')
    assertContains(cached, "csrfmiddlewaretoken")  # the token is the fan's own, outside the shared list
    # Another kind of visitor gets a list of its own: anonymous visitors are asked to log in.
    fan_client.logout()
    anonymous = fan_client.get(url)
    assertContains(anonymous, "로그인하고 예매하기")
    assertNotContains(anonymous, 'name="date"')
    assertContains(anonymous, "잔여 <b>48</b>석", html=False)
    cache.clear()


@pytest.mark.parametrize("sale", ["open", "pre-queue"])
def test_concert_page_from_the_shared_copies_reads_nothing_but_the_fan(
    client, fan, concert_date, settings, sale, django_assert_num_queries
):
    """At a sale's opening: the concert (with its waiting room) and its page's body (top, pre-queue box with the
    draw's commitment, date list) are shared, so an anonymous visitor costs no query and a fan only their session
    and user row (Django's own)."""
    from django.core.cache import cache

    concert = concert_date.concert
    if sale == "pre-queue":
        Concert.objects.filter(pk=concert.pk).update(sale_opens_at=timezone.now() + datetime.timedelta(minutes=10))
    settings.CONCERT_PAGE_CACHE_SECONDS = 60
    cache.clear()
    url = f"/concerts/{concert.pk}/"
    client.get(url)
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200
    client.force_login(fan)
    client.get(url)
    with django_assert_num_queries(2):
        page = client.get(url)
    assertContains(page, "csrfmiddlewaretoken")
    cache.clear()


def test_concert_page_without_the_shared_copies_reads_the_concert_and_its_dates(
    client, concert_date, django_assert_num_queries
):
    with django_assert_num_queries(2):  # the concert with its waiting room, the dates with their seats left
        assert client.get(f"/concerts/{concert_date.concert.pk}/").status_code == 200


def test_concert_page_top_is_shared_once_the_sale_is_open_and_keeps_each_language(client, concert_date, settings):
    from django.core.cache import cache

    settings.CONCERT_PAGE_CACHE_SECONDS = 60
    cache.clear()
    url = f"/concerts/{concert_date.concert.pk}/"
    for language, on_sale in (("ko", "지금 예매 중"), ("en", "On sale"), ("ko", "지금 예매 중")):
        client.cookies["django_language"] = language
        assertContains(client.get(url), on_sale)
    cache.clear()


def test_concert_page_shares_one_date_list_whatever_the_query_string(fan_client, concert_date, settings):
    """A marketing link or a bot's ?r=<n> must not defeat the cache: the shared list is keyed by what it
    shows (concert, language, sale open, logged in or not), not by the URL it was asked for."""
    import redis
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()  # anonymous (fan_client is the logged-in `client` fixture)
    settings.CONCERT_PAGE_CACHE_SECONDS = 60
    cache.clear()
    url = f"/concerts/{concert_date.concert.pk}/"
    with CaptureQueriesContext(connection) as queries:
        for visitor in (client, fan_client):
            for query_string in ("", "?utm_source=newsletter", "?r=1", "?r=2&utm_campaign=opening"):
                response = visitor.get(url + query_string)
                assertContains(response, "잔여 <b>50</b>석", html=False)
    dates_queries = [q["sql"] for q in queries.captured_queries if 'FROM "concerts_concertdate"' in q["sql"]]
    # One render per kind of visitor (anonymous, logged in), not one per URL.
    assert len(dates_queries) == 2, dates_queries
    page_keys = redis.Redis.from_url(settings.REDIS_URL).keys("*concerts:page:*")
    assert len(page_keys) == 2, page_keys
    # The anonymous list's log-in link returns to booking that date, never to a visitor's query string.
    anonymous = client.get(url + "?utm_source=newsletter").content.decode()
    date_list = anonymous[anonymous.index('data-testid="dates"') :]
    assert f'href="/accounts/login/?next=/dates/{concert_date.pk}/seats/"' in date_list
    assert "utm_source" not in date_list
    assert "{#" not in anonymous and "#}" not in anonymous
    cache.clear()


def test_concert_page_asks_anonymous_visitors_to_log_in(client, concert_date):
    response = client.get(f"/concerts/{concert_date.concert.pk}/")
    assertContains(response, "로그인하고 예매하기")
    assertContains(response, f"/accounts/login/?next=/dates/{concert_date.pk}/seats/")
    assertNotContains(response, 'name="date"')


def _log_in_to_book_link(client, concert_date):
    page = client.get(f"/concerts/{concert_date.concert.pk}/").content.decode()
    links = re.findall(r'href="(/accounts/login/\?next=[^"]*)"[^>]*>로그인하고 예매하기<', page)
    assert len(links) == 1
    return links[0]


def _join_and_choose_seats(client, concert_date, response):
    """From the page a log-in or sign-up ended on: the date's waiting room, then its seat map."""
    seats = f"/dates/{concert_date.pk}/seats/"
    room = f"/concerts/{concert_date.concert.pk}/queue/"
    assert response.redirect_chain[0] == (seats, 302)  # straight to booking that date
    assert response.request["PATH_INFO"] == room  # the gate asks the fan to join first ...
    assertContains(response, f'name="next" value="{seats}"')  # ... and keeps the date
    joined = client.post(room, {"next": seats}, follow=True)
    assert joined.redirect_chain == [(seats, 302)]
    assertContains(joined, 'name="seats"')


def test_log_in_to_book_a_date_comes_back_to_booking_that_date(client, concert_date):
    fan = factories.UserFactory(email="booker@example.com")
    link = _log_in_to_book_link(client, concert_date)

    response = client.post(link, {"username": fan.email, "password": "correct-horse-battery"}, follow=True)

    _join_and_choose_seats(client, concert_date, response)


def test_signing_up_from_log_in_to_book_comes_back_to_booking_that_date(
    client, concert_date, django_capture_on_commit_callbacks
):
    login_page = client.get(_log_in_to_book_link(client, concert_date)).content.decode()
    signup_link = re.search(r'href="(/accounts/signup/\?next=[^"]*)"', login_page).group(1)
    password = "violet-harbor-2931"

    with django_capture_on_commit_callbacks(execute=True):
        data = {"email": "new@example.com", "name": "새 팬", "password1": password, "password2": password}
        client.post(signup_link, data)
    # The waiting room lets in verified addresses: the link mailed at sign-up keeps the date too.
    [message] = mail.outbox
    verify_link = re.search(r"https?://[^/\s]+(/accounts/email/verify/\S+)", message.body).group(1)
    response = client.post(verify_link, follow=True)

    _join_and_choose_seats(client, concert_date, response)


def test_concert_page_counts_down_to_the_prequeue_before_it_opens(fan_client, settings):
    now = timezone.now()
    concert = factories.ConcertFactory(sale_opens_at=now + datetime.timedelta(hours=2, minutes=3))
    factories.ConcertDateFactory(concert=concert)
    response = fan_client.get(f"/concerts/{concert.pk}/")
    assertContains(response, "사전 대기열 오픈까지")
    seconds = int(re.search(rb'data-countdown-seconds="(\d+)"', response.content)[1])
    to_prequeue = 2 * 3600 + 3 * 60 - settings.PREQUEUE_MINUTES * 60
    assert to_prequeue - 60 < seconds <= to_prequeue
    assertContains(response, "1:3")  # the no-JS text of the countdown, e.g. 1:32:59
    assertNotContains(response, "data-countdown-reload")  # never reloads at zero
    assertNotContains(response, 'data-testid="enter-prequeue"')
    assertContains(response, "오픈 전")  # dates are listed but cannot be booked yet
    assertNotContains(response, 'name="date"')


def test_concert_page_marks_a_sold_out_date(fan_client, concert_date, top_up):
    for first in range(1, 51, 4):
        numbers = list(range(first, min(first + 4, 51)))
        # Each buyer may hold 4 seats of a date: use a new buyer for each block of seats.
        booker = factories.UserFactory()
        top_up(booker, 1_000_000)
        booking_services.hold_seats(user=booker, concert_date=concert_date, seat_numbers=numbers)
        booking_services.pay(user=booker, concert_date=concert_date, idempotency_key=f"k{first}")
    response = fan_client.get(f"/concerts/{concert_date.concert.pk}/")
    assertContains(response, "매진")
    assertNotContains(response, 'name="date"')


def test_concert_page_leaves_out_dates_that_have_passed(fan_client):
    now = timezone.now()
    concert = factories.ConcertFactory(
        start_time=now - datetime.timedelta(days=2), end_time=now + datetime.timedelta(days=5)
    )
    factories.ConcertDateFactory(concert=concert, concert_date=timezone.localdate(now) - datetime.timedelta(days=1))
    upcoming = factories.ConcertDateFactory(
        concert=concert, concert_date=timezone.localdate(now) + datetime.timedelta(days=3)
    )
    response = fan_client.get(f"/concerts/{concert.pk}/")
    assert [d.pk for d in response.context["dates"]] == [upcoming.pk]


@pytest.mark.parametrize("date_count", [1, 8])
def test_concert_page_runs_a_fixed_number_of_queries(fan_client, date_count, django_assert_max_num_queries):
    concert = factories.ConcertFactory()
    start = timezone.localdate(concert.start_time)
    for day in range(date_count):
        factories.ConcertDateFactory(concert=concert, concert_date=start + datetime.timedelta(days=day))
    # session, user, concert, its waiting room (is the entry challenge on?), dates with seat counts
    with django_assert_max_num_queries(5):
        response = fan_client.get(f"/concerts/{concert.pk}/")
    assert len(response.context["dates"]) == date_count


def test_unknown_concert_is_the_sites_404_page(client):
    response = client.get("/concerts/00000000-0000-0000-0000-000000000000/")
    assertContains(response, "페이지를 찾을 수 없습니다", status_code=404)
    assertContains(response, 'class="site-header"', status_code=404)  # in the site's layout
    assert not Concert.objects.exists()
