"""The seat map page each process keeps (booking.seat_map_cache.SeatPage): the body around the grid rendered once
per date, seat version, language and fan state, and filled per request with the fan's own seats, choice and CSRF
token; every kind of seat change drops it as it drops the shared grid."""

import datetime
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.translation import override

from booking import seat_map_cache, seat_versions, services
from concerts import page_cache
from tests import factories
from tests.support.redis_commands import redis_sends, sends_naming

pytestmark = pytest.mark.django_db


def seats_url(concert_date):
    return f"/dates/{concert_date.pk}/seats/"


def statuses(html):
    return {int(number): status for status, number in re.findall(r'class="seat seat-(\w+)" data-seat="(\d+)"', html)}


def page_statuses(concert_date, **kwargs):
    """{seat: status} of the page this process serves now, as a fan without seats sees it."""
    page = seat_map_cache.seat_page(concert_date=concert_date, **kwargs)
    return statuses(page.fill(user_id=factories.UserFactory.build().pk, selected=(), csrf_token="t"))


@pytest.fixture
def warm(concert_date, django_assert_num_queries):
    """warm(): the page's seats, built into this process and checked to come from it (no query) before a change."""

    def read_twice():
        seat_map_cache.seat_page(concert_date=concert_date)
        with django_assert_num_queries(0):
            return page_statuses(concert_date)

    return read_twice


def fan_page(fan, concert_date, query=""):
    """(the fan's page, the CSRF token in its hold form, a client enforcing CSRF with the fan's session)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(fan)
    response = client.get(seats_url(concert_date) + query)
    assert response.status_code == 200
    html = response.content.decode()
    form = html[html.index('id="hold-form"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    return html, token, client


# --- two fans, one shared page -------------------------------------------------------------------


def test_fans_get_their_own_seats_panel_choice_and_csrf_token_from_one_shared_page(make_fan, concert_date, admit):
    full, paid_only, newcomer = make_fan(500_000), make_fan(500_000), make_fan()
    services.hold_seats(user=paid_only, concert_date=concert_date, seat_numbers=[9])
    services.pay(user=paid_only, concert_date=concert_date, idempotency_key="p")
    services.hold_seats(user=full, concert_date=concert_date, seat_numbers=[1, 2, 3, 4])
    for fan in (full, paid_only, newcomer):
        admit(fan, concert_date.concert)
    fan_page(newcomer, concert_date)  # builds the page: the others' come from it, reading no seat
    with CaptureQueriesContext(connection) as queries:
        seen = {
            "full": fan_page(full, concert_date),
            "paid_only": fan_page(paid_only, concert_date, "?seats=9&seats=10&seats=1"),
            "newcomer": fan_page(newcomer, concert_date, "?seats=10&seats=11"),
        }
    assert not [query for query in queries if "concerts_seat" in query["sql"]]

    html, _, _ = seen["full"]
    assert {n: s for n, s in statuses(html).items() if n in (1, 4, 9)} == {1: "MINE", 4: "MINE", 9: "RESERVED"}
    assert "이 회차에 예매할 수 있는 매수를 모두 채웠습니다." in html
    assert 'data-testid="hold-button"' not in html and f"/checkout/{concert_date.pk}/" in html

    html, _, _ = seen["paid_only"]
    assert {n: s for n, s in statuses(html).items() if n in (1, 4, 9)} == {1: "HELD", 4: "HELD", 9: "MINE"}
    assert re.findall(r'value="(\d+)" data-price="\d+" checked', html) == ["10"]  # 9 is theirs, 1 is taken
    assert 'data-empty="—">10</span>' in html and "data-selected-count>1 / 3<" in html
    assert 'data-testid="hold-button"' in html and f"/checkout/{concert_date.pk}/" not in html  # paid, none held

    html, _, _ = seen["newcomer"]
    assert {n: s for n, s in statuses(html).items() if n in (1, 4, 9)} == {1: "HELD", 4: "HELD", 9: "RESERVED"}
    assert re.findall(r'value="(\d+)" data-price="\d+" checked', html) == ["10", "11"]
    assert 'data-empty="—">10, 11</span>' in html and "data-selected-count>2 / 4<" in html
    assert "seat-MINE" not in html

    tokens = {name: token for name, (_, token, _) in seen.items()}
    assert len(set(tokens.values())) == 3
    # Each token is good for its own fan's session only.
    _, _, newcomer_client = seen["newcomer"]
    refused = newcomer_client.post(
        f"/dates/{concert_date.pk}/hold/", {"seats": ["10"], "csrfmiddlewaretoken": "x" * 64}
    )
    assert refused.status_code == 403
    held = newcomer_client.post(
        f"/dates/{concert_date.pk}/hold/", {"seats": ["10"], "csrfmiddlewaretoken": tokens["newcomer"]}
    )
    assert held.status_code == 302 and held["Location"] == f"/checkout/{concert_date.pk}/"


def test_the_page_is_kept_per_language(fan_client, concert_date, admitted, settings):
    korean = fan_client.get(seats_url(concert_date)).content.decode()
    fan_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = fan_client.get(seats_url(concert_date)).content.decode()
    assert "좌석 선택" in korean and "Choose seats" not in korean
    assert "Choose seats" in english and "좌석 선택" not in english
    fan_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    assert "좌석 선택" in fan_client.get(seats_url(concert_date)).content.decode()


def test_the_page_follows_a_settings_change(fan_client, concert_date, admitted, settings):
    assert "data-selected-count>0 / 4<" in fan_client.get(seats_url(concert_date)).content.decode()
    settings.MAX_SEATS_PER_USER = 2
    assert "data-selected-count>0 / 2<" in fan_client.get(seats_url(concert_date)).content.decode()


# --- every kind of seat change drops this process's page --------------------------------------------


def test_a_hold_drops_the_page(make_fan, concert_date, warm):
    assert warm()[5] == "AVAILABLE"
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    assert page_statuses(concert_date)[5] == "HELD"


def test_the_expiry_sweep_drops_the_page(make_fan, concert_date, warm, now):
    earlier = now - datetime.timedelta(seconds=240)
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5], now=earlier)
    assert warm()[5] == "HELD"
    services.expire_holds(now=now + datetime.timedelta(minutes=2))
    assert page_statuses(concert_date)[5] == "AVAILABLE"


def test_a_hold_that_runs_out_shows_free_on_the_page_before_any_sweep(make_fan, concert_date, warm):
    [hold] = services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    assert warm()[5] == "HELD"
    with time_machine.travel(hold.hold_expire_at + datetime.timedelta(milliseconds=1)):
        assert page_statuses(concert_date)[5] == "AVAILABLE"


def test_a_payment_and_a_cancellation_drop_the_page(funded_fan, concert_date, warm):
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[5])
    assert warm()[5] == "HELD"
    [reservation] = services.pay(user=funded_fan, concert_date=concert_date, idempotency_key="k").reservations
    assert page_statuses(concert_date)[5] == "RESERVED"
    services.cancel(user=funded_fan, reservation=reservation)
    assert page_statuses(concert_date)[5] == "AVAILABLE"


def test_a_staff_release_and_a_staff_refund_drop_the_page(paid, make_fan, concert_date, warm):
    [hold] = services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    assert (warm()[1], warm()[5]) == ("RESERVED", "HELD")
    services.release_hold(reservation=hold)
    assert page_statuses(concert_date)[5] == "AVAILABLE"
    assert warm()[1] == "RESERVED"
    services.refund_and_cancel(reservation=paid)
    assert page_statuses(concert_date)[1] == "AVAILABLE"


def test_cancelling_the_date_drops_the_page(paid, make_fan, concert_date, warm):
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    warm()
    cancellation = services.cancel_concert_date(concert_date=concert_date, reason="storm", enqueue=False)
    services.end_reservations_of_cancelled_date(cancellation=cancellation)
    after = page_statuses(concert_date)
    assert (after[1], after[5]) == ("AVAILABLE", "AVAILABLE")


def test_a_lost_version_key_is_never_matched_by_the_processs_page(make_fan, concert_date, warm):
    assert warm()[5] == "AVAILABLE"
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    cache.delete(seat_versions.version_key(concert_date.pk))
    assert page_statuses(concert_date)[5] == "HELD"


def test_with_the_cache_off_the_page_is_read_every_time(make_fan, concert_date, warm, settings):
    assert warm()[5] == "AVAILABLE"
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    settings.SEAT_MAP_CACHE_SECONDS = 0
    assert page_statuses(concert_date)[5] == "HELD"


def test_a_staff_change_of_the_head_rebuilds_the_page(fan_client, concert_date, admitted):
    assert "Seoul Jazz Night" in fan_client.get(seats_url(concert_date)).content.decode()
    concert = concert_date.concert
    concert.title = "Busan Jazz Night"
    concert.save()
    with override("ko"):
        page = seat_map_cache.seat_page(concert_date=type(concert_date).objects.select_related("concert").get())
    assert page.title.startswith("좌석 선택") and "Busan Jazz Night" in page.title
    assert "Busan Jazz Night" in page.fill(user_id=concert.pk, selected=(), csrf_token="t")


# --- the seat version comes with the date ------------------------------------------------------------


@pytest.fixture
def shared_date_copy(settings):
    settings.CONCERT_PAGE_CACHE_SECONDS = 5  # tests run with it off; the sale runs with it on


def test_the_seat_version_is_read_in_the_dates_round_trip(fan_client, concert_date, admitted, shared_date_copy):
    fan_client.get(seats_url(concert_date))  # the date's copy, the grid and this process's page made
    with redis_sends() as sent:
        response = fan_client.get(seats_url(concert_date))
    assert response.status_code == 200
    [read] = sends_naming(sent, seat_versions.version_key(concert_date.pk))
    assert page_cache.date_key(concert_date.pk).encode() in read  # one MGET of both, no GET of its own


def test_a_seat_change_reaches_the_page_with_the_shared_date_copy(
    fan_client, concert_date, admitted, shared_date_copy, make_fan
):
    assert statuses(fan_client.get(seats_url(concert_date)).content.decode())[5] == "AVAILABLE"
    assert statuses(fan_client.get(seats_url(concert_date)).content.decode())[5] == "AVAILABLE"  # from the copies
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    assert statuses(fan_client.get(seats_url(concert_date)).content.decode())[5] == "HELD"


def test_a_fan_not_admitted_is_still_refused_with_the_shared_date_copy(fan_client, concert_date, shared_date_copy):
    fan_client.get(seats_url(concert_date))
    response = fan_client.get(seats_url(concert_date))
    assert response.status_code == 302 and "/queue/" in response["Location"]
