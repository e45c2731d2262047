"""Check every wallet against its ledger; print the ones that do not add up and exit non-zero if any."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wallet.selectors import unreconciled_wallets


class Command(BaseCommand):
    help = "For every user, check balance == successful top-ups − payments + refunds."

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = unreconciled_wallets()
        for m in mismatches:
            self.stdout.write(
                f"{m.email} ({m.user_id}): balance {m.balance:,} won, ledger says {m.expected:,} won "
                f"(off by {m.balance - m.expected:+,})"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} wallet(s) do not reconcile.")
        self.stdout.write(self.style.SUCCESS("Every wallet reconciles with its ledger."))
