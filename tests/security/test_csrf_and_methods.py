"""Every state-changing view is POST-only and CSRF-protected; every URL of the site is accounted for here.

A new URL that is not classified below fails test_every_url_is_classified, so nobody adds a view that
changes state without deciding how it is protected.
"""

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from accounts import services as account_services
from accounts.models import User
from concerts import services as concert_services
from tests.factories import PresaleFactory
from tests.security.fixtures import admit, hold, login_client, pay, state_snapshot

pytestmark = pytest.mark.django_db

# URL name → how it may be reached. "public": anyone may GET it. "fan": GET for logged-in fans only.
# "post": changes state, POST only, CSRF-checked. "room" is GET (a page) and POST (join). "staff": staff only
# (the door page: tests/booking/test_views_door.py checks its access and its CSRF check).
URL_CLASSES = {
    "set_language": "post",
    "healthz": "public",
    "hello": "public",
    "concerts:list": "public",
    "concerts:detail": "public",
    "concerts:presale": "public",
    "concerts:presale_code": "post",
    "queueing:room": "fan+post",
    "queueing:status": "fan",
    "queueing:challenge": "fan",
    "queueing:leave": "post",
    "queueing:draw": "public",
    "queueing:draw_json": "public",
    "accounts:signup": "public+post",
    "accounts:login": "public+post",
    "accounts:logout": "post",
    "accounts:password_reset": "public+post",
    "accounts:password_reset_sent": "public",
    "accounts:password_reset_confirm": "public+post",
    "accounts:password_reset_complete": "public",
    "accounts:verify_email": "public+post",
    "accounts:resend_verification": "post",
    "accounts:account": "fan",
    "accounts:change_email": "fan+post",
    "accounts:change_password": "fan+post",
    "accounts:api_tokens": "fan+post",
    "accounts:revoke_api_token": "post",
    # Staff only (a fan gets 404): the second factor and its enrolment (tests/accounts/test_two_factor_views.py).
    "accounts:two_factor_verify": "fan+post",
    "accounts:two_factor_setup": "fan+post",
    "booking:seats": "fan",
    "booking:seat_state": "fan",
    "booking:hold": "post",
    "booking:pick": "post",
    "booking:checkout": "fan+post",
    "booking:release": "post",
    "booking:reservations": "fan",
    "booking:ticket": "fan",
    "booking:cancel": "fan+post",
    "booking:waitlist": "fan+post",
    "booking:offer": "fan+post",
    "booking:door": "staff+post",
    "booking:door_setup": "post",
    "wallet:home": "fan",
    "wallet:charge": "post",
}


def _site_urls(resolver=None, namespace=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _site_urls(pattern, inner)
        else:
            yield f"{namespace}{pattern.name}", pattern.callback


def _api(name):
    """The JSON API's URLs (namespace "api"): its operations are protected by api.auth, tested in tests/api."""
    return name.startswith("api:")


def test_every_url_is_classified():
    names = {name for name, _callback in _site_urls()}
    # The RQ dashboard is staff only (tests/security/test_staff_only.py); the JSON API answers to a bearer token or
    # a session with its CSRF token (tests/api/test_auth.py); every other URL is listed above.
    names = {name for name in names if not name.startswith("django_rq:") and not _api(name)}
    assert names == set(URL_CLASSES), "classify new URLs in URL_CLASSES (and protect them)"


def test_no_view_is_exempt_from_csrf():
    # django-ninja marks its views csrf_exempt: a bearer request needs no CSRF token (a browser never sends one by
    # itself), and api.auth.SiteSession checks the token on every unsafe session request (tests/api/test_auth.py).
    exempt = [name for name, callback in _site_urls() if getattr(callback, "csrf_exempt", False) and not _api(name)]
    assert exempt == []


@pytest.fixture
def scene(alice, concert_date):
    """Alice is admitted, holds seat 3 and has paid for seat 7: every POST below could change something."""
    admit(alice, concert_date.concert)
    hold(alice, concert_date, 7)
    paid = pay(alice, concert_date).reservations[0]
    admit(alice, concert_date.concert)  # paying ended her admission; she comes back for more
    [held] = hold(alice, concert_date, 3)
    presale = PresaleFactory()  # another concert's fan-club presale, open now, with one unused code
    [code] = concert_services.generate_presale_codes(presale=presale, count=1)
    token = account_services.create_api_token(user=alice, name="script", scope="book", lifetime_days=30).token
    return {
        "date": concert_date,
        "concert": concert_date.concert,
        "paid": paid,
        "hold": held,
        "presale": presale,
        "code": code,
        "token": token,
    }


def _posts(scene):
    """(url, data) for every POST endpoint, with data that would succeed if the request were honoured."""
    date, concert = scene["date"], scene["concert"]
    return [
        (reverse("set_language"), {"language": "en", "next": "/"}),
        (reverse("queueing:room", args=[concert.pk]), {}),
        (reverse("queueing:leave", args=[concert.pk]), {}),
        (reverse("accounts:logout"), {}),
        (reverse("accounts:resend_verification"), {}),
        (reverse("accounts:change_email"), {"email": "csrf-new@example.com", "password": "correct-horse-battery"}),
        (
            reverse("accounts:change_password"),
            {
                "old_password": "correct-horse-battery",
                "new_password1": "amber-lantern-5813",
                "new_password2": "amber-lantern-5813",
            },
        ),
        (reverse("accounts:two_factor_verify"), {"code": "123456"}),
        (reverse("accounts:two_factor_setup"), {"code": "123456"}),
        (reverse("booking:hold", args=[date.pk]), {"seats": ["10"]}),
        (reverse("booking:pick", args=[date.pk]), {"count": "1"}),
        (reverse("booking:checkout", args=[date.pk]), {"idempotency_key": "0b4a2d3c-2f64-4cf8-8d3d-2f5c3e4b5a61"}),
        (reverse("booking:cancel", args=[scene["paid"].pk]), {}),
        (reverse("booking:release", args=[scene["hold"].pk]), {}),
        (reverse("booking:waitlist", args=[date.pk]), {"action": "join"}),
        (reverse("booking:offer", args=["not-an-offer"]), {"action": "accept"}),
        (reverse("wallet:charge"), {"amount": "10000"}),
        (_presale_url("concerts:presale_code", scene["presale"]), {"code": scene["code"]}),
        (reverse("accounts:api_tokens"), {"name": "csrf", "scope": "book", "lifetime_days": "30"}),
        (reverse("accounts:revoke_api_token", args=[scene["token"].pk]), {}),
    ]


def _presale_url(name, presale):
    return reverse(name, args=[presale.concert_id, presale.pk])


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(alice, scene):
    client = login_client(alice, csrf=True)
    for url, data in _posts(scene):
        before = state_snapshot()
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert state_snapshot() == before, url
        assert client.session.get("_auth_user_id") == str(alice.pk), url  # not even logged out


def test_a_post_with_a_forged_csrf_token_is_refused(alice, scene):
    client = login_client(alice, csrf=True)
    client.get(reverse("wallet:home"))  # a real csrftoken cookie
    before = state_snapshot()
    response = client.post(
        reverse("wallet:charge"), {"amount": "10000", "csrfmiddlewaretoken": "A" * 64}, HTTP_X_CSRFTOKEN="B" * 32
    )
    assert response.status_code == 403
    assert state_snapshot() == before


def test_the_same_post_with_the_page_s_csrf_token_goes_through(alice, scene):
    # Control for the two tests above: the refusals come from the CSRF check, not from the data.
    client = login_client(alice, csrf=True)
    client.get(reverse("wallet:home"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("wallet:charge"), {"amount": "10000", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).balance == alice.balance - scene["paid"].price + 10_000


def test_anonymous_sign_up_and_log_in_without_csrf_are_refused(alice):
    client = Client(enforce_csrf_checks=True)
    signup = client.post(
        reverse("accounts:signup"),
        {
            "email": "csrf@example.com",
            "name": "x",
            "password1": "violet-harbor-2931",
            "password2": "violet-harbor-2931",
        },
    )
    login = client.post(reverse("accounts:login"), {"username": alice.email, "password": "correct-horse-battery"})
    reset = client.post(reverse("accounts:password_reset"), {"email": alice.email})
    assert signup.status_code == 403
    assert login.status_code == 403
    assert reset.status_code == 403
    assert not User.objects.filter(email="csrf@example.com").exists()
    assert "_auth_user_id" not in client.session


def test_the_csrf_failure_page_is_the_site_s_page():
    response = Client(enforce_csrf_checks=True).post(reverse("wallet:charge"), {"amount": "1000"})
    assert response.status_code == 403
    assert b"<!doctype html>" in response.content[:200].lower()
    assert b"Traceback" not in response.content


@pytest.mark.parametrize(
    "name", ["queueing:leave", "accounts:logout", "booking:hold", "booking:pick", "booking:release", "wallet:charge"]
)
def test_a_state_changing_url_refuses_get(alice, scene, name):
    client = login_client(alice)
    args = {
        "queueing:leave": [scene["concert"].pk],
        "booking:hold": [scene["date"].pk],
        "booking:pick": [scene["date"].pk],
        "booking:cancel": [scene["paid"].pk],
        "booking:release": [scene["hold"].pk],
    }.get(name, [])
    url = reverse(name, args=args)
    before = state_snapshot()
    query = {"seats": "10", "amount": "10000"}
    for method in ("get", "put", "delete", "patch"):
        response = getattr(client, method)(url, query if method == "get" else None)
        assert response.status_code == 405, (name, method)
    assert state_snapshot() == before
    assert client.session.get("_auth_user_id") == str(alice.pk)


def test_get_on_the_pages_that_also_take_a_post_changes_nothing(alice, scene):
    client = login_client(alice)
    before = state_snapshot()
    for url in (
        reverse("queueing:room", args=[scene["concert"].pk]),
        reverse("booking:checkout", args=[scene["date"].pk]) + "?idempotency_key=0b4a2d3c-2f64-4cf8-8d3d-2f5c3e4b5a61",
        reverse("accounts:signup") + "?email=get@example.com&password1=violet-harbor-2931",
        reverse("booking:cancel", args=[scene["paid"].pk]),  # the confirmation page
    ):
        assert client.get(url).status_code in (200, 302), url
    assert state_snapshot() == before
    assert not User.objects.filter(email="get@example.com").exists()


def _get_urls(scene):
    """(URL name, URL) for every page a browser, a link checker or a monitor may GET (or HEAD)."""
    date, concert = scene["date"], scene["concert"]
    return [
        ("healthz", reverse("healthz")),
        ("hello", reverse("hello")),
        ("concerts:list", reverse("concerts:list")),
        ("concerts:detail", reverse("concerts:detail", args=[concert.pk])),
        ("concerts:presale", _presale_url("concerts:presale", scene["presale"])),
        ("queueing:room", reverse("queueing:room", args=[concert.pk])),
        ("queueing:status", reverse("queueing:status", args=[concert.pk])),
        ("queueing:challenge", reverse("queueing:challenge", args=[concert.pk])),
        ("queueing:draw", reverse("queueing:draw", args=[concert.pk])),
        ("queueing:draw_json", reverse("queueing:draw_json", args=[concert.pk])),
        ("accounts:signup", reverse("accounts:signup")),
        ("accounts:login", reverse("accounts:login")),
        ("accounts:password_reset", reverse("accounts:password_reset")),
        ("accounts:password_reset_sent", reverse("accounts:password_reset_sent")),
        ("accounts:password_reset_confirm", reverse("accounts:password_reset_confirm", args=["MjQ", "ckx3f1-0a1b"])),
        ("accounts:password_reset_complete", reverse("accounts:password_reset_complete")),
        ("accounts:verify_email", reverse("accounts:verify_email", args=["not-a-token"])),
        ("accounts:account", reverse("accounts:account")),
        ("accounts:change_email", reverse("accounts:change_email")),
        ("accounts:change_password", reverse("accounts:change_password")),
        ("accounts:api_tokens", reverse("accounts:api_tokens")),
        ("accounts:two_factor_verify", reverse("accounts:two_factor_verify")),
        ("accounts:two_factor_setup", reverse("accounts:two_factor_setup")),
        ("booking:seats", reverse("booking:seats", args=[date.pk])),
        ("booking:seat_state", reverse("booking:seat_state", args=[date.pk])),
        ("booking:checkout", reverse("booking:checkout", args=[date.pk])),
        ("booking:reservations", reverse("booking:reservations")),
        ("booking:ticket", reverse("booking:ticket", args=[scene["paid"].pk])),
        ("booking:cancel", reverse("booking:cancel", args=[scene["paid"].pk])),
        ("booking:waitlist", reverse("booking:waitlist", args=[date.pk])),
        ("booking:offer", reverse("booking:offer", args=["not-an-offer"])),
        ("wallet:home", reverse("wallet:home")),
    ]


def test_every_get_url_is_listed_for_the_head_check():
    gettable = {name for name, kind in URL_CLASSES.items() if kind.split("+")[0] in ("public", "fan")}
    listed = {
        name for name, _url in _get_urls({"date": _Stub(), "concert": _Stub(), "paid": _Stub(), "presale": _Stub()})
    }
    assert listed == gettable


class _Stub:
    pk = concert_id = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("who", ["anonymous", "fan"])
def test_head_answers_like_get_on_every_page_and_changes_nothing(alice, scene, who):
    client = login_client(alice) if who == "fan" else Client()
    for name, url in _get_urls(scene):
        before = state_snapshot()
        head = client.head(url)
        assert state_snapshot() == before, name
        get = client.get(url)
        assert head.status_code == get.status_code, (name, head.status_code, get.status_code)
        assert head.status_code != 405, name
        assert head.content == b"", name
        if get.status_code in (301, 302):
            assert head["Location"] == get["Location"], name


@pytest.mark.parametrize(
    "name", ["queueing:leave", "accounts:logout", "booking:hold", "booking:pick", "booking:release", "wallet:charge"]
)
def test_a_state_changing_url_refuses_head(alice, scene, name):
    args = {
        "queueing:leave": [scene["concert"].pk],
        "booking:hold": [scene["date"].pk],
        "booking:pick": [scene["date"].pk],
        "booking:cancel": [scene["paid"].pk],
        "booking:release": [scene["hold"].pk],
    }.get(name, [])
    assert login_client(alice).head(reverse(name, args=args)).status_code == 405
