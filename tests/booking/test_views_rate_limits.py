"""The seat map, hold and pay over their rate limits (config.ratelimit): 429 before the view does anything, so
a hold over the limit holds nothing and a payment over the limit charges nothing."""

import pytest

from booking.models import Payment, Reservation
from queueing import services as queue_services
from tests.support.checkout import pay_data
from tests.support.checks import assert_consistent, seat_snapshot
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


def test_the_seat_map_over_its_limit_is_a_429_page_that_links_to_itself(settings, fan_client, concert_date, admitted):
    set_limit(settings, "seat_map", account=2, ip=100)
    url = f"/dates/{concert_date.pk}/seats/"
    assert [fan_client.get(url).status_code for _ in range(2)] == [200, 200]
    refused = fan_client.get(url)
    assert refused.status_code == 429
    assert 'data-testid="rate-limited"' in refused.content.decode()
    assert f'href="{url}" data-testid="try-again"' in refused.content.decode()
    assert 'http-equiv="refresh"' not in refused.content.decode()  # no reload by itself (WCAG 2.2.1)


def test_a_hold_over_the_limit_holds_nothing(settings, fan_client, fan, concert_date, admitted):
    set_limit(settings, "hold", account=1, ip=100)
    assert fan_client.post(f"/dates/{concert_date.pk}/hold/", {"seats": ["1"]}).status_code == 302
    before = seat_snapshot(concert_date)
    refused = fan_client.post(f"/dates/{concert_date.pk}/hold/", {"seats": ["2", "3"]})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert seat_snapshot(concert_date) == before
    assert list(Reservation.objects.filter(user=fan).values_list("seat__seat_number", flat=True)) == [1]
    assert_consistent()


def test_a_payment_over_the_limit_charges_nothing(settings, fan_client, fan, concert_date, admitted, top_up, hold):
    set_limit(settings, "pay", account=1, ip=100)
    top_up(fan, 200_000)
    hold(fan, concert_date, 5)
    checkout = f"/checkout/{concert_date.pk}/"
    assert fan_client.post(checkout, {"idempotency_key": "not-a-key"}).status_code == 400  # counted all the same
    assert fan_client.get(checkout).status_code == 200  # the page itself is not counted
    before = seat_snapshot(concert_date)
    refused = fan_client.post(checkout, pay_data(user=fan, concert_date=concert_date))
    assert refused.status_code == 429
    assert not Payment.objects.exists()
    fan.refresh_from_db(fields=["balance"])
    assert fan.balance == 200_000
    assert seat_snapshot(concert_date) == before
    assert queue_services.poll_place(user=fan, concert=concert_date.concert).admitted  # still admitted
    assert_consistent()


def test_a_fan_booking_as_the_pages_do_never_meets_a_default_limit(fan_client, fan, concert_date, admitted, top_up):
    top_up(fan, 500_000)
    seats_url, checkout = f"/dates/{concert_date.pk}/seats/", f"/checkout/{concert_date.pk}/"
    statuses = [fan_client.get(seats_url).status_code for _ in range(10)]  # reloads
    statuses += [fan_client.post(f"/dates/{concert_date.pk}/hold/", {"seats": [str(n)]}).status_code for n in (1, 1)]
    statuses += [fan_client.get(checkout).status_code for _ in range(5)]
    statuses.append(fan_client.post(checkout, pay_data(user=fan, concert_date=concert_date)).status_code)
    assert 429 not in statuses
    assert Payment.objects.get().status == Payment.Status.SUCCESS
