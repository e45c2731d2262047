"""Celery tasks of the waiting room: thin callers of queueing.services, scheduled by beat (see settings)."""

from celery import shared_task

from . import services


@shared_task(name="queueing.tasks.admit_queue_batches", ignore_result=True)
def admit_queue_batches() -> int:
    """One admission run per open waiting room: ends run-out admissions, admits the next fans.

    Idempotent and safe on several workers at once: each room's run holds its WaitingRoom row lock and
    never admits beyond max_active, so a second worker finds nothing left to do.
    """
    return services.admit_all_due()
