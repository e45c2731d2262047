"""Seat map, hold, checkout, my reservations and cancel, through HTTP, including every refusal path."""

import datetime
import re
import uuid

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django.utils.http import urlencode
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from booking import services as booking_services
from booking.models import Payment, Reservation
from concerts.models import Seat
from queueing import services as queue_services
from tests import factories
from tests.support.checkout import form_data
from tests.support.checks import assert_consistent, seat_snapshot
from wallet.models import UsageHistory

pytestmark = pytest.mark.django_db


def seats_url(concert_date):
    return f"/dates/{concert_date.pk}/seats/"


def hold_url(concert_date):
    return f"/dates/{concert_date.pk}/hold/"


def checkout_url(concert_date):
    return f"/checkout/{concert_date.pk}/"


def seat_classes(response):
    """{seat number: css status} as rendered in the seat grid."""
    html = response.content.decode()
    return {int(number): status for status, number in re.findall(r'class="seat seat-(\w+)" data-seat="(\d+)"', html)}


def idempotency_key(response):
    return re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', response.content.decode())[1]


# --- the gate ----------------------------------------------------------------------------------


def test_a_fan_who_is_not_admitted_is_sent_to_the_waiting_room(fan_client, concert_date):
    for url in (seats_url(concert_date), checkout_url(concert_date)):
        response = fan_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"/concerts/{concert_date.concert.pk}/queue/")
    # A hold or pick (a form's POST: no page to come back to) is told to come back to the seat map once let in.
    room = f"/concerts/{concert_date.concert.pk}/queue/"
    for url, data in ((hold_url(concert_date), {"seats": ["1"]}), (f"/dates/{concert_date.pk}/pick/", {"count": "2"})):
        response = fan_client.post(url, data)
        assert response.status_code == 302
        assert response["Location"] == f"{room}?{urlencode({'next': seats_url(concert_date)})}"
    assert not Reservation.objects.exists()


def test_admission_to_one_concert_opens_nothing_of_another(fan_client, fan, concert_date, admit):
    other_date = factories.ConcertDateFactory()
    admit(fan, other_date.concert)
    assert fan_client.get(seats_url(concert_date)).status_code == 302


def test_unknown_date_is_404(fan_client):
    response = fan_client.get(f"/dates/{uuid.uuid4()}/seats/")
    assertContains(response, "페이지를 찾을 수 없습니다", status_code=404)


# --- seat map ----------------------------------------------------------------------------------


def test_seat_map_shows_every_seat_with_price_and_status(fan_client, fan, concert_date, admitted, hold, top_up):
    other = factories.UserFactory()
    hold(other, concert_date, 3)  # held by someone else
    top_up(other, 500_000)
    hold(other, concert_date, 4)
    booking_services.pay(user=other, concert_date=concert_date, idempotency_key="other")  # 3 and 4 sold
    hold(other, concert_date, 5)  # held by someone else, not paid
    hold(fan, concert_date, 9)  # mine

    response = fan_client.get(seats_url(concert_date))
    assert response.status_code == 200
    classes = seat_classes(response)
    assert len(classes) == settings.SEATS_PER_DATE
    assert classes[3] == classes[4] == "RESERVED"
    assert classes[5] == "HELD"
    assert classes[9] == "MINE"
    assert classes[1] == "AVAILABLE"
    # Only available seats can be picked; each checkbox carries the seat's price.
    assert response.content.decode().count('name="seats"') == settings.SEATS_PER_DATE - 4
    assertContains(response, f'value="1" data-price="{settings.DEFAULT_SEAT_PRICE}"')
    assertContains(response, "99,000원")
    assertContains(response, "판매 완료")
    assertContains(response, "내 좌석")
    assertContains(response, "1인당 최대 4매")
    assertContains(response, "이미 1매를 선점 또는 예매했습니다")
    assertContains(response, 'data-limit="3"')  # what the selection counter allows
    assertContains(response, f'href="{checkout_url(concert_date)}"')  # the fan has a hold to pay


def test_an_expired_hold_shows_as_available(fan_client, fan, concert_date, admitted, hold):
    hold(factories.UserFactory(), concert_date, 8)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)):
        response = fan_client.get(seats_url(concert_date))
    assert seat_classes(response)[8] == "AVAILABLE"


def test_seat_map_lists_price_tiers(fan_client, fan, admit):
    from concerts.pricing import PriceTier

    concert_date = factories.ConcertDateFactory(
        tiers=[PriceTier("VIP", 1, 10, 165_000), PriceTier("R", 11, 50, 99_000)]
    )
    admit(fan, concert_date.concert)
    response = fan_client.get(seats_url(concert_date))
    assertContains(response, "1–10번 좌석")
    assertContains(response, "165,000원")
    assertContains(response, "11–50번 좌석")


@pytest.mark.parametrize("taken", [0, 20])
def test_seat_map_runs_a_fixed_number_of_queries(
    fan_client, fan, concert_date, admitted, top_up, taken, django_assert_max_num_queries
):
    for first in range(1, taken + 1, 4):
        buyer = factories.UserFactory()
        top_up(buyer, 1_000_000)
        booking_services.hold_seats(user=buyer, concert_date=concert_date, seat_numbers=range(first, first + 4))
        booking_services.pay(user=buyer, concert_date=concert_date, idempotency_key=f"k{first}")
    # session, user, date+concert, the queue gate (read, maybe a sliding update), seats with "paid by me"
    with django_assert_max_num_queries(6):
        response = fan_client.get(seats_url(concert_date))
    assert list(seat_classes(response).values()).count("RESERVED") == taken


# --- hold --------------------------------------------------------------------------------------


def test_holding_two_seats_goes_to_checkout(fan_client, fan, concert_date, admitted):
    response = fan_client.post(hold_url(concert_date), {"seats": ["12", "13"]})
    assertRedirects(response, checkout_url(concert_date), fetch_redirect_response=False)
    held = Reservation.objects.filter(user=fan, status=Reservation.Status.HOLD)
    assert sorted(r.seat.seat_number for r in held) == [12, 13]
    assert set(Seat.objects.filter(held_by=fan).values_list("seat_number", flat=True)) == {12, 13}
    page = fan_client.get(checkout_url(concert_date))
    assertContains(page, "12, 13번 좌석을 잠시 선점했습니다")
    assert_consistent()


def test_hold_is_post_only(fan_client, concert_date, admitted):
    assert fan_client.get(hold_url(concert_date)).status_code == 405


@pytest.mark.parametrize(
    ("seats", "message"),
    [
        (["abc"], "선택한 좌석(abc)은 이 좌석 배치도에 없습니다"),
        (["0"], "선택한 좌석(0)은 이 좌석 배치도에 없습니다"),
        (["51"], "선택한 좌석(51)은 이 좌석 배치도에 없습니다"),
        (["1", "-3"], "선택한 좌석(-3)은 이 좌석 배치도에 없습니다"),
        (["<script>"], "선택한 좌석(&lt;script&gt;)은"),
    ],
)
def test_hold_refuses_bad_seat_numbers_with_400(fan_client, concert_date, admitted, seats, message):
    before = seat_snapshot(concert_date)
    response = fan_client.post(hold_url(concert_date), {"seats": seats})
    assertContains(response, message, status_code=400)
    assertContains(response, 'class="seat-grid"', status_code=400)  # the seat map again, to choose again
    assert seat_snapshot(concert_date) == before


def refused_hold(client, concert_date, seats):
    """Post a hold that is refused: it answers 303 back to the seat map; return the map it leads to."""
    response = client.post(hold_url(concert_date), {"seats": seats})
    assert response.status_code == 303
    assert response["Location"].startswith(seats_url(concert_date))
    return client.get(response["Location"])


def test_holding_a_seat_someone_else_holds_is_refused_and_changes_nothing(fan_client, concert_date, admitted, hold):
    hold(factories.UserFactory(), concert_date, 13)
    before = seat_snapshot(concert_date)
    response = refused_hold(fan_client, concert_date, ["12", "13"])
    assertContains(response, "13번 좌석은 이미 다른 고객이 선택했습니다")
    assert seat_snapshot(concert_date) == before  # all or nothing: 12 was not held either
    assert seat_classes(response)[13] == "HELD"
    assert re.search(r'value="12" data-price="\d+" checked', response.content.decode())  # still chosen


def test_holding_a_returned_seat_kept_for_the_waiting_list_is_refused_with_the_reason(
    fan_client, concert_date, admitted
):
    from tests.support.waitlist import return_seats, sell_out

    sold = sell_out(concert_date)
    booking_services.waitlist.join_waitlist(user=factories.UserFactory(), concert_date=concert_date)
    return_seats(sold, 12)  # its offer job runs when the test's transaction commits: never, so the seat stays free
    before = seat_snapshot(concert_date)

    response = refused_hold(fan_client, concert_date, ["12"])

    assertContains(response, "이 회차에 나온 취소표는 취소표 대기자에게 대기 순서대로 먼저 제공됩니다.")
    assert seat_snapshot(concert_date) == before
    assert seat_classes(response)[12] == "HELD"  # the map shows it taken: it is the waiting fan's to be offered
    assertContains(response, 'data-testid="waitlist-link"')


def test_holding_beyond_the_seat_limit_is_refused(fan_client, fan, concert_date, admitted, hold):
    hold(fan, concert_date, 1, 2, 3)
    response = refused_hold(fan_client, concert_date, ["4", "5"])
    assertContains(response, "2매를 선택했지만 이 회차에 이미 3매가 있습니다.")
    assert Reservation.objects.filter(user=fan).count() == 3
    # The refused selection stays checked, so the fan can drop one seat and try again.
    assert re.search(r'value="4" data-price="\d+" checked', response.content.decode())


def test_holding_after_staff_moved_the_sale_back_is_refused(fan_client, concert_date, admitted):
    concert = concert_date.concert
    concert.sale_opens_at = timezone.now() + datetime.timedelta(days=1)
    concert.save(update_fields=["sale_opens_at"])
    response = refused_hold(fan_client, concert_date, ["1"])
    assertContains(response, "이 공연은 아직 티켓 오픈 전입니다.")
    assert not Reservation.objects.exists()


def test_holding_a_date_that_has_passed_is_refused(fan_client, fan, admit):
    now = timezone.now()
    past = factories.ConcertDateFactory(starts_at=now - datetime.timedelta(days=1))
    concert = past.concert
    factories.ConcertDateFactory(concert=concert, starts_at=now + datetime.timedelta(days=2))  # the room is open
    admit(fan, concert)
    response = refused_hold(fan_client, past, ["1"])
    assertContains(response, "이미 지난 회차라 예매할 수 없습니다.")
    assert not Reservation.objects.exists()


def test_holding_on_a_cancelled_date_is_refused(fan_client, concert_date, admitted):
    from booking.services import cancel_concert_date

    cancel_concert_date(concert_date=concert_date, reason="storm", enqueue=False)
    response = refused_hold(fan_client, concert_date, ["1"])
    assertContains(response, "이 회차는 취소되어 더 이상 예매할 수 없습니다.")
    assert not Reservation.objects.exists()


def test_hold_needs_the_csrf_token(csrf_client, fan, concert_date, admitted):
    response = csrf_client.post(hold_url(concert_date), {"seats": ["1"]})
    assertContains(response, "페이지 유효 시간이 지났습니다", status_code=403)
    assert not Reservation.objects.exists()


# --- checkout ----------------------------------------------------------------------------------


def test_checkout_shows_holds_total_balance_countdown_and_a_fresh_key(
    fan_client, fan, concert_date, admitted, hold, top_up
):
    top_up(fan, 300_000)
    hold(fan, concert_date, 12, 13)
    response = fan_client.get(checkout_url(concert_date))
    assert response.status_code == 200
    assertContains(response, "12번 좌석")
    assertContains(response, "13번 좌석")
    assertContains(response, "198,000원")  # total
    assertContains(response, "300,000원")  # balance
    assertContains(response, "102,000원")  # balance after payment
    seconds = int(re.search(r'data-countdown-seconds="(\d+)"', response.content.decode())[1])
    assert settings.HOLD_SECONDS - 5 <= seconds <= settings.HOLD_SECONDS
    key = idempotency_key(response)
    assert uuid.UUID(key)
    assert idempotency_key(fan_client.get(checkout_url(concert_date))) != key  # one key per rendering
    assertNotContains(response, "예치금 충전하기")


@pytest.mark.parametrize("held", [1, 4])
def test_checkout_runs_a_fixed_number_of_queries(
    fan_client, fan, concert_date, admitted, hold, held, django_assert_max_num_queries
):
    hold(fan, concert_date, *range(1, held + 1))
    # session, user, date+concert, the queue gate (read, maybe a sliding update), holds with their seats
    with django_assert_max_num_queries(6):
        response = fan_client.get(checkout_url(concert_date))
    assert len(response.context["holds"]) == held


def test_checkout_without_holds_says_so(fan_client, concert_date, admitted):
    response = fan_client.get(checkout_url(concert_date))
    assertContains(response, "이 회차에 선점한 좌석이 없습니다.")
    assertContains(response, f'href="{seats_url(concert_date)}"')


def test_paying_confirms_the_seats_and_shows_them_in_my_tickets(
    fan_client, fan, concert_date, admitted, hold, top_up, django_capture_on_commit_callbacks
):
    top_up(fan, 300_000)
    hold(fan, concert_date, 12, 13)
    form = form_data(fan_client.get(checkout_url(concert_date)))
    key = form["idempotency_key"]
    with django_capture_on_commit_callbacks(execute=True):
        response = fan_client.post(checkout_url(concert_date), form)
    assertRedirects(response, "/reservations/", fetch_redirect_response=False)
    fan.refresh_from_db()
    assert fan.balance == 300_000 - 2 * 99_000
    assert Reservation.objects.filter(user=fan, status=Reservation.Status.CONFIRMED).count() == 2
    assert Payment.objects.filter(user=fan, status=Payment.Status.SUCCESS, idempotency_key=key).count() == 2
    page = fan_client.get("/reservations/")
    assertContains(page, "결제가 완료되어 2매가 예매되었습니다. 공연 당일 입장 시 티켓을 제시해 주세요.")
    assertContains(page, "Seoul Jazz Night")
    # Payment ends the admission: the seat map is closed until the fan queues again.
    assert queue_services.touch(user=fan, concert=concert_date.concert) is False
    assert_consistent()


def test_the_same_checkout_key_pays_once(
    fan_client, fan, concert_date, admit, hold, top_up, django_capture_on_commit_callbacks
):
    """A retry posts the same key twice: one charge."""
    top_up(fan, 300_000)
    admit(fan, concert_date.concert)
    hold(fan, concert_date, 12, 13)
    form = form_data(fan_client.get(checkout_url(concert_date)))
    with django_capture_on_commit_callbacks(execute=True):
        assert fan_client.post(checkout_url(concert_date), form).status_code == 302
    admit(fan, concert_date.concert)  # payment ended the admission; the retry comes back through the queue
    with django_capture_on_commit_callbacks(execute=True):
        response = fan_client.post(checkout_url(concert_date), form)
    assertRedirects(response, "/reservations/", fetch_redirect_response=False)
    assertContains(fan_client.get("/reservations/"), "이미 결제가 완료되었습니다. 추가로 청구된 금액은 없습니다.")
    fan.refresh_from_db()
    assert fan.balance == 300_000 - 2 * 99_000
    assert Payment.objects.filter(status=Payment.Status.SUCCESS).count() == 2
    assert UsageHistory.objects.filter(action_type=UsageHistory.ActionType.RESERVATION).count() == 2
    assert_consistent()


def test_a_late_second_click_after_payment_goes_to_my_tickets_not_the_queue(
    fan_client, fan, concert_date, admit, hold, top_up, django_capture_on_commit_callbacks
):
    """Without JavaScript the second click may land after the first payment ended the admission."""
    top_up(fan, 300_000)
    admit(fan, concert_date.concert)
    hold(fan, concert_date, 7)
    form = form_data(fan_client.get(checkout_url(concert_date)))
    with django_capture_on_commit_callbacks(execute=True):
        assert fan_client.post(checkout_url(concert_date), form).status_code == 302
    assert not queue_services.touch(user=fan, concert=concert_date.concert)
    response = fan_client.post(checkout_url(concert_date), form)
    assertRedirects(response, "/reservations/", fetch_redirect_response=False)
    assertContains(fan_client.get("/reservations/"), "이미 결제가 완료되었습니다. 추가로 청구된 금액은 없습니다.")
    fan.refresh_from_db()
    assert fan.balance == 300_000 - 99_000
    assert Payment.objects.filter(status=Payment.Status.SUCCESS).count() == 1


PAID_ALREADY = "이 회차의 좌석은 이미 결제가 완료되었습니다. 아래에서 티켓을 확인해 주세요."


def _pay_through_the_page(fan_client, concert_date, capture):
    form = form_data(fan_client.get(checkout_url(concert_date)))
    with capture(execute=True):
        assert fan_client.post(checkout_url(concert_date), form)["Location"] == "/reservations/"
    fan_client.get("/reservations/")  # the fan reads the payment's own message


def test_back_or_reload_on_a_paid_checkout_goes_to_my_tickets_saying_the_seats_are_paid(
    fan_client, fan, concert_date, admitted, hold, top_up, django_capture_on_commit_callbacks
):
    top_up(fan, 300_000)
    hold(fan, concert_date, 7, 8)
    _pay_through_the_page(fan_client, concert_date, django_capture_on_commit_callbacks)
    assert not queue_services.touch(user=fan, concert=concert_date.concert)  # paying ended the admission

    for method in (fan_client.get, fan_client.head):
        assertRedirects(method(checkout_url(concert_date)), "/reservations/", fetch_redirect_response=False)
    page = fan_client.get(checkout_url(concert_date), follow=True)
    assertContains(page, PAID_ALREADY)
    assertContains(page, "Seoul Jazz Night")
    assertNotContains(page, "대기열에 먼저 입장해 주세요")
    fan.refresh_from_db()
    assert fan.balance == 300_000 - 2 * 99_000


def test_a_paid_checkout_goes_to_my_tickets_while_the_fan_is_still_admitted_too(
    fan_client, fan, concert_date, admitted, hold, top_up, django_capture_on_commit_callbacks
):
    other_date = factories.ConcertDateFactory(
        concert=concert_date.concert, concert_date=concert_date.concert_date + datetime.timedelta(days=1)
    )
    top_up(fan, 300_000)
    hold(fan, concert_date, 7)
    hold(fan, other_date, 9)  # keeps the admission after paying the first date
    _pay_through_the_page(fan_client, concert_date, django_capture_on_commit_callbacks)
    assert queue_services.touch(user=fan, concert=concert_date.concert)

    response = fan_client.get(checkout_url(concert_date), follow=True)
    assertRedirects(response, "/reservations/")
    assertContains(response, PAID_ALREADY)
    assert fan_client.get(checkout_url(other_date)).status_code == 200  # the other date is still to pay


def test_paying_from_a_second_checkout_tab_after_the_first_paid_goes_to_my_tickets_and_charges_once(
    fan_client, fan, concert_date, admitted, hold, top_up, django_capture_on_commit_callbacks
):
    top_up(fan, 300_000)
    hold(fan, concert_date, 7)
    second_tab = form_data(fan_client.get(checkout_url(concert_date)))
    _pay_through_the_page(fan_client, concert_date, django_capture_on_commit_callbacks)

    response = fan_client.post(checkout_url(concert_date), second_tab, follow=True)
    assertRedirects(response, "/reservations/")
    assertContains(response, PAID_ALREADY)
    fan.refresh_from_db()
    assert fan.balance == 300_000 - 99_000
    assert Payment.objects.filter(user=fan, status=Payment.Status.SUCCESS).count() == 1


def test_a_checkout_whose_last_hold_ran_out_after_an_earlier_payment_is_not_called_paid(
    fan_client, fan, concert_date, admit, hold, top_up, django_capture_on_commit_callbacks
):
    top_up(fan, 300_000)
    admit(fan, concert_date.concert)
    hold(fan, concert_date, 7)
    _pay_through_the_page(fan_client, concert_date, django_capture_on_commit_callbacks)
    admit(fan, concert_date.concert)
    hold(fan, concert_date, 8)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)):
        admit(fan, concert_date.concert)  # the admission ran out meanwhile; the fan queued again
        response = fan_client.get(checkout_url(concert_date))
    assert response.status_code == 200
    assert response.context["hold_ran_out"]
    assertNotContains(response, PAID_ALREADY)


def test_nothing_held_and_nothing_paid_still_meets_the_gate(fan_client, fan, concert_date):
    for method in (fan_client.get, fan_client.post):
        response = method(checkout_url(concert_date))
        assert response.status_code == 302 and "/queue/" in response["Location"]


def test_paying_with_too_little_balance_is_402_with_a_top_up_link(
    fan_client, fan, concert_date, admitted, hold, top_up
):
    top_up(fan, 150_000)
    hold(fan, concert_date, 12, 13)
    response = fan_client.get(checkout_url(concert_date))
    assertContains(response, "이 좌석을 결제하려면 예치금이 48,000원 부족합니다.")
    top_up_link = f"/wallet/?next=/checkout/{concert_date.pk}/&amp;amount=48000"
    assertContains(response, top_up_link)
    response = fan_client.post(checkout_url(concert_date), form_data(response))
    assertContains(response, "예치금 잔액은 150,000원이고 198,000원이 필요합니다.", status_code=402)
    assertContains(response, top_up_link, status_code=402)
    fan.refresh_from_db()
    assert fan.balance == 150_000
    assert Reservation.objects.filter(user=fan, status=Reservation.Status.HOLD).count() == 2  # still held
    assert Payment.objects.filter(status=Payment.Status.FAILED).count() == 2
    assert_consistent()


def test_paying_after_the_hold_expired_is_409(fan_client, fan, concert_date, admitted, hold, top_up):
    top_up(fan, 300_000)
    hold(fan, concert_date, 12)
    form = form_data(fan_client.get(checkout_url(concert_date)))
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.HOLD_SECONDS + 5)):
        response = fan_client.post(checkout_url(concert_date), form)
    assertContains(response, "12번 좌석의 선점 시간이 끝났습니다. 결제된 금액은 없습니다.", status_code=409)
    fan.refresh_from_db()
    assert fan.balance == 300_000
    assert not Reservation.objects.filter(status=Reservation.Status.CONFIRMED).exists()
    assert_consistent()


def test_paying_with_nothing_held_is_409(fan_client, concert_date, admitted):
    response = fan_client.post(checkout_url(concert_date), {"idempotency_key": str(uuid.uuid4())})
    assertContains(response, "이 회차에 선점한 좌석이 없습니다.", status_code=409)


@pytest.mark.parametrize("key", ["", "not-a-uuid", "x" * 100])
def test_paying_with_a_bad_key_is_400(fan_client, fan, concert_date, admitted, hold, top_up, key):
    top_up(fan, 300_000)
    hold(fan, concert_date, 12)
    response = fan_client.post(checkout_url(concert_date), {"idempotency_key": key})
    assertContains(response, "결제 화면이 만료되었습니다.", status_code=400)
    assert not Payment.objects.exists()


# --- my reservations and cancel ----------------------------------------------------------------


def test_my_tickets_lists_paid_and_cancelled_with_a_cancel_button(
    fan_client, fan, concert_date, paid_reservation, hold
):
    booking_services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[8])
    booking_services.pay(user=fan, concert_date=concert_date, idempotency_key="second")
    cancelled = Reservation.objects.get(seat__seat_number=8)
    booking_services.cancel(user=fan, reservation=cancelled)
    factories.UserFactory()  # someone else's bookings never show
    response = fan_client.get("/reservations/")
    assert response.status_code == 200
    assertContains(response, "예매 완료")
    assertContains(response, "취소됨")
    assertContains(response, f'href="/reservations/{paid_reservation.pk}/cancel/"')
    assertNotContains(response, f'href="/reservations/{cancelled.pk}/cancel/"')


def test_my_tickets_explains_a_show_the_organiser_cancelled(fan_client, fan, concert_date, paid_reservation):
    from booking.services import cancel_concert_date, end_reservations_of_cancelled_date

    cancellation = cancel_concert_date(concert_date=concert_date, reason="storm", enqueue=False)
    end_reservations_of_cancelled_date(cancellation=cancellation)
    response = fan_client.get("/reservations/")
    assertContains(response, "공연 취소")
    assertContains(response, "주최 측 사정으로 공연이 취소되어 결제 금액은 예치금으로 전액 환불됩니다.")
    assertNotContains(response, f'href="/reservations/{paid_reservation.pk}/cancel/"')


def test_my_tickets_without_any_booking(fan_client):
    assertContains(fan_client.get("/reservations/"), "아직 예매한 티켓이 없습니다.")


@pytest.mark.parametrize("count", [1, 12])
def test_my_tickets_runs_a_fixed_number_of_queries(fan_client, fan, top_up, count, django_assert_max_num_queries):
    top_up(fan, 5_000_000)
    for _ in range(count):
        date = factories.ConcertDateFactory()
        booking_services.hold_seats(user=fan, concert_date=date, seat_numbers=[1])
        booking_services.pay(user=fan, concert_date=date, idempotency_key=str(uuid.uuid4()))
    # session, user, the count of the fan's reservations and one page of them with seat, date and concert, their
    # concerts' cancellation fee schedules, and the fan's open waiting-list offers (the banner)
    with django_assert_max_num_queries(6):
        response = fan_client.get("/reservations/")
    assert len(response.context["reservations"]) == count


def test_cancelling_refunds_and_frees_the_seat(fan_client, fan, paid_reservation):
    balance = fan.balance
    response = fan_client.post(f"/reservations/{paid_reservation.pk}/cancel/")
    assertRedirects(response, "/reservations/", fetch_redirect_response=False)
    paid_reservation.refresh_from_db()
    fan.refresh_from_db()
    assert paid_reservation.status == Reservation.Status.CANCELLED
    assert fan.balance == balance + paid_reservation.price
    assert Seat.objects.get(pk=paid_reservation.seat_id).status == Seat.Status.AVAILABLE
    page = fan_client.get("/reservations/")
    assertContains(page, "예매가 취소되었고 결제 금액 전액이 예치금으로 환불되었습니다.")
    wallet = fan_client.get("/wallet/")
    assertContains(wallet, "환불")
    assertContains(wallet, f"+{paid_reservation.price:,}원")
    assert_consistent()


def test_cancelling_twice_is_409_and_refunds_once(fan_client, fan, paid_reservation):
    fan_client.post(f"/reservations/{paid_reservation.pk}/cancel/")
    fan.refresh_from_db()
    balance = fan.balance
    response = fan_client.post(f"/reservations/{paid_reservation.pk}/cancel/")
    assertContains(response, "이 예매는 취소할 수 없습니다.", status_code=409)
    fan.refresh_from_db()
    assert fan.balance == balance
    assert UsageHistory.objects.filter(action_type=UsageHistory.ActionType.CANCELLATION).count() == 1


def test_cancelling_after_the_cutoff_is_409(fan_client, fan, paid_reservation):
    from tests.support.sales import after_the_cutoff_before_the_day

    show = paid_reservation.seat.concert_date.starts_at
    with time_machine.travel(after_the_cutoff_before_the_day(show)):
        fan_client.force_login(fan)  # a month later: a fresh session
        page = fan_client.get("/reservations/")
        assertNotContains(page, f'href="/reservations/{paid_reservation.pk}/cancel/"')
        assertContains(page, "이 공연은 취소 마감 일시가 지났습니다.")
        response = fan_client.post(f"/reservations/{paid_reservation.pk}/cancel/")
    assertContains(response, "취소 마감 일시가 지나", status_code=409)
    paid_reservation.refresh_from_db()
    assert paid_reservation.status == Reservation.Status.CONFIRMED


def test_a_fan_on_the_cancel_page_when_staff_cancel_the_date_is_told_so_and_cancels_nothing(
    fan_client, fan, concert_date, paid_reservation
):
    from booking.services import mark_date_cancelled

    url = f"/reservations/{paid_reservation.pk}/cancel/"
    assertContains(fan_client.get(url), 'data-testid="confirm-cancel"')  # the fan opens the page...
    mark_date_cancelled(concert_date=concert_date, reason="storm")  # ...staff cancel the date...
    fan.refresh_from_db()
    balance = fan.balance

    response = fan_client.post(url)  # ...and the fan confirms
    page = fan_client.get(url)

    told = "주최 측 사정으로 이 회차가 취소되었습니다."
    assertContains(response, told, status_code=409)
    assertContains(page, told, status_code=409)
    assertNotContains(page, 'data-testid="confirm-cancel"', status_code=409)
    paid_reservation.refresh_from_db()
    fan.refresh_from_db()
    assert (paid_reservation.status, paid_reservation.end_reason) == (Reservation.Status.CONFIRMED, "")
    assert fan.balance == balance
    assert not UsageHistory.objects.filter(action_type=UsageHistory.ActionType.CANCELLATION).exists()
    assert_consistent()


def test_cancelling_someone_elses_reservation_is_404(client, paid_reservation):
    stranger = factories.UserFactory()
    client.force_login(stranger)
    response = client.post(f"/reservations/{paid_reservation.pk}/cancel/")
    assert response.status_code == 404
    paid_reservation.refresh_from_db()
    assert paid_reservation.status == Reservation.Status.CONFIRMED


def test_cancel_asks_on_get_and_needs_csrf_to_post(csrf_client, fan, paid_reservation):
    assert csrf_client.get(f"/reservations/{paid_reservation.pk}/cancel/").status_code == 200  # the confirmation
    assert csrf_client.post(f"/reservations/{paid_reservation.pk}/cancel/").status_code == 403
    paid_reservation.refresh_from_db()
    assert paid_reservation.status == Reservation.Status.CONFIRMED


def test_a_fan_who_books_in_english_gets_the_confirmation_mail_in_english(
    fan_client, fan, concert_date, admitted, hold, top_up, django_capture_on_commit_callbacks, settings
):
    from django.core import mail

    fan_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    top_up(fan, 300_000)
    hold(fan, concert_date, 12)
    form = form_data(fan_client.get(checkout_url(concert_date)))
    with django_capture_on_commit_callbacks(execute=True):
        fan_client.post(checkout_url(concert_date), form)
    [message] = mail.outbox
    assert message.subject.startswith("Your Frontrow tickets: Seoul Jazz Night, ")
    assert message.body.startswith("Hello 김팬,")


def test_hold_refuses_a_seat_number_longer_than_int_reads_with_400(fan_client, concert_date, admitted):
    # int() refuses text of more than 4,300 digits (a ValueError): the form must answer before it would call it.
    before = seat_snapshot(concert_date)
    response = fan_client.post(hold_url(concert_date), {"seats": ["1" * 4301]})
    assertContains(response, ")은 이 좌석 배치도에 없습니다", status_code=400)
    assert seat_snapshot(concert_date) == before
