"""A Korean page never shows a reason as its stored code or in English: the admin's seat history, waiting-room
history, queue tokens and payments, and the fan pages that say why something ended, show translated labels."""

import datetime
import html
import re
import uuid

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from booking import services
from booking.exceptions import InsufficientBalanceToPay
from booking.models import Payment, Reservation
from concerts.models import Seat, SeatStatusHistory
from queueing.models import ExitReason, QueueEntryHistory, QueueToken
from tests import factories
from tests.support.sales import holding_fan, paid_fan
from wallet import services as wallet_services
from wallet.exceptions import ChargeRefused

pytestmark = pytest.mark.django_db

# Every code stored and every English text a reason was (or is) stored as, or is labelled with in English.
with translation.override("en"):
    ENGLISH = {
        *SeatStatusHistory.Reason.values,
        *ExitReason.values,
        *Reservation.EndReason.values,
        *(str(label) for label in SeatStatusHistory.Reason.labels),
        *(str(label) for label in ExitReason.labels),
        *(str(label) for label in Reservation.EndReason.labels),
        "seat created",
        "hold expired",
        "cancelled by the fan",
        "refunded by staff",
        "released by staff",
        "offered from the waiting list",
        "waiting-list offer declined",
        "date cancelled",
    }
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _cells(page: str, field: str) -> list[str]:
    """The texts of a changelist's column (Django marks each cell with class field-NAME)."""
    cells = re.findall(rf'<t[dh] class="field-{field}[^"]*"[^>]*>(.*?)</t[dh]>', page, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


def _text(page: str) -> str:
    """What a reader sees: the body without tags, scripts or attributes."""
    body = page.split("<body", 1)[1]
    body = re.sub(r"<(script|style)\b.*?</\1>", "", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _assert_korean(labels: list[str], *, expected: int) -> None:
    assert len(labels) >= expected, labels
    for label in labels:
        assert label not in ENGLISH and label.lower() not in ENGLISH, label
        assert HANGUL.search(label), label


@pytest.fixture
def korean(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    return client


@pytest.fixture
def every_reason(staff):
    """Seat history rows written by the services for each way a seat changes, one row of every other code, a
    visit and a token ended for each exit reason, and a refused payment."""
    date = factories.ConcertDateFactory()
    fan, _result = paid_fan(concert_date=date, seats=[1, 2, 3])
    services.cancel(user=fan, reservation=Reservation.objects.get(seat__seat_number=1))
    services.refund_and_cancel(reservation=Reservation.objects.get(seat__seat_number=2), by=staff, reason="goodwill")
    holding_fan(concert_date=date, seats=[4])
    services.release_hold(reservation=Reservation.objects.get(seat__seat_number=4), by=staff)
    holding_fan(concert_date=date, seats=[5])
    services.expire_holds(now=timezone.now() + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1))
    seat = Seat.objects.get(concert_date=date, seat_number=50)
    for code in SeatStatusHistory.Reason.values:  # the rest (waiting-list offers, other) directly
        SeatStatusHistory.objects.create(seat=seat, to_status=Seat.Status.AVAILABLE, reason=code)
    short, _holds = holding_fan(concert_date=date, seats=[6])
    with pytest.raises(InsufficientBalanceToPay):
        services.pay(user=short, concert_date=date, idempotency_key=uuid.uuid4().hex)
    now = timezone.now()
    for position, code in enumerate(ExitReason.values, start=1):
        user = factories.UserFactory()
        token = QueueToken.objects.create(
            user=user,
            concert=date.concert,
            queue_position=position,
            state=QueueToken.State.ENDED,
            ended_at=now,
            end_reason=code,
        )
        QueueEntryHistory.objects.create(
            user=user,
            concert=date.concert,
            token=token.token,
            queue_position=position,
            entered_at=now,
            exited_at=now,
            exit_reason=code,
        )
    return date, fan


def test_the_admin_history_lists_show_every_reason_by_its_korean_label(staff, korean, every_reason):
    korean.force_login(staff)
    lists = [
        ("admin:concerts_seatstatushistory_changelist", "reason", len(SeatStatusHistory.Reason.values) + 8),
        ("admin:queueing_queueentryhistory_changelist", "exit_reason", len(ExitReason.values)),
        ("admin:queueing_queuetoken_changelist", "end_reason", len(ExitReason.values)),
        ("admin:booking_payment_changelist", "failure_reason", 1),
    ]
    for url_name, field, rows in lists:
        page = korean.get(reverse(url_name)).content.decode()
        labels = [label for label in _cells(page, field) if label and label != "-"]
        _assert_korean(labels, expected=rows)
    history = korean.get(reverse("admin:concerts_seatstatushistory_changelist")).content.decode()
    assert {"선점 만료", "예매자 취소", "운영자 환불", "운영자 선점 해제", "취소표 대기자에게 제안"} <= set(
        _cells(history, "reason")
    )
    assert "goodwill" in _cells(history, "note")  # the staff member's own words stay as typed
    payment = Payment.objects.get(status=Payment.Status.FAILED)
    inline = korean.get(reverse("admin:booking_reservation_change", args=[payment.reservation_id])).content.decode()
    _assert_korean(_cells(inline, "failure_reason"), expected=1)


def test_the_fan_pages_that_say_why_something_ended_show_no_code_or_english_reason(korean, every_reason):
    _date, fan = every_reason
    with pytest.raises(ChargeRefused):
        wallet_services.charge(user=fan, amount=1)  # below the minimum: a refused top-up on the wallet page
    korean.force_login(fan)
    for url in (reverse("booking:reservations"), reverse("wallet:home")):
        text = _text(korean.get(url).content.decode())
        words = set(re.findall(r"[A-Za-z_]+", text))
        assert not {word for word in words if word in ENGLISH or word.lower() in ENGLISH}, url
        assert not [phrase for phrase in ENGLISH if " " in phrase and phrase.lower() in text.lower()], url
    tickets = _text(korean.get(reverse("booking:reservations")).content.decode())
    assert "직접 취소한 예매입니다" in tickets and "운영자가 예매를 취소하고" in tickets


def test_a_date_cancelled_without_a_reason_stores_none_and_the_korean_admin_shows_no_english(staff, korean):
    """The cancellation's reason is staff's own words: left out (the admin form, `cancel_date` without --reason),
    nothing is stored in its place, so no English default is shown raw to Korean staff."""
    from django.core.management import call_command

    from concerts.models import DateCancellation

    by_admin, by_command = factories.ConcertDateFactory(), factories.ConcertDateFactory()
    korean.force_login(staff)
    changelist = reverse("admin:concerts_concertdate_changelist")
    answer = korean.post(
        changelist, {"action": "cancel_dates", "_selected_action": [by_admin.pk], "confirm": "1", "reason": ""}
    )
    assert answer.status_code == 302, answer.content.decode()[:400]
    call_command("cancel_date", str(by_command.pk))
    assert list(DateCancellation.objects.values_list("reason", flat=True)) == ["", ""]
    for date in (by_admin, by_command):
        page = _text(korean.get(reverse("admin:concerts_concertdate_change", args=[date.pk])).content.decode())
        assert "date cancelled" not in page.lower() and "organiser" not in page.lower()
    listing = _text(korean.get(reverse("admin:concerts_datecancellation_changelist")).content.decode())
    assert "date cancelled" not in listing.lower()
