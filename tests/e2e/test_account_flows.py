"""Account pages in a real browser: a forgotten password chosen again through the e-mailed link (Korean desktop,
English phone, and without JavaScript)."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests import factories
from tests.e2e.test_fan_pages import log_in
from wallet import services as wallet_services

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


def _verify_link(email):
    [message] = [m for m in mail.outbox if m.to == [email]][-1:]
    return re.search(r"https?://[^/\s]+(/accounts/email/verify/\S+)", message.body).group(1)


@pytest.mark.parametrize(
    ("width", "locale", "javascript", "texts"),
    [
        pytest.param(1280, "ko-KR", True, ("회원가입", "예매하기", "링크 다시 보내기"), id="ko-desktop"),
        pytest.param(390, "en-US", True, ("Sign up", "Book", "Send the link again"), id="en-phone"),
        pytest.param(1280, "ko-KR", False, ("회원가입", "예매하기", "링크 다시 보내기"), id="no-js"),
    ],
)
def test_a_new_fan_verifies_the_address_when_the_waiting_room_asks_then_books(
    open_page, artifacts, width, locale, javascript, texts
):
    sign_up, book, resend = texts
    concert_date = factories.ConcertDateFactory(concert__title="Seoul Jazz Night")
    email = f"newfan-{width}-{int(javascript)}@example.com"
    shot = f"{locale}-{width}-js{int(javascript)}"
    page = open_page(width=width, height=900, locale=locale, javascript=javascript)

    page.goto("/accounts/signup/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=name]").fill("New Fan")
    page.locator("input[name=password1]").fill(NEW_PASSWORD)
    page.locator("input[name=password2]").fill(NEW_PASSWORD)
    page.locator("form.stack-form").get_by_role("button", name=sign_up).click()
    expect(page.locator(".messages")).to_contain_text(email)
    page.screenshot(path=artifacts / f"verify-signed-up-{shot}.png", full_page=True)

    # Booking asks to verify first: the waiting room refuses the join and offers the link again.
    page.goto(f"/concerts/{concert_date.concert.pk}/")
    page.get_by_role("button", name=book, exact=True).first.click()
    expect(page.get_by_test_id("verify-required")).to_be_visible()
    page.screenshot(path=artifacts / f"verify-required-{shot}.png", full_page=True)
    page.get_by_role("button", name=resend).click()
    expect(page.get_by_test_id("verify-email-prompt")).to_be_visible()  # back on the waiting room's page
    expect(page.locator(".messages")).to_contain_text(email)
    page.screenshot(path=artifacts / f"verify-room-prompt-{shot}.png", full_page=True)

    # The newest link verifies on its page's button and comes back to the waiting room, which now lets the fan in.
    page.goto(_verify_link(email))
    page.screenshot(path=artifacts / f"verify-link-page-{shot}.png", full_page=True)
    page.get_by_test_id("confirm-email").click()
    expect(page.get_by_test_id("join-queue")).to_be_visible()
    page.screenshot(path=artifacts / f"verify-done-room-{shot}.png", full_page=True)
    page.get_by_test_id("join-queue").click()
    expect(page).to_have_url(re.compile(f"/dates/{concert_date.pk}/seats/$"))

    # The link again: already used (409), saying the address is verified.
    page.goto(_verify_link(email))
    expect(page.get_by_test_id("verification-refused")).to_have_attribute("data-code", "verification_link_used")
    page.screenshot(path=artifacts / f"verify-used-{shot}.png", full_page=True)


@pytest.mark.parametrize(
    ("width", "locale", "javascript", "texts"),
    [
        pytest.param(1280, "ko-KR", True, ("이메일 주소 변경하기", "비밀번호 변경하기", "미인증"), id="ko-desktop"),
        pytest.param(390, "en-US", True, ("Change my address", "Change my password", "Not verified"), id="en-phone"),
        pytest.param(1280, "ko-KR", False, ("이메일 주소 변경하기", "비밀번호 변경하기", "미인증"), id="no-js"),
    ],
)
def test_a_fan_changes_the_address_and_the_password_from_the_account_page(
    open_page, live_server, artifacts, width, locale, javascript, texts
):
    save_email, save_password, unverified = texts
    fan = factories.UserFactory(email=f"mover-{width}-{int(javascript)}@example.com", name="Mover")
    new_email = f"moved-{width}-{int(javascript)}@example.com"
    shot = f"{locale}-{width}-js{int(javascript)}"
    page = open_page(width=width, height=900, locale=locale, javascript=javascript)
    log_in(page, live_server, fan, language=locale[:2])

    page.goto("/")
    if width >= 960:  # the name in the header leads to the account page; on a phone, a tab of the menu does
        page.get_by_test_id("account-link").click()
    else:
        page.locator(".main-nav .nav-account").click()
    expect(page.get_by_test_id("account-email")).to_have_text(fan.email)
    page.screenshot(path=artifacts / f"account-{shot}.png", full_page=True)

    page.get_by_test_id("change-email").click()
    page.locator("input[name=email]").fill(new_email)
    page.locator("input[name=password]").fill("wrong-password")
    page.get_by_role("button", name=save_email).click()
    expect(page.locator(".has-error")).to_be_visible()  # refused: 400, the form again with the reason
    page.screenshot(path=artifacts / f"account-email-refused-{shot}.png", full_page=True)
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.get_by_role("button", name=save_email).click()
    expect(page.get_by_test_id("account-email")).to_have_text(new_email)
    expect(page.get_by_test_id("email-unverified")).to_have_text(unverified)
    page.screenshot(path=artifacts / f"account-email-changed-{shot}.png", full_page=True)
    assert [m.to for m in mail.outbox if fan.email in m.to or new_email in m.to] != []

    page.get_by_test_id("change-password").click()
    page.locator("input[name=old_password]").fill("correct-horse-battery")
    page.locator("input[name=new_password1]").fill(NEW_PASSWORD)
    page.locator("input[name=new_password2]").fill(NEW_PASSWORD)
    page.screenshot(path=artifacts / f"account-password-form-{shot}.png", full_page=True)
    page.get_by_role("button", name=save_password).click()
    expect(page.get_by_test_id("account")).to_be_visible()
    expect(page.locator(".messages")).to_be_visible()
    page.screenshot(path=artifacts / f"account-password-changed-{shot}.png", full_page=True)
    fan.refresh_from_db()
    assert (fan.email, fan.email_verified_at) == (new_email, None)
    assert fan.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("width", "locale", "tabs"),
    [
        pytest.param(390, "en-US", ["Concerts", "My tickets", "Wallet", "My account"], id="en-phone"),
        pytest.param(390, "ko-KR", ["공연", "예매 확인/취소", "예치금", "내 계정"], id="ko-phone"),
        pytest.param(320, "en-US", ["Concerts", "My tickets", "Wallet", "My account"], id="en-small-phone"),
        pytest.param(800, "en-US", ["Concerts", "My tickets", "Wallet", "My account"], id="en-tablet"),
    ],
)
def test_every_tab_of_the_menu_is_on_screen_on_a_phone_in_both_languages(open_page, live_server, width, locale, tabs):
    # A wallet of 10,000,000 won: the widest balance the tab shows (MAX_BALANCE).
    fan = factories.UserFactory(email=f"narrow-{width}-{locale}@example.com", name="Narrow")
    for _ in range(10):
        wallet_services.charge(user=fan, amount=1_000_000)
    page = open_page(width=width, height=844, locale=locale)
    log_in(page, live_server, fan, language=locale[:2])
    page.goto("/")
    links = page.locator(".main-nav a")
    expect(links).to_have_count(len(tabs))
    for link, tab in zip(links.all(), tabs, strict=True):
        expect(link).to_contain_text(tab)
        box = link.bounding_box()
        # Each tab lies wholly on the screen (wrapped onto a second line if need be, never scrolled out of sight).
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (tab, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [320, 390])
@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_the_headers_brand_and_buttons_keep_their_words_on_one_line_on_a_phone(open_page, live_server, width, locale):
    page = open_page(width=width, height=844, locale=locale)
    page.goto("/accounts/login/")
    for element in [page.locator(".brand-name"), *page.locator(".header-tools .btn, .lang-toggle").all()]:
        box = element.bounding_box()
        assert box is not None and box["height"] < 40, (element.inner_text(), box)  # one line of text, not two
        assert box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
