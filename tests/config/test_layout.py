"""config.layout's {% site_header %}: the header rendered once per page and language, filled in per request, reads
exactly as base.html printed it before (tests/config/site_header_before.html), and never shows one fan's values
to another."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, RequestContext, Template
from django.test import Client, RequestFactory
from django.utils import translation
from django.views import defaults

from config import layout
from tests import factories
from tests.support import fans, site_pages

pytestmark = pytest.mark.django_db

# base.html's header before config.layout (its {% fixed %} tags left out: they change nothing printed).
REFERENCE = Template((Path(__file__).parent / "site_header_before.html").read_text(encoding="utf-8"))
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
HEADER = re.compile(r'<a class="skip-link".*?</header>', re.S)


def _header(html):
    return TOKEN.sub("TOKEN", HEADER.search(html).group())


def _reference(response):
    context = response.context
    page_url = context.get("page_url", "") if context is not None else ""
    return _header(REFERENCE.render(RequestContext(response.wsgi_request, {"page_url": page_url})))


@pytest.fixture
def pages(db, top_up):
    date = factories.ConcertDateFactory(concert__title="Seoul Jazz Night")
    fan = factories.UserFactory(name="Kim \"<b>\" & 'co'", email="kim@example.com")
    top_up(fan, 12_345)
    fans.admit(fan, date.concert)
    nameless = factories.UserFactory(name="", email="nameless@example.com")
    staff = factories.StaffFactory(name="Staff")
    visitors = site_pages.visitors(fan=fan, nameless=nameless, staff=staff)
    return visitors, site_pages.page_paths(date, "q=%3Cx%3E&b=%22y%22&c='z'")


def test_the_header_reads_as_base_html_printed_it_for_every_visitor_page_and_language(pages):
    visitors, paths = pages
    compared = 0
    for language in ("ko", "en"):
        for who, client in visitors.items():
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
            for path in paths:
                layout._HEADERS.clear()
                fresh = client.get(path)
                again = client.get(path)  # from the stencil the first one left
                if fresh.status_code == 302:  # a logged-in visitor on the log-in page
                    continue
                with translation.override(language):
                    expected = _reference(again)
                assert _header(fresh.content.decode()) == expected, (who, path, language)
                assert _header(again.content.decode()) == expected, (who, path, language)
                compared += 1
    assert compared >= 50


def test_the_error_pages_without_a_request_read_as_before():
    request = RequestFactory().get("/somewhere/")
    for language in ("ko", "en"):
        with translation.override(language):
            body = defaults.server_error(request).content.decode()
            assert HEADER.search(body).group() == HEADER.search(REFERENCE.render(Context())).group()
        assert "csrfmiddlewaretoken" not in body


def test_two_fans_on_one_page_get_their_own_name_balance_and_token(db, top_up):
    one = factories.UserFactory(name="First Fan", email="first@example.com")
    two = factories.UserFactory(name="Second Fan", email="second@example.com")
    top_up(one, 11_000)
    top_up(two, 22_000)
    clients = {}
    for user in (one, two):
        clients[user] = Client(enforce_csrf_checks=True)
        clients[user].force_login(user)
    layout._HEADERS.clear()
    first = clients[one].get("/wallet/").content.decode()
    second = clients[two].get("/wallet/").content.decode()
    assert len(layout._HEADERS) == 1  # one header for both
    assert "First Fan" in first and "first@example.com" in first and "11,000원" in first
    assert "Second Fan" in second and "second@example.com" in second and "22,000원" in second
    assert "First" not in second and "first@" not in second and "11,000" not in second
    assert "Second" not in first and "second@" not in first and "22,000" not in first
    for user, html in [(one, first), (two, second)]:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        data = {"csrfmiddlewaretoken": token, "language": "en", "next": "/wallet/"}
        assert clients[user].post("/i18n/setlang/", data).status_code == 302  # the token is this fan's
    other = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', first).group(1)
    refused = clients[two].post("/i18n/setlang/", {"csrfmiddlewaretoken": other, "language": "ko", "next": "/"})
    assert refused.status_code == 403


def test_the_language_switch_returns_to_the_page_and_log_in_to_the_path_escaped(client, db):
    html = client.get("/?q=%22%3E%3Cscript%3E").content.decode()
    assert '<input type="hidden" name="next" value="/?q=%22%3E%3Cscript%3E">' in html
    assert 'href="/accounts/login/?next=/%3Fq%3D%2522%253E%253Cscript%253E"' in html
    assert "<script>" not in html
