"""Staff two-factor: who must pass it, enrolling an authenticator app (TOTP, django-otp's TOTPDevice) with its
single-use backup codes (StaticDevice), checking a code, and an operator's reset of a lost device.

One module for one workflow (its reads and writes together, as pretix keeps services/cancelevent.py): the verify
and enrolment pages (accounts.views), the staff-paths middleware (accounts.middleware) and the reset_two_factor
command call it. django-otp keeps the devices and the session's verification (its DEVICE_ID_SESSION_KEY); the
rules about staff are here.

Codes are checked with the device rows locked (select_for_update, in one transaction): two requests with the
same code, or the same backup code, at once, pass once. A wrong code raises the device's throttle (django-otp:
after n wrong codes in a row it refuses for 2^(n-1) seconds, right codes included) and is committed, so a
guesser pays for every try; the views also count it as a failed log-in for django-axes and rate limit the POST.
"""

import base64
import dataclasses
import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.safestring import SafeString
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.qr import qr_inline_svg

from . import audit
from .locking import lock_user
from .models import User

TOTP_DEVICE_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup codes"
_TOTP_CODE = re.compile(r"\d{6}")
_SEPARATORS = re.compile(r"[\s-]+")


# --- reads ------------------------------------------------------------------------------------------------


def needs_second_factor(user: User | AnonymousUser) -> bool:
    """Staff and superusers must pass a second factor to reach the staff pages; fans never."""
    return isinstance(user, User) and (user.is_staff or user.is_superuser)


def has_confirmed_device(user: User) -> bool:
    """Whether the staff member has finished enrolling (a confirmed authenticator). One query."""
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def session_device(request: HttpRequest) -> Device | None:
    """The confirmed device of request.user that verified this session, or None (no lookup without one)."""
    persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id or not request.user.is_authenticated:
        return None
    device = Device.from_persistent_id(persistent_id)
    if device is None or device.user_id != request.user.pk or not device.confirmed:
        return None
    return device


def session_verified(request: HttpRequest) -> bool:
    """Whether this request's session passed the second factor: django-otp's request.user.is_verified() where the
    staff-paths middleware installed it (its device lookup done once per request), else session_device."""
    is_verified = getattr(request.user, "is_verified", None)
    if callable(is_verified):
        return bool(is_verified())
    return hasattr(request, "session") and session_device(request) is not None


def verify_url(next_url: str = "") -> str:
    """The verify page's address, carrying where to go afterwards."""
    url = reverse("accounts:two_factor_verify")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def is_backup_device(device: Device) -> bool:
    """Whether `device` is the backup codes (a code of it is used up) rather than the authenticator."""
    return isinstance(device, StaticDevice)


def backup_codes_left(user: User) -> int:
    return int(StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


@dataclasses.dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the authenticator's key as a QR code and as text to type."""

    device: TOTPDevice
    qr_svg: SafeString
    secret: str  # base32, in groups of four, as authenticator apps accept it typed

    @property
    def config_url(self) -> str:
        return str(self.device.config_url)


def enrolment(device: TOTPDevice) -> Enrolment:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return Enrolment(
        device=device,
        qr_svg=qr_inline_svg(device.config_url),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    )


# --- writes -----------------------------------------------------------------------------------------------


def start_enrolment(*, user: User) -> TOTPDevice:
    """The staff member's unconfirmed authenticator, made with a new random key if there is none: a reload of
    the enrolment page shows the same key, so an app that scanned it keeps working. Idempotent."""
    with transaction.atomic():
        lock_user(user.pk)
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
        return device


@dataclasses.dataclass(frozen=True)
class Confirmed:
    device: TOTPDevice
    backup_codes: list[str]  # shown once: only they are kept, as the tokens of the StaticDevice


def confirm_enrolment(*, user: User, code: str) -> Confirmed | None:
    """Confirm the unconfirmed authenticator with a code it shows: it becomes the staff member's device, any
    other (unconfirmed) one is deleted, and STAFF_BACKUP_CODES new backup codes replace any earlier ones.

    One transaction under the user's row lock. Returns None, changing nothing but the device's throttle, for a
    wrong code, for no enrolment started, or when a device is confirmed already (a second tab, a replay).
    """
    with transaction.atomic():
        lock_user(user.pk)
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            return None
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        if device is None or not _looks_like_totp(code) or not device.verify_token(_normalized(code)):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        StaticDevice.objects.filter(user=user).delete()
        backup = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
        codes = _unique_codes(settings.STAFF_BACKUP_CODES)
        StaticToken.objects.bulk_create(StaticToken(device=backup, token=token) for token in codes)
        audit.record("two_factor.enrol", user, actor=user, changes={"two_factor": (False, True)})
        return Confirmed(device=device, backup_codes=codes)


def verify_second_factor(*, user: User, code: str) -> Device | None:
    """The confirmed device that accepts `code` (six digits: the authenticator; anything else: a backup code,
    which is used up), or None. The devices are locked while checked, so a code passes once even when sent
    twice at once; a wrong code raises the device's throttle, committed."""
    token = _normalized(code)
    model: type[Device] = TOTPDevice if _looks_like_totp(token) else StaticDevice
    if not token:
        return None
    with transaction.atomic():
        devices = model.objects.devices_for_user(user, confirmed=True).select_for_update().order_by("pk")
        for device in devices:
            if device.verify_token(token):
                return device
    return None


def mark_session_verified(request: HttpRequest, device: Device) -> None:
    """This session passed its second factor with `device` (django-otp keeps its id in the session); the
    session key is changed, as at a log-in, so a key seen before the second factor is worth nothing after it."""
    request.session.cycle_key()
    otp_login(request, device)


def reset_two_factor(*, user: User) -> int:
    """Delete every device of the user (authenticator and backup codes): their sessions are no longer verified,
    and their next visit to a staff page enrols a new authenticator. Returns the devices deleted (recorded in the
    audit log, crediting the surrounding audit.acting... context). Idempotent."""
    with transaction.atomic():
        lock_user(user.pk)
        deleted = 0
        for model in (TOTPDevice, StaticDevice):
            deleted += model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
        if deleted:
            audit.record("two_factor.reset", user, changes={"two_factor_devices": (deleted, 0)})
        return deleted


def _normalized(code: str) -> str:
    return _SEPARATORS.sub("", code or "").lower()[:32]


def _looks_like_totp(code: str) -> bool:
    return bool(_TOTP_CODE.fullmatch(_normalized(code)))


def _unique_codes(count: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < count:
        token = StaticToken.random_token()
        if token not in codes:
            codes.append(token)
    return codes
