"""The draw's public page and download at the opening: once drawn a record never changes, so both carry an ETag
and answer 304 to a client that has it; the download, the same for everyone, may be kept by any cache; before the
draw nobody keeps either. Both are rate limited per client address (RATE_LIMIT_DRAW)."""

import datetime

import pytest
from django.urls import reverse

from concerts.models import Concert
from queueing import services, views
from tests.factories import UserFactory
from tests.support.draws import run_a_draw, sale_opening_soon
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


def page_url(concert):
    return reverse("queueing:draw", kwargs={"concert_id": concert.pk})


def json_url(concert):
    return reverse("queueing:draw_json", kwargs={"concert_id": concert.pk})


@pytest.fixture
def drawn(db):
    return run_a_draw(entrants=3, leavers=0, later=1)


def test_a_drawn_download_has_an_etag_any_cache_may_keep_and_a_304_for_it(client, drawn):
    response = client.get(json_url(drawn.concert))
    assert response.status_code == 200
    etag = response["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert set(response["Cache-Control"].split(", ")) == {"public", f"max-age={views.DRAWN_MAX_AGE_SECONDS}"}
    assert "Cookie" not in response.get("Vary", "")  # one answer for everyone: a shared cache keeps one copy
    assert "Set-Cookie" not in response

    again = client.get(json_url(drawn.concert), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert (again["ETag"], again["Cache-Control"]) == (etag, response["Cache-Control"])
    assert client.head(json_url(drawn.concert), HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(json_url(drawn.concert), HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_a_304_reads_no_entries(client, drawn, django_assert_max_num_queries):
    etag = client.get(json_url(drawn.concert))["ETag"]
    with django_assert_max_num_queries(2):  # the concert and its room
        assert client.get(json_url(drawn.concert), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_retitling_the_concert_changes_the_downloads_etag(client, drawn):
    etag = client.get(json_url(drawn.concert))["ETag"]
    Concert.objects.filter(pk=drawn.concert.pk).update(title="Renamed")
    response = client.get(json_url(drawn.concert), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_a_drawn_page_answers_304_to_the_same_visitor_in_the_same_language_only(client, drawn):
    client.cookies["django_language"] = "en"
    first = client.get(page_url(drawn.concert))
    etag = first["ETag"]
    # The page carries the visitor's own header (name, balance, CSRF token): kept by their browser only, and
    # checked each time.
    assert set(first["Cache-Control"].split(", ")) == {"private", "no-cache"}
    assert client.get(page_url(drawn.concert), HTTP_IF_NONE_MATCH=etag).status_code == 304

    client.cookies["django_language"] = "ko"
    assert client.get(page_url(drawn.concert), HTTP_IF_NONE_MATCH=etag).status_code == 200
    client.cookies["django_language"] = "en"
    client.force_login(UserFactory())
    signed_in = client.get(page_url(drawn.concert), HTTP_IF_NONE_MATCH=etag)
    assert signed_in.status_code == 200
    assert signed_in["ETag"] != etag


def test_before_the_draw_neither_has_an_etag_nor_is_kept(client):
    concert = sale_opening_soon()
    services.join(user=UserFactory(), concert=concert, now=concert.sale_opens_at - datetime.timedelta(minutes=1))
    for url in (page_url(concert), json_url(concert)):
        response = client.get(url)
        assert response.status_code == 200
        assert "ETag" not in response
        assert "no-cache" in response["Cache-Control"]
        assert "public" not in response["Cache-Control"]


def test_the_page_and_the_download_are_rate_limited_per_address(settings, client, drawn):
    set_limit(settings, "draw", account=0, ip=3)
    answers = [
        client.get(page_url(drawn.concert)).status_code,
        client.get(json_url(drawn.concert)).status_code,
        client.head(json_url(drawn.concert)).status_code,
    ]
    assert answers == [200, 200, 200]
    refused = client.get(json_url(drawn.concert))
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    page = client.get(page_url(drawn.concert))
    assert page.status_code == 429
    assert 'data-testid="rate-limited"' in page.content.decode()
    assert client.get(page_url(drawn.concert), REMOTE_ADDR="198.51.100.20").status_code == 200  # elsewhere
