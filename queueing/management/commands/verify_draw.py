"""`manage.py verify_draw CONCERT [--presale ID]`: recompute a concert's pre-queue draw (its room's current one, or a
fan-club presale's kept once the room moved on) from its seed and receipts and check it
against the waiting-room history (queueing.selectors.verify_draw). Exit 0: it checks; 1: it does not (each
problem printed); 2: no such concert, or no draw yet."""

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from concerts.models import Concert
from queueing import selectors


def concert_named(text: str) -> Concert:
    """The concert whose id (UUID) or exact title is `text`; CommandError (exit 2) if none or several."""
    text = text.strip()
    try:
        matches = list(Concert.objects.filter(pk=uuid.UUID(text)))
    except ValueError:
        matches = list(Concert.objects.filter(title=text)[:2])
    if not matches:
        raise CommandError(f"No concert has the id or title {text!r}.", returncode=2)
    if len(matches) > 1:
        raise CommandError(f"More than one concert is titled {text!r}; give its id.", returncode=2)
    return matches[0]


class Command(BaseCommand):
    help = (
        "Check a concert's pre-queue draw: the seed matches the commitment published before it, and every "
        "receipt's place in the history is the one the seed gives (exit 1 on any difference)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("concert", help="The concert's id (UUID) or its exact title.")
        parser.add_argument(
            "--presale",
            type=uuid.UUID,
            default=None,
            help="A fan-club presale's id: check that presale's draw (kept when the room moved on to the next sale).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        concert = concert_named(options["concert"])
        presale_id = options["presale"]
        record = selectors.draw_record(concert)
        if presale_id is not None and record.presale_id != presale_id:
            kept = selectors.kept_draw_record(concert, presale_id)
            if kept is None:
                raise CommandError(f"{concert.title} has no draw of the presale {presale_id}.", returncode=2)
            record = kept
        if not record.is_drawn:
            raise CommandError(
                f"{concert.title}: no draw yet (the sale opens {record.draw_at.isoformat()}).", returncode=2
            )
        assert record.seed is not None and record.drawn_at is not None  # a drawn record has both
        self.stdout.write(f"Concert:    {concert.title} ({concert.pk})")
        if record.presale_name:
            self.stdout.write(f"Presale:    {record.presale_name} ({record.presale_id})")
        self.stdout.write(f"Commitment: {record.commitment}")
        self.stdout.write(f"Seed:       {record.seed}")
        self.stdout.write(f"Drawn at:   {record.drawn_at.isoformat()}, {record.draw_size} entries")
        problems = selectors.verify_draw(concert, presale_id=record.presale_id)
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"The draw does not check: {len(problems)} problem(s) above.", returncode=1)
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: SHA-256(seed) is the commitment, and the {record.draw_size} drawn places are the ones "
                "HMAC-SHA256(seed, receipt) gives."
            )
        )
