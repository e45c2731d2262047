from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests import factories
from wallet import selectors, services
from wallet.exceptions import ChargeRefused, InsufficientBalance
from wallet.models import ChargeHistory, UsageHistory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fan():
    return factories.UserFactory()


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (10_000, 10_000),
        ("10000", 10_000),
        (" 25,000 ", 25_000),
        ("+3000", 3_000),
        ("5000.00", 5_000),
        (Decimal("7000"), 7_000),
        (Decimal("7000.000"), 7_000),
        (8000.0, 8_000),
        (1_000, 1_000),
        (1_000_000, 1_000_000),
    ],
)
def test_charge_accepts_whole_won_in_range(fan, amount, expected):
    row = services.charge(user=fan, amount=amount)
    assert (row.amount, row.status, row.reason, row.balance_after) == (expected, "SUCCESS", "", expected)
    assert selectors.balance(user=fan) == expected


@pytest.mark.parametrize(
    ("amount", "recorded"),
    [
        (999, 999),
        (0, 0),
        (-5_000, -5_000),
        (1_000_001, 1_000_001),
        ("999", 999),
        (2**63 - 1, 2**63 - 1),
        (2**63, None),
        (-(2**63) - 1, None),
        (10**400, None),
        ("9" * 300, None),
        ("1000.5", None),
        (Decimal("1000.5"), None),
        (1000.5, None),
        (float("nan"), None),
        (float("inf"), None),
        (Decimal("Infinity"), None),
        ("1e4", None),
        ("ten thousand", None),
        ("", None),
        ("10.000,00", None),
        (None, None),
        (True, None),
        ([10_000], None),
    ],
)
def test_charge_refusals_are_recorded_and_change_nothing(fan, amount, recorded):
    services.charge(user=fan, amount=5_000)

    with pytest.raises(ChargeRefused) as exc:
        services.charge(user=fan, amount=amount)

    failed = exc.value.charge
    assert failed.pk and ChargeHistory.objects.filter(pk=failed.pk, status="FAILED").exists()
    assert (failed.amount, failed.reason) == (recorded, exc.value.reason)
    assert str(exc.value.message) and len(exc.value.reason) <= 200
    assert selectors.balance(user=fan) == 5_000


def test_charge_messages_name_the_limits(fan, settings):
    settings.MIN_CHARGE, settings.MAX_CHARGE = 1_000, 1_000_000
    with pytest.raises(ChargeRefused) as low:
        services.charge(user=fan, amount=500)
    with pytest.raises(ChargeRefused) as high:
        services.charge(user=fan, amount=2_000_000)
    assert "1,000" in low.value.reason and "1,000,000" in high.value.reason


def test_balance_is_capped(fan, settings):
    settings.MAX_BALANCE = 1_500_000
    services.charge(user=fan, amount=1_000_000)
    with pytest.raises(ChargeRefused) as exc:
        services.charge(user=fan, amount=600_000)
    assert "500,000" in exc.value.reason
    assert exc.value.charge.amount == 600_000
    assert selectors.balance(user=fan) == 1_000_000
    services.charge(user=fan, amount=500_000)  # exactly up to the cap
    assert selectors.balance(user=fan) == 1_500_000


def test_debit_is_all_or_nothing(fan):
    services.charge(user=fan, amount=10_000)
    reservation = factories.ReservationFactory(user=fan)
    with pytest.raises(InsufficientBalance) as exc:
        services.debit(user=fan, items=[(reservation, 6_000), (reservation, 6_000)])
    assert (exc.value.needed, exc.value.available) == (12_000, 10_000)
    assert not UsageHistory.objects.exists() and selectors.balance(user=fan) == 10_000

    result = services.debit(user=fan, items=[(reservation, 6_000)])
    assert (result.total, result.balance_after) == (6_000, 4_000)
    assert selectors.balance(user=fan) == 4_000


def test_a_debit_under_the_callers_lock_reads_the_locked_row_and_locks_nothing_again(fan, django_assert_num_queries):
    from django.db import transaction

    from accounts.locking import lock_user

    services.charge(user=fan, amount=10_000)
    reservation = factories.ReservationFactory(user=fan)
    with transaction.atomic():
        locked = lock_user(fan.pk)
        with pytest.raises(InsufficientBalance), django_assert_num_queries(0):
            services.debit(user=fan, items=[(reservation, 12_000)], locked=locked)
        with django_assert_num_queries(2):  # the balance and the ledger row; no lock, no savepoint
            result = services.debit(user=fan, items=[(reservation, 6_000)], locked=locked)
    assert (result.total, result.balance_after) == (6_000, 4_000)
    assert selectors.balance(user=fan) == 4_000 and UsageHistory.objects.get().amount == 6_000


def test_a_debit_refuses_another_fans_locked_row(fan):
    from django.db import transaction

    from accounts.locking import lock_user

    other = factories.UserFactory()
    reservation = factories.ReservationFactory(user=fan)
    with transaction.atomic():
        locked_other = lock_user(other.pk)
    with transaction.atomic(), pytest.raises(ValueError):
        services.debit(user=fan, items=[(reservation, 1)], locked=locked_other)


@pytest.mark.parametrize("items", [[], [(None, 0)], [(None, -1)], [(None, "5")], [(None, True)]])
def test_debit_refuses_nonsense(fan, items):
    with pytest.raises(ValueError):
        services.debit(user=fan, items=items)


def test_wallet_history_is_newest_first_with_signed_deltas(fan):
    import datetime

    from django.utils import timezone

    t0 = timezone.now()
    services.charge(user=fan, amount=50_000, now=t0)
    with pytest.raises(ChargeRefused):
        services.charge(user=fan, amount=5, now=t0 + datetime.timedelta(seconds=1))
    reservation = factories.ReservationFactory(user=fan)
    services.debit(user=fan, items=[(reservation, 20_000)], now=t0 + datetime.timedelta(seconds=2))
    services.refund(user=fan, amount=20_000, reservation=reservation, now=t0 + datetime.timedelta(seconds=3))

    history = selectors.wallet_history(user=fan)

    assert [(e.kind, e.status, e.delta) for e in history] == [
        ("CANCELLATION", "SUCCESS", 20_000),
        ("RESERVATION", "SUCCESS", -20_000),
        ("CHARGE", "FAILED", 0),
        ("CHARGE", "SUCCESS", 50_000),
    ]
    assert history[1].reservation_id == reservation.pk
    assert [e.kind for e in selectors.wallet_history(user=fan, limit=2)] == ["CANCELLATION", "RESERVATION"]
    assert sum(e.delta for e in history) == selectors.balance(user=fan) == 50_000


def test_reconcile_wallets_passes_and_reports_mismatches(fan, capsys):
    services.charge(user=fan, amount=30_000)
    reservation = factories.ReservationFactory(user=fan)
    services.debit(user=fan, items=[(reservation, 10_000)])
    services.refund(user=fan, amount=4_000, reservation=reservation)
    services.keep_cancellation_fee(user=fan, amount=6_000, reservation=reservation)  # refund + fee == payment
    factories.UserFactory()  # an empty wallet reconciles too
    call_command("reconcile_wallets")
    assert "reconciles" in capsys.readouterr().out

    broken = factories.UserFactory(email="broken@example.com", balance=7)
    with pytest.raises(CommandError) as exc:
        call_command("reconcile_wallets")
    out = capsys.readouterr().out
    assert "broken@example.com" in out and "balance 7 won, ledger says 0 won" in out
    assert fan.email not in out
    assert "1 wallet(s)" in str(exc.value)
    assert [m.user_id for m in selectors.unreconciled_wallets()] == [broken.pk]


def test_reconcile_wallets_reports_a_refund_that_with_its_fee_is_not_the_payment(fan, capsys):
    services.charge(user=fan, amount=30_000)
    short, whole = factories.ReservationFactory(user=fan), factories.ReservationFactory(user=fan)
    services.debit(user=fan, items=[(short, 10_000), (whole, 10_000)])
    services.refund(user=fan, amount=7_000, reservation=short)
    services.keep_cancellation_fee(user=fan, amount=2_000, reservation=short)  # 1,000 won unaccounted for
    services.keep_cancellation_fee(user=fan, amount=10_000, reservation=whole)  # a 100 % fee: no refund row
    assert selectors.unreconciled_wallets() == []  # the balance itself adds up: 30,000 − 20,000 + 7,000

    with pytest.raises(CommandError) as exc:
        call_command("reconcile_wallets")

    out = capsys.readouterr().out
    assert f"reservation {short.pk}" in out and "paid 10,000 won, refunded 7,000 + fee 2,000 won (off by -1,000)" in out
    assert str(whole.pk) not in out
    assert "0 wallet(s) and 1 cancellation(s)" in str(exc.value)
    assert [(m.reservation_id, m.paid, m.refunded, m.fee) for m in selectors.unbalanced_cancellations()] == [
        (short.pk, 10_000, 7_000, 2_000)
    ]


def test_a_cancellation_fee_is_in_the_history_without_moving_the_balance(fan):
    import datetime

    from django.utils import timezone

    services.charge(user=fan, amount=30_000)
    reservation = factories.ReservationFactory(user=fan)
    t0 = timezone.now()
    services.debit(user=fan, items=[(reservation, 10_000)], now=t0)
    services.refund(user=fan, amount=9_000, reservation=reservation, now=t0 + datetime.timedelta(seconds=1))
    services.keep_cancellation_fee(
        user=fan, amount=1_000, reservation=reservation, now=t0 + datetime.timedelta(seconds=1)
    )

    history = selectors.wallet_history(user=fan)

    assert {(e.kind, e.amount, e.delta) for e in history[:2]} == {
        ("CANCELLATION", 9_000, 9_000),
        ("CANCELLATION_FEE", 1_000, 0),
    }
    assert sum(e.delta for e in history) == selectors.balance(user=fan) == 29_000
    with pytest.raises(ValueError):
        services.keep_cancellation_fee(user=fan, amount=0, reservation=reservation)
