"""The seat map's markup for keyboards and screen readers: every seat says its number, price and state; the visible
parts are not read twice; the selection and the live changes have a status region; the live map is a static script
(no inline script: the CSP allows none)."""

import re

import pytest

from booking import services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_html(fan_client, fan, concert_date, admitted, make_fan):
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[3])
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[4])
    buyer = make_fan(500_000)
    services.hold_seats(user=buyer, concert_date=concert_date, seat_numbers=[5])
    services.pay(user=buyer, concert_date=concert_date, idempotency_key="markup")

    def read(language="ko"):
        fan_client.cookies["django_language"] = language
        return fan_client.get(f"/dates/{concert_date.pk}/seats/").content.decode()

    return read


def seat(html, number):
    return re.search(rf'<li>\s*<(label|div) class="seat [^"]*" data-seat="{number}".*?</\1>\s*</li>', html, re.S).group(
        0
    )


def test_a_free_seat_is_a_checkbox_named_by_its_number_price_and_state(page_html):
    html = page_html()
    free = seat(html, 1)
    assert re.search(
        r'<input type="checkbox" name="seats" value="1"[^>]* aria-label="1번 좌석 · 99,000원 · 선택 가능"', free
    )
    assert len(re.findall(r'<input type="checkbox" name="seats"', html)) == 47  # 50, less 3, 4 and 5
    # What the eye reads is hidden from screen readers, which read the name instead.
    assert all('aria-hidden="true"' in span for span in re.findall(r"<span [^>]*>", free))


@pytest.mark.parametrize(
    ("language", "number", "said"),
    [
        ("ko", 3, "3번 좌석 · 99,000원 · 내 좌석"),
        ("ko", 4, "4번 좌석 · 99,000원 · 다른 고객 선택 중"),
        ("ko", 5, "5번 좌석 · 99,000원 · 판매 완료"),
        ("en", 3, "Seat 3 · ₩99,000 · yours"),
        ("en", 4, "Seat 4 · ₩99,000 · held by another fan"),
        ("en", 5, "Seat 5 · ₩99,000 · sold"),
    ],
)
def test_a_seat_that_is_not_free_says_whose_it_is(page_html, language, number, said):
    taken = seat(page_html(language), number)
    assert f'<span class="visually-hidden">{said}</span>' in taken
    assert "<input" not in taken


def test_the_grid_the_selection_and_the_live_changes_are_labelled_and_announced(page_html):
    html = page_html("en")
    assert (
        '<ul class="seat-grid" data-testid="seat-grid" aria-label="Seats, numbered row by row from the stage">' in html
    )
    assert re.search(r'<p class="visually-hidden" role="status" data-seat-announce></p>', html)
    assert 'data-text-selection="{count} of {limit} seats selected: {seats}. Total {total}."' in html
    for note in ("data-seat-note-unticked", "data-seat-note-taken", "data-seat-note-freed"):
        assert re.search(rf"<p [^>]*{note}[^>]* hidden>", html), note  # shown only by the script


def test_the_live_map_is_a_static_script_and_the_page_has_no_inline_script(page_html):
    html = page_html()
    assert re.search(r'<script src="/static/js/seat-map(\.[0-9a-f]+)?\.js" defer></script>', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_the_poll_interval_comes_from_the_settings(settings, page_html):
    settings.SEAT_MAP_POLL_SECONDS = 7
    assert 'data-state-every="7"' in page_html()


def test_another_date_page_has_its_own_state_url(fan_client, fan, admit):
    other = factories.ConcertDateFactory()
    admit(fan, other.concert)
    html = fan_client.get(f"/dates/{other.pk}/seats/").content.decode()
    assert f'data-state-url="/dates/{other.pk}/seats/state/"' in html
