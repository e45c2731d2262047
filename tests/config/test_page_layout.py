"""config.layout's {% page_layout %}: base.html rendered once per language and filled per request reads byte for byte
as base.html printed every page before it (tests/config/base_before.html, rendered by an engine of the test's own;
its {% fixed %} tags, which printed nothing of their own and are gone with the tag, left out),
for every visitor, page and language, messages included, and its shared part holds nothing of a visitor's."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.template import Engine, TemplateSyntaxError, engines
from django.template.backends.django import get_installed_libraries
from django.template.context import make_context
from django.template.loader_tags import ExtendsNode
from django.test import Client, RequestFactory
from django.utils import translation

from config import layout
from tests import factories
from tests.support import fans, site_pages

pytestmark = pytest.mark.django_db

BEFORE = (Path(__file__).parent / "base_before.html").read_text(encoding="utf-8")
_OPTIONS = settings.TEMPLATES[0]["OPTIONS"]
# The site's templates, but base.html as it was before {% page_layout %}.
REFERENCE = Engine(
    dirs=[str(d) for d in settings.TEMPLATES[0]["DIRS"]],
    loaders=[
        ("django.template.loaders.locmem.Loader", {"base.html": BEFORE}),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ],
    context_processors=_OPTIONS["context_processors"],
    libraries={**get_installed_libraries(), **_OPTIONS["libraries"]},
)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _normal(html):
    return TOKEN.sub("TOKEN", html)  # a new mask on every rendering


def _reference(response):
    """The page as the same template and context print it with base.html of before."""
    contexts = response.context if isinstance(response.context, list) else [response.context]
    # The page's own template: the one that extends base.html (parts rendered before it may come first).
    index = next(i for i, t in enumerate(response.templates) if t.nodelist.get_nodes_by_type(ExtendsNode))
    page = REFERENCE.get_template(response.templates[index].name)
    return _normal(page.render(make_context(contexts[index].flatten(), response.wsgi_request)))


@pytest.fixture
def visits(top_up):
    date = factories.ConcertDateFactory(concert__title="Seoul <Jazz> Night & 'co'")
    fan = factories.UserFactory(name='Kim "<b>"', email="kim@example.com")
    top_up(fan, 12_345)
    fans.admit(fan, date.concert)
    waiting = factories.UserFactory(name="Waiting Fan")
    staff = factories.StaffFactory(name="Staff")
    return site_pages.visitors(fan=fan, waiting=waiting, staff=staff), site_pages.page_paths(date, "q=%3Cx%3E")


def test_every_page_reads_as_base_html_printed_it_before_for_every_visitor_and_language(visits):
    visitors, paths = visits
    compared = 0
    for language in ("ko", "en"):
        for who, client in visitors.items():
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
            for path in paths:
                layout._LAYOUTS.clear()
                for response in (client.get(path), client.get(path)):  # a fresh stencil, then the one it left
                    if response.status_code == 302:  # a logged-in visitor on the log-in page; a fan sent on
                        continue
                    with translation.override(language):
                        expected = _reference(response)
                    assert _normal(response.content.decode()) == expected, (who, path, language)
                    compared += 1
    assert compared >= 100


def test_messages_read_as_before():
    request = RequestFactory().get("/")
    request.session = {}
    request.user = factories.UserFactory(name="Messaged")
    request._messages = FallbackStorage(request)
    messages.success(request, "Paid <b>2 seats</b>.")
    messages.error(request, "Refused & sorry")
    for language in ("ko", "en"):
        with translation.override(language):
            html = engines["django"].get_template("404.html").render({}, request)
            expected = REFERENCE.get_template("404.html").render(make_context({}, request))
        assert _normal(html) == _normal(expected)
        assert '<li class="message message-success">Paid &lt;b&gt;2 seats&lt;/b&gt;.</li>' in html


def test_the_shared_layout_holds_nothing_of_a_visitors(db, top_up):
    fan = factories.UserFactory(name="Private Name", email="private@example.com")
    top_up(fan, 54_321)
    client = Client()
    client.force_login(fan)
    layout._LAYOUTS.clear()
    html = client.get("/wallet/").content.decode()
    assert "Private Name" in html and "54,321" in html
    token = TOKEN.search(html).group()
    assert len(layout._LAYOUTS) == 1
    shared = "".join(next(iter(layout._LAYOUTS.values()))._texts)
    for private in ("Private", "private@", "54,321", token.split('value="')[1], "wallet"):
        assert private not in shared
    assert shared.startswith("<!doctype html>") and "site.css" in shared and "footer-note" in shared


def test_a_block_or_live_part_nested_in_another_tag_is_refused():
    for source in (
        "{% load layout %}{% page_layout %}{% if x %}{% block a %}{% endblock %}{% endif %}{% endpage_layout %}",
        "{% load layout %}{% page_layout %}{% for x in y %}{% live %}{% endlive %}{% endfor %}{% endpage_layout %}",
    ):
        with pytest.raises(TemplateSyntaxError, match="top level"):
            engines["django"].from_string(source)
