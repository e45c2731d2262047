"""The layout around every page: Korean by default, the language switch, won formats, error pages."""

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation
from django.views import defaults
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from concerts.templatetags.frontrow import clock, reason_text, won

pytestmark = pytest.mark.django_db


def test_the_site_is_korean_by_default(client):
    response = client.get("/")
    assertContains(response, '<html lang="ko">')
    assertContains(response, "지금 예매 중")
    assertContains(response, "로그인")


def test_the_language_switch_turns_the_site_english_and_back(fan_client, fan, top_up):
    top_up(fan, 12_000)
    response = fan_client.post("/i18n/setlang/", {"language": "en", "next": "/wallet/"})
    assertRedirects(response, "/wallet/", fetch_redirect_response=False)
    page = fan_client.get("/wallet/")
    assertContains(page, '<html lang="en">')
    assertContains(page, "Top up")
    assertContains(page, "₩12,000")
    assertNotContains(page, "12,000원")
    fan_client.post("/i18n/setlang/", {"language": "ko", "next": "/wallet/"})
    page = fan_client.get("/wallet/")
    assertContains(page, "12,000원")
    assertContains(page, "충전하기")


def test_every_page_offers_the_switch_to_the_other_language(client):
    assertContains(client.get("/"), 'name="language" value="en"')
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assertContains(client.get("/"), 'name="language" value="ko"')


@pytest.mark.parametrize(
    ("language", "amount", "expected"),
    [("ko", 12000, "12,000원"), ("en", 12000, "₩12,000"), ("ko", 0, "0원"), ("en", -3500, "-₩3,500"), ("ko", None, "")],
)
def test_won_follows_the_language(language, amount, expected):
    with translation.override(language):
        assert won(amount) == expected
        assert Template("{% load frontrow %}{{ a|won }}").render(Context({"a": amount})) == expected


def test_countdown_text_without_javascript():
    assert clock(65) == "1:05"
    assert clock(3600 + 2) == "1:00:02"
    with translation.override("ko"):
        assert clock(2 * 86400 + 5) == "2일 00:00:05"
    with translation.override("en"):
        assert clock(86400) == "1 day 00:00:00"
    assert clock(-4) == "0:00"


def test_stored_english_reasons_are_shown_in_korean():
    with translation.override("ko"):
        assert reason_text("Enter the amount as a whole number of won.") == "금액을 원 단위 정수로 입력해 주세요."
        assert reason_text("A top-up must be at least 1,000 won.") == "충전 금액은 최소 1,000원입니다."
        assert reason_text("Your balance is 5 won but 99,000 won is needed. Top up your wallet and try again.") == (
            "예치금 잔액은 5원이고 99,000원이 필요합니다. 예치금을 충전한 뒤 다시 시도해 주세요."
        )
        assert reason_text("Something nobody translated.") == "Something nobody translated."


def test_404_page_is_in_the_layout(client):
    response = client.get("/no-such-page/")
    assertContains(response, "페이지를 찾을 수 없습니다", status_code=404)
    assertContains(response, 'class="site-header"', status_code=404)


def test_403_and_500_pages_are_in_the_layout():
    request = RequestFactory().get("/somewhere/")
    with translation.override("ko"):
        forbidden = defaults.permission_denied(request, exception=PermissionError())
        error = defaults.server_error(request)
    assert forbidden.status_code == 403
    assert "이 페이지를 열 수 없습니다" in forbidden.content.decode()
    assert error.status_code == 500
    body = error.content.decode()
    assert "일시적인 오류가 발생했습니다" in body
    assert 'class="site-header"' in body


def test_a_csrf_failure_is_a_readable_403(csrf_client):
    response = csrf_client.post("/wallet/charge/", {"amount": "1000"})
    assertContains(response, "페이지 유효 시간이 지났습니다", status_code=403)
    assertContains(response, 'class="site-header"', status_code=403)


def test_pages_carry_no_inline_style_or_script(fan_client, concert_date, admitted):
    """The Content-Security-Policy allows no inline code, so the pages must not need any."""
    for url in ["/", f"/concerts/{concert_date.concert.pk}/", f"/dates/{concert_date.pk}/seats/", "/wallet/"]:
        html = fan_client.get(url).content.decode()
        assert "style=" not in html, url
        assert "<style" not in html, url
        assert " on" + "click=" not in html and " on" + "submit=" not in html, url
        assert "<script>" not in html, url


def test_the_layouts_fixed_parts_read_as_rendered_afresh_in_every_language_section_and_log_in_state(
    client, fan, top_up, concert_date
):
    """base.html's layout and header (config.layout) are rendered once per language and
    section, then reused: every page must read byte for byte as it does rendered afresh, whichever pages and
    languages came before it."""
    import re

    from django.test import Client

    from config import layout
    from tests.support import fans

    top_up(fan, 12_000)
    fans.admit(fan, concert_date.concert)
    seats = f"/dates/{concert_date.pk}/seats/"  # booking's, like My tickets, but not My tickets
    logged_in = Client()
    logged_in.force_login(fan)
    visits = [
        (who, path, lang)
        for lang in ("ko", "en")
        for who, path in [
            (client, "/"),
            (logged_in, "/"),
            (logged_in, "/reservations/"),
            (logged_in, seats),
            (logged_in, "/wallet/"),
        ]
    ]

    def page(who, path, lang):
        who.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
        html = who.get(path).content.decode()
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)  # a new mask on every page

    fresh = {}
    for who, path, lang in visits:
        layout._HEADERS.clear()
        layout._LAYOUTS.clear()
        fresh[who, path, lang] = page(who, path, lang)
    layout._HEADERS.clear()
    layout._LAYOUTS.clear()
    for who, path, lang in visits + visits[::-1]:
        assert page(who, path, lang) == fresh[who, path, lang]

    assert '<a href="/" aria-current="page">공연</a>' in fresh[logged_in, "/", "ko"]
    assert '<a href="/reservations/" aria-current="page">My tickets</a>' in fresh[logged_in, "/reservations/", "en"]
    assert '<a class="nav-wallet" href="/wallet/" aria-current="page">' in fresh[logged_in, "/wallet/", "ko"]
    assert "aria-current" not in fresh[logged_in, "/reservations/", "ko"].split("nav-wallet")[1].split("</a>")[0]
    assert '<a href="/reservations/">예매 확인/취소</a>' in fresh[logged_in, seats, "ko"]
    assert "예매 확인/취소" not in fresh[client, "/", "ko"] and "예매 확인/취소" in fresh[logged_in, "/", "ko"]
    top_up(fan, 8_000)  # the balance is outside the fixed parts
    assert "₩20,000" in page(logged_in, "/wallet/", "en")
