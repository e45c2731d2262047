"""Run the hold-expiry sweep once (what the Celery beat task does every few seconds)."""

from typing import Any

from django.core.management.base import BaseCommand

from booking import services


class Command(BaseCommand):
    help = "Turn every seat hold past its expiry back into an available seat."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = services.expire_holds()
        self.stdout.write(f"Expired {expired} hold(s).")
