"""Browser tests: Playwright (Python) driving Debian's Chromium, headless, against pytest-django's live server.

Never `playwright install`: the browser is the system's /usr/bin/chromium (make test installs it with apt
when it is missing). Screenshots go to tests/artifacts/ (git-ignored).
"""

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the Django ORM calls the tests make for setup
# are still plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

# axe-core (bundled by axe-playwright-python) with WCAG 2.0 and 2.1, levels A and AA; a violation of these
# impacts fails a test (moderate and minor ones are reported by axe_violations, not failed on).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_FAILING_IMPACTS = ("serious", "critical")

# What a person must never read on a page: template syntax Django printed instead of running, or a
# Python None rendered as text (the word, unless an English sentence goes on: Django's "None available").
LEAKED_SYNTAX = re.compile(r"\{%|%\}|\{\{|\}\}|\{#|#\}|(?<![A-Za-z])None(?![A-Za-z]| [a-z])")
# Attributes a person reads (tooltips, screen readers, placeholders) or a script shows as text.
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "data-confirm", "data-expired-text", "data-empty"}


class _ReadableText(HTMLParser):
    """The text of an HTML page a person can read: text nodes and READ_ATTRIBUTES, not scripts or styles."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(value for name, value in attrs if name in READ_ATTRIBUTES and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def leaked_syntax(html):
    """The lines of a page's readable text that show template syntax or a raw None."""
    parser = _ReadableText()
    parser.feed(html)
    lines = "\n".join(parser.parts).splitlines()
    return [line.strip()[:120] for line in lines if LEAKED_SYNTAX.search(line)]


def axe_violations(page):
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as it is now, every impact: a list of dicts with
    the rule id, impact, help text, the CSS selectors of the elements found and axe's account of each (runs only
    with JavaScript on)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return [
        {
            "rule": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [" ".join(map(str, node["target"])) for node in violation["nodes"]],
            "why": [node.get("failureSummary", "") for node in violation["nodes"]],
        }
        for violation in results.response["violations"]
    ]


def failing(violations):
    """The violations a test fails on: serious and critical ones."""
    return [violation for violation in violations if violation["impact"] in AXE_FAILING_IMPACTS]


def describe(violations, where=""):
    """One line per violation: where, rule, impact, help and the elements' selectors."""
    return [
        f"{where}{v['rule']} ({v['impact']}): {v['help']} at {', '.join(v['targets'][:6])}"
        + (f" and {len(v['targets']) - 6} more" if len(v["targets"]) > 6 else "")
        for v in violations
    ]


@pytest.fixture
def axe_check():
    """axe_check(page) fails the test listing each serious or critical WCAG 2.0/2.1 A/AA violation on the page
    (its rule, impact, help and the elements' selectors); it returns every violation found, of any impact."""

    def axe_check(page):
        found = axe_violations(page)
        assert failing(found) == [], "\n".join(describe(failing(found), f"{page.url}: "))
        return found

    return axe_check


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make test does it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def open_page(browser, live_server):
    """open_page(width=..., locale=..., javascript=...) → a fresh browser tab on the live server that records
    script errors and pages that show template syntax.

    `page.problems` collects console errors and uncaught exceptions: a Content-Security-Policy violation
    or a broken script shows up there. Every HTML page the tab loads (links, redirects, form posts) is
    read on its way in; a page whose text shows `{%`, `{{`, `{#` or a raw `None` is a problem too, and so is
    any answer 429 (a rate limit met in a flow a fan follows normally). The
    test fails at its end if there is any problem, so every page of every flow is checked in the
    language it was shown in.
    """
    contexts, pages = [], []

    def check_document(route):
        """Fetch an HTML page for the browser (redirects left to the browser) and read its text on the way."""
        if route.request.resource_type != "document":
            route.fallback()
            return
        response = route.fetch(max_redirects=0)
        if "text/html" in response.headers.get("content-type", ""):
            for line in leaked_syntax(response.text()):
                route.request.frame.page.problems.append(f"{route.request.url} shows {line!r}")
        route.fulfill(response=response)

    def open_page(*, width=1280, height=900, locale="ko-KR", javascript=True):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            locale=locale,
            java_script_enabled=javascript,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.problems = []

        def on_console(message):
            # A refusal answers 4xx on purpose (and the browser logs it); anything else is a problem.
            if message.type == "error" and "responded with a status of 4" not in message.text:
                page.problems.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: page.problems.append(str(error)))

        def on_response(response):
            # A fan using the pages never meets a rate limit (config.ratelimit): a 429 fails the test.
            if response.status == 429:
                page.problems.append(f"{response.url} answered 429 (rate limited)")

        page.on("response", on_response)
        page.route("**/*", check_document)
        pages.append(page)
        return page

    yield open_page
    problems = [problem for page in pages for problem in page.problems]
    for context in contexts:
        context.close()
    assert problems == [], "\n".join(problems)
