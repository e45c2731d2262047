"""Staff edit a concert's cancellation fee schedule as inline rows of its admin page ("from N days before the show:
P %"): checked row by row and as a whole, with a clear message, and the fan's quote follows the saved rows."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from booking import selectors
from concerts.models import CancellationFeeRule
from tests import factories

pytestmark = pytest.mark.django_db


def _form(concert, *rows, existing=()):
    """The concert change form as the browser posts it, with no date rows and these fee rows: (days, percent),
    after the `existing` rules (rule, days, percent, delete)."""
    opens = timezone.localtime(concert.sale_opens_at)
    data = {
        "title": concert.title,
        "description": concert.description,
        "venue": concert.venue,
        "sale_opens_at_0": opens.date().isoformat(),
        "sale_opens_at_1": opens.strftime("%H:%M:%S"),
        "dates-TOTAL_FORMS": "0",
        "dates-INITIAL_FORMS": "0",
        "dates-MIN_NUM_FORMS": "0",
        "dates-MAX_NUM_FORMS": "1000",
        "presales-TOTAL_FORMS": "0",  # the presale windows inline, none here
        "presales-INITIAL_FORMS": "0",
        "presales-MIN_NUM_FORMS": "0",
        "presales-MAX_NUM_FORMS": "1000",
        "cancellation_fee_rules-TOTAL_FORMS": str(len(existing) + len(rows)),
        "cancellation_fee_rules-INITIAL_FORMS": str(len(existing)),
        "cancellation_fee_rules-MIN_NUM_FORMS": "0",
        "cancellation_fee_rules-MAX_NUM_FORMS": "1000",
    }
    for index, (rule, days, percent, delete) in enumerate(existing):
        prefix = f"cancellation_fee_rules-{index}-"
        data |= {prefix + "id": str(rule.pk), prefix + "concert": str(concert.pk)}
        data |= {prefix + "days_before": str(days), prefix + "percent": str(percent)}
        if delete:
            data[prefix + "DELETE"] = "on"
    for index, (days, percent) in enumerate(rows, start=len(existing)):
        prefix = f"cancellation_fee_rules-{index}-"
        data |= {
            prefix + "concert": str(concert.pk),
            prefix + "days_before": str(days),
            prefix + "percent": str(percent),
        }
    return data


def _url(concert):
    return reverse("admin:concerts_concert_change", args=[concert.pk])


def _steps(concert):
    return list(concert.cancellation_fee_rules.order_by("-days_before").values_list("days_before", "percent"))


def test_the_concert_page_shows_the_standard_schedule_until_staff_add_rows(staff_client):
    concert = factories.ConcertFactory()
    page = staff_client.get(_url(concert))
    assertContains(page, "취소 수수료 기준")
    assertContains(page, "표준 기준: 관람일 10일 전부터 10%, 관람일 6일 전부터 20%, 관람일 2일 전부터 30%")
    assertContains(page, 'name="cancellation_fee_rules-TOTAL_FORMS"')


def test_staff_save_a_schedule_and_the_fan_s_quote_follows_it(staff_client, now_fan_paid):
    concert, reservation, show_day = now_fan_paid
    response = staff_client.post(_url(concert), _form(concert, (20, 10), (3, 50)))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _steps(concert) == [(20, 10), (3, 50)]

    at = datetime.datetime.combine(
        show_day - datetime.timedelta(days=3), datetime.time(12), tzinfo=timezone.get_current_timezone()
    )
    quote = selectors.cancellation_quote(reservation=reservation, now=at)
    assert (quote.percent, quote.fee) == (50, reservation.price // 2)
    assertContains(staff_client.get(_url(concert)), "관람일 20일 전부터 10%, 관람일 3일 전부터 50%")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(0, 10)], "1 이상의 값을 입력해 주세요"),  # the show's day: never cancellable
        ([(5, 101)], "100 이하의 값을 입력해 주세요"),
        ([(5, 10), (5, 20)], "관람일 5일 전부터 시작하는 행이 두 개입니다"),
        ([(10, 30), (2, 10)], "수수료는 공연이 가까워질수록 낮아질 수 없습니다"),
    ],
    ids=["show-day", "over-100", "same-day-twice", "going-down"],
)
def test_a_bad_schedule_is_refused_with_a_clear_message_and_nothing_saved(staff_client, rows, message):
    concert = factories.ConcertFactory()
    kept = CancellationFeeRule.objects.create(concert=concert, days_before=7, percent=15)

    response = staff_client.post(_url(concert), _form(concert, *rows, existing=[(kept, 7, 15, False)]))

    assert response.status_code == 200
    assertContains(response, message)
    assert _steps(concert) == [(7, 15)]


def test_rows_can_be_changed_and_deleted_back_to_the_standard_schedule(staff_client):
    concert = factories.ConcertFactory()
    first = CancellationFeeRule.objects.create(concert=concert, days_before=7, percent=15)
    second = CancellationFeeRule.objects.create(concert=concert, days_before=3, percent=40)

    staff_client.post(_url(concert), _form(concert, existing=[(first, 8, 15, False), (second, 3, 40, True)]))
    assert _steps(concert) == [(8, 15)]
    staff_client.post(_url(concert), _form(concert, existing=[(first, 8, 15, True)]))
    assert _steps(concert) == []
    assertContains(staff_client.get(_url(concert)), "표준 기준")


@pytest.fixture
def now_fan_paid():
    from tests.support.sales import paid_fan

    show_day = (timezone.now() + datetime.timedelta(days=40)).date()
    date = factories.ConcertDateFactory(concert_date=show_day)
    _fan, result = paid_fan(concert_date=date, seats=[1])
    return date.concert, result.reservations[0], date.concert_date


def test_each_fee_schedule_edit_is_in_the_audit_log(staff_client, staff):
    from accounts.models import AuditEntry

    concert = factories.ConcertFactory()
    staff_client.post(_url(concert), _form(concert, (10, 10), (2, 30)), REMOTE_ADDR="203.0.113.5")
    ten, two = concert.cancellation_fee_rules.order_by("-days_before")
    staff_client.post(_url(concert), _form(concert, existing=[(ten, 10, 15, False), (two, 2, 30, True)]))

    entries = AuditEntry.objects.filter(object_id__in=[str(ten.pk), str(two.pk)]).order_by("at", "pk")
    fields = ("days_before", "percent")
    rows = [(e.action, e.object_id, {f: e.changes[f] for f in fields if f in e.changes}, e.actor_id) for e in entries]
    assert rows == [
        ("admin.add", str(ten.pk), {"days_before": [None, 10], "percent": [None, 10]}, staff.pk),
        ("admin.add", str(two.pk), {"days_before": [None, 2], "percent": [None, 30]}, staff.pk),
        ("admin.change", str(ten.pk), {"percent": [10, 15]}, staff.pk),
        ("admin.delete", str(two.pk), {"days_before": [2, None], "percent": [30, None]}, staff.pk),
    ]
    assert entries.first().ip == "203.0.113.5"
