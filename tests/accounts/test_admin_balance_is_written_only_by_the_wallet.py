"""Issue 11 item 2: only wallet.services writes a user's balance. A staff member saving the user form,
setting a password in the admin or with `manage.py changepassword`, or any plain user.save(), leaves the
balance as the wallet made it, even when the fan pays or tops up in the middle of that request."""

import uuid

import pytest
from django.contrib.auth.management.commands import changepassword
from django.core.management import call_command
from django.forms.models import BaseModelForm
from django.urls import reverse

from accounts.models import User
from booking import services as booking_services
from tests.factories import ConcertDateFactory, StaffFactory, UserFactory
from tests.support.browser import form_data
from tests.support.concurrency import meanwhile
from wallet import services as wallet_services
from wallet.selectors import unreconciled_wallets

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def paying_fan():
    """A fan with 300,000 won who holds two seats at 99,000 won: pay() takes 198,000 won."""
    fan = UserFactory(name="Old Name")
    wallet_services.charge(user=fan, amount=300_000)
    date = ConcertDateFactory()
    booking_services.hold_seats(user=fan, concert_date=date, seat_numbers=[1, 2])

    def pay():
        return booking_services.pay(user=fan, concert_date=date, idempotency_key=uuid.uuid4().hex)

    fan.pay = pay
    return fan


def _balance(user):
    return User.objects.values_list("balance", flat=True).get(pk=user.pk)


def test_staff_renaming_a_fan_while_they_pay_keeps_the_payment(staff_client, paying_fan):
    url = reverse("admin:accounts_user_change", args=[paying_fan.pk])
    data = form_data(staff_client.get(url), "user_form")
    data["name"] = "New Name"

    with meanwhile(
        BaseModelForm, "full_clean", paying_fan.pay, when=lambda f, *a, **k: f.instance.pk == paying_fan.pk, before=True
    ) as ran:
        response = staff_client.post(url, data)

    assert ran and ran[0].total == 198_000
    assert response.status_code == 302
    assert User.objects.get(pk=paying_fan.pk).name == "New Name"
    assert _balance(paying_fan) == 102_000
    assert unreconciled_wallets() == []


def test_staff_setting_a_password_while_the_fan_pays_keeps_the_payment(staff_client, paying_fan):
    url = reverse("admin:auth_user_password_change", args=[paying_fan.pk])
    password = "a-new-long-passphrase-77"
    with meanwhile(User, "set_password", paying_fan.pay) as ran:
        response = staff_client.post(url, {"usable_password": "true", "password1": password, "password2": password})

    assert ran
    assert response.status_code == 302
    assert User.objects.get(pk=paying_fan.pk).check_password(password)
    assert _balance(paying_fan) == 102_000
    assert unreconciled_wallets() == []


def test_changepassword_command_while_the_fan_tops_up_keeps_the_top_up(monkeypatch, paying_fan):
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": "a-new-long-passphrase-77")
    with meanwhile(User, "set_password", lambda: wallet_services.charge(user=paying_fan, amount=50_000)) as ran:
        call_command("changepassword", paying_fan.email)

    assert ran
    assert _balance(paying_fan) == 350_000
    assert unreconciled_wallets() == []


def test_a_plain_save_never_writes_the_balance(paying_fan):
    stale = User.objects.get(pk=paying_fan.pk)
    paying_fan.pay()
    stale.name = "Renamed"
    stale.save()
    assert _balance(paying_fan) == 102_000

    stale.balance = 10_000_000
    stale.save()
    assert _balance(paying_fan) == 102_000
    assert User.objects.get(pk=paying_fan.pk).name == "Renamed"
    assert unreconciled_wallets() == []


def test_a_new_user_is_created_with_the_balance_given(db):
    user = User.objects.create_user("new@example.com", "a-long-passphrase-42", name="New")
    assert _balance(user) == 0
