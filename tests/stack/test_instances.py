"""Two real gunicorn instances with the production settings: a visitor may hit A, then B, then A.

Sessions, CSRF and the cache are not per-process, WhiteNoise serves the hashed static files, and the
HTTPS hardening is what a browser behind a TLS proxy would get.
"""

import json
import re
import time

import httpx
import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import User
from tests.support.challenges import solve
from tests.support.checkout import form_data
from tests.support.two_factor import code_for, confirmed_device

from .conftest import WebInstance, production_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def csrf_token(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def admin_login(client, form_from, post_to, email):
    """GET the admin login form from one instance and POST it to another."""
    page = client.get(f"{form_from.url}/admin/login/?next=/admin/")
    assert page.status_code == 200
    return client.post(
        f"{post_to.url}/admin/login/?next=/admin/",
        data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(page.text)},
    )


@pytest.fixture
def staff(settings):
    # The instances run the production hashers (Argon2); the test settings' fast hasher is not among them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    return User.objects.create_user("ops@frontrow.test", PASSWORD, name="Ops", is_staff=True, is_superuser=True)


def test_a_session_started_on_one_instance_continues_on_the_other(two_instances, staff):
    a, b = two_instances
    device = confirmed_device(staff)  # the staff member's authenticator
    with httpx.Client(timeout=10) as client:
        login = admin_login(client, form_from=a, post_to=b, email=staff.email)
        assert login.status_code == 302, login.text[:500]
        assert login.headers["location"] == "/admin/"
        # The second factor: asked for on A, its form from A, the code posted to B; verified, it works on both.
        gate = client.get(f"{a.url}/admin/")
        assert gate.status_code == 302 and gate.headers["location"] == "/accounts/two-factor/?next=%2Fadmin%2F"
        verify_page = client.get(f"{a.url}{gate.headers['location']}")
        verified = client.post(
            f"{b.url}/accounts/two-factor/",
            data={
                "code": code_for(device),
                "next": "/admin/",
                "csrfmiddlewaretoken": csrf_token(verify_page.text),
            },
        )
        assert verified.status_code == 302 and verified.headers["location"] == "/admin/", verified.text[:500]

        for instance in (a, b, a):
            index = client.get(f"{instance.url}/admin/")
            assert index.status_code == 200
            assert staff.email in index.text or staff.name in index.text

        logout_form = client.get(f"{b.url}/admin/")
        logout = client.post(f"{b.url}/admin/logout/", data={"csrfmiddlewaretoken": csrf_token(logout_form.text)})
        assert logout.status_code == 302  # LOGOUT_REDIRECT_URL

        after_logout = client.get(f"{a.url}/admin/")
        assert after_logout.status_code == 302
        assert after_logout.headers["location"].startswith("/admin/login/")


def test_sessions_live_in_redis_and_postgresql(two_instances, staff, stack_env):
    a, b = two_instances
    with httpx.Client(timeout=10) as client:
        assert admin_login(client, form_from=a, post_to=a, email=staff.email).status_code == 302
        session_key = client.cookies["sessionid"]

    # cached_db: written through to the database and cached in Redis under the instances' prefix.
    assert Session.objects.filter(session_key=session_key).exists()
    cache_key = f"{stack_env['CACHE_KEY_PREFIX']}:1:django.contrib.sessions.cached_db{session_key}"
    assert redis.Redis.from_url(django_settings.REDIS_URL).exists(cache_key) == 1


def test_a_wrong_password_is_refused_on_either_instance(two_instances, staff):
    a, b = two_instances
    with httpx.Client(timeout=10) as client:
        page = client.get(f"{a.url}/admin/login/")
        refused = client.post(
            f"{b.url}/admin/login/",
            data={"username": staff.email, "password": "wrong", "csrfmiddlewaretoken": csrf_token(page.text)},
        )

        assert refused.status_code == 200
        assert "sessionid" not in client.cookies
        assert client.get(f"{a.url}/admin/").status_code == 302


def test_whitenoise_serves_hashed_compressed_static_files(two_instances, stack_env):
    a, b = two_instances
    manifest = json.loads((django_settings.BASE_DIR / stack_env["STATIC_ROOT"] / "staticfiles.json").read_text())
    hashed_css = manifest["paths"]["css/site.css"]
    assert hashed_css != "css/site.css"

    with httpx.Client(timeout=10) as client:
        login_page = client.get(f"{b.url}/admin/login/").text
        # Pages link the hashed names the manifest storage produced.
        assert re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css", login_page)

        hashed = client.get(f"{a.url}/static/{hashed_css}", headers={"Accept-Encoding": "gzip"})
        assert hashed.status_code == 200
        assert hashed.headers["content-encoding"] == "gzip"
        assert "immutable" in hashed.headers["cache-control"]
        assert hashed.headers["content-type"].startswith("text/css")
        assert hashed.text == (django_settings.BASE_DIR / "static" / "css" / "site.css").read_text()

        assert client.get(f"{b.url}/static/css/no-such-file.css").status_code == 404


def test_access_and_application_logs_are_json_lines(two_instances):
    a, _ = two_instances
    httpx.get(f"{a.url}/hello/?from=logtest", timeout=10)

    deadline = time.monotonic() + 10
    while "from=logtest" not in a.stdout_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)  # gunicorn writes the access line just after the response, not before it
    lines = [json.loads(line) for line in a.stdout_path.read_text().splitlines() if line.startswith("{")]
    hits = [line for line in lines if line.get("path") == "/hello/" and line.get("query") == "from=logtest"]
    assert hits, a.stdout_path.read_text()[-2000:]
    assert hits[-1]["status"] == 200
    assert hits[-1]["method"] == "GET"
    assert isinstance(hits[-1]["duration_ms"], int)
    errors = [json.loads(line) for line in a.stderr_path.read_text().splitlines() if line.startswith("{")]
    assert any(line["message"].startswith("Booting worker") for line in errors)


def test_a_ticket_code_sent_in_a_url_never_reaches_the_access_log(two_instances):
    a, _ = two_instances
    code = "IjNmMmY0ZDJiLTk5ODgtNGQ3MS1hMTJlLTc3ZWE3ZjBhMWIyMyI:1t5Xyz:SecretSignatureOfThisTicketCode0123456"
    httpx.get(f"{a.url}/admin/concerts/salesdashboard/ticket/", params={"code": code}, timeout=10)
    httpx.get(f"{a.url}/hello/", params={"from": "codetest", "code": code}, timeout=10)

    deadline = time.monotonic() + 10
    while "codetest" not in a.stdout_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)  # gunicorn writes the access line just after the response
    log = a.stdout_path.read_text()
    assert "codetest" in log  # the requests were logged
    assert "SecretSignature" not in log


def test_behind_a_tls_proxy_the_instance_redirects_and_marks_cookies_secure(stack_env, tmp_path):
    env = production_env(
        tmp_path,
        STATIC_ROOT=stack_env["STATIC_ROOT"],
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO",
        TRUSTED_PROXY_COUNT="1",
    )
    instance = WebInstance(env, tmp_path, "tls").wait_ready("/healthz/")
    try:
        with httpx.Client(timeout=10) as client:
            # A load balancer's health check may come in over plain HTTP: it is answered, not redirected.
            assert client.get(f"{instance.url}/healthz/").status_code == 200
            # ... also when it asks by the instance's own address, which is not in ALLOWED_HOSTS.
            by_address = client.get(f"{instance.url}/healthz/", headers={"Host": "10.0.0.5:8000"})
            assert by_address.status_code == 200 and by_address.json()["status"] == "ok"
            assert client.get(f"{instance.url}/admin/login/", headers={"Host": "10.0.0.5:8000"}).status_code == 400
            plain = client.get(f"{instance.url}/admin/login/")
            assert plain.status_code == 301
            assert plain.headers["location"] == f"https://127.0.0.1:{instance.port}/admin/login/"

            proxied = client.get(f"{instance.url}/admin/login/", headers={"X-Forwarded-Proto": "https"})
            assert proxied.status_code == 200
            assert proxied.headers["strict-transport-security"].startswith("max-age=31536000")
            assert proxied.headers["x-frame-options"] == "DENY"
            assert proxied.headers["x-content-type-options"] == "nosniff"
            csrf_cookie = proxied.headers["set-cookie"]
            assert "csrftoken=" in csrf_cookie and "Secure" in csrf_cookie
    finally:
        instance.stop()


def test_a_fan_books_across_both_instances(two_instances, settings):
    """Log in on A, join the Redis waiting room on B, and alternate every step after that."""
    from booking.models import Payment, Reservation
    from queueing.models import QueueEntryHistory
    from tests.factories import ConcertDateFactory
    from wallet.services import charge

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    verified = timezone.now()  # both join the waiting room, which asks for a verified address
    fan = User.objects.create_user("fan@frontrow.test", PASSWORD, name="Fan", email_verified_at=verified)
    other = User.objects.create_user("other@frontrow.test", PASSWORD, name="Other", email_verified_at=verified)
    charge(user=fan, amount=500_000)
    concert_date = ConcertDateFactory()
    concert = concert_date.concert
    a, b = two_instances

    with httpx.Client(timeout=20) as client:
        login_page = client.get(f"{a.url}/accounts/login/")
        logged_in = client.post(
            f"{b.url}/accounts/login/",
            data={"username": fan.email, "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(login_page.text)},
        )
        assert logged_in.status_code == 302

        concert_page = client.get(f"{a.url}/concerts/{concert.pk}/")
        assert "<altcha-widget" in concert_page.text  # production rooms ask for the entry challenge
        # Solved like a scripted client, from A's challenge; B checks A's signature and remembers the solution
        # in the shared Redis, so A refuses it again.
        payload = solve(client.get(f"{a.url}/concerts/{concert.pk}/queue/challenge/").json())
        join = {"date": str(concert_date.pk), "csrfmiddlewaretoken": csrf_token(concert_page.text), "altcha": payload}
        joined = client.post(f"{b.url}/concerts/{concert.pk}/queue/", data=join)
        # Nobody waiting and room to spare: admitted at once, straight on to the seats.
        assert joined.status_code == 302
        # The same solution from another fan on A is a replay (the fan who joined would just keep their place).
        with httpx.Client(timeout=20) as other_client:
            login_page = other_client.get(f"{a.url}/accounts/login/")
            other_client.post(
                f"{a.url}/accounts/login/",
                data={
                    "username": other.email,
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": csrf_token(login_page.text),
                },
            )
            other_page = other_client.get(f"{a.url}/concerts/{concert.pk}/")
            replay = {**join, "csrfmiddlewaretoken": csrf_token(other_page.text)}
            assert other_client.post(f"{a.url}/concerts/{concert.pk}/queue/", data=replay).status_code == 403
        assert joined.headers["location"] == f"/dates/{concert_date.pk}/seats/"
        status = client.get(f"{a.url}/concerts/{concert.pk}/queue/status/").json()
        assert status["admitted"] is True

        seat_map = client.get(f"{b.url}/dates/{concert_date.pk}/seats/")
        assert seat_map.status_code == 200
        held = client.post(
            f"{a.url}/dates/{concert_date.pk}/hold/",
            data={"seats": ["7", "8"], "csrfmiddlewaretoken": csrf_token(seat_map.text)},
        )
        assert held.status_code == 302
        assert held.headers["location"] == f"/checkout/{concert_date.pk}/"

        checkout = client.get(f"{b.url}/checkout/{concert_date.pk}/")
        pay = {**form_data(checkout.text), "csrfmiddlewaretoken": csrf_token(checkout.text)}
        paid = client.post(f"{a.url}/checkout/{concert_date.pk}/", data=pay)
        assert paid.status_code == 302
        assert paid.headers["location"] == "/reservations/"
        # The same key on the other instance (a double click) charges nothing more.
        client.post(f"{b.url}/checkout/{concert_date.pk}/", data=pay)

        assert client.get(f"{b.url}/reservations/").status_code == 200

    fan.refresh_from_db()
    assert fan.balance == 500_000 - 2 * concert_date.seats.get(seat_number=7).price
    assert sorted(
        Reservation.objects.filter(user=fan, status="CONFIRMED").values_list("seat__seat_number", flat=True)
    ) == [
        7,
        8,
    ]
    assert Payment.objects.filter(user=fan, status="SUCCESS").count() == 2
    entry = QueueEntryHistory.objects.get(user=fan, concert=concert)
    assert entry.was_admitted and entry.exit_reason == "paid"
