"""Every refusal carries a stable code and an HTTP status (config.refusals): each code belongs to exactly one
exception class, and each is provoked here for real — through the service or the page, on PostgreSQL — with
the status it answers. A new code without a case below fails test_each_code_is_provoked_for_real."""

import datetime
import importlib
import importlib.util
import uuid
import zoneinfo
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from accounts import services as account_services
from booking import services as booking_services
from booking.offer_links import offer_token
from booking.tickets import ticket_code
from config.ratelimit import check_rate_limit
from config.refusals import Refusal, RefusalCode
from queueing import services as queue_services
from tests.factories import ConcertDateFactory, ConcertFactory, StaffFactory, UserFactory, WaitingRoomFactory
from tests.support.challenges import altered, challenge_room, solved
from tests.support.ratelimits import set_limit
from tests.support.sales import holding_fan, paid_fan
from tests.support.waitlist import return_seats, sell_out
from wallet import services as wallet_services

pytestmark = pytest.mark.django_db


def refusal_classes():
    """Every Refusal subclass, after importing each installed app's `exceptions` module and its API's (if it has
    them), so the answer does not depend on which tests ran before."""
    for app in apps.get_app_configs():
        for module in (f"{app.name}.exceptions", f"{app.name}.api.exceptions"):
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:  # the app has no `api` package (or `api` is a module)
                found = False
            if found:
                importlib.import_module(module)
    found, todo = [], [Refusal]
    while todo:
        for subclass in todo.pop().__subclasses__():
            if subclass not in found:
                found.append(subclass)
                todo.append(subclass)
    return found


def test_every_code_is_given_by_exactly_one_exception_class():
    owners = {code: [] for code in RefusalCode}
    for cls in refusal_classes():
        if "code" in vars(cls):
            owners[RefusalCode(cls.code)].append(cls.__qualname__)
    assert {code: names for code, names in owners.items() if len(names) != 1} == {}


def test_every_refusal_that_can_be_raised_has_a_code_and_an_error_status():
    for cls in refusal_classes():
        if "code" in vars(cls) or not cls.__subclasses__():  # a leaf, or a refusal its subclasses refine
            assert isinstance(getattr(cls, "code", None), RefusalCode), f"{cls.__qualname__} has no code"
            assert 400 <= cls.status < 600, f"{cls.__qualname__}: status {cls.status}"


def test_the_reason_is_english_and_short_whatever_language_is_active():
    from booking.exceptions import SaleNotOpen

    with translation.override("ko"):
        refusal = SaleNotOpen()
        shown = str(refusal.message)
    assert refusal.reason == "Sales for this concert have not opened yet." == str(refusal)
    assert shown != refusal.reason  # the fan reads Korean
    assert len(SaleNotOpen("x" * 500).reason) == 200


# --- one real case per code -----------------------------------------------------------------------------


@dataclass
class Refused:
    refusal: Refusal
    response: object = None  # the page's answer, when the case goes through one


CASES = {}  # code -> (provoke(scene) -> Refused, the status the refusal answers with)


def provokes(code, *, status):
    def register(provoke):
        assert code not in CASES, f"two cases for {code}"
        CASES[code] = (provoke, status)
        return provoke

    return register


def refusal_of(call):
    with pytest.raises(Refusal) as refused:
        call()
    return refused.value


@pytest.fixture
def scene(settings):
    now = timezone.now()
    date = ConcertDateFactory()
    fan = UserFactory()
    client = Client()
    client.force_login(fan)
    return SimpleNamespace(now=now, date=date, fan=fan, client=client, settings=settings)


def _hold(scene, numbers, user=None):
    return lambda: booking_services.hold_seats(
        user=user or scene.fan, concert_date=scene.date, seat_numbers=numbers, now=scene.now
    )


def _pay(scene, **kwargs):
    kwargs = {"idempotency_key": "k", "now": scene.now, **kwargs}
    return lambda: booking_services.pay(user=scene.fan, concert_date=scene.date, **kwargs)


@provokes(RefusalCode.INVALID_SEAT_SELECTION, status=400)
def invalid_seat_selection(scene):
    return Refused(refusal_of(_hold(scene, [settings.SEATS_PER_DATE + 1])))


@provokes(RefusalCode.SEAT_LIMIT_REACHED, status=409)
def seat_limit_reached(scene):
    return Refused(refusal_of(_hold(scene, list(range(1, settings.MAX_SEATS_PER_USER + 2)))))


@provokes(RefusalCode.SEAT_TAKEN, status=409)
def seat_taken(scene):
    _hold(scene, [1], user=UserFactory())()
    return Refused(refusal_of(_hold(scene, [1, 2])))


@provokes(RefusalCode.SALE_NOT_OPEN, status=403)
def sale_not_open(scene):
    scene.date = ConcertDateFactory(concert=ConcertFactory(sale_opens_at=scene.now + datetime.timedelta(days=1)))
    return Refused(refusal_of(_hold(scene, [1])))


@provokes(RefusalCode.DATE_NOT_BOOKABLE, status=409)
def date_not_bookable(scene):
    scene.now = scene.date.starts_at + datetime.timedelta(minutes=1)  # the show has started
    return Refused(refusal_of(_hold(scene, [1])))


@provokes(RefusalCode.NO_SEATS_TOGETHER, status=409)
def no_seats_together(scene):
    for number in range(2, settings.SEATS_PER_DATE + 1, 2):  # every other seat taken: no two side by side
        _hold(scene, [number], user=UserFactory())()
    refusal = refusal_of(
        lambda: booking_services.hold_best_seats(user=scene.fan, concert_date=scene.date, count=2, now=scene.now)
    )
    queue_services.join(user=scene.fan, concert=scene.date.concert)  # admitted: the page is the picker's own
    response = scene.client.post(reverse("booking:pick", args=[scene.date.pk]), {"count": "2"})
    return Refused(refusal, response)


@provokes(RefusalCode.PRESALE_QUOTA_REACHED, status=409)
def presale_quota_reached(scene):
    from tests.support.presales import listed_fan, open_presale

    presale = open_presale(quota=1)
    date = presale.concert.dates.get()
    booking_services.hold_seats(user=listed_fan(presale), concert_date=date, seat_numbers=[1])
    fan = listed_fan(presale)
    return Refused(refusal_of(lambda: booking_services.hold_seats(user=fan, concert_date=date, seat_numbers=[2])))


@provokes(RefusalCode.HOLD_EXPIRED, status=409)
def hold_expired(scene):
    _hold(scene, [1])()
    scene.now += datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)
    return Refused(refusal_of(_pay(scene)))


@provokes(RefusalCode.CHECKOUT_CHANGED, status=409)
def checkout_changed(scene):
    _hold(scene, [1])()
    return Refused(refusal_of(_pay(scene, reservation_ids=[uuid.uuid4()])))  # not the hold the page showed


@provokes(RefusalCode.NOTHING_TO_PAY, status=409)
def nothing_to_pay(scene):
    return Refused(refusal_of(_pay(scene)))


@provokes(RefusalCode.INVALID_PAYMENT_REQUEST, status=400)
def invalid_payment_request(scene):
    return Refused(refusal_of(_pay(scene, idempotency_key="")))


@provokes(RefusalCode.IDEMPOTENCY_KEY_REUSED, status=422)
def idempotency_key_reused(scene):
    from tests.support.fans import top_up

    top_up(scene.fan, 500_000)
    first, second = _hold(scene, [1, 2])()
    booking_services.pay(
        user=scene.fan, concert_date=scene.date, idempotency_key="k", reservation_ids=[first.pk, second.pk]
    )
    return Refused(refusal_of(_pay(scene, reservation_ids=[first.pk])))


@provokes(RefusalCode.CANCELLATION_CLOSED, status=409)
def cancellation_closed(scene):
    fan, result = paid_fan(concert_date=scene.date, seats=[1])
    reservation = result.reservations[0]
    # Past the cutoff, still the day before the show (starts are on the minute): not the show's own day.
    past_cutoff = scene.date.starts_at - datetime.timedelta(hours=settings.CANCEL_CUTOFF_HOURS, seconds=-1)
    return Refused(refusal_of(lambda: booking_services.cancel(user=fan, reservation=reservation, now=past_cutoff)))


@provokes(RefusalCode.CANCELLATION_ON_SHOW_DAY, status=409)
def cancellation_on_show_day(scene):
    fan, result = paid_fan(concert_date=scene.date, seats=[1])
    reservation = result.reservations[0]
    show_day_morning = datetime.datetime.combine(
        scene.date.concert_date, datetime.time(0, 0, 1), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )
    refusal = refusal_of(lambda: booking_services.cancel(user=fan, reservation=reservation, now=show_day_morning))
    with time_machine.travel(show_day_morning, tick=False):  # logged in then: a month-old session has run out
        client = Client()
        client.force_login(fan)
        page = client.get(reverse("booking:cancel", args=[reservation.pk]))
    return Refused(refusal, page)


@provokes(RefusalCode.CANCELLATION_FEE_CHANGED, status=409)
def cancellation_fee_changed(scene):
    soon = ConcertDateFactory(starts_at=scene.now + datetime.timedelta(days=5))  # 20 % from 6 days before
    fan, result = paid_fan(concert_date=soon, seats=[1])
    reservation = result.reservations[0]
    # The fan confirmed a page that showed no fee (shown before midnight of a free day, say): refused, not charged.
    refusal = refusal_of(lambda: booking_services.cancel(user=fan, reservation=reservation, accepted_fee=0))
    client = Client()
    client.force_login(fan)
    page = client.post(reverse("booking:cancel", args=[reservation.pk]), {"fee": "0"})
    return Refused(refusal, page)


@provokes(RefusalCode.TICKET_USED, status=409)
def ticket_used(scene):
    fan, result = paid_fan(concert_date=scene.date, seats=[1])
    reservation = result.reservations[0]
    booking_services.check_in_ticket(code=ticket_code(reservation), concert_date=scene.date, by=None, now=scene.now)
    refusal = refusal_of(lambda: booking_services.cancel(user=fan, reservation=reservation, now=scene.now))
    client = Client()
    client.force_login(fan)
    return Refused(refusal, client.post(reverse("booking:cancel", args=[reservation.pk])))


@provokes(RefusalCode.RESERVATION_NOT_CANCELLABLE, status=409)
def reservation_not_cancellable(scene):
    [hold] = _hold(scene, [1])()  # a hold is not a paid reservation
    refusal = refusal_of(lambda: booking_services.cancel(user=scene.fan, reservation=hold, now=scene.now))
    page = scene.client.post(reverse("booking:cancel", args=[hold.pk]))
    return Refused(refusal, page)


@provokes(RefusalCode.HOLD_NOT_FOUND, status=404)
def hold_not_found(scene):
    [hold] = _hold(scene, [1])()
    intruder = UserFactory()
    refusal = refusal_of(lambda: booking_services.release_own_hold(user=intruder, reservation=hold, now=scene.now))
    client = Client()
    client.force_login(intruder)
    return Refused(refusal, client.post(reverse("booking:release", args=[hold.pk])))  # the page's 404 too


@provokes(RefusalCode.HOLD_ALREADY_PAID, status=409)
def hold_already_paid(scene):
    fan, result = paid_fan(concert_date=scene.date, seats=[1])
    reservation = result.reservations[0]
    refusal = refusal_of(lambda: booking_services.release_own_hold(user=fan, reservation=reservation, now=scene.now))
    secret = account_services.create_api_token(user=fan, name="script", scope="book", lifetime_days=7).secret
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return Refused(refusal, api.delete(f"/api/v1/holds/{reservation.pk}"))  # the JSON API's problem


@provokes(RefusalCode.DATE_CANCELLED, status=409)
def date_cancelled(scene):
    fan, result = paid_fan(concert_date=scene.date, seats=[1])
    reservation = result.reservations[0]
    booking_services.mark_date_cancelled(concert_date=scene.date, reason="storm", now=scene.now)
    refusal = refusal_of(lambda: booking_services.cancel(user=fan, reservation=reservation, now=scene.now))
    client = Client()
    client.force_login(fan)
    return Refused(refusal, client.post(reverse("booking:cancel", args=[reservation.pk])))


# The waiting list of a sold-out date: through its pages.


@provokes(RefusalCode.WAITLIST_NOT_NEEDED, status=409)
def waitlist_not_needed(scene):
    refusal = refusal_of(
        lambda: booking_services.waitlist.join_waitlist(user=scene.fan, concert_date=scene.date, now=scene.now)
    )
    queue_services.join(user=scene.fan, concert=scene.date.concert)  # joining a list needs admission
    page = scene.client.post(reverse("booking:waitlist", args=[scene.date.pk]), {"action": "join"})
    return Refused(refusal, page)


@provokes(RefusalCode.SEATS_KEPT_FOR_WAITLIST, status=409)
def seats_kept_for_waitlist(scene):
    sold = sell_out(scene.date, now=scene.now)
    booking_services.waitlist.join_waitlist(user=UserFactory(), concert_date=scene.date, now=scene.now)
    return_seats(sold, 5, now=scene.now)  # its offer job runs once this test's transaction commits: never
    refusal = refusal_of(_hold(scene, [5]))
    queue_services.join(user=scene.fan, concert=scene.date.concert)  # admitted: the picker's own page
    page = scene.client.post(reverse("booking:pick", args=[scene.date.pk]), {"count": "1"})
    return Refused(refusal, page)


def _offered(scene):
    sold = sell_out(scene.date, now=scene.now)
    booking_services.waitlist.join_waitlist(user=scene.fan, concert_date=scene.date, now=scene.now)
    return_seats(sold, 1, now=scene.now)
    [offer] = booking_services.waitlist.make_offers(concert_date=scene.date, now=scene.now)
    return offer


@provokes(RefusalCode.OFFER_LINK_INVALID, status=404)
def offer_link_invalid(scene):
    offer = _offered(scene)
    refusal = refusal_of(lambda: booking_services.waitlist.accept_offer(user=UserFactory(), offer=offer))
    page = scene.client.get(reverse("booking:offer", args=[offer_token(offer)[:-2] + "xx"]))
    return Refused(refusal, page)


@provokes(RefusalCode.OFFER_EXPIRED, status=410)
def offer_expired(scene):
    offer = _offered(scene)
    late = offer.expires_at + datetime.timedelta(seconds=1)
    refusal = refusal_of(lambda: booking_services.waitlist.accept_offer(user=scene.fan, offer=offer, now=late))
    booking_services.waitlist.make_offers(concert_date=scene.date, now=late)  # it runs out: passed on
    page = scene.client.post(reverse("booking:offer", args=[offer_token(offer)]), {"action": "accept"})
    return Refused(refusal, page)


# The door: through the door page, whose context carries the refusal.


def _door(scene, code, concert_date=None):
    staff = Client()
    staff.force_login(StaffFactory())
    page = staff.post(
        reverse("booking:door"),
        {"concert_date": str((concert_date or scene.date).pk), "door": "Gate A", "code": code},
    )
    return Refused(page.context["refusal"], page)


@provokes(RefusalCode.TICKET_CODE_INVALID, status=400)
def ticket_code_invalid(scene):
    return _door(scene, "not-a-frontrow-ticket")


@provokes(RefusalCode.TICKET_NOT_VALID, status=409)
def ticket_not_valid(scene):
    _fan, [hold] = holding_fan(concert_date=scene.date, seats=[1])  # never paid
    return _door(scene, ticket_code(hold))


@provokes(RefusalCode.TICKET_FOR_ANOTHER_DATE, status=409)
def ticket_for_another_date(scene):
    _fan, result = paid_fan(concert_date=scene.date, seats=[1])
    other = ConcertDateFactory(concert=scene.date.concert, starts_at=scene.date.starts_at + datetime.timedelta(days=1))
    return _door(scene, ticket_code(result.reservations[0]), concert_date=other)


@provokes(RefusalCode.TICKET_ALREADY_CHECKED_IN, status=409)
def ticket_already_checked_in(scene):
    _fan, result = paid_fan(concert_date=scene.date, seats=[1])
    booking_services.check_in_ticket(
        code=ticket_code(result.reservations[0]), concert_date=scene.date, by=StaffFactory()
    )
    return _door(scene, ticket_code(result.reservations[0]))


# The wallet.


@provokes(RefusalCode.INVALID_AMOUNT, status=400)
def invalid_amount(scene):
    return Refused(refusal_of(lambda: wallet_services.whole_won("ten thousand")))


@provokes(RefusalCode.CHARGE_REFUSED, status=400)
def charge_refused(scene):
    refusal = refusal_of(lambda: wallet_services.charge(user=scene.fan, amount=settings.MIN_CHARGE - 1))
    page = scene.client.post(reverse("wallet:charge"), {"amount": str(settings.MAX_CHARGE + 1)})
    return Refused(refusal, page)


@provokes(RefusalCode.INSUFFICIENT_BALANCE, status=402)
def insufficient_balance(scene):
    _hold(scene, [1])()  # the fan's balance is 0
    return Refused(refusal_of(_pay(scene)))


# The waiting room.


@provokes(RefusalCode.QUEUE_NOT_OPEN, status=409)
def queue_not_open(scene):
    concert = ConcertFactory(sale_opens_at=scene.now + datetime.timedelta(days=1))
    refusal = refusal_of(lambda: queue_services.join(user=scene.fan, concert=concert, now=scene.now))
    page = scene.client.post(reverse("queueing:room", kwargs={"concert_id": concert.pk}))
    return Refused(refusal, page)


@provokes(RefusalCode.QUEUE_PRESALE_ONLY, status=403)
def queue_presale_only(scene):
    from tests.factories import PresaleFactory

    concert = PresaleFactory().concert  # open now: the room serves it, to the fans on its list
    refusal = refusal_of(
        lambda: queue_services.enter(user=scene.fan, concert=concert, challenge_solution=None, now=scene.now)
    )
    page = scene.client.post(reverse("queueing:room", kwargs={"concert_id": concert.pk}))
    return Refused(refusal, page)


@provokes(RefusalCode.QUEUE_ADDRESS_LIMIT, status=429)
def queue_address_limit(scene):
    scene.settings.QUEUE_MAX_PLACES_PER_IP = 1
    concert = scene.date.concert
    queue_services.join(user=UserFactory(), concert=concert, now=scene.now, client_ip="203.0.113.9")
    refusal = refusal_of(
        lambda: queue_services.join(user=scene.fan, concert=concert, now=scene.now, client_ip="203.0.113.9")
    )
    page = scene.client.post(reverse("queueing:room", kwargs={"concert_id": concert.pk}), REMOTE_ADDR="203.0.113.9")
    return Refused(refusal, page)


@provokes(RefusalCode.QUEUE_CLOSED, status=409)
def queue_closed(scene):
    concert = scene.date.concert
    after_the_show = scene.date.starts_at + datetime.timedelta(days=1)
    return Refused(refusal_of(lambda: queue_services.join(user=scene.fan, concert=concert, now=after_the_show)))


@provokes(RefusalCode.QUEUE_UNAVAILABLE, status=503)
def queue_unavailable(scene):
    scene.settings.QUEUE_BACKEND = "redis"
    scene.settings.QUEUE_REDIS_PREFIX = f"test-refusals:{uuid.uuid4().hex[:12]}"
    scene.settings.REDIS_URL = "redis://127.0.0.1:1/3"  # nothing listens on port 1
    concert = WaitingRoomFactory(concert=scene.date.concert).concert
    refusal = refusal_of(lambda: queue_services.join(user=scene.fan, concert=concert, now=scene.now))
    polled = scene.client.get(reverse("queueing:status", kwargs={"concert_id": concert.pk}))
    assert polled.json()["code"] == RefusalCode.QUEUE_UNAVAILABLE  # the JSON says the code too
    return Refused(refusal, polled)


@provokes(RefusalCode.CHALLENGE_FAILED, status=403)
def challenge_failed(scene):
    concert = scene.date.concert
    challenge_room(concert)
    forged = altered(solved(concert), signature="0" * 64)  # refused before anything is remembered in Redis
    refusal = refusal_of(lambda: queue_services.redeem_solution(concert=concert, payload=forged, now=scene.now))
    page = scene.client.post(reverse("queueing:room", kwargs={"concert_id": concert.pk}), {"altcha": forged})
    return Refused(refusal, page)


# Every page that counts requests (config.ratelimit).


@provokes(RefusalCode.RATE_LIMITED, status=429)
def rate_limited(scene):
    set_limit(scene.settings, "top_up", account=1, ip=100)
    request = RequestFactory().post("/wallet/charge/")
    request.user = scene.fan
    check_rate_limit("top_up", request)  # the one top-up the window allows
    refusal = refusal_of(lambda: check_rate_limit("top_up", request))
    page = scene.client.post(reverse("wallet:charge"), {"amount": "10000"})
    return Refused(refusal, page)


# Accounts: e-mail verification (the link's page and the waiting room's gate).


def _verification_link(scene, token):
    from accounts import services as account_services

    refusal = refusal_of(lambda: account_services.verify_email(token=token))
    return Refused(refusal, scene.client.post(reverse("accounts:verify_email", args=[token])))


@provokes(RefusalCode.VERIFICATION_LINK_INVALID, status=400)
def verification_link_invalid(scene):
    from accounts.tokens import make_verification_token

    payload, timestamp, _signature = make_verification_token(scene.fan).rsplit(":", 2)
    return _verification_link(scene, f"{payload}:{timestamp}:{'A' * 43}")


@provokes(RefusalCode.VERIFICATION_LINK_EXPIRED, status=410)
def verification_link_expired(scene):
    from accounts.tokens import make_verification_token

    a_week_ago = scene.now.timestamp() - 7 * 24 * 3600
    return _verification_link(scene, make_verification_token(scene.fan, at=a_week_ago))


@provokes(RefusalCode.VERIFICATION_LINK_USED, status=409)
def verification_link_used(scene):
    from accounts.tokens import make_verification_token

    return _verification_link(scene, make_verification_token(scene.fan))  # the fan's address is verified already


@provokes(RefusalCode.EMAIL_NOT_VERIFIED, status=403)
def email_not_verified(scene):
    from accounts.exceptions import EmailNotVerified
    from accounts.selectors import must_verify_email

    scene.fan.email_verified_at = None
    scene.fan.save(update_fields=["email_verified_at"])
    assert must_verify_email(scene.fan)
    page = scene.client.post(reverse("queueing:room", kwargs={"concert_id": scene.date.concert.pk}))
    return Refused(EmailNotVerified(), page)


@provokes(RefusalCode.EMAIL_ADDRESS_TAKEN, status=409)
def email_address_taken(scene):
    from accounts import services as account_services

    other = UserFactory()
    # Past the form's check (another account took the address meanwhile): the unique constraint refuses it.
    return Refused(
        refusal_of(lambda: account_services.change_email(user=scene.fan, new_email=other.email, language="ko"))
    )


# Fan-club presales (concerts.services).


@provokes(RefusalCode.PRESALE_CODE_INVALID, status=400)
def presale_code_invalid(scene):
    from concerts import services as concert_services
    from tests.factories import PresaleFactory

    presale = PresaleFactory()
    [code] = concert_services.generate_presale_codes(presale=presale, count=1)
    concert_services.redeem_presale_code(user=UserFactory(), presale=presale, code=code)
    return Refused(refusal_of(lambda: concert_services.redeem_presale_code(user=scene.fan, presale=presale, code=code)))


@provokes(RefusalCode.PRESALE_CLOSED, status=409)
def presale_closed(scene):
    from concerts import services as concert_services
    from tests.factories import PresaleFactory

    presale = PresaleFactory()
    [code] = concert_services.generate_presale_codes(presale=presale, count=1)
    late = presale.closes_at
    return Refused(
        refusal_of(lambda: concert_services.redeem_presale_code(user=scene.fan, presale=presale, code=code, now=late))
    )


# The JSON API (accounts' access tokens, api.exceptions): each answered as a problem with its code.


def _api_problem(response, code):
    assert response["Content-Type"] == "application/problem+json" and response.json()["code"] == code
    return response


@provokes(RefusalCode.NOT_AUTHENTICATED, status=401)
def not_authenticated(scene):
    from accounts.exceptions import NotAuthenticated

    return Refused(NotAuthenticated(), _api_problem(Client().get("/api/v1/me"), RefusalCode.NOT_AUTHENTICATED))


@provokes(RefusalCode.TOKEN_INVALID, status=401)
def token_invalid(scene):
    from accounts import services as account_services

    response = Client(HTTP_AUTHORIZATION="Bearer frt_forged").get("/api/v1/me")
    return Refused(
        refusal_of(lambda: account_services.authenticate_api_token(secret="frt_forged")),
        _api_problem(response, RefusalCode.TOKEN_INVALID),
    )


@provokes(RefusalCode.TOKEN_SCOPE_INSUFFICIENT, status=403)
def token_scope_insufficient(scene):
    from accounts import services as account_services
    from booking.api.auth import BearerToken

    secret = account_services.create_api_token(user=scene.fan, name="r", scope="read", lifetime_days=7).secret
    request = RequestFactory().post("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    return Refused(refusal_of(lambda: BearerToken()(request)))


@provokes(RefusalCode.TOKEN_LIMIT_REACHED, status=409)
def token_limit_reached(scene):
    from accounts import services as account_services

    scene.settings.API_TOKENS_PER_USER = 1
    account_services.create_api_token(user=scene.fan, name="a", scope="read", lifetime_days=7)
    return Refused(
        refusal_of(lambda: account_services.create_api_token(user=scene.fan, name="b", scope="read", lifetime_days=7))
    )


@provokes(RefusalCode.NOT_ADMITTED, status=403)
def not_admitted(scene):
    from booking.api.gates import require_admission

    response = scene.client.get(f"/api/v1/dates/{scene.date.pk}/seats")
    return Refused(
        refusal_of(lambda: require_admission(user=scene.fan, concert=scene.date.concert)),
        _api_problem(response, RefusalCode.NOT_ADMITTED),
    )


@provokes(RefusalCode.INVALID_REQUEST, status=400)
def invalid_request(scene):
    from booking.api.exceptions import InvalidRequest

    response = scene.client.get("/api/v1/reservations", {"limit": "many"})
    return Refused(InvalidRequest(), _api_problem(response, RefusalCode.INVALID_REQUEST))


@provokes(RefusalCode.NOT_FOUND, status=404)
def not_found(scene):
    from booking.api.exceptions import NotFound

    response = scene.client.get(f"/api/v1/concerts/{uuid.uuid4()}")
    return Refused(NotFound(), _api_problem(response, RefusalCode.NOT_FOUND))


@provokes(RefusalCode.METHOD_NOT_ALLOWED, status=405)
def method_not_allowed(scene):
    from booking.api.exceptions import MethodNotAllowed

    response = scene.client.put(f"/api/v1/holds/{uuid.uuid4()}")
    return Refused(MethodNotAllowed(allow="DELETE"), _api_problem(response, RefusalCode.METHOD_NOT_ALLOWED))


@provokes(RefusalCode.CSRF_FAILED, status=403)
def csrf_failed(scene):
    from booking.api.auth import SiteSession

    client = Client(enforce_csrf_checks=True)
    client.force_login(scene.fan)
    request = RequestFactory().post("/api/v1/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    request.user = scene.fan
    return Refused(refusal_of(lambda: SiteSession()(request)))


# Accounts: staff two-factor (the staff pages' gate and the verify page).


def _unverified_staff(scene):
    staff = UserFactory(is_staff=True)
    client = Client()
    client.second_factor = False  # a password log-in only (tests/conftest.py)
    client.force_login(staff)
    return staff, client


@provokes(RefusalCode.SECOND_FACTOR_REQUIRED, status=403)
def second_factor_required(scene):
    from accounts.exceptions import SecondFactorRequired

    _staff, client = _unverified_staff(scene)
    page = client.get("/admin/", HTTP_ACCEPT="application/json")
    assert page.json()["code"] == "second_factor_required"
    return Refused(SecondFactorRequired(), page)


@provokes(RefusalCode.SECOND_FACTOR_INVALID, status=400)
def second_factor_invalid(scene):
    from accounts.exceptions import SecondFactorInvalid
    from tests.support.two_factor import confirmed_device

    staff, client = _unverified_staff(scene)
    confirmed_device(staff)
    page = client.post(reverse("accounts:two_factor_verify"), {"code": "000000"})
    return Refused(SecondFactorInvalid(), page)


@pytest.mark.parametrize("code", list(RefusalCode), ids=str)
def test_each_code_is_provoked_for_real(code, scene):
    assert code in CASES, f"no case provokes {code}: add one to this module"
    provoke, status = CASES[code]
    refused = provoke(scene)
    assert (refused.refusal.code, refused.refusal.status) == (code, status)
    if refused.response is not None:
        assert refused.response.status_code == status
        if status == 429:  # too many requests: the answer says when to try again
            assert int(refused.response["Retry-After"]) > 0
