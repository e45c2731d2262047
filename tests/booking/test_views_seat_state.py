"""The open seat map's poll (booking.views.seat_state): which seats are taken now, as JSON with an ETag made of the
date's seat version, answered 304 from the version alone while nothing changed; only for admitted fans."""

import datetime
import json
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import services
from tests import factories
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


def state_url(concert_date):
    return f"/dates/{concert_date.pk}/seats/state/"


def poll(client, concert_date, etag=None):
    headers = {"If-None-Match": etag} if etag else {}
    return client.get(state_url(concert_date), headers=headers)


def taken(response):
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)["taken"]


def seat_queries(queries):
    return [query["sql"] for query in queries if "concerts_seat" in query["sql"]]


def test_a_poll_whose_copy_is_still_true_is_a_304_that_reads_no_seat(fan_client, concert_date, admitted):
    first = poll(fan_client, concert_date)
    assert taken(first) == []
    assert first["Cache-Control"] == "private, no-cache"
    etag = first["ETag"]
    assert re.fullmatch(r'"[0-9a-f]+\.0"', etag)  # no live hold: nothing ends with time alone

    with CaptureQueriesContext(connection) as queries:
        again = poll(fan_client, concert_date, etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    assert seat_queries(queries) == []


def test_a_hold_a_release_and_a_payment_each_change_the_etag(fan_client, concert_date, admitted, make_fan):
    other = make_fan(500_000)
    etags = [poll(fan_client, concert_date)["ETag"]]

    def changed(expected_taken):
        response = poll(fan_client, concert_date, etags[-1])
        assert taken(response) == expected_taken  # a 200 with the new state: the old ETag no longer holds
        assert response["ETag"] not in etags
        etags.append(response["ETag"])
        assert poll(fan_client, concert_date, etags[-1]).status_code == 304

    [held] = services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[7])
    changed([7])
    services.release_hold(reservation=held)
    changed([])
    services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[9, 10])
    changed([9, 10])
    services.pay(user=other, concert_date=concert_date, idempotency_key="state-pay")
    changed([9, 10])  # sold now: the same seats taken, a new version all the same


def test_the_end_of_a_hold_makes_the_copy_untrue_without_any_write(fan_client, concert_date, admitted, make_fan):
    now = timezone.now()
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[3], now=now)
    with time_machine.travel(now + datetime.timedelta(seconds=1), tick=False):
        response = poll(fan_client, concert_date)
        assert taken(response) == [3]
        etag = response["ETag"]
        assert not etag.endswith('.0"')  # carries the hold's end
        assert poll(fan_client, concert_date, etag).status_code == 304
    # The hold has run out; no sweep ran, so the seat version is the same, but the copy is not true any more.
    with time_machine.travel(now + datetime.timedelta(seconds=301), tick=False):
        after = poll(fan_client, concert_date, etag)
        assert taken(after) == []
        assert after["ETag"] != etag


def test_an_etag_of_another_version_or_a_made_up_one_gets_the_state(fan_client, concert_date, admitted):
    for sent in ('"0123456789abcdef.0"', "*", "garbage", 'W/"x.1", "y.2"'):
        assert taken(poll(fan_client, concert_date, sent)) == []


def test_the_seat_map_page_carries_the_etag_its_first_poll_gets_a_304_with(fan_client, concert_date, admitted):
    html = fan_client.get(f"/dates/{concert_date.pk}/seats/").content.decode()
    assert f'data-state-url="{state_url(concert_date)}"' in html
    etag = re.search(r'data-state-etag="([^"]*)"', html).group(1).replace("&quot;", '"')
    assert etag
    assert poll(fan_client, concert_date, etag).status_code == 304


def test_a_fan_not_admitted_gets_a_403_with_the_waiting_room_and_no_message(fan_client, fan, concert_date):
    refused = poll(fan_client, concert_date)
    assert refused.status_code == 403
    body = json.loads(refused.content)
    assert body == {"admitted": False, "next_url": f"/concerts/{concert_date.concert.pk}/queue/"}
    # No "join the waiting room first" queued for the fan's next page: a script asked, nobody read it.
    assert "data-testid" not in refused.content.decode()
    page = fan_client.get(f"/concerts/{concert_date.concert.pk}/")
    assert 'class="messages"' not in page.content.decode()


def test_another_concerts_admission_does_not_open_this_dates_state(fan_client, fan, concert_date, admit):
    admit(fan, factories.ConcertDateFactory().concert)
    assert poll(fan_client, concert_date).status_code == 403


def test_an_anonymous_poll_is_sent_to_log_in_and_gets_no_state(client, concert_date):
    response = poll(client, concert_date)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_unknown_date_is_a_404(fan_client, admitted):
    assert fan_client.get("/dates/00000000-0000-0000-0000-000000000000/seats/state/").status_code == 404


def test_only_get_and_head_are_answered(fan_client, concert_date, admitted):
    assert fan_client.post(state_url(concert_date)).status_code == 405


def test_polls_over_their_own_limit_are_a_json_429_and_the_seat_map_is_not_counted(
    settings, fan_client, concert_date, admitted
):
    set_limit(settings, "seat_state", account=2, ip=100)
    assert [poll(fan_client, concert_date).status_code for _ in range(2)] == [200, 200]
    refused = poll(fan_client, concert_date)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused["Content-Type"].startswith("application/json")
    assert fan_client.get(f"/dates/{concert_date.pk}/seats/").status_code == 200  # a limit of its own
