"""Celery tasks of booking: thin callers of booking.services."""

from celery import shared_task

from . import services


@shared_task(name="booking.tasks.expire_holds", ignore_result=True)
def expire_holds() -> int:
    """The beat sweep: every hold past its expiry back to AVAILABLE. Safe on several workers at once."""
    return services.expire_holds()


@shared_task(name="booking.tasks.send_owed_confirmations", ignore_result=True)
def send_owed_confirmations() -> int:
    """The beat sweep: queue again every confirmation e-mail still owed (its enqueue at payment failed)."""
    return services.confirmations.enqueue_owed()


@shared_task(name="booking.tasks.offer_returned_seats", ignore_result=True)
def offer_returned_seats() -> int:
    """The beat sweep of the waiting lists: outcomes recorded, returned seats offered, owed offer e-mails sent
    (what the offer job queued when a seat came back missed). Safe on several workers at once."""
    made = services.waitlist.offer_everywhere()
    services.waitlist.send_offer_emails()
    return made
