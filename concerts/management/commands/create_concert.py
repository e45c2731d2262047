"""`manage.py create_concert`: a concert with its dates, price tiers and sale time, from the command line."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import dateparse, timezone

from accounts import audit
from concerts.pricing import parse_price_tiers
from concerts.services import create_concert


def _show(text: str, default_time: datetime.time) -> datetime.datetime:
    """'YYYY-MM-DD' (at default_time) or 'YYYY-MM-DD HH:MM' as a local, timezone-aware start."""
    day_text, _, time_text = text.strip().replace("T", " ").partition(" ")
    try:
        day = dateparse.parse_date(day_text)
        at = dateparse.parse_time(time_text.strip()) if time_text.strip() else default_time
    except ValueError:
        day = at = None
    if day is None or at is None:
        raise CommandError(f"Cannot read the date {text!r}; write it as YYYY-MM-DD or 'YYYY-MM-DD HH:MM'.")
    return datetime.datetime.combine(day, at, tzinfo=timezone.get_current_timezone())


class Command(BaseCommand):
    help = (
        "Create a concert with its dates; each date has its own start and gets its seats priced by the tiers. "
        "Idempotent: a concert with the same title that is not over is reused and only days it does not have "
        'are added. Example: create_concert --title "Aurora" --date 2030-05-01 --date "2030-05-02 14:00" '
        '--start 19:00 --sale-opens "2030-04-01 20:00" --tier "VIP 1-10 165000" --tier "R 11-30 132000" '
        '--tier "S 31-50 99000"'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--title", required=True, help="Concert title.")
        parser.add_argument(
            "--date",
            action="append",
            required=True,
            dest="dates",
            help="A show, 'YYYY-MM-DD' (starting at --start) or 'YYYY-MM-DD HH:MM' (its own local start); repeat "
            "it or separate shows with commas. At most one show a day.",
        )
        parser.add_argument(
            "--start", default="19:00", help="Local start time of the shows given without one, HH:MM (default 19:00)."
        )
        parser.add_argument(
            "--sale-opens",
            help="When the sale opens, local 'YYYY-MM-DD HH:MM' (default: now, i.e. on sale at once).",
        )
        parser.add_argument(
            "--tier",
            action="append",
            default=[],
            dest="tiers",
            help="A price tier 'NAME FIRST-LAST PRICE' (e.g. 'VIP 1-10 165000'); repeat it. Default: one price "
            "(DEFAULT_SEAT_PRICE) for every seat.",
        )
        parser.add_argument("--venue", default="", help="Venue name.")
        parser.add_argument("--description", default="", help="Description shown on the concert page.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start = dateparse.parse_time(options["start"])
        except ValueError:
            start = None
        if start is None:
            raise CommandError(f"Cannot read the start time {options['start']!r}; write it as HH:MM.")
        starts = [_show(part, start) for text in options["dates"] for part in text.split(",") if part.strip()]
        sale_opens = timezone.now()
        if options["sale_opens"]:
            try:
                parsed = dateparse.parse_datetime(options["sale_opens"].strip())
            except ValueError:
                parsed = None
            if parsed is None:
                raise CommandError(f"Cannot read --sale-opens {options['sale_opens']!r}; write 'YYYY-MM-DD HH:MM'.")
            sale_opens = timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
        try:
            tiers = parse_price_tiers("\n".join(options["tiers"]))
            with audit.acting_as_operator("create_concert"), transaction.atomic():
                concert, created = create_concert(
                    title=options["title"],
                    starts=starts,
                    sale_opens_at=sale_opens,
                    tiers=tiers or None,
                    venue=options["venue"],
                    description=options["description"],
                )
                if created:  # the operator's change, audited with it
                    audit.record(
                        "concert.create",
                        concert,
                        changes={"dates": (None, [date.starts_at for date in created])},
                    )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        for date in created:
            self.stdout.write(f"Created {date} ({date.seats.count()} seats) id={date.pk}")
        if not created:
            self.stdout.write(f"Nothing to do: {concert} already has these dates.")
        opens = timezone.localtime(concert.sale_opens_at)
        self.stdout.write(
            self.style.SUCCESS(f"Concert {concert.title} id={concert.pk}, sale opens {opens:%Y-%m-%d %H:%M}")
        )
