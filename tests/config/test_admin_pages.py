"""What staff read on the admin pages: where the operations links are, the Frontrow branding, Korean texts."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

OPERATIONS = (
    "admin:concerts_salesdashboard_changelist",
    "booking:door",
    "admin:concerts_datecancellation_changelist",
    "admin:concerts_dateexport_changelist",
    "django_rq:home",
)


def test_the_operations_links_open_the_main_column_of_the_admin_index(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    main = html.index('id="content-main"')
    operations = html.index('id="frontrow-operations"')
    apps = html.index('class="app-concerts')
    # In the main column, above the list of apps, not in the sidebar below "Recent actions".
    assert main < operations < apps
    assert operations < html.index('id="content-related"')
    box = html[operations : html.index("</div>", operations)]
    for name in OPERATIONS:
        assert f'href="{reverse(name)}"' in box


def test_the_admin_is_branded_frontrow_in_both_languages(staff_client, settings):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert re.search(r"<title>[^<]*Frontrow[^<]*</title>", html)
    assert "Frontrow 관리" in html
    assert "Django 사이트 관리" not in html
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "Frontrow admin" in html
    assert "Django administration" not in html


# --- the sales dashboard says which money it shows ---------------------------------------------


@pytest.fixture
def sales_with_a_refund():
    """Seats 1 and 2 at 165,000 and seat 40 at 99,000 paid; seat 2 then cancelled by its fan (refunded)."""
    from booking import services as booking_services
    from booking.models import Reservation
    from concerts.pricing import PriceTier
    from tests.factories import ConcertDateFactory
    from tests.support.sales import paid_fan

    tiers = [PriceTier("VIP", 1, 10, 165_000), PriceTier("R", 11, 30, 132_000), PriceTier("S", 31, 50, 99_000)]
    date = ConcertDateFactory(tiers=tiers, concert__title="Seoul Jazz Night")
    fan, _ = paid_fan(concert_date=date, seats=[1, 2])
    paid_fan(concert_date=date, seats=[40])
    booking_services.cancel(user=fan, reservation=Reservation.objects.get(seat__concert_date=date, seat__seat_number=2))
    return date


def test_the_dashboard_labels_gross_payments_refunds_and_net_revenue(staff_client, sales_with_a_refund):
    response = staff_client.get(reverse("admin:concerts_salesdashboard_changelist"))
    dashboard = response.context["dashboard"]
    assert (dashboard.totals.gross, dashboard.totals.refunded, dashboard.totals.net) == (429_000, 165_000, 264_000)
    assert dashboard.totals.sold == 2
    (group,) = dashboard.concerts
    assert (group.gross, group.refunded, group.net) == (429_000, 165_000, 264_000)
    (date,) = group.dates
    assert (date.gross, date.refunded, date.net) == (429_000, 165_000, 264_000)
    # The chart is of gross payments per day, and says so; the table says which column is which.
    assert dashboard.series[-1].amount == 429_000
    html = response.content.decode()
    assert "일별 총 결제액 (환불 차감 전) · 최근 30일" in html
    assert "결제 3건, 429,000원" in html  # the chart's own title, in Korean
    for heading in ("총 결제액", "환불액", "순매출 (결제 − 환불)"):
        assert f"<th>{heading}</th>" in html
    figures = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[html.index('class="fr-figures"') :]))
    assert "총 결제액 429,000원" in figures
    assert "환불액 165,000원" in figures
    assert "순매출 264,000원" in figures


def test_the_dashboard_runs_a_fixed_number_of_queries(staff_client, django_assert_max_num_queries):
    from tests.factories import ConcertDateFactory
    from tests.support.sales import paid_fan

    for _ in range(3):
        paid_fan(concert_date=ConcertDateFactory(), seats=[1])
    # session, user, dates with counts and money, concerts for the filter, the daily series
    with django_assert_max_num_queries(6):
        response = staff_client.get(reverse("admin:concerts_salesdashboard_changelist"))
    assert len(response.context["dashboard"].concerts) == 3


# --- Korean in the Korean admin ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tiers", "korean"),
    [
        (
            "cheap seats",
            "좌석 등급을 읽을 수 없습니다: 'cheap seats'. "
            "'이름 시작-끝 가격' 형식으로 입력해 주세요(예: VIP 1-10 165000).",
        ),
        ("VIP 1-10 165000", "11–50번 좌석에 좌석 등급이 없습니다."),
        ("VIP 1-10 165000\nR 21-50 99000", "11–20번 좌석에 좌석 등급이 없습니다."),
        ("VIP 1-10 165000\nS 10-50 99000", "10번 좌석이 여러 좌석 등급에 들어 있습니다."),
        ("VIP 1-50 0", "좌석 등급(VIP): 가격은 0원보다 커야 합니다."),
        ("1-50 99999999999", "좌석 등급(1): 가격은 최대 2,147,483,647원까지 입력할 수 있습니다."),
        ("VIP 1-60 99000", "좌석 등급(VIP): 좌석 번호는 1부터 50까지입니다."),
    ],
)
def test_price_tier_errors_are_korean_in_the_korean_admin(staff_client, tiers, korean):
    from tests.concerts.test_admin_foundation import _concert_post, _url

    response = staff_client.post(_url("concerts.concert", "add"), _concert_post(**{"2030-05-01": tiers}))
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]["price_tiers"]
    assert errors == [korean]


def test_price_tier_errors_stay_english_in_the_english_admin(staff_client, settings):
    from tests.concerts.test_admin_foundation import _concert_post, _url

    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = staff_client.post(_url("concerts.concert", "add"), _concert_post(**{"2030-05-01": "VIP 1-10 165000"}))
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]["price_tiers"]
    assert errors == ["Seats 11–50 have no price tier."]


def test_the_exports_list_has_a_proper_korean_title(staff_client):
    html = staff_client.get(reverse("admin:concerts_dateexport_changelist")).content.decode()
    title = re.search(r"<h1>(.*?)</h1>", html, re.S)[1].strip()
    assert title == "조회할 CSV 내보내기 파일 선택"
    assert "보기위한" not in html and "를(을)" not in html


@pytest.mark.parametrize(
    ("url", "korean"),
    [
        ("admin:axes_accessattempt_changelist", "로그인 시도"),
        ("admin:axes_accessfailurelog_changelist", "로그인 실패 기록"),
        ("admin:axes_accesslog_changelist", "로그인 기록"),
    ],
)
def test_the_log_in_attempt_screens_are_korean(staff_client, url, korean):
    html = staff_client.get(reverse(url)).content.decode()
    assert korean in html
    for english in ("Access attempts", "Access failures", "Access logs", "Attempt Time", "IP Address", "User Agent"):
        assert english not in html


def test_the_admin_index_lists_no_app_or_model_in_english(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    names = re.findall(r'<(?:caption|th scope="row")[^>]*>\s*(?:<a [^>]*>)?\s*([^<]+?)\s*<', html)
    # Django-RQ is a product's name, like Frontrow.
    english = [name for name in names if re.fullmatch(r"[A-Za-z _()-]+", name) and name not in ("Django-RQ",)]
    assert english == []
