"""Every fan page passes axe-core's WCAG 2.0/2.1 A and AA rules with no serious or critical violation, in Korean
and English, on a desktop (1280×800) and a phone (390×844).

VISITS below is the one list of pages: a page added to the site gets a line there (a name, who visits, and a
function that takes the browser tab to it given the World, which makes the concerts and fans a page needs on
first use). Each visit runs in the four languages × sizes, in a fresh browser tab each; the test fails listing
every serious or critical violation found (rule, impact, help, the elements' selectors), and writes every
violation of any impact to tests/artifacts/axe/<visit>.json with a screenshot of each page.
"""

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.urls import include, path
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from booking import services as booking_services
from concerts import services as concert_services
from queueing import services as queue_services
from queueing.gate import unavailable_response
from queueing.models import WaitingRoom
from tests import factories
from tests.e2e.conftest import axe_violations, describe, failing
from tests.e2e.test_fan_pages import log_in
from tests.support.challenges import challenge_room
from tests.support.draws import run_a_draw
from tests.support.ratelimits import set_limit
from tests.support.sales import holding_fan, paid_fan
from tests.support.waitlist import return_seats, sell_out
from wallet import services as wallet_services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# (browser locale, site language, viewport)
COMBOS = [
    ("ko-KR", "ko", {"width": 1280, "height": 800}),
    ("en-US", "en", {"width": 1280, "height": 800}),
    ("ko-KR", "ko", {"width": 390, "height": 844}),
    ("en-US", "en", {"width": 390, "height": 844}),
]


# --- pages no fan reaches on purpose: the error pages, from views that fail as the real ones do -----------------


def _forbidden(request):
    raise PermissionDenied


def _broken(request):
    raise RuntimeError("a deliberate failure of the accessibility test's page")


def _database_gone(request):
    raise OperationalError("server closed the connection unexpectedly (the accessibility test's page)")


def _queue_gone(request):
    return unavailable_response(request)  # what a waiting-room page answers while Redis cannot be reached


urlpatterns = [
    path("e2e-errors/403/", _forbidden),
    path("e2e-errors/500/", _broken),
    path("e2e-errors/503/", _database_gone),
    path("e2e-errors/503-queue/", _queue_gone),
    path("", include("config.urls")),
]


# --- what the pages need --------------------------------------------------------------------------------------


class World:
    """The concerts, fans and bookings the pages show, each made on first use (a visit makes only what it reads)."""

    def __init__(self, settings):
        self.settings = settings

    @cached_property
    def fan(self):
        fan = factories.UserFactory(name="Kim Minji")
        wallet_services.charge(user=fan, amount=500_000)
        return fan

    @cached_property
    def date(self):
        """A concert on sale, the fan admitted to it: one seat paid, one paid and cancelled, two held; other fans
        hold one seat and paid for another (the seat map shows every state a seat may be in)."""
        date = factories.ConcertDateFactory(concert__title="Seoul Jazz Night", concert__venue="Olympic Hall")
        factories.ConcertDateFactory(concert=date.concert, starts_at=date.starts_at + datetime.timedelta(days=1))
        holding_fan(concert_date=date, seats=[20])
        paid_fan(concert_date=date, seats=[21])
        paid_fan(concert_date=date, seats=[12, 13], user=self.fan, top_up=1000)
        booking_services.cancel(user=self.fan, reservation=self.fan.reservations.get(seat__seat_number=13))
        assert queue_services.join(user=self.fan, concert=date.concert).admitted  # paying ended the admission
        booking_services.hold_seats(user=self.fan, concert_date=date, seat_numbers=[3, 33])
        return date

    @cached_property
    def paid(self):
        return self.fan.reservations.get(seat__concert_date=self.date, seat__seat_number=12)

    @cached_property
    def cancelled(self):
        return self.fan.reservations.get(seat__concert_date=self.date, seat__seat_number=13)

    @cached_property
    def reset_link(self):
        """The fan's password-reset link, as the e-mail gives it."""
        uid = urlsafe_base64_encode(force_bytes(self.fan.pk))
        return f"/accounts/password/reset/{uid}/{default_token_generator.make_token(self.fan)}/"

    @cached_property
    def sold_out(self):
        """A sold-out date; the fan is not on its waiting list."""
        date = factories.ConcertDateFactory(concert__title="Jazz at Dawn")
        sell_out(date)
        return date

    @cached_property
    def offered(self):
        """A sold-out date whose waiting list the fan joined; a seat came back and is offered to the fan."""
        date = factories.ConcertDateFactory(concert__title="Blue Hour")
        sold = sell_out(date)
        booking_services.waitlist.join_waitlist(user=self.fan, concert_date=date)
        return_seats(sold, 4)
        return date

    @cached_property
    def crowded(self):
        """A concert on sale whose one admission place is taken: the fan waits in its waiting room."""
        concert = factories.ConcertDateFactory(concert__title="Midnight Strings").concert
        WaitingRoom.objects.create(concert=concert, max_active=1)
        assert queue_services.join(user=factories.UserFactory(), concert=concert).admitted
        for _ in range(2):
            queue_services.join(user=factories.UserFactory(), concert=concert)
        assert not queue_services.join(user=self.fan, concert=concert).admitted
        return concert

    @cached_property
    def prequeue(self):
        """A concert whose sale opens in ten minutes: its pre-queue is open and the fan is in it."""
        concert = factories.ConcertFactory(
            title="Opening Night", sale_opens_at=timezone.now() + datetime.timedelta(minutes=10)
        )
        factories.ConcertDateFactory(concert=concert)
        queue_services.join(user=self.fan, concert=concert)
        return concert

    @cached_property
    def challenge(self):
        """A concert whose pre-queue is open and asks for the entry challenge; the fan has not entered."""
        concert = factories.ConcertFactory(
            title="Aurora Skies", sale_opens_at=timezone.now() + datetime.timedelta(minutes=10)
        )
        factories.ConcertDateFactory(concert=concert)
        challenge_room(concert)
        return concert

    @cached_property
    def upcoming(self):
        """A concert whose sale opens in two days (its page counts down; no pre-queue yet)."""
        concert = factories.ConcertFactory(
            title="Winter Lights", sale_opens_at=timezone.now() + datetime.timedelta(days=2)
        )
        factories.ConcertDateFactory(concert=concert)
        return concert

    @cached_property
    def open_room(self):
        """A concert on sale whose waiting room the fan has not joined."""
        return factories.ConcertDateFactory(concert__title="Night Owls").concert

    @cached_property
    def newcomer(self):
        """A fan who signed up and has not verified the address yet."""
        return factories.UserFactory(name="Lee Seoyeon", email_verified_at=None)

    @cached_property
    def presale(self):
        """A fan-club presale by codes, open now (the general sale opens in two days); the fan has no code."""
        concert = factories.ConcertFactory(
            title="Starlight Tour", sale_opens_at=timezone.now() + datetime.timedelta(days=2)
        )
        factories.ConcertDateFactory(concert=concert)
        presale = factories.PresaleFactory(name="Fan Club Presale", concert=concert)
        concert_services.generate_presale_codes(presale=presale, count=3)
        return presale

    @cached_property
    def presale_listed(self):
        """A presale by e-mail list with the fan's address on it."""
        presale = factories.PresaleFactory(name="Members Presale", access="EMAILS")
        concert_services.add_presale_emails(presale=presale, emails=[self.fan.email])
        return presale

    @cached_property
    def drawn(self):
        return run_a_draw(entrants=5, leavers=1, later=1).concert


@dataclass(frozen=True)
class Visit:
    """A page: `go(page, world)` takes a browser tab there (logged in as the world's fan when `fan`) and returns
    the response of its last navigation; the page answers `status` and shows the element `shows` (a CSS selector:
    the visit reached the page in the state meant, not a redirect elsewhere)."""

    name: str
    go: Callable
    shows: str
    fan: bool = True
    needs: tuple[str, ...] = ()  # what of the World the page shows without its URL naming it (made first)
    status: int = 200  # a browser logs a 4xx/5xx page as a console error: not counted as the page's problem
    setup: Callable | None = None  # given pytest-django's `settings`: what the page needs set first


def _goto(url):
    def go(page, world):
        return page.goto(url(world) if callable(url) else url)

    return go


def _submit(page, button):
    """Click the form's submit button (the first `button` matches) and return the page it leads to."""
    with page.expect_navigation() as navigation:
        page.locator(button).first.click()
    return navigation.value


def _form_errors_login(page, world):
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill("nobody@example.com")
    page.locator("input[name=password]").fill("not-the-password")
    return _submit(page, "main form button[type=submit]")


def _form_errors_signup(page, world):
    page.goto("/accounts/signup/")
    page.locator("input[name=email]").fill("not-an-address")
    page.locator("input[name=password1]").fill("12345678")
    page.locator("input[name=password2]").fill("87654321")
    return _submit(page, "main form button[type=submit]")


def _pick_seats(page, world):
    """The seat map with a seat picked (the script counts it and shows the selection bar)."""
    response = page.goto(f"/dates/{world.date.pk}/seats/")
    page.locator("label[data-seat='7']").click()
    expect(page.locator("input[name=seats][value='7']")).to_be_checked()
    return response


def _hold_too_many(page, world):
    """Three more seats for a fan with three: the hold is refused and the map says why, the choice kept."""
    page.goto(f"/dates/{world.date.pk}/seats/?seats=1&seats=2&seats=4")
    return _submit(page, "[data-hold-submit]:visible")


def _reset_requested(page, world):
    page.goto("/accounts/password/reset/")
    page.locator("input[name=email]").fill("nobody@example.com")
    return _submit(page, "[data-testid=send-reset-link]")


def _open_offer(page, world):
    page.goto(f"/dates/{world.offered.pk}/waitlist/")
    return _submit(page, "[data-testid=open-offer]")


def _wallet_error(page, world):
    page.goto("/wallet/")
    page.locator("main form input[name=amount]").fill("5")
    return _submit(page, "main form button[type=submit] >> nth=-1")


def _csrf_expired(page, world):
    page.goto("/accounts/login/")
    page.context.clear_cookies(name="csrftoken")  # as when the cookie expired or was blocked
    page.locator("input[name=username]").fill("nobody@example.com")
    page.locator("input[name=password]").fill("not-the-password")
    return _submit(page, "main form button[type=submit]")


def _locked_out(page, world):
    return _form_errors_login(page, world)


def _axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 1
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)


def _rate_limited(page, world):
    """The seat map twice: the first is let through, the second refused (the limit is one a minute)."""
    page.goto(f"/dates/{world.date.pk}/seats/")
    return page.goto(f"/dates/{world.date.pk}/seats/")


def _verify_link(page, world):
    from accounts.services import verification_url

    return page.goto(verification_url(user=world.newcomer).removeprefix(world.settings.SITE_URL))


def _room_asks_to_verify(page, world):
    """The waiting room of a fan whose address is not verified: the prompt and its button instead of Join."""
    type(world.fan).objects.filter(pk=world.fan.pk).update(email_verified_at=None)
    return page.goto(f"/concerts/{world.open_room.pk}/queue/")


def _change_email_refused(page, world):
    page.goto("/accounts/email/")
    page.locator("input[name=email]").fill("not-an-address")
    page.locator("input[name=password]").fill("not-the-password")
    return _submit(page, "main form button[type=submit]")


def _presale_page(world_presale):
    return lambda w: f"/concerts/{world_presale(w).concert_id}/presales/{world_presale(w).pk}/"


def _presale_code_refused(page, world):
    page.goto(_presale_page(lambda w: w.presale)(world))
    page.locator("input[name=code]").fill("WRONG-CODE-123")
    return _submit(page, "[data-testid=presale-code-submit]")


def _api_token_created(page, world):
    """The token page right after creating a token (the token shown once), with a revoked and a live token listed."""
    from accounts import services as account_services

    revoked = account_services.create_api_token(user=world.fan, name="old script", scope="read", lifetime_days=7)
    account_services.revoke_api_token(user=world.fan, token_id=revoked.token.pk)
    page.goto("/accounts/tokens/")
    page.locator("input[name=name]").fill("my phone")
    page.locator("input[name=scope][value=book]").check()
    return _submit(page, "[data-testid=create-token]")


def _api_token_refused(page, world):
    page.goto("/accounts/tokens/")
    return _submit(page, "[data-testid=create-token]")  # no name


VISITS = [
    Visit("concert-list", _goto("/"), "[data-testid=coming-up]", fan=False, needs=("date", "upcoming", "prequeue")),
    Visit("concert-list-fan", _goto("/"), "[data-testid=on-sale]", needs=("date", "upcoming", "prequeue")),
    Visit("concert-page", _goto(lambda w: f"/concerts/{w.date.concert.pk}/"), "[data-testid=dates]", fan=False),
    Visit("concert-page-admitted", _goto(lambda w: f"/concerts/{w.date.concert.pk}/"), "[data-testid=dates]"),
    Visit("concert-page-upcoming", _goto(lambda w: f"/concerts/{w.upcoming.pk}/"), "[data-testid=sale-countdown]"),
    Visit(
        "concert-page-prequeue-challenge",
        _goto(lambda w: f"/concerts/{w.challenge.pk}/"),
        "[data-testid=prequeue-open] altcha-widget",
    ),
    Visit(
        "concert-page-presale",
        _goto(lambda w: f"/concerts/{w.presale.concert_id}/"),
        "[data-testid=presales]",
        fan=False,
    ),
    Visit("presale", _goto(_presale_page(lambda w: w.presale)), "[data-testid=presale-login]", fan=False),
    Visit("presale-code", _goto(_presale_page(lambda w: w.presale)), "[data-testid=presale-code-form]"),
    Visit("presale-code-refused", _presale_code_refused, ".messages .message-error", status=400),
    Visit("presale-listed", _goto(_presale_page(lambda w: w.presale_listed)), "[data-testid=presale-eligible]"),
    Visit("log-in", _goto("/accounts/login/?next=/wallet/"), "input[name=password]", fan=False),
    Visit("log-in-refused", _form_errors_login, ".form-errors", fan=False, status=400),
    Visit("sign-up", _goto("/accounts/signup/"), "input[name=password2]", fan=False),
    Visit("sign-up-refused", _form_errors_signup, ".has-error", fan=False, status=400),
    Visit("password-reset", _goto("/accounts/password/reset/"), "[data-testid=send-reset-link]", fan=False),
    Visit("password-reset-sent", _reset_requested, "[data-testid=reset-sent]", fan=False),
    Visit("password-reset-link", _goto(lambda w: w.reset_link), "[data-testid=set-password]", fan=False),
    Visit(
        "password-reset-link-refused",
        _goto("/accounts/password/reset/MQ/not-a-token/"),
        "[data-testid=link-refused]",
        fan=False,
        status=400,
    ),
    Visit("password-reset-done", _goto("/accounts/password/reset/done/"), "[data-testid=reset-complete]", fan=False),
    Visit("verify-email", _verify_link, "[data-testid=confirm-email]", fan=False),
    Visit(
        "verify-email-refused",
        _goto("/accounts/email/verify/not-a-token/"),
        "[data-testid=verification-refused]",
        fan=False,
        status=400,
    ),
    Visit("waiting-room-verify", _room_asks_to_verify, "[data-testid=verify-email-prompt]"),
    Visit("account", _goto("/accounts/"), "[data-testid=account]"),
    Visit("change-email", _goto("/accounts/email/"), "input[name=password]"),
    Visit("change-email-refused", _change_email_refused, ".has-error", status=400),
    Visit("change-password", _goto("/accounts/password/"), "input[name=old_password]"),
    Visit("api-tokens", _goto("/accounts/tokens/"), "[data-testid=create-token]"),
    Visit("api-token-created", _api_token_created, "[data-testid=token-secret]"),
    Visit("api-token-refused", _api_token_refused, ".has-error", status=400),
    Visit("waiting-room-join", _goto(lambda w: f"/concerts/{w.challenge.pk}/queue/"), "altcha-widget"),
    Visit("waiting-room-waiting", _goto(lambda w: f"/concerts/{w.crowded.pk}/queue/"), "[data-queue-waiting]"),
    Visit("waiting-room-prequeue", _goto(lambda w: f"/concerts/{w.prequeue.pk}/queue/"), "[data-queue-prequeue]"),
    Visit("waiting-room-admitted", _goto(lambda w: f"/concerts/{w.date.concert.pk}/queue/"), "[data-queue-admitted]"),
    Visit("draw", _goto(lambda w: f"/concerts/{w.drawn.pk}/draw/"), "[data-testid=draw-table]", fan=False),
    Visit(
        "draw-before", _goto(lambda w: f"/concerts/{w.prequeue.pk}/draw/"), "[data-testid=draw-commitment]", fan=False
    ),
    Visit("seat-map", _goto(lambda w: f"/dates/{w.date.pk}/seats/"), "[data-testid=hold-button]"),
    Visit("seat-map-picked", _pick_seats, ".seat-AVAILABLE:has(input:checked)"),
    Visit("seat-map-refused", _hold_too_many, ".messages .message-error"),
    Visit("waitlist", _goto(lambda w: f"/dates/{w.sold_out.pk}/waitlist/"), "[data-testid=join-waitlist]"),
    Visit("waitlist-offered", _goto(lambda w: f"/dates/{w.offered.pk}/waitlist/"), "[data-testid=waitlist-offer]"),
    Visit("waitlist-offer", _open_offer, "[data-testid=accept-offer]"),
    Visit("checkout", _goto(lambda w: f"/checkout/{w.date.pk}/"), "[data-testid=pay-button]"),
    Visit("reservations", _goto("/reservations/"), ".ticket .badge-CANCELLED", needs=("date",)),
    Visit("reservations-offer", _goto("/reservations/"), "[data-testid=offer-banner]", needs=("offered",)),
    Visit("e-ticket", _goto(lambda w: f"/reservations/{w.paid.pk}/ticket/"), "[data-testid=ticket-qr]"),
    Visit("e-ticket-void", _goto(lambda w: f"/reservations/{w.cancelled.pk}/ticket/"), "[data-testid=ticket-void]"),
    Visit("cancel", _goto(lambda w: f"/reservations/{w.paid.pk}/cancel/"), "[data-testid=confirm-cancel]"),
    Visit("wallet", _goto("/wallet/"), "[data-testid=history]", needs=("date",)),
    Visit("wallet-refused", _wallet_error, ".messages .message-error", status=400),
    Visit("error-403", _goto("/e2e-errors/403/"), ".error-code", status=403),
    Visit("error-403-csrf", _csrf_expired, ".error-code", fan=False, status=403),
    Visit("error-404", _goto("/no-such-page/"), ".error-code", status=404),
    Visit(
        "error-429",
        _rate_limited,
        "[data-testid=try-again]",
        status=429,
        setup=lambda settings: set_limit(settings, "seat_map", account=1),
    ),
    Visit("error-500", _goto("/e2e-errors/500/"), ".error-code", status=500),
    Visit("error-503", _goto("/e2e-errors/503/"), "[data-testid=unavailable]", status=503),
    Visit("error-503-queue", _goto("/e2e-errors/503-queue/"), ".waiting-room[role=alert]", status=503),
    Visit("locked-out", _locked_out, "[data-testid=locked-out]", fan=False, status=429, setup=_axes_on),
]


@pytest.mark.parametrize("visit", VISITS, ids=[visit.name for visit in VISITS])
def test_no_serious_or_critical_axe_violation(visit, open_page, live_server, artifacts, settings):
    settings.ROOT_URLCONF = __name__  # the site's URLs and the error pages' views above
    if visit.setup:
        visit.setup(settings)
    world = World(settings)
    for part in (("fan",) if visit.fan else ()) + visit.needs:
        getattr(world, part)  # made before the pages are visited
    folder = artifacts / "axe"
    folder.mkdir(exist_ok=True)
    found, lines = {}, []
    for locale, language, viewport in COMBOS:
        page = open_page(width=viewport["width"], height=viewport["height"], locale=locale)
        if visit.fan:
            log_in(page, live_server, world.fan, language=language)
        else:
            cookie = {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}
            page.context.add_cookies([cookie])
        response = visit.go(page, world)
        assert response.status == visit.status, f"{visit.name} answered {response.status} at {page.url}"
        expect(page.locator(visit.shows).first).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", language)
        where = f"{language} {viewport['width']}x{viewport['height']}"
        page.screenshot(path=folder / f"{visit.name}-{language}-{viewport['width']}.png", full_page=True)
        violations = axe_violations(page)
        found[where] = violations
        lines += describe(failing(violations), f"{visit.name} ({where}, {page.url}): ")
        if visit.status >= 400:  # the answer the page is meant to have, as the browser logs it
            expected = f"status of {visit.status}|answered 429"
            page.problems[:] = [problem for problem in page.problems if not re.search(expected, problem)]
    (folder / f"{visit.name}.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    assert lines == [], "\n".join(lines)
