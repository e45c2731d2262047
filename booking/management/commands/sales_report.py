"""`manage.py sales_report`: seats sold / held / free and revenue per concert date, as a table or CSV."""

import csv
import uuid
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from booking import selectors
from concerts.models import Concert

COLUMNS = ["date_id", "concert", "date", "status", "sold", "held", "free", "revenue_won"]


class Command(BaseCommand):
    help = (
        "Print sales per concert date: seats sold, held (live holds), free (expired holds count as free) and "
        "revenue in won (paid, not refunded). Use --format csv for a spreadsheet; the date ids are what "
        "cancel_date takes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concert", help="Only this concert: its id, or part of its title.")
        parser.add_argument("--format", choices=["table", "csv"], default="table", help="Output format (table).")

    def handle(self, *args: Any, **options: Any) -> None:
        concert = None
        if options["concert"]:
            text = options["concert"].strip()
            try:
                lookup = Q(pk=uuid.UUID(text))
            except ValueError:
                lookup = Q(title__icontains=text)
            matches = list(Concert.objects.filter(lookup)[:2])
            if len(matches) != 1:
                raise CommandError(
                    f"No concert matches {text!r}." if not matches else f"More than one concert matches {text!r}."
                )
            concert = matches[0]
        rows: list[list[str | int]] = [
            [
                str(date.pk),
                date.concert.title,
                f"{date.concert_date:%Y-%m-%d}",
                date.status,
                date.seats_reserved,
                date.seats_held,
                date.seats_available,
                date.revenue,
            ]
            for date in selectors.sales_by_date(concert=concert, now=timezone.now())
        ]
        if options["format"] == "csv":
            writer = csv.writer(self.stdout)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
            return
        total: list[str | int] = ["", "TOTAL", "", "", *(sum(int(row[i]) for row in rows) for i in range(4, 8))]
        table: list[Sequence[str | int]] = [COLUMNS, *rows, total]
        widths = [max(len(self._cell(row[i])) for row in table) for i in range(len(COLUMNS))]
        for index, row in enumerate(table):
            if index == len(table) - 1:
                self.stdout.write("  ".join("-" * w for w in widths))
            cells = [
                self._cell(value).rjust(width) if isinstance(value, int) else self._cell(value).ljust(width)
                for value, width in zip(row, widths, strict=True)
            ]
            self.stdout.write("  ".join(cells).rstrip())

    @staticmethod
    def _cell(value: object) -> str:
        return f"{value:,}" if isinstance(value, int) else str(value)
