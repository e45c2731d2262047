"""`manage.py reset_two_factor EMAIL`: an operator's answer to a staff member who lost their authenticator (and
their backup codes). Deletes the account's devices (accounts.two_factor.reset_two_factor): its sessions are no
longer verified, and its next visit to a staff page asks it to set up a new authenticator after the password."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import audit, two_factor
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Reset a staff member's two-factor log-in (a lost phone): delete their authenticator and backup codes. "
        "At their next log-in they set up a new authenticator. Check who is asking before you run it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the staff member's e-mail address")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No account has the e-mail address {email!r}.")
        with audit.acting_as_operator("reset_two_factor"):  # the audit log credits the operator
            deleted = two_factor.reset_two_factor(user=user)
        if not deleted:
            self.stdout.write(f"{user.email} had no two-factor device: nothing to reset.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Reset two-factor log-in of {user.email}: {deleted} device(s) deleted. At their next log-in they "
                "set up a new authenticator app."
            )
        )
        if not two_factor.needs_second_factor(user):
            self.stdout.write(f"Note: {user.email} is not staff, so the staff pages' second factor does not apply.")
