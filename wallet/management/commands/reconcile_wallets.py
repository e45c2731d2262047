"""Check every wallet against its ledger, and every cancelled reservation's refund plus fee against its payment;
print what does not add up and exit non-zero if anything."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wallet.selectors import unbalanced_cancellations, unreconciled_wallets


class Command(BaseCommand):
    help = (
        "For every user, check balance == successful top-ups − payments + refunds; for every cancelled "
        "reservation, refund + cancellation fee == payment."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = unreconciled_wallets()
        for m in mismatches:
            self.stdout.write(
                f"{m.email} ({m.user_id}): balance {m.balance:,} won, ledger says {m.expected:,} won "
                f"(off by {m.balance - m.expected:+,})"
            )
        cancellations = unbalanced_cancellations()
        for c in cancellations:
            self.stdout.write(
                f"reservation {c.reservation_id} (user {c.user_id}): paid {c.paid:,} won, refunded {c.refunded:,} "
                f"+ fee {c.fee:,} won (off by {c.refunded + c.fee - c.paid:+,})"
            )
        if mismatches or cancellations:
            raise CommandError(
                f"{len(mismatches)} wallet(s) and {len(cancellations)} cancellation(s) do not reconcile."
            )
        self.stdout.write(self.style.SUCCESS("Every wallet reconciles with its ledger."))
