"""Where a page sends the fan after an action (`next`): a path on this site, or the page's own default.

A `next` is accepted only as a path on this site ("/…", not "//…"); anything else (a bare word, another
site) is ignored after the action has been done, never turned into a 500. Log-in and sign-up never send a
fan back to a log-in or sign-up page (that would loop).
"""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User
from queueing import services as queue_services
from wallet.models import ChargeHistory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "violet-harbor-2931"

# (next, where the fan must end up: None = the page's default)
NEXTS = [
    ("checkout", None),  # a bare word: once a URL name for redirect(), a 500 after the action
    ("//evil.example", None),
    ("https://evil.example/", None),
    ("/\\evil.example", None),
    ("/reservations/?tab=paid", "/reservations/?tab=paid"),
]


@pytest.mark.parametrize(("next_value", "expected"), NEXTS)
def test_a_top_up_is_charged_once_and_goes_to_a_safe_next_or_the_wallet(fan_client, fan, next_value, expected):
    response = fan_client.post(reverse("wallet:charge"), {"amount": "10000", "next": next_value})

    assert response.status_code == 302
    assert response["Location"] == (expected or reverse("wallet:home"))
    fan.refresh_from_db()
    assert fan.balance == 10_000
    assert ChargeHistory.objects.filter(user=fan, status="SUCCESS").count() == 1


@pytest.mark.parametrize(("next_value", "expected"), NEXTS)
def test_a_sign_up_logs_in_and_goes_to_a_safe_next_or_the_concerts(client, next_value, expected):
    response = client.post(
        reverse("accounts:signup"),
        {
            "email": "next@example.com",
            "name": "팬",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
            "next": next_value,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == (expected or reverse("concerts:list"))
    user = User.objects.get(email="next@example.com")
    assert client.session[SESSION_KEY] == str(user.pk)


@pytest.mark.parametrize(("next_value", "expected"), NEXTS)
def test_an_instant_admission_is_made_and_goes_to_a_safe_next_or_the_concert(
    fan_client, fan, concert_date, next_value, expected
):
    concert = concert_date.concert
    response = fan_client.post(reverse("queueing:room", args=[concert.pk]), {"next": next_value})

    assert response.status_code == 302
    assert response["Location"] == (expected or reverse("concerts:detail", args=[concert.pk]))
    assert queue_services.poll_place(user=fan, concert=concert).admitted


@pytest.mark.parametrize(("next_value", "expected"), NEXTS)
def test_a_log_in_goes_to_a_safe_next_or_the_concerts(client, fan, next_value, expected):
    response = client.post(
        reverse("accounts:login"), {"username": fan.email, "password": "correct-horse-battery", "next": next_value}
    )

    assert response.status_code == 302
    assert response["Location"] == (expected or reverse("concerts:list"))
    assert client.session[SESSION_KEY] == str(fan.pk)


@pytest.mark.parametrize(("next_value", "expected"), NEXTS)
def test_the_waiting_room_keeps_only_a_safe_next_for_later(fan_client, concert_date, next_value, expected):
    response = fan_client.get(reverse("queueing:room", args=[concert_date.concert.pk]), {"next": next_value})

    assert response.status_code == 200
    assert response.context["next_url"] == expected


@pytest.mark.parametrize("page", ["accounts:login", "accounts:signup"])
@pytest.mark.parametrize("target", ["/accounts/login/", "/accounts/signup/?next=/wallet/", "/accounts/logout/"])
def test_a_logged_in_fan_on_an_auth_page_that_points_at_an_auth_page_goes_to_the_concerts(fan_client, page, target):
    response = fan_client.get(reverse(page), {"next": target})

    assert response.status_code == 302
    assert response["Location"] == reverse("concerts:list")


@pytest.mark.parametrize("page", ["accounts:login", "accounts:signup"])
def test_the_auth_pages_do_not_carry_a_next_that_points_at_an_auth_page(client, page):
    response = client.get(reverse(page), {"next": "/accounts/login/"})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'type="hidden" name="next" value="/accounts/login/"' not in page  # the form's own next
    other_page_link = page[page.index('class="auth-switch"') :].split("</p>")[0]
    assert "next=" not in other_page_link


def test_signing_up_with_next_pointing_at_sign_up_ends_on_the_concerts_not_in_a_loop(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "email": "loop@example.com",
            "name": "팬",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
            "next": "/accounts/signup/",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("concerts:list"), 302)]


# --- A POST button pressed after the session expired --------------------------------------------------


def _post_buttons(fan, concert_date, paid_reservation):
    """(form page, POST URL, data) for every POST-only button a fan presses on a page."""
    seats = reverse("booking:seats", args=[concert_date.pk])
    checkout = reverse("booking:checkout", args=[concert_date.pk])
    return {
        "hold": (seats, reverse("booking:hold", args=[concert_date.pk]), {"seats": ["3"]}),
        "cancel": (
            reverse("booking:cancel", args=[paid_reservation.pk]),  # the confirmation page holds the button
            reverse("booking:cancel", args=[paid_reservation.pk]),
            {},
        ),
        "top-up": (
            f"{reverse('wallet:home')}?next={checkout}&amount=5000",
            reverse("wallet:charge"),
            {"amount": "5000", "next": checkout},
        ),
        "leave": (
            reverse("queueing:room", args=[concert_date.concert.pk]),
            reverse("queueing:leave", args=[concert_date.concert.pk]),
            {},
        ),
    }


def _log_in_from(client, login_location, fan):
    """Log in on the page a redirect to the log-in page pointed at; returns the response after log-in."""
    assert login_location.startswith(reverse("accounts:login") + "?next=")
    return client.post(login_location, {"username": fan.email, "password": "correct-horse-battery"})


@pytest.mark.parametrize("button", ["hold", "cancel", "top-up", "leave"])
def test_a_post_button_pressed_after_the_session_expired_comes_back_to_its_page_after_log_in(
    client, fan, concert_date, paid_reservation, admit, button
):
    admit(fan, concert_date.concert)
    form_page, post_url, data = _post_buttons(fan, concert_date, paid_reservation)[button]
    before = fan.balance

    response = client.post(post_url, data, HTTP_REFERER=f"http://testserver{form_page}")  # no session any more

    assert response.status_code == 302
    logged_in = _log_in_from(client, response["Location"], fan)
    assert logged_in.status_code == 302
    assert logged_in["Location"] == form_page
    assert client.get(form_page).status_code == 200  # the page again, not a 405 on the POST URL
    fan.refresh_from_db()
    assert fan.balance == before  # nothing was done on the fan's behalf


@pytest.mark.parametrize("button", ["hold", "cancel", "top-up", "leave"])
@pytest.mark.parametrize("referer", [None, "https://evil.example/wallet/", "http://testserver/accounts/login/"])
def test_without_a_usable_referer_a_post_button_comes_back_to_the_page_that_shows_it(
    client, fan, concert_date, paid_reservation, admit, button, referer
):
    admit(fan, concert_date.concert)
    form_page, post_url, data = _post_buttons(fan, concert_date, paid_reservation)[button]
    headers = {"HTTP_REFERER": referer} if referer else {}

    response = client.post(post_url, data, **headers)

    logged_in = _log_in_from(client, response["Location"], fan)
    assert logged_in["Location"] == form_page.split("?")[0]
    assert client.get(logged_in["Location"]).status_code == 200
