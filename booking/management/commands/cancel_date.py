"""`manage.py cancel_date`: cancel a concert date and refund every paid reservation, with a progress bar."""

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import audit
from booking import selectors, services
from concerts.models import ConcertDate


class Command(BaseCommand):
    help = (
        "Cancel a concert date: no more sales, every hold released and every paid reservation refunded in full to "
        "the fan's wallet. Runs the refunds here with a progress bar (the admin runs the same work as an RQ job). "
        "Safe to run again after an interruption: each reservation is refunded exactly once. --dry-run only "
        "shows what would happen. Find date ids with `manage.py sales_report`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("date_id", help="The ConcertDate id (see sales_report).")
        parser.add_argument("--reason", default="", help="Kept in every record (staff's words; none by default).")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be refunded; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            date = ConcertDate.objects.select_related("concert").get(pk=uuid.UUID(options["date_id"]))
        except (ValueError, ConcertDate.DoesNotExist) as exc:
            raise CommandError(f"No concert date with id {options['date_id']!r} (see sales_report).") from exc
        live = selectors.live_reservations_summary([date])[date.pk]
        state = "already cancelled" if date.is_cancelled else "on sale"
        self.stdout.write(
            f"{date} ({state}): {live['held']} hold(s) to release, {live['paid']} paid reservation(s) to refund, "
            f"{live['paid_amount']:,} won in all."
        )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing changed.")
            return
        with audit.acting_as_operator("cancel_date"):  # the audit log credits the operator
            cancellation = services.cancel_concert_date(concert_date=date, reason=options["reason"], enqueue=False)
        verbosity = options["verbosity"]

        def progress(done: int, total: int) -> None:
            if verbosity:
                width = 30
                filled = width * done // total if total else width
                self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
                self.stdout.flush()

        try:
            ended = services.end_reservations_of_cancelled_date(cancellation=cancellation, progress=progress)
        except Exception as exc:
            raise CommandError(f"Stopped: {exc}. Run the command again to finish the refunds.") from exc
        done, total, remaining = selectors.cancellation_progress(cancellation)
        if verbosity:
            self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"{date} is cancelled: {ended} reservation(s) ended now, {done}/{total} in all.")
        )
        if remaining:
            raise CommandError(f"{remaining} reservation(s) are still live; run the command again.")
