"""accounts.two_factor's rules: a code passes once even when sent twice at once (real threads on PostgreSQL),
confirming an enrolment makes fresh backup codes, and the operator's reset (the service and the command); the
demo staff's authenticator from seed_demo and its code command."""

import io

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.models import AuditEntry, User
from tests import factories
from tests.support.concurrency import run_at_once
from tests.support.two_factor import code_for, confirmed_device


@pytest.mark.django_db(transaction=True)
def test_one_backup_code_sent_four_times_at_once_passes_once():
    staff = factories.StaffFactory()
    confirmed_device(staff)
    backup = StaticDevice.objects.create(user=staff, name="backup codes", confirmed=True)
    StaticToken.objects.create(device=backup, token="abcd2345")
    outcomes = run_at_once(lambda: two_factor.verify_second_factor(user=staff, code="abcd2345"), [()] * 4)
    assert [error for _result, error in outcomes] == [None] * 4
    assert sum(result is not None for result, _error in outcomes) == 1
    assert not StaticToken.objects.filter(device=backup).exists()


@pytest.mark.django_db(transaction=True)
def test_one_authenticator_code_sent_four_times_at_once_passes_once():
    staff = factories.StaffFactory()
    code = code_for(confirmed_device(staff))
    outcomes = run_at_once(lambda: two_factor.verify_second_factor(user=staff, code=code), [()] * 4)
    assert [error for _result, error in outcomes] == [None] * 4
    assert sum(result is not None for result, _error in outcomes) == 1


@pytest.mark.django_db
def test_confirming_an_enrolment_replaces_old_backup_codes_and_stray_devices(settings):
    staff = factories.StaffFactory(authenticator=False)
    old = StaticDevice.objects.create(user=staff, name="backup codes", confirmed=True)
    StaticToken.objects.create(device=old, token="oldcode2")
    device = two_factor.start_enrolment(user=staff)
    assert two_factor.start_enrolment(user=staff) == device  # idempotent: the same key on a reload
    assert two_factor.confirm_enrolment(user=staff, code="abcdef") is None  # not six digits
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    confirmed = two_factor.confirm_enrolment(user=staff, code=code_for(device))
    assert confirmed is not None and confirmed.device.confirmed
    assert not StaticToken.objects.filter(token="oldcode2").exists()
    assert len(confirmed.backup_codes) == settings.STAFF_BACKUP_CODES
    assert two_factor.backup_codes_left(staff) == settings.STAFF_BACKUP_CODES
    assert AuditEntry.objects.get(action="two_factor.enrol").actor == staff  # recorded, without the key or codes
    # Confirmed once: a second confirmation (a second tab) changes nothing.
    assert two_factor.confirm_enrolment(user=staff, code=code_for(device)) is None
    assert two_factor.backup_codes_left(staff) == settings.STAFF_BACKUP_CODES


@pytest.mark.django_db
def test_the_reset_command_deletes_the_devices_and_the_staff_member_enrols_again():
    staff = factories.StaffFactory(email="lost.phone@example.com")
    confirmed_device(staff)
    StaticDevice.objects.create(user=staff, name="backup codes", confirmed=True)
    other = factories.StaffFactory()
    confirmed_device(other)

    out = io.StringIO()
    call_command("reset_two_factor", "Lost.Phone@example.com", stdout=out)
    assert "2 device(s) deleted" in out.getvalue()
    (entry,) = AuditEntry.objects.filter(action="two_factor.reset")  # the audit log credits the operator
    assert entry.object_id == str(staff.pk) and entry.actor_label.startswith("operator:")
    assert not two_factor.has_confirmed_device(staff)
    assert not StaticDevice.objects.filter(user=staff).exists()
    assert two_factor.has_confirmed_device(other)  # nobody else's

    again = io.StringIO()
    call_command("reset_two_factor", staff.email, stdout=again)
    assert "nothing to reset" in again.getvalue()
    with pytest.raises(CommandError, match="No account"):
        call_command("reset_two_factor", "nobody@example.com", stdout=io.StringIO())


@pytest.mark.django_db
def test_seed_demo_gives_the_demo_staff_an_authenticator_whose_code_the_demo_command_prints():
    from booking.management.commands.seed_demo import STAFF_EMAIL

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "FRONTROWDEMOSTAFFTOTPSECRETKEY23" in out.getvalue()
    staff = User.objects.get(email=STAFF_EMAIL)
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed
    code = io.StringIO()
    call_command("demo_two_factor_code", stdout=code, stderr=io.StringIO())
    assert two_factor.verify_second_factor(user=staff, code=code.getvalue().strip()) == device
    # A rerun keeps the device.
    call_command("seed_demo", stdout=io.StringIO())
    assert list(TOTPDevice.objects.filter(user=staff)) == [device]
