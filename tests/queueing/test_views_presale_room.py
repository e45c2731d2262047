"""A fan-club presale's waiting room through the pages: the presale page leads its listed fans in, the room says
whose sale it serves and turns away fans not on the list before any entry challenge is spent, and the draw page
keeps each presale's draw to check once the room has moved on to the general sale."""

import datetime
import json
import uuid

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from concerts.models import PresaleEmail
from queueing import selectors, services
from queueing.models import SaleDraw
from tests.factories import ConcertDateFactory, ConcertFactory, PresaleFactory, UserFactory

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def presale():
    start = timezone.now().replace(microsecond=0)
    concert = ConcertDateFactory(concert=ConcertFactory(sale_opens_at=start + 48 * HOUR)).concert
    return PresaleFactory(
        concert=concert,
        name="Blue Moon Club",
        opens_at=start + 2 * HOUR,
        closes_at=start + 4 * HOUR,
        quota=4,
        access="EMAILS",
    )


def listed_fan(presale):
    fan = UserFactory()
    PresaleEmail.objects.create(presale=presale, email=fan.email.lower())
    return fan


def room(concert):
    return reverse("queueing:room", kwargs={"concert_id": concert.pk})


def test_the_presale_page_tells_a_listed_fan_when_its_room_opens_then_leads_them_in(client, presale):
    client.force_login(listed_fan(presale))
    url = reverse("concerts:presale", kwargs={"concert_id": presale.concert_id, "presale_id": presale.pk})
    page = client.get(url).content.decode()
    assert 'data-testid="presale-room-opens"' in page and 'data-testid="presale-enter-room"' not in page
    with time_machine.travel(presale.opens_at - 10 * MINUTE, tick=False):
        page = client.get(url).content.decode()
    assert f'href="{room(presale.concert)}" data-testid="presale-enter-room"' in page


def test_the_room_names_the_presale_and_lets_a_listed_fan_into_its_prequeue(client, presale):
    fan = listed_fan(presale)
    client.force_login(fan)
    with time_machine.travel(presale.opens_at - 10 * MINUTE, tick=False):
        page = client.get(room(presale.concert)).content.decode()
        assert "Fan-club presale: Blue Moon Club" in page and 'data-testid="join-queue"' in page
        services.join(user=fan, concert=presale.concert)
        page = client.get(room(presale.concert)).content.decode()
    assert "You are in the pre-queue" in page and "Fan-club presale: Blue Moon Club" in page


def test_a_fan_not_on_the_list_is_told_when_the_general_room_opens_and_cannot_join(client, presale):
    client.force_login(UserFactory())
    with time_machine.travel(presale.opens_at - 10 * MINUTE, tick=False):
        page = client.get(room(presale.concert)).content.decode()
        posted = client.post(room(presale.concert), {"altcha": "not even a solution"})
    assert 'data-testid="presale-only"' in page and 'data-testid="join-queue"' not in page
    assert "Everyone may join the general sale's waiting room from" in page
    assert posted.status_code == 403
    assert "The general sale&#x27;s waiting room opens at" in posted.content.decode()
    assert not services.poll_place(user=posted.wsgi_request.user, concert=presale.concert, now=presale.opens_at)


def test_the_draw_page_keeps_a_presale_draw_to_check_after_the_room_moved_on(client, presale):
    concert = presale.concert
    fans = [listed_fan(presale) for _ in range(3)]
    for i, fan in enumerate(fans):
        services.join(user=fan, concert=concert, now=presale.opens_at - 10 * MINUTE + i * datetime.timedelta(seconds=1))
    services.admit_all_due(now=presale.opens_at + MINUTE)
    with time_machine.travel(concert.prequeue_starts_at + MINUTE, tick=False):
        current = client.get(reverse("queueing:draw", kwargs={"concert_id": concert.pk})).content.decode()
    kept = SaleDraw.objects.get(concert=concert)  # the first visitor of the general sale's draw moved the room on
    assert 'data-testid="past-draws"' in current and f"?presale={presale.pk}" in current
    url = reverse("queueing:draw", kwargs={"concert_id": concert.pk})
    page = client.get(url, {"presale": str(presale.pk)}).content.decode()
    assert "Fan-club presale: Blue Moon Club" in page and kept.seed in page
    receipts = [receipt for receipt, _ in selectors.draw_entries(concert, presale_id=presale.pk)]
    assert len(receipts) == 3 and all(receipt in page for receipt in receipts)
    download = client.get(reverse("queueing:draw_json", kwargs={"concert_id": concert.pk}), {"presale": presale.pk})
    body = json.loads(b"".join(download.streaming_content))
    assert body["presale"] == str(presale.pk) and body["seed"] == kept.seed and len(body["entries"]) == 3
    assert client.get(url, {"presale": str(uuid.uuid4())}).status_code == 404
    assert client.get(url, {"presale": "nope"}).status_code == 404
    call_command("verify_draw", str(concert.pk), "--presale", str(presale.pk))  # exit 0: it checks


def test_a_listed_fan_admitted_from_the_presale_room_books_through_the_seat_map(client, presale):
    fan = listed_fan(presale)
    client.force_login(fan)
    concert = presale.concert
    date = concert.dates.get()
    with time_machine.travel(presale.opens_at - 10 * MINUTE, tick=False):
        services.join(user=fan, concert=concert)
    with time_machine.travel(presale.opens_at + MINUTE, tick=False):
        services.admit_all_due()
        seats = client.get(reverse("booking:seats", kwargs={"date_id": date.pk}))
        held = client.post(reverse("booking:hold", kwargs={"date_id": date.pk}), {"seats": ["7"]})
    assert seats.status_code == 200
    assert held.status_code == 302 and held["Location"] == reverse("booking:checkout", kwargs={"date_id": date.pk})
    assert fan.reservations.get().presale_id == presale.pk


def test_the_admin_shows_the_room_s_sale_its_visits_and_kept_draws_even_once_the_presale_is_deleted(
    staff_client, presale
):
    concert = presale.concert
    fan = listed_fan(presale)
    services.join(user=fan, concert=concert, now=presale.opens_at - 10 * MINUTE)
    room_page = staff_client.get(reverse("admin:queueing_waitingroom_change", args=[concert.pk]))
    assert room_page.status_code == 200 and "Blue Moon Club" in room_page.content.decode()
    after = concert.prequeue_starts_at + MINUTE
    services.move_on(concert=concert, sale=services.current_sale(concert, after), now=after)
    presale.delete()  # staff delete the presale afterwards: its visits and draw record stay
    visits = staff_client.get(reverse("admin:queueing_queueentryhistory_changelist"))
    draws = staff_client.get(reverse("admin:queueing_saledraw_changelist"))
    assert visits.status_code == 200 and fan.email in visits.content.decode()
    assert draws.status_code == 200 and "Blue Moon Club" in draws.content.decode()
    kept = SaleDraw.objects.get()
    assert staff_client.get(reverse("admin:queueing_saledraw_change", args=[kept.pk])).status_code == 200
