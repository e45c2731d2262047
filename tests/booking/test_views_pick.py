"""The seat picker's form on the seat map (booking.views.pick): a plain form that works without JavaScript, holds the
best seats and goes to checkout, or shows the map again with a 4xx and the reason."""

import re

import pytest

from booking import services
from booking.models import Reservation
from concerts.pricing import PriceTier
from tests import factories
from tests.support.checks import seat_snapshot
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


def pick_url(concert_date):
    return f"/dates/{concert_date.pk}/pick/"


def held_by(fan):
    return sorted(Reservation.objects.filter(user=fan, status="HOLD").values_list("seat__seat_number", flat=True))


def test_the_map_has_the_picker_form_with_counts_up_to_what_the_fan_may_still_hold(fan_client, fan, admit):
    concert_date = factories.ConcertDateFactory(
        tiers=[PriceTier("VIP", 1, 10, 165_000), PriceTier("S", 11, 50, 99_000)]
    )
    admit(fan, concert_date.concert)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[30])
    html = fan_client.get(f"/dates/{concert_date.pk}/seats/").content.decode()
    form = html[html.index('data-testid="pick-form"') :]
    form = form[: form.index("</form>")]
    assert f'action="{pick_url(concert_date)}"' in html
    assert 'name="csrfmiddlewaretoken"' in form
    counts, prices = form.split('name="price"')
    assert re.findall(r'<option value="(\d+)"', counts) == ["1", "2", "3"]  # at most 4, and the fan has 1
    assert re.findall(r'<option value="(\d*)"', prices) == ["", "165000", "99000"]
    assert "좋은 좌석 자동 선택" in form  # the Korean page is in Korean


def test_a_fan_at_the_seat_limit_gets_no_picker(fan_client, fan, concert_date, admit):
    admit(fan, concert_date.concert)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1, 2, 3, 4])
    html = fan_client.get(f"/dates/{concert_date.pk}/seats/").content.decode()
    assert 'data-testid="pick-form"' not in html


@pytest.fixture
def admitted(fan, concert_date, admit):
    admit(fan, concert_date.concert)
    return concert_date


def test_a_pick_holds_the_best_seats_and_goes_to_checkout(fan_client, fan, admitted):
    concert_date = admitted
    response = fan_client.post(pick_url(concert_date), {"count": "2", "price": ""})
    assert response.status_code == 302 and response["Location"] == f"/checkout/{concert_date.pk}/"
    assert held_by(fan) == [4, 5]
    checkout = fan_client.get(response["Location"]).content.decode()
    assert "4, 5" in checkout


def test_when_nothing_fits_the_map_comes_back_with_a_409_and_the_reason(fan_client, fan, admitted):
    concert_date = admitted
    for number in range(2, 51, 2):
        services.hold_seats(user=factories.UserFactory(), concert_date=concert_date, seat_numbers=[number])
    before = seat_snapshot(concert_date)
    response = fan_client.post(pick_url(concert_date), {"count": "2"})
    assert response.status_code == 409
    html = response.content.decode()
    assert 'class="message message-error"' in html and 'data-testid="seat-grid"' in html
    assert seat_snapshot(concert_date) == before and held_by(fan) == []


@pytest.mark.parametrize(
    ("data", "status"),
    [({}, 400), ({"count": "two"}, 400), ({"count": "9"}, 400), ({"count": "2", "price": "-5"}, 400)],
)
def test_a_bad_pick_is_a_4xx_on_the_map_and_holds_nothing(fan_client, fan, admitted, data, status):
    response = fan_client.post(pick_url(admitted), data)
    assert response.status_code == status
    assert 'class="message message-error"' in response.content.decode()
    assert held_by(fan) == []


def test_a_fan_not_admitted_picks_nothing(fan_client, fan, concert_date):
    response = fan_client.post(pick_url(concert_date), {"count": "2"})
    assert response.status_code == 302 and "/queue/" in response["Location"]
    assert held_by(fan) == []


def test_picks_count_against_the_hold_limit(settings, fan_client, fan, admitted):
    set_limit(settings, "hold", account=1, ip=100)
    assert fan_client.post(pick_url(admitted), {"count": "1"}).status_code == 302
    assert fan_client.post(pick_url(admitted), {"count": "1"}).status_code == 429
    assert held_by(fan) == [5]
