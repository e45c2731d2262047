"""Joining the waiting room and polling its status over their rate limits (config.ratelimit): a join over
the limit joins nothing; the poll answers JSON the page's script can read."""

import pytest
from django.urls import reverse

from queueing import services
from queueing.models import QueueEntryHistory
from tests.factories import ConcertDateFactory
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


@pytest.fixture
def concert(db):
    return ConcertDateFactory().concert


def test_a_join_over_the_limit_joins_nothing(settings, fan_client, fan, concert):
    set_limit(settings, "queue_join", account=1, ip=100)
    url = reverse("queueing:room", kwargs={"concert_id": concert.pk})
    assert fan_client.post(url).status_code == 302
    services.leave(user=fan, concert=concert)
    refused = fan_client.post(url)
    assert refused.status_code == 429
    assert 'data-testid="rate-limited"' in refused.content.decode()
    assert services.poll_place(user=fan, concert=concert) is None
    assert QueueEntryHistory.objects.filter(user=fan).count() == 1  # the first join only


def test_the_waiting_room_page_is_not_counted_as_joining(settings, fan_client, concert):
    set_limit(settings, "queue_join", account=1, ip=1)
    url = reverse("queueing:room", kwargs={"concert_id": concert.pk})
    assert [fan_client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    assert fan_client.post(url).status_code == 302


def test_the_status_poll_over_its_limit_answers_json(settings, fan_client, fan, concert):
    set_limit(settings, "queue_status", account=3, ip=100)
    services.join(user=fan, concert=concert)
    url = reverse("queueing:status", kwargs={"concert_id": concert.pk})
    assert [fan_client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = fan_client.get(url)
    assert refused.status_code == 429
    assert refused.json() == {
        "error": refused.json()["error"],
        "code": "rate_limited",
        "retry_after": int(refused["Retry-After"]),
    }


def test_polling_every_three_seconds_from_two_tabs_for_a_minute_stays_under_the_default(fan_client, fan, concert):
    services.join(user=fan, concert=concert)
    url = reverse("queueing:status", kwargs={"concert_id": concert.pk})
    assert {fan_client.get(url).status_code for _ in range(2 * 20)} == {200}
