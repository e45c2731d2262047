"""Staff two-factor in tests: a confirmed authenticator for a staff member, the code it shows, and a test client's
session marked as having passed the second factor (what the verify page does), so staff clients reach the staff
pages. tests/conftest.py applies verify_client_session to every staff client's force_login / login."""

import base64

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

# A fixed key for test staff (any 20 bytes): tests that type a code compute it with code_for.
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def confirmed_device(user) -> TOTPDevice:
    """The user's confirmed authenticator, made with TEST_TOTP_SECRET if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        key = base64.b32decode(TEST_TOTP_SECRET).hex()
        device = TOTPDevice.objects.create(user=user, name="authenticator", key=key, confirmed=True)
    return device


def code_for(device: TOTPDevice, *, later: int = 0) -> str:
    """A code `device` accepts now: the current step's, or the next one's if that was used (a device refuses a
    step at or before the last one it accepted; it allows one step of drift either way). `later` steps further."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    step = max(totp.t(), device.last_t + 1) + later
    totp.time = step * device.step + device.t0
    return f"{totp.token():0{device.digits}d}"


def verify_client_session(client: Client, user) -> None:
    """Mark the client's logged-in session as verified by the user's authenticator (made if missing)."""
    device = confirmed_device(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def pass_second_factor(page, email: str) -> None:
    """In a browser just after a staff member's password log-in: on the verify page, type the code of their
    authenticator (made if missing) and go on."""
    from accounts.models import User

    page.wait_for_url("**/accounts/two-factor/**")
    page.fill("input[name=code]", code_for(confirmed_device(User.objects.get(email=email))))
    page.click("[data-testid=two-factor-submit]")
