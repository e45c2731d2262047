"""Print the waiting and admitted fans of every open waiting room."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from queueing import selectors


class Command(BaseCommand):
    help = "Show waiting and admitted fans per concert (open waiting rooms; --all for past concerts too)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Include concerts that are over.")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = selectors.rooms_overview(include_past=options["all"])
        if not rows:
            self.stdout.write("No waiting rooms.")
            return
        self.stdout.write(f"{'concert':<40} {'waiting':>9} {'admitted':>9} {'max':>6}  state   last admission run")
        for row in rows:
            room = row.room
            waiting = "?" if row.waiting is None else str(row.waiting)
            admitted = "?" if row.admitted is None else str(row.admitted)
            state = "paused" if room.is_paused else "open"
            last = room.last_admission_at.isoformat(timespec="seconds") if room.last_admission_at else "never"
            title = str(room.concert)[:40]
            self.stdout.write(f"{title:<40} {waiting:>9} {admitted:>9} {room.max_active:>6}  {state:<7} {last}")
        if any(not row.available for row in rows):
            self.stderr.write("The queue backend could not be reached: counts shown as '?'.")
