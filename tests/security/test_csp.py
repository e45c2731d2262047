"""The Content-Security-Policy is on every response, and every page of the site satisfies it.

The fans' policy allows scripts and styles from our origin only, with no 'unsafe-inline': so each page is
rendered in each state a fan meets (logged out, waiting, admitted, holding, paid, refused, in error) and
parsed, and any inline <script>, <style>, style="…" attribute, on…= handler, javascript: URL or resource
from another origin fails the test. The static scripts are checked for eval and inline-style writes.
"""

import datetime
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from booking import services as booking_services
from queueing import services as queue_services
from tests import factories
from tests.security.fixtures import admit, hold, login_client, pay
from tests.support.challenges import challenge_room
from wallet import services as wallet_services
from wallet.exceptions import WalletError

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def parse_policy(header):
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = " ".join(sources)
    return directives


class InlineCodeFinder(HTMLParser):
    """Collects everything in a page that a CSP without 'unsafe-inline' would block."""

    RESOURCE_ATTRS = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.violations = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name == "style":
                self.violations.append(f"style attribute on <{tag}>: {value}")
            if name.startswith("on"):
                self.violations.append(f"event handler {name} on <{tag}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.violations.append(f"javascript: URL on <{tag}>")
        if tag == "style":
            self.violations.append("<style> element")
        if tag == "script":
            kind = (attrs.get("type") or "").lower()
            if "src" not in attrs and kind not in ("application/json", "application/ld+json"):
                self.violations.append("inline <script>")
        resource = attrs.get(self.RESOURCE_ATTRS.get(tag, ""), "") or ""
        if tag == "link" and "stylesheet" not in (attrs.get("rel") or "") and "icon" not in (attrs.get("rel") or ""):
            resource = ""
        if re.match(r"^(https?:)?//", resource):
            self.violations.append(f"<{tag}> from another origin: {resource}")


def inline_code(html):
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.violations


def assert_satisfies_strict_policy(response, label):
    header = response.get("Content-Security-Policy")
    assert header, f"{label}: no Content-Security-Policy header"
    policy = parse_policy(header)
    for name, value in STRICT.items():
        assert policy.get(name) == value, f"{label}: {name} is {policy.get(name)!r}"
    assert "unsafe" not in header
    content_type = response.get("Content-Type", "")
    if content_type.startswith("text/html"):
        violations = inline_code(response.content.decode())
        assert violations == [], f"{label}: {violations}"


def test_the_finder_catches_what_the_policy_blocks():
    # Control: the checker itself must see each kind of violation.
    page = (
        '<p style="color:red" onclick="x()">x</p><style>p{}</style><script>alert(1)</script>'
        '<a href="javascript:alert(1)">a</a><script src="https://cdn.example/x.js"></script>'
        '<script type="application/json">{"a": 1}</script><script src="/static/js/site.js"></script>'
    )
    assert len(inline_code(page)) == 6


@pytest.fixture
def full_scene(alice, mallory, concert_date):
    """Alice has a paid seat, a cancelled one and live holds; a failed top-up; Mallory waits in the queue."""
    concert = concert_date.concert
    admit(alice, concert)
    hold(alice, concert_date, 7, 8)
    paid = pay(alice, concert_date).reservations
    booking_services.cancel(user=alice, reservation=paid[1])
    admit(alice, concert)
    hold(alice, concert_date, 3)
    with pytest.raises(WalletError):
        wallet_services.charge(user=alice, amount="12.5")
    room = queue_services.set_paused(concert=concert, paused=False)
    room.max_active = 1
    room.save(update_fields=["max_active"])
    queue_services.join(user=mallory, concert=concert)
    coming = factories.ConcertDateFactory(
        concert__title="Coming Soon",
        concert__sale_opens_at=concert.start_time - datetime.timedelta(days=1),
    )
    return {"date": concert_date, "concert": concert, "paid": paid[0], "coming": coming}


def _fan_pages(scene):
    date, concert, coming = scene["date"], scene["concert"], scene["coming"]
    return [
        reverse("concerts:list"),
        reverse("concerts:detail", args=[concert.pk]),
        reverse("concerts:detail", args=[coming.concert.pk]),
        reverse("queueing:room", args=[concert.pk]),
        reverse("queueing:room", args=[coming.concert.pk]),
        reverse("booking:seats", args=[date.pk]),
        reverse("booking:checkout", args=[date.pk]),
        reverse("booking:reservations"),
        reverse("wallet:home"),
        f"/concerts/{uuid.uuid4()}/",
        "/no-such-page/",
    ]


def test_every_page_a_fan_meets_satisfies_the_policy(alice, mallory, full_scene, client):
    date = full_scene["date"]
    anonymous = [
        reverse("concerts:list"),
        reverse("accounts:login"),
        reverse("accounts:signup"),
        reverse("concerts:detail", args=[full_scene["concert"].pk]),
    ]
    for url in anonymous:
        assert_satisfies_strict_policy(client.get(url), f"anonymous {url}")
    for lang in ("ko", "en"):
        for who in (alice, mallory):
            fan = login_client(who)
            fan.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
            for url in _fan_pages(full_scene):
                response = fan.get(url, follow=True)
                assert_satisfies_strict_policy(response, f"{who.name} {lang} {url}")

    # Pages rendered after a refusal, with their messages.
    fan = login_client(alice)
    refusals = [
        fan.post(reverse("booking:hold", args=[date.pk]), {"seats": ["0", "51"]}),
        fan.post(reverse("booking:checkout", args=[date.pk]), {"idempotency_key": "not-a-uuid"}),
        fan.post(reverse("wallet:charge"), {"amount": "-5"}),
        Client().post(reverse("accounts:login"), {"username": "nobody@example.com", "password": "x"}),
        Client().post(reverse("accounts:signup"), {"email": "x", "name": "<b>"}),
        Client(enforce_csrf_checks=True).post(reverse("wallet:charge"), {"amount": "1000"}),
    ]
    for response in refusals:
        assert 400 <= response.status_code < 500
        assert_satisfies_strict_policy(response, f"refusal {response.status_code}")
    # A refused hold goes back to the seat map (303), which shows the message.
    taken = fan.post(reverse("booking:hold", args=[date.pk]), {"seats": ["3"]}, follow=True)
    assert taken.redirect_chain[0][1] == 303
    assert_satisfies_strict_policy(taken, "refused hold")


def test_the_lockout_and_the_error_pages_satisfy_the_policy(alice, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 1
    client = Client()
    locked = client.post(reverse("accounts:login"), {"username": alice.email, "password": "wrong"})
    assert locked.status_code == 429
    assert_satisfies_strict_policy(locked, "lockout")

    request = RequestFactory().get("/")
    crashed = server_error(request)
    assert inline_code(crashed.content.decode()) == []


def test_the_staff_pages_get_the_staff_policy_and_nothing_looser_elsewhere(db):
    client = Client()
    client.force_login(factories.StaffFactory())
    admin_page = client.get(reverse("admin:index"))
    rq_page = client.get(reverse("django_rq:home"))
    for response in (admin_page, rq_page):
        policy = parse_policy(response["Content-Security-Policy"])
        assert policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'"
        assert policy["script-src"] == "'self' 'unsafe-inline'"
    # A staff member on the fans' pages gets the strict policy.
    assert_satisfies_strict_policy(client.get(reverse("concerts:list")), "staff on the list")


def test_the_join_forms_with_the_entry_challenge_satisfy_the_strict_policy(alice_client, concert_date):
    concert = concert_date.concert
    challenge_room(concert)
    for language in ("ko", "en"):
        alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for url in (reverse("concerts:detail", args=[concert.pk]), reverse("queueing:room", args=[concert.pk])):
            page = alice_client.get(url)
            assert "<altcha-widget" in page.content.decode()
            assert_satisfies_strict_policy(page, f"{url} with the challenge ({language})")
        refused = alice_client.post(reverse("queueing:room", args=[concert.pk]))  # no solution: 403 page
        assert refused.status_code == 403
        assert_satisfies_strict_policy(refused, f"the challenge refused ({language})")
    challenge = alice_client.get(reverse("queueing:challenge", args=[concert.pk]))
    assert parse_policy(challenge["Content-Security-Policy"])["default-src"] == "'self'"


def test_json_and_static_responses_carry_the_policy_too(alice_client, concert_date):
    status = alice_client.get(reverse("queueing:status", args=[concert_date.concert.pk]))
    assert status["Content-Type"] == "application/json"
    assert parse_policy(status["Content-Security-Policy"])["default-src"] == "'self'"


# The door's QR scanner (static/vendor/qr-scanner) writes two SVG overlays with style attributes, only when it is
# asked to highlight the scan region or the code's outline; static/js/door.js asks for neither (checked below).
QR_SCANNER_OVERLAY_STYLES = 2


def test_the_static_scripts_use_no_eval_and_write_no_inline_styles():
    """Ours (static/js) and the vendored ones (static/vendor: the entry challenge's widget and its worker, the
    door's QR scanner and its worker)."""
    forbidden = re.compile(r"\beval\s*\(|new\s+Function\s*\(|setAttribute\(\s*['\"]style|\.cssText|style=|<style")
    scripts = sorted((Path(settings.BASE_DIR) / "static").rglob("*.js"))
    names = {script.name for script in scripts}
    assert {"site.js", "altcha.js", "worker.js", "door.js", "qr-scanner.min.js", "qr-scanner-worker.min.js"} <= names
    for script in scripts:
        found = forbidden.findall(script.read_text())
        if script.name == "qr-scanner.min.js":
            assert found == ["style="] * QR_SCANNER_OVERLAY_STYLES, found
            continue
        assert found == [], f"{script.name}: {found}"
    door = (Path(settings.BASE_DIR) / "static" / "js" / "door.js").read_text()
    assert "highlightScanRegion" not in door and "highlightCodeOutline" not in door


def test_no_fan_template_has_inline_code():
    """A template-level net for pages no test renders: fan templates (not the admin's, not e-mails)."""
    root = Path(settings.BASE_DIR) / "templates"
    offenders = []
    for template in root.rglob("*.html"):
        relative = template.relative_to(root).as_posix()
        if relative.startswith(("admin/", "booking/email/", "accounts/email/")):
            continue
        text = template.read_text()
        text = re.sub(r"{%.*?%}|{{.*?}}", "", text, flags=re.S)  # template tags are not markup
        offenders += [f"{relative}: {v}" for v in inline_code(text)]
    assert offenders == []
