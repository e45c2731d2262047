"""Door check-in (booking.services.checkins): a paid ticket enters once, for its own date; everything else is refused
with the reason, and a refusal records nothing."""

import datetime
from functools import partial

import pytest
from django.utils import timezone

from booking import services
from booking.exceptions import TicketAlreadyCheckedIn, TicketCodeInvalid, TicketForAnotherDate, TicketNotValid
from booking.models import CheckIn
from booking.tickets import ticket_code
from concerts import pricing
from concerts import services as concert_services
from tests import factories
from tests.support.concurrency import run_at_once
from tests.support.sales import paid_fan

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return factories.StaffFactory(name="Door A")


def test_a_paid_ticket_checks_in_once_recording_who_when_and_at_which_door(paid, concert_date, staff, now):
    check_in = services.check_in_ticket(
        code=ticket_code(paid), concert_date=concert_date, by=staff, door="Gate A", now=now
    )

    assert check_in.reservation == paid
    assert check_in.checked_in_by == staff
    assert check_in.checked_in_at == now
    assert check_in.door == "Gate A"
    assert CheckIn.objects.get(reservation=paid) == check_in


def test_the_door_name_is_tidied_and_cut_to_the_fields_length(paid, concert_date, staff):
    check_in = services.check_in_ticket(
        code=ticket_code(paid), concert_date=concert_date, by=staff, door="  North \n  gate " + "x" * 60
    )
    assert check_in.door.startswith("North gate x")
    assert len(check_in.door) == CheckIn.DOOR_MAX_LENGTH


def test_a_second_scan_is_refused_saying_when_at_which_door_and_by_whom(paid, concert_date, staff, now):
    first = services.check_in_ticket(
        code=ticket_code(paid), concert_date=concert_date, by=staff, door="Gate A", now=now
    )
    other_door = factories.StaffFactory(name="Door B")

    with pytest.raises(TicketAlreadyCheckedIn) as refused:
        services.check_in_ticket(
            code=ticket_code(paid),
            concert_date=concert_date,
            by=other_door,
            door="Gate B",
            now=now + datetime.timedelta(minutes=7),
        )

    assert refused.value.check_in == first
    assert "Door A" in refused.value.reason
    assert "Gate A" in refused.value.reason and "Gate B" not in refused.value.reason
    assert timezone.localtime(now).strftime("%H:%M:%S") in refused.value.reason
    assert refused.value.status == 409
    assert CheckIn.objects.filter(reservation=paid).count() == 1


def test_a_second_scan_of_an_entry_without_a_door_name_still_says_when_and_by_whom(paid, concert_date, staff, now):
    services.check_in_ticket(code=ticket_code(paid), concert_date=concert_date, by=staff, now=now)

    with pytest.raises(TicketAlreadyCheckedIn) as refused:
        services.check_in_ticket(code=ticket_code(paid), concert_date=concert_date, by=staff, door="Gate B")

    assert "Door A" in refused.value.reason and "Gate B" not in refused.value.reason


def test_a_ticket_for_another_date_is_refused_and_records_nothing(paid, concert_date, staff, now):
    other_date = concert_services.create_concert_date(
        concert=concert_date.concert,
        starts_at=concert_date.starts_at + datetime.timedelta(days=1),
        tiers=pricing.default_tiers(),
    )

    with pytest.raises(TicketForAnotherDate) as refused:
        services.check_in_ticket(code=ticket_code(paid), concert_date=other_date, by=staff, now=now)

    assert refused.value.reservation == paid
    assert concert_date.concert_date.isoformat() in refused.value.reason
    assert not CheckIn.objects.exists()


def test_a_refunded_ticket_is_refused(paid, concert_date, staff, now):
    services.refund_and_cancel(reservation=paid, by=staff, now=now)

    with pytest.raises(TicketNotValid) as refused:
        services.check_in_ticket(code=ticket_code(paid), concert_date=concert_date, by=staff, now=now)

    assert "refunded" in refused.value.reason
    assert not CheckIn.objects.exists()


def test_a_ticket_of_a_cancelled_date_is_refused_even_before_its_refund_ran(paid, concert_date, staff, now):
    services.mark_date_cancelled(concert_date=concert_date, by=staff, reason="storm", now=now)

    with pytest.raises(TicketNotValid):
        services.check_in_ticket(code=ticket_code(paid), concert_date=concert_date, by=staff, now=now)
    assert not CheckIn.objects.exists()


def test_a_hold_that_was_never_paid_is_refused(funded_fan, concert_date, staff, now):
    hold = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[9], now=now)[0]

    with pytest.raises(TicketNotValid):
        services.check_in_ticket(code=ticket_code(hold), concert_date=concert_date, by=staff, now=now)


@pytest.mark.parametrize("code", ["", "not a code", "abc:def", "IjEi:1t:forged-signature-forged-sig"])
def test_a_forged_or_garbled_code_is_refused(concert_date, staff, code):
    with pytest.raises(TicketCodeInvalid) as refused:
        services.check_in_ticket(code=code, concert_date=concert_date, by=staff)
    assert refused.value.status == 400


def test_an_altered_code_is_refused(paid, concert_date, staff):
    code = ticket_code(paid)
    with pytest.raises(TicketCodeInvalid):
        services.check_in_ticket(
            code=code[:-2] + ("AA" if not code.endswith("AA") else "BB"), concert_date=concert_date, by=staff
        )


@pytest.mark.django_db(transaction=True)
def test_two_doors_checking_one_ticket_in_at_once_let_it_in_once():
    """Two doors check the same code in at the same moment: one entry, one refusal naming it (the door page's
    own race, through HTTP, is in tests/booking/test_views_door.py)."""
    date = factories.ConcertDateFactory()
    _fan, result = paid_fan(concert_date=date, seats=[5])
    code = ticket_code(result.reservations[0])
    doors = [(factories.StaffFactory(name=f"Door {n}"), f"Gate {n}") for n in (1, 2)]

    def check_in(staff_member, door):
        return services.check_in_ticket(code=code, concert_date=date, by=staff_member, door=door)

    for _ in range(3):  # several rounds: each round is a fresh ticket state
        CheckIn.objects.all().delete()
        outcomes = run_at_once(check_in, doors)
        errors = [error for _entry, error in outcomes]
        assert sorted(type(error).__name__ for error in errors) == ["NoneType", "TicketAlreadyCheckedIn"]
        winner = CheckIn.objects.get(reservation=result.reservations[0])
        refusal = next(error for error in errors if error is not None)
        assert refusal.check_in == winner
        assert winner.door in refusal.reason and winner.checked_in_by.name in refusal.reason


@pytest.mark.django_db(transaction=True)
def test_a_check_in_racing_a_refund_either_enters_a_paid_ticket_or_refuses_a_refunded_one():
    date = factories.ConcertDateFactory()
    _fan, result = paid_fan(concert_date=date, seats=[6])
    reservation = result.reservations[0]
    staff = factories.StaffFactory()

    outcomes = run_at_once(
        lambda action: action(),
        [
            (lambda: services.check_in_ticket(code=ticket_code(reservation), concert_date=date, by=staff),),
            (lambda: services.refund_and_cancel(reservation=reservation, by=staff),),
        ],
    )

    (_check_in, check_in_error), (_refund, refund_error) = outcomes
    assert refund_error is None
    if check_in_error is None:
        # The entry was recorded first, under the seat lock; the refund then ran after it.
        assert CheckIn.objects.filter(reservation=reservation).count() == 1
    else:
        assert isinstance(check_in_error, TicketNotValid)
        assert not CheckIn.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_fans_cancellation_racing_a_door_scan_never_both_lets_the_ticket_in_and_refunds_it():
    """Both take the seat's lock: the scan first and the cancellation is refused (TicketUsed), or the
    cancellation first and the scan is refused (TicketNotValid); never an entry and a refund."""
    from booking.exceptions import TicketUsed
    from booking.models import Reservation
    from wallet.models import UsageHistory

    for seat in (7, 8, 9):  # several rounds: the order of the two is up to the race
        date = factories.ConcertDateFactory()
        fan, result = paid_fan(concert_date=date, seats=[seat])
        reservation = result.reservations[0]
        staff = factories.StaffFactory()

        outcomes = run_at_once(
            lambda action: action(),
            [
                (partial(services.check_in_ticket, code=ticket_code(reservation), concert_date=date, by=staff),),
                (partial(services.cancel, user=fan, reservation=reservation),),
            ],
        )

        (_entry, scan_error), (_cancelled, cancel_error) = outcomes
        reservation.refresh_from_db()
        entered = CheckIn.objects.filter(reservation=reservation).exists()
        refunded = UsageHistory.objects.filter(reservation=reservation, action_type="CANCELLATION").exists()
        assert entered != refunded, (scan_error, cancel_error)
        if entered:
            assert scan_error is None and isinstance(cancel_error, TicketUsed)
            assert reservation.status == Reservation.Status.CONFIRMED
        else:
            assert cancel_error is None and isinstance(scan_error, TicketNotValid)
            assert reservation.status == Reservation.Status.CANCELLED
