"""Run the hold-expiry sweep once (what the Celery beat task does every few seconds)."""

from django.core.management.base import BaseCommand

from booking import services


class Command(BaseCommand):
    help = "Turn every seat hold past its expiry back into an available seat."

    def handle(self, *args, **options):
        expired = services.expire_holds()
        self.stdout.write(f"Expired {expired} hold(s).")
