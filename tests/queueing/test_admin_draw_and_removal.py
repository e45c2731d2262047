"""Staff's side of the pre-queue: the waiting-room admin shows the pre-queue, the draw and the addresses with the
most live places; staff remove a fan from a queue with a reason (recorded with who and why); the concert's
pre-queue opening is editable, and a time not before the sale is a form error."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse

from config.ratelimit import RateLimited, check_rate_limit
from queueing import services
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.factories import StaffFactory, UserFactory
from tests.support.draws import run_a_draw, sale_opening_soon
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def staff_member(db):
    return StaffFactory()


@pytest.fixture
def staff_client(client, staff_member):
    client.force_login(staff_member)
    return client


def room_page(concert):
    return reverse("admin:queueing_waitingroom_change", args=[concert.pk])


HISTORY = reverse("admin:queueing_queueentryhistory_changelist")


@pytest.fixture
def prequeued(queue_backend):
    """A concert whose pre-queue holds three fans, two of them from one address."""
    concert = sale_opening_soon()
    before = concert.sale_opens_at - datetime.timedelta(minutes=5)
    fans = UserFactory.create_batch(3)
    for fan, address in zip(fans, ["203.0.113.5", "203.0.113.5", "198.51.100.20"], strict=True):
        services.join(user=fan, concert=concert, now=before, client_ip=address)
    return concert, fans


def test_the_room_page_shows_the_prequeue_and_keeps_the_seed_secret_before_the_draw(staff_client, prequeued):
    concert, _ = prequeued
    room = WaitingRoom.objects.get(pk=concert.pk)
    response = staff_client.get(room_page(concert))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Pre-queue and draw" in body
    assert '<div class="readonly">3</div>' in body  # in the pre-queue now
    assert "(default)" in body  # the pre-queue opens PREQUEUE_MINUTES before the sale
    assert room.draw_commitment in body
    assert room.draw_seed not in body
    assert "secret until the draw" in body
    assert reverse("queueing:draw", args=[concert.pk]) in body


def test_the_room_page_shows_the_seed_after_the_draw(staff_client, queue_backend):
    draw = run_a_draw(entrants=3, leavers=0, later=0)
    room = WaitingRoom.objects.get(pk=draw.concert.pk)
    body = staff_client.get(room_page(draw.concert)).content.decode()
    assert f"<code>{room.draw_seed}</code>" in body
    assert ">drawn</a>" in body
    assert '<div class="readonly">0</div>' in body  # nobody left in the pre-queue


def test_the_room_page_lists_the_addresses_with_the_most_live_places(staff_client, prequeued):
    concert, _ = prequeued
    body = staff_client.get(room_page(concert)).content.decode()
    busiest = body.index(">203.0.113.5</a></td><td>2</td>")
    assert busiest < body.index(">198.51.100.20</a></td><td>1</td>")
    assert f"concert__id__exact={concert.pk}&amp;live=yes&amp;client_ip=203.0.113.5" in body


def test_the_room_page_shows_who_the_rate_limits_refused_most_with_links_to_their_live_visits(
    staff_client, settings, prequeued
):
    concert, fans = prequeued
    set_limit(settings, "hold", account=1, ip=1)
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.66")
    request.user = fans[0]
    refused = 0
    for _ in range(4):
        try:
            check_rate_limit("hold", request)
        except RateLimited:
            refused += 1
    assert refused == 3

    body = staff_client.get(room_page(concert)).content.decode()

    assert "Refused most often by the rate limits" in body
    assert f">{fans[0].email}</a></td><td>3</td>" in body
    assert ">198.51.100.66</a></td><td>3</td>" in body
    assert f"concert__id__exact={concert.pk}&amp;live=yes&amp;q={fans[0].email.replace('@', '%40')}" in body


def test_the_room_list_shows_the_prequeue_columns(staff_client, prequeued):
    concert, _ = prequeued
    body = staff_client.get(reverse("admin:queueing_waitingroom_changelist")).content.decode()
    assert '<td class="field-prequeue_now">3</td>' in body
    assert "pre-queue not open yet</a>" in body  # it opens 30 minutes before the sale, an hour from now


def test_the_prequeue_size_reads_unavailable_when_redis_is_down(staff_client, settings, redis_prefix):
    settings.QUEUE_BACKEND = "redis"
    concert = sale_opening_soon()
    WaitingRoom.objects.create(concert=concert)
    settings.REDIS_URL = "redis://127.0.0.1:1/3"
    response = staff_client.get(room_page(concert))
    assert response.status_code == 200
    assert '<div class="readonly">unavailable</div>' in response.content.decode()


def test_the_history_filters_live_visits_by_address_and_ignores_a_bad_address(staff_client, prequeued):
    concert, fans = prequeued
    response = staff_client.get(f"{HISTORY}?concert__id__exact={concert.pk}&live=yes&client_ip=203.0.113.5")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list.values_list("user", flat=True).order_by("user")) == sorted(
        fan.pk for fan in fans[:2]
    )
    bad = staff_client.get(f"{HISTORY}?client_ip=not-an-address")
    assert bad.status_code == 200
    assert bad.context["cl"].result_count == 3


# --- removal ---------------------------------------------------------------------------------------


def test_removal_asks_for_a_reason_then_records_who_and_why(staff_client, staff_member, prequeued):
    concert, fans = prequeued
    visits = list(QueueEntryHistory.objects.filter(user__in=fans[:2]).values_list("pk", flat=True))
    action = {"action": "remove_from_queue", "_selected_action": visits}

    confirm = staff_client.post(HISTORY, action)
    assert confirm.status_code == 200
    assert "Remove fans from the queue" in confirm.content.decode()
    assert fans[0].email in confirm.content.decode()
    assert not QueueEntryHistory.objects.filter(exit_reason="removed").exists()

    no_reason = staff_client.post(HISTORY, {**action, "confirm": "yes", "reason": "  "})
    assert no_reason.status_code == 200
    assert "This field is required." in no_reason.content.decode()
    assert not QueueEntryHistory.objects.filter(exit_reason="removed").exists()

    done = staff_client.post(HISTORY, {**action, "confirm": "yes", "reason": "macro: 40 joins a second"}, follow=True)
    assert "Removed 2 fans from the queue." in done.content.decode()
    removed = QueueEntryHistory.objects.filter(exit_reason="removed")
    assert sorted(removed.values_list("user", flat=True)) == sorted(fan.pk for fan in fans[:2])
    assert {(row.removed_by_id, row.exit_note) for row in removed} == {(staff_member.pk, "macro: 40 joins a second")}
    assert all(row.exited_at is not None for row in removed)
    assert services.poll_place(user=fans[0], concert=concert) is None
    assert services.poll_place(user=fans[2], concert=concert) is not None

    listed = staff_client.get(f"{HISTORY}?exit_reason=removed").content.decode()
    assert listed.count(f'<td class="field-removed_by nowrap">{staff_member}</td>') == 2
    detail = staff_client.get(reverse("admin:queueing_queueentryhistory_change", args=[removed[0].pk]))
    assert "macro: 40 joins a second" in detail.content.decode()
    assert "<textarea" not in detail.content.decode()  # read-only


def test_removing_visits_that_ended_already_removes_nobody(staff_client, prequeued):
    concert, fans = prequeued
    services.leave(user=fans[0], concert=concert)
    visit = QueueEntryHistory.objects.get(user=fans[0])
    response = staff_client.post(HISTORY, {"action": "remove_from_queue", "_selected_action": [visit.pk]}, follow=True)
    assert "None of the selected visits is still in the queue." in response.content.decode()
    assert not QueueEntryHistory.objects.filter(exit_reason="removed").exists()


def test_a_fan_removed_meanwhile_is_counted_as_gone(staff_client, prequeued):
    concert, fans = prequeued
    visit = QueueEntryHistory.objects.get(user=fans[2])
    action = {"action": "remove_from_queue", "_selected_action": [visit.pk], "confirm": "yes", "reason": "bot"}
    services.remove_from_queue(concert=concert, user=fans[2], by=StaffFactory(), note="first")
    response = staff_client.post(HISTORY, action, follow=True)
    assert "None of the selected visits is still in the queue." in response.content.decode()
    assert QueueEntryHistory.objects.get(pk=visit.pk).exit_note == "first"


def test_redis_down_during_removal_is_an_error_message_not_a_500(staff_client, settings, redis_prefix):
    settings.QUEUE_BACKEND = "redis"
    concert = sale_opening_soon()
    fan = UserFactory()
    services.join(user=fan, concert=concert, now=concert.sale_opens_at - datetime.timedelta(minutes=1))
    visit = QueueEntryHistory.objects.get(user=fan)
    settings.REDIS_URL = "redis://127.0.0.1:1/3"

    response = staff_client.post(
        HISTORY,
        {"action": "remove_from_queue", "_selected_action": [visit.pk], "confirm": "yes", "reason": "bot"},
        follow=True,
    )
    assert response.status_code == 200
    assert "temporarily unavailable" in response.content.decode()
    assert QueueEntryHistory.objects.get(pk=visit.pk).exited_at is None


def test_non_staff_never_reach_the_pages(client, prequeued):
    concert, fans = prequeued
    client.force_login(fans[0])
    visit = QueueEntryHistory.objects.get(user=fans[1])
    for response in (
        client.get(room_page(concert)),
        client.post(HISTORY, {"action": "remove_from_queue", "_selected_action": [visit.pk]}),
        client.post(
            HISTORY, {"action": "remove_from_queue", "_selected_action": [visit.pk], "confirm": "yes", "reason": "x"}
        ),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert QueueEntryHistory.objects.get(pk=visit.pk).exited_at is None


def test_staff_who_may_not_change_waiting_rooms_cannot_remove(client, prequeued):
    concert, fans = prequeued
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_queueentryhistory"))
    client.force_login(viewer)
    page = client.get(HISTORY)
    assert page.status_code == 200
    assert "remove_from_queue" not in page.content.decode()
    visit = QueueEntryHistory.objects.get(user=fans[0])
    client.post(
        HISTORY, {"action": "remove_from_queue", "_selected_action": [visit.pk], "confirm": "yes", "reason": "x"}
    )
    assert QueueEntryHistory.objects.get(pk=visit.pk).exited_at is None


# --- the concert's pre-queue opening -----------------------------------------------------------------


def concert_form(concert, **changes):
    data = {
        "title": concert.title,
        "description": concert.description,
        "venue": concert.venue,
        "sale_opens_at_0": concert.sale_opens_at.strftime("%Y-%m-%d"),
        "sale_opens_at_1": concert.sale_opens_at.strftime("%H:%M:%S"),
        "prequeue_opens_at_0": "",
        "prequeue_opens_at_1": "",
        "dates-TOTAL_FORMS": "0",
        "dates-INITIAL_FORMS": "0",
        "dates-MIN_NUM_FORMS": "0",
        "dates-MAX_NUM_FORMS": "1000",
        # The presale windows inline (none here).
        "presales-TOTAL_FORMS": "0",
        "presales-INITIAL_FORMS": "0",
        "cancellation_fee_rules-TOTAL_FORMS": "0",  # the fee schedule inline, no rows
        "cancellation_fee_rules-INITIAL_FORMS": "0",
        "cancellation_fee_rules-MIN_NUM_FORMS": "0",
        "cancellation_fee_rules-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_staff_set_the_prequeue_opening_in_the_concert_admin(staff_client, settings):
    settings.TIME_ZONE = "UTC"
    concert = sale_opening_soon()
    url = reverse("admin:concerts_concert_change", args=[concert.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="prequeue_opens_at_0"' in page
    assert "Leave empty for the default" in page

    earlier = concert.sale_opens_at - datetime.timedelta(hours=2)
    response = staff_client.post(
        url,
        concert_form(
            concert,
            prequeue_opens_at_0=earlier.strftime("%Y-%m-%d"),
            prequeue_opens_at_1=earlier.strftime("%H:%M:%S"),
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    concert.refresh_from_db()
    assert concert.prequeue_opens_at == earlier
    assert concert.prequeue_starts_at == earlier


@pytest.mark.parametrize("after", [datetime.timedelta(0), datetime.timedelta(minutes=5)])
def test_a_prequeue_opening_not_before_the_sale_is_a_form_error(staff_client, settings, after):
    settings.TIME_ZONE = "UTC"
    concert = sale_opening_soon()
    url = reverse("admin:concerts_concert_change", args=[concert.pk])
    late = concert.sale_opens_at + after
    response = staff_client.post(
        url,
        concert_form(
            concert, prequeue_opens_at_0=late.strftime("%Y-%m-%d"), prequeue_opens_at_1=late.strftime("%H:%M:%S")
        ),
    )
    assert response.status_code == 200
    assert "The pre-queue must open before the sale opens." in response.content.decode()
    concert.refresh_from_db()
    assert concert.prequeue_opens_at is None
