"""`manage.py demo_two_factor_code`: the code an authenticator app with the demo staff's key (seed_demo's
STAFF_TOTP_SECRET, public like the demo password) shows now, for logging in to the demo's staff pages without a
phone. It knows that one public key only: it reads no device from the database, so it opens no real account."""

import base64
import time
from typing import Any

from django.core.management.base import BaseCommand
from django_otp.oath import TOTP

from .seed_demo import STAFF_EMAIL, STAFF_TOTP_SECRET

STEP_SECONDS = 30


class Command(BaseCommand):
    help = f"Print the current two-factor code of the demo staff account {STAFF_EMAIL} (seed_demo's public key)."

    def handle(self, *args: Any, **options: Any) -> None:
        totp = TOTP(base64.b32decode(STAFF_TOTP_SECRET), step=STEP_SECONDS)
        totp.time = time.time()
        left = STEP_SECONDS - int(totp.time) % STEP_SECONDS
        self.stdout.write(f"{totp.token():06d}")
        self.stderr.write(f"The code of {STAFF_EMAIL} for the next {left} s (a code works once).")
