"""Browser tests: Playwright (Python) driving Debian's Chromium, headless, against pytest-django's live server.

Never `playwright install`: the browser is the system's /usr/bin/chromium (make test installs it with apt
when it is missing). Screenshots go to tests/artifacts/ (git-ignored).
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the Django ORM calls the tests make for setup
# are still plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


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
    """open_page(width=..., locale=...) → a fresh browser tab on the live server that records script errors.

    `page.problems` collects console errors and uncaught exceptions: a Content-Security-Policy violation
    or a broken script shows up there.
    """
    contexts = []

    def open_page(*, width=1280, height=900, locale="ko-KR"):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}, locale=locale
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
        return page

    yield open_page
    for context in contexts:
        context.close()
