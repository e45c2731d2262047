"""Account pages in a real browser: a forgotten password chosen again through the e-mailed link (Korean desktop,
English phone, and without JavaScript)."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "amber-lantern-5813"


def _reset_link(email):
    [message] = [m for m in mail.outbox if m.to == [email]]
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", message.body).group(1)


@pytest.mark.parametrize(
    ("width", "locale", "javascript", "texts"),
    [
        pytest.param(
            1280,
            "ko-KR",
            True,
            ("비밀번호를 잊으셨나요?", "링크 보내기", "비밀번호 설정하기", "새 비밀번호가 설정되었습니다"),
            id="ko-desktop",
        ),
        pytest.param(
            390,
            "en-US",
            True,
            ("Forgot your password?", "Send the link", "Set my password", "Your password is set"),
            id="en-phone",
        ),
        pytest.param(
            1280,
            "ko-KR",
            False,
            ("비밀번호를 잊으셨나요?", "링크 보내기", "비밀번호 설정하기", "새 비밀번호가 설정되었습니다"),
            id="no-js",
        ),
    ],
)
def test_a_fan_who_forgot_the_password_chooses_a_new_one_and_is_logged_in(
    open_page, artifacts, width, locale, javascript, texts
):
    forgot, send, set_password, done = texts
    fan = factories.UserFactory(email=f"forgetful-{width}-{javascript}@example.com", name="Forgetful")
    page = open_page(width=width, height=900, locale=locale, javascript=javascript)
    page.goto("/accounts/login/")
    page.get_by_role("link", name=forgot).click()
    expect(page.get_by_role("heading", name=forgot)).to_be_visible()
    page.screenshot(path=artifacts / f"password-reset-form-{locale}-{width}-js{int(javascript)}.png", full_page=True)
    page.locator("input[name=email]").fill(fan.email.upper())
    page.get_by_test_id("send-reset-link").click()
    expect(page.get_by_test_id("reset-sent")).to_be_visible()
    page.screenshot(path=artifacts / f"password-reset-sent-{locale}-{width}-js{int(javascript)}.png", full_page=True)

    page.goto(_reset_link(fan.email))
    expect(page).to_have_url(re.compile(r"/set-password/$"))
    page.locator("input[name=new_password1]").fill(NEW_PASSWORD)
    page.locator("input[name=new_password2]").fill(NEW_PASSWORD)
    page.screenshot(path=artifacts / f"password-reset-confirm-{locale}-{width}-js{int(javascript)}.png", full_page=True)
    page.get_by_role("button", name=set_password).click()
    expect(page.get_by_test_id("reset-complete")).to_contain_text(done)
    expect(page.locator(".user-name")).to_have_text("Forgetful")
    page.screenshot(path=artifacts / f"password-reset-done-{locale}-{width}-js{int(javascript)}.png", full_page=True)
    fan.refresh_from_db()
    assert fan.check_password(NEW_PASSWORD)

    # The same link again: refused, with a way to ask for a new one.
    page.goto(_reset_link(fan.email))
    expect(page.get_by_test_id("link-refused")).to_be_visible()
    page.screenshot(path=artifacts / f"password-reset-used-{locale}-{width}-js{int(javascript)}.png", full_page=True)
