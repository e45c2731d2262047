"""The waiting-list pages: joining and leaving a sold-out date's list, the offer banner, the offer link that
takes the held seat to checkout without the waiting room (only that seat, only until the offer runs out), and
links that are forged, another fan's or past their offer refused with a clear 4xx."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from pytest_django.asserts import assertContains, assertNotContains

from booking import selectors, services
from booking.models import Reservation, WaitlistEntry, WaitlistOffer
from booking.offer_links import offer_path, offer_token
from tests.factories import UserFactory
from tests.support.checkout import form_data
from tests.support.checks import assert_consistent
from tests.support.ratelimits import set_limit
from tests.support.waitlist import hold_out, return_seats, sell_out

pytestmark = pytest.mark.django_db


@pytest.fixture
def sold(concert_date):
    return sell_out(concert_date)


@pytest.fixture
def offered(fan, concert_date, sold):
    """The fan joined the sold-out date's list and seat 17 came back: it is offered (held) to them."""
    services.waitlist.join_waitlist(user=fan, concert_date=concert_date)
    return_seats(sold, 17)
    [offer] = services.waitlist.make_offers(concert_date=concert_date)
    return offer


def _page(concert_date):
    return reverse("booking:waitlist", args=[concert_date.pk])


def test_a_fan_joins_and_leaves_a_sold_out_dates_list_from_its_page(fan_client, fan, concert_date, sold, admitted):
    page = fan_client.get(_page(concert_date))
    assertContains(page, "취소표 대기 신청")
    assertContains(page, 'data-testid="join-waitlist"')

    joined = fan_client.post(_page(concert_date), {"action": "join"})
    assert joined.status_code == 303 and joined["Location"] == _page(concert_date)
    page = fan_client.get(_page(concert_date))
    assertContains(page, "취소표 대기를 신청했습니다")
    assertContains(page, "취소표 대기 번호: <strong>1</strong>번", html=False)
    assert WaitlistEntry.objects.get(user=fan).status == WaitlistEntry.Status.WAITING

    left = fan_client.post(_page(concert_date), {"action": "leave"})
    assert left.status_code == 303
    assertContains(fan_client.get(_page(concert_date)), "취소표 대기를 취소했습니다.")
    assert WaitlistEntry.objects.get(user=fan).status == WaitlistEntry.Status.LEFT


def test_the_page_in_english(fan_client, concert_date, sold):
    fan_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = fan_client.get(_page(concert_date))
    assertContains(page, "Waiting list for returned seats")
    assertContains(page, "Join the waiting list")


def test_joining_a_date_with_seats_left_is_refused_with_a_409(fan_client, concert_date, admitted):
    refused = fan_client.post(_page(concert_date), {"action": "join"})
    assertContains(refused, "이 회차에는 아직 선택 가능한 좌석이 있습니다", status_code=409)
    assert not WaitlistEntry.objects.exists()


def test_a_fan_not_admitted_cannot_join_and_is_sent_to_the_waiting_room(fan_client, fan, concert_date, hold):
    # The first minutes of a rush: every seat merely held by admitted fans, so the date counts as sold out.
    numbers = list(concert_date.seats.values_list("seat_number", flat=True))
    for start in range(0, len(numbers), settings.MAX_SEATS_PER_USER):
        someone = UserFactory()
        hold(someone, concert_date, *numbers[start : start + settings.MAX_SEATS_PER_USER])
    refused = fan_client.post(_page(concert_date), {"action": "join"})
    assert refused.status_code == 302
    # The room is told to come back to the waiting-list page once the fan is let in, like the seat map's GET.
    room = reverse("queueing:room", kwargs={"concert_id": concert_date.concert_id})
    assert refused["Location"] == f"{room}?{urlencode({'next': _page(concert_date)})}"
    assert not WaitlistEntry.objects.filter(user=fan).exists()
    assertContains(fan_client.get(_page(concert_date)), 'data-testid="join-waitlist"')  # still offered to join


def test_a_fan_sent_to_the_waiting_room_from_the_join_button_comes_back_to_the_list_once_let_in(
    fan_client, fan, concert_date, sold
):
    room = fan_client.post(_page(concert_date), {"action": "join"})["Location"]
    assertContains(fan_client.get(room), f'name="next" value="{_page(concert_date)}"')
    # Joining the room (admitted at once: nobody waits) goes on to the waiting-list page, where the fan joins.
    joined = fan_client.post(room, {"next": _page(concert_date)})
    assert joined.status_code == 302 and joined["Location"] == _page(concert_date)
    assert fan_client.post(_page(concert_date), {"action": "join"}).status_code == 303
    assert WaitlistEntry.objects.get(user=fan).status == WaitlistEntry.Status.WAITING


def test_a_fan_whose_admission_ended_can_still_leave(fan_client, fan, concert_date, sold):
    services.waitlist.join_waitlist(user=fan, concert_date=concert_date)  # joined while admitted, say
    left = fan_client.post(_page(concert_date), {"action": "leave"})
    assert left.status_code == 303
    assert WaitlistEntry.objects.get(user=fan).status == WaitlistEntry.Status.LEFT


def test_joining_is_rate_limited(settings, fan_client, fan, concert_date, sold, admitted):
    set_limit(settings, "waitlist_join", account=2, ip=100)
    assert fan_client.post(_page(concert_date), {"action": "join"}).status_code == 303
    assert fan_client.post(_page(concert_date), {"action": "join"}).status_code == 303  # idempotent
    assert fan_client.post(_page(concert_date), {"action": "join"}).status_code == 429
    assert fan_client.post(_page(concert_date), {"action": "leave"}).status_code == 303  # leaving: never limited
    assert fan_client.get(_page(concert_date)).status_code == 200


def test_an_unknown_action_is_a_400(fan_client, concert_date, sold):
    assert fan_client.post(_page(concert_date), {"action": "jump"}).status_code == 400
    assert not WaitlistEntry.objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client, concert_date):
    response = client.get(_page(concert_date))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_the_sold_out_date_on_the_concert_page_links_to_its_list(fan_client, concert_date, sold):
    page = fan_client.get(reverse("concerts:detail", args=[concert_date.concert.pk]))
    assertContains(page, f'href="{_page(concert_date)}"')


def test_the_concert_page_counts_no_seat_left_while_a_returned_seat_is_kept_for_the_list_and_it_shows_at_once_after(
    fan_client, fan, concert_date, sold, settings, django_capture_on_commit_callbacks
):
    """Fans wait, a seat came back and its offer is not made yet (the offer job runs after the commit, the sweep
    later still): no other fan can hold it and the seat map shows it taken, so the concert page and the API say
    sold out too, not one seat left. Once nobody waits, the seat is anyone's: the shared page says so at once."""
    settings.CONCERT_PAGE_CACHE_SECONDS = 60
    cache.clear()
    concert_page = reverse("concerts:detail", args=[concert_date.concert_id])
    services.waitlist.join_waitlist(user=fan, concert_date=concert_date)
    return_seats(sold, 17)
    assert selectors.free_seat_count(concert_date=concert_date, now=timezone.now()) == 0
    page = fan_client.get(concert_page)
    assertContains(page, "매진")
    assertNotContains(page, 'name="date"')
    assert [
        date["seats_left"] for date in fan_client.get(f"/api/v1/concerts/{concert_date.concert_id}").json()["dates"]
    ] == [0]

    with django_capture_on_commit_callbacks(execute=True):
        services.waitlist.leave_waitlist(user=fan, concert_date=concert_date)
    page = fan_client.get(concert_page)
    assertContains(page, "잔여 <b>1</b>석", html=False)
    assertContains(page, 'name="date"')
    cache.clear()


def test_the_fan_with_an_offer_sees_the_banner_and_other_fans_do_not(fan_client, client, offered):
    tickets = fan_client.get(reverse("booking:reservations"))
    assertContains(tickets, 'data-testid="offer-banner"')
    assertContains(tickets, f'href="{offer_path(offered)}"')
    assertContains(tickets, "17번 좌석")
    client.force_login(UserFactory())
    assertNotContains(client.get(reverse("booking:reservations")), 'data-testid="offer-banner"')


def test_the_offer_link_holds_only_that_seat_to_checkout_without_the_waiting_room(
    fan_client, fan, concert_date, offered, top_up
):
    link = offer_path(offered)
    page = fan_client.get(link)
    assertContains(page, 'data-testid="accept-offer"')

    accepted = fan_client.post(link, {"action": "accept"})
    assert accepted.status_code == 303
    assert accepted["Location"] == reverse("booking:checkout", args=[concert_date.pk])
    checkout = fan_client.get(accepted["Location"])  # the fan was never admitted by the waiting room
    assert checkout.status_code == 200
    assert [r.seat.seat_number for r in checkout.context["holds"]] == [17]
    assert checkout.context["expires_at"] == offered.expires_at

    # Only that seat: holding another one still needs the waiting room.
    other = fan_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["18"]})
    assert other.status_code == 302 and "/queue/" in other["Location"]
    assert Reservation.objects.filter(user=fan).count() == 1

    top_up(fan, 200_000)
    paid = fan_client.post(reverse("booking:checkout", args=[concert_date.pk]), form_data(checkout))
    assert paid.status_code == 302 and paid["Location"] == reverse("booking:reservations")
    assert Reservation.objects.get(pk=offered.reservation_id).status == Reservation.Status.CONFIRMED
    # the link's use is over: it says so and sends the fan to their tickets
    again = fan_client.get(link)
    assert again.status_code == 303 and again["Location"] == reverse("booking:reservations")
    assert_consistent()


def test_the_offer_link_after_the_offer_ran_out_is_a_410_and_checkout_holds_nothing(fan_client, concert_date, offered):
    with time_machine.travel(offered.expires_at + datetime.timedelta(seconds=1), tick=False):
        gone = fan_client.get(offer_path(offered))
        assertContains(gone, "취소표 제안이 종료되었습니다", status_code=410)
        refused = fan_client.post(offer_path(offered), {"action": "accept"})
        assertContains(refused, "취소표 제안이 종료되었습니다", status_code=410)
        checkout = fan_client.get(reverse("booking:checkout", args=[concert_date.pk]))
        assert checkout.status_code == 302 and "/queue/" in checkout["Location"]
    offered.refresh_from_db()
    assert offered.status == WaitlistOffer.Status.OPEN and offered.accepted_at is None


@pytest.mark.parametrize(
    "forge",
    [
        lambda offer: offer_token(offer)[:-3] + "abc",  # altered signature
        lambda offer: str(offer.pk),  # the bare id
        lambda offer: "not-a-link",
    ],
    ids=["altered", "bare-id", "garbage"],
)
def test_a_forged_offer_link_is_a_404_with_a_clear_message(fan_client, offered, forge):
    for response in (
        fan_client.get(reverse("booking:offer", args=[forge(offered)])),
        fan_client.post(reverse("booking:offer", args=[forge(offered)]), {"action": "accept"}),
    ):
        assertContains(response, "유효하지 않은 취소표 링크입니다", status_code=404)
    offered.refresh_from_db()
    assert offered.status == WaitlistOffer.Status.OPEN


def test_another_fans_offer_link_is_a_404_and_takes_nothing(client, offered):
    client.force_login(UserFactory())
    response = client.post(offer_path(offered), {"action": "accept"})
    assertContains(response, "유효하지 않은 취소표 링크입니다", status_code=404)
    offered.refresh_from_db()
    assert offered.status == WaitlistOffer.Status.OPEN


def test_declining_from_the_offer_page_lets_the_seat_go(fan_client, fan, concert_date, offered):
    response = fan_client.post(offer_path(offered), {"action": "decline"})
    assert response.status_code == 303 and response["Location"] == _page(concert_date)
    offered.refresh_from_db()
    assert offered.status == WaitlistOffer.Status.DECLINED
    assert WaitlistEntry.objects.get(user=fan).status == WaitlistEntry.Status.LEFT
    assert_consistent()


def test_the_waitlist_page_of_an_offered_fan_links_to_the_offer(fan_client, concert_date, offered):
    page = fan_client.get(_page(concert_date))
    assertContains(page, f'href="{offer_path(offered)}"')
    assertContains(page, "좌석(17번)이 취소표로 나와")


def test_reading_the_list_while_holds_ran_out_unswept_has_them_offered_at_once(
    fan_client, fan, concert_date, django_capture_on_commit_callbacks
):
    """The beat sweep is late: every seat's hold ran out a second ago and none was freed. A fan reading the list
    queues the date's offer job (RQ runs it at once in the tests), so the seats go to the list now."""
    then = timezone.now() - datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)
    hold_out(concert_date, now=then)
    services.waitlist.join_waitlist(user=fan, concert_date=concert_date, now=then)
    with django_capture_on_commit_callbacks(execute=True):
        assert fan_client.get(_page(concert_date)).status_code == 200
    offer = WaitlistOffer.objects.get(entry__user=fan)
    page = fan_client.get(_page(concert_date))
    assertContains(page, f'href="{offer_path(offer)}"')
    assertContains(page, "좌석(1번)이 취소표로 나와")


def test_the_offer_page_needs_the_fan_logged_in(client, offered):
    response = client.get(offer_path(offered))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert timezone.now() < offered.expires_at


def test_an_offer_that_ran_out_before_it_was_settled_says_so_not_a_blank_number(fan_client, fan, concert_date, offered):
    assert WaitlistEntry.objects.get(user=fan).status == WaitlistEntry.Status.OFFERED  # settled only by a job
    with time_machine.travel(offered.expires_at + datetime.timedelta(seconds=1), tick=False):
        page = fan_client.get(_page(concert_date))
        assertNotContains(page, "<strong></strong>", html=False)
        assertNotContains(page, 'data-testid="waitlist-place"')
        assertContains(page, 'data-testid="waitlist-offer-ran-out"')
        assertContains(page, "좌석(17번) 선점 시간이 지나")
        assertContains(page, 'data-testid="leave-waitlist"')
        fan_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        page = fan_client.get(_page(concert_date))
        assertContains(page, "The hold on seat 17 ran out before it was booked")
