"""Celery tasks of booking: thin callers of booking.services."""

from celery import shared_task

from . import services


@shared_task(name="booking.tasks.expire_holds", ignore_result=True)
def expire_holds():
    """The beat sweep: every hold past its expiry back to AVAILABLE. Safe on several workers at once."""
    return services.expire_holds()
