"""The sale's opening and its pre-queue's, on the concert's admin page: staff move them freely until the sale
opens; from then on neither moves (the pre-queue was drawn at the opening), and the page says why."""

import datetime
import html

import pytest
from django.urls import reverse
from django.utils import timezone

from concerts.models import Concert
from tests.factories import ConcertDateFactory
from tests.support.browser import form_data

pytestmark = pytest.mark.django_db

REFUSED_EN = "neither its opening nor the pre-queue's can be changed"
REFUSED_KO = "티켓 오픈 일시와 사전 대기열 오픈 일시를 더 이상 바꿀 수 없습니다"


@pytest.fixture(autouse=True)
def _utc(settings):
    settings.TIME_ZONE = "UTC"  # the form's date and time fields, as typed below


def concert_opening_in(delta):
    date = ConcertDateFactory()
    concert = date.concert
    Concert.objects.filter(pk=concert.pk).update(
        sale_opens_at=(timezone.now() + delta).replace(microsecond=0, second=0)
    )
    concert.refresh_from_db()
    return concert


def post_change(client, concert, language="en", **moved):
    client.cookies["django_language"] = language
    url = reverse("admin:concerts_concert_change", args=[concert.pk])
    data = form_data(client.get(url), "concert_form")
    for field, moment in moved.items():
        data[f"{field}_0"], data[f"{field}_1"] = moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")
    return client.post(url, data)


@pytest.mark.parametrize("field", ["sale_opens_at", "prequeue_opens_at"])
def test_once_the_sale_has_opened_neither_opening_moves(staff_client, field):
    concert = concert_opening_in(-datetime.timedelta(minutes=5))
    before = (concert.sale_opens_at, concert.prequeue_opens_at)
    moved = {  # each a time the concert would otherwise accept
        "sale_opens_at": timezone.now() + datetime.timedelta(days=1),
        "prequeue_opens_at": concert.sale_opens_at - datetime.timedelta(hours=2),
    }

    response = post_change(staff_client, concert, **{field: moved[field]})

    assert response.status_code == 200
    assert REFUSED_EN in html.unescape(response.content.decode())
    concert.refresh_from_db()
    assert (concert.sale_opens_at, concert.prequeue_opens_at) == before


def test_the_refusal_is_in_korean_for_korean_staff(staff_client):
    concert = concert_opening_in(-datetime.timedelta(minutes=5))
    response = post_change(staff_client, concert, "ko", sale_opens_at=timezone.now() + datetime.timedelta(days=1))
    assert response.status_code == 200
    assert REFUSED_KO in html.unescape(response.content.decode())


def test_after_the_opening_the_rest_of_the_concert_can_still_be_edited(staff_client):
    concert = concert_opening_in(-datetime.timedelta(minutes=5))
    url = reverse("admin:concerts_concert_change", args=[concert.pk])
    data = form_data(staff_client.get(url), "concert_form")
    data["title"] = "New title"
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    concert.refresh_from_db()
    assert concert.title == "New title"


def test_before_the_opening_staff_move_both_even_while_the_prequeue_is_open(staff_client, settings):
    settings.PREQUEUE_MINUTES = 90
    concert = concert_opening_in(datetime.timedelta(hours=1))
    assert concert.is_in_prequeue()
    later = concert.sale_opens_at + datetime.timedelta(days=1)
    earlier = later - datetime.timedelta(hours=2)

    response = post_change(staff_client, concert, sale_opens_at=later, prequeue_opens_at=earlier)

    assert response.status_code == 302, response.content.decode()[:2000]
    concert.refresh_from_db()
    assert (concert.sale_opens_at, concert.prequeue_opens_at) == (
        later.replace(microsecond=0),
        earlier.replace(microsecond=0),
    )
