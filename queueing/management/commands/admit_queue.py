"""Run one admission batch now (what the Celery beat task does every few seconds)."""

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import audit
from concerts.models import Concert
from queueing import services
from queueing.exceptions import QueueUnavailable


class Command(BaseCommand):
    help = "Admit the next batch of waiting fans now: for one concert (--concert) or every open waiting room."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concert", help="The concert's id (UUID). Default: every open waiting room.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["concert"]:
                try:
                    concert = Concert.objects.get(pk=uuid.UUID(options["concert"]))
                except (ValueError, Concert.DoesNotExist) as exc:
                    raise CommandError(f"No concert with id {options['concert']!r}.") from exc
                with audit.acting_as_operator("admit_queue"):  # staff's "admit now", audited like the admin's
                    admitted = services.admit_now(concert=concert)
                self.stdout.write(f"Admitted {admitted} fan(s) to {concert}.")
            else:
                admitted = services.admit_all_due()
                self.stdout.write(f"Admitted {admitted} fan(s) across all open waiting rooms.")
        except QueueUnavailable as exc:
            raise CommandError(str(exc)) from exc
