"""The confirmation e-mail each successful checkout owes the fan: recorded with the payment, queued when it
commits, caught up by a beat sweep when that failed, written in the fan's language and sent exactly once.

The outbox row (ConfirmationEmail) is created in the payment's transaction, so a mail can be late but never
lost: a Redis blip at the moment of payment only delays it until the next sweep.
"""

import datetime
import logging
import uuid
from collections.abc import Sequence
from typing import TypedDict

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import User

from .. import tickets
from ..models import ConfirmationEmail, Reservation

logger = logging.getLogger(__name__)

# A mail whose job was queued but is still not sent after this long (RQ gave up after its retries, or Redis
# lost the job) is queued again by the sweep, at most MAX_ENQUEUES times in all.
REQUEUE_AFTER = datetime.timedelta(minutes=15)
MAX_ENQUEUES = 5
SWEEP_BATCH_SIZE = 200


def _language(value: str | None) -> str:
    try:
        return translation.get_supported_language_variant(value or "")
    except LookupError:
        return settings.LANGUAGE_CODE


def owe(*, user: User, language: str | None = None, now: datetime.datetime) -> ConfirmationEmail:
    """Record, inside the payment's transaction, that this checkout's confirmation e-mail is owed.

    `language` is the one the fan booked in (default: the active one; unsupported: the site's default).
    The caller links the checkout's SUCCESS payments to the row and calls enqueue_on_commit.
    """
    return ConfirmationEmail.objects.create(
        user_id=user.pk, language=_language(language or translation.get_language()), created_at=now
    )


def _enqueue_job(confirmation_id: uuid.UUID) -> None:
    from .. import jobs

    jobs.enqueue(jobs.send_booking_confirmation, confirmation_id=str(confirmation_id))


def enqueue_on_commit(confirmation: ConfirmationEmail) -> None:
    """Queue the mail's job once the payment commits. A failure (Redis unreachable) is logged and left to the
    sweep; it never reaches the fan, whose payment is done."""

    def enqueue_confirmation() -> None:
        try:
            _enqueue_job(confirmation.pk)
        except Exception:
            logger.exception("confirmation %s: could not queue the e-mail; the sweep will", confirmation.pk)
            return
        # Only a mail whose enqueue failed is the sweep's business (sent_at: the job may have run already).
        ConfirmationEmail.objects.filter(pk=confirmation.pk, sent_at__isnull=True).update(
            enqueued_at=timezone.now(), enqueue_count=F("enqueue_count") + 1
        )

    transaction.on_commit(enqueue_confirmation, robust=True)


def enqueue_owed(*, now: datetime.datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """The beat sweep: queue the job of every mail still owed whose enqueue failed (older than
    CONFIRMATION_OWED_AFTER_SECONDS and never queued), or whose job was queued long ago (REQUEUE_AFTER) and
    never sent; return how many were queued.

    The mails are claimed (marked queued) in a short transaction with SKIP LOCKED, so two sweeps split them,
    and the locks are gone before a worker picks the job up. At the first failed enqueue (Redis still away)
    the rest are handed back for the next run. A mail queued twice is still sent once (send_owed).
    """
    now = now or timezone.now()
    fresh = now - datetime.timedelta(seconds=settings.CONFIRMATION_OWED_AFTER_SECONDS)
    with transaction.atomic():
        owed = list(
            ConfirmationEmail.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, created_at__lte=fresh, enqueue_count__lt=MAX_ENQUEUES)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=now - REQUEUE_AFTER))
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        ConfirmationEmail.objects.filter(pk__in=owed).update(enqueued_at=now, enqueue_count=F("enqueue_count") + 1)
    for queued, confirmation_id in enumerate(owed):
        try:
            _enqueue_job(confirmation_id)
        except Exception:
            left = len(owed) - queued
            logger.exception("confirmations: could not queue owed e-mails; %d left for the next sweep", left)
            ConfirmationEmail.objects.filter(pk__in=owed[queued:], sent_at__isnull=True).update(
                enqueued_at=None, enqueue_count=F("enqueue_count") - 1
            )
            return queued
    if owed:
        logger.info("confirmations: %d owed e-mail(s) queued again", len(owed))
    return len(owed)


def _one_line(text: str) -> str:
    """A mail header is one line: fold every line break and run of spaces (a title typed with a newline)."""
    return " ".join(text.split())


class _Ticket(TypedDict):
    reservation: Reservation
    code: str
    url: str  # its printable ticket page (SITE_URL)


def render(*, user: User, reservations: Sequence[Reservation], language: str | None) -> EmailMultiAlternatives:
    """The confirmation e-mail of these paid reservations (one date), in `language`, QR codes attached (one drawing
    a seat: the costly part of the mail) and each seat's ticket page linked."""
    date = reservations[0].seat.concert_date
    ticket_list: list[_Ticket] = [
        {"reservation": r, "code": tickets.ticket_code(r), "url": tickets.ticket_url(r)} for r in reservations
    ]
    context = {"user": user, "date": date, "concert": date.concert, "tickets": ticket_list}
    with translation.override(_language(language)):
        subject = _one_line(render_to_string("booking/email/confirmation_subject.txt", context))
        text = render_to_string("booking/email/confirmation.txt", context)
        html = render_to_string("booking/email/confirmation.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.attach_alternative(html, "text/html")
    for ticket in ticket_list:
        seat = ticket["reservation"].seat.seat_number
        message.attach(f"ticket-seat-{seat}.svg", tickets.ticket_qr_svg(ticket["code"]), "image/svg+xml")
    return message


def send_owed(*, confirmation_id: uuid.UUID | str, now: datetime.datetime | None = None) -> int:
    """Send this owed mail and mark it sent, at most once; return 1 if a mail went out, else 0.

    The row is locked (SKIP LOCKED) for the whole send: a second run while one is sending, or any run after
    it was sent, does nothing. Seats refunded before the job ran are left out; with none left the mail is
    marked done unsent. A mail error rolls the mark back and is raised, so RQ retries (and the sweep after).
    """
    now = now or timezone.now()
    with transaction.atomic():
        confirmation = (
            ConfirmationEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(pk=confirmation_id, sent_at__isnull=True)
            .first()
        )
        if confirmation is None:
            return 0
        reservations = list(
            Reservation.objects.filter(payments__confirmation=confirmation, status=Reservation.Status.CONFIRMED)
            .select_related("seat__concert_date__concert")
            .order_by("seat__seat_number")
        )
        if reservations:
            render(user=confirmation.user, reservations=reservations, language=confirmation.language).send()
        ConfirmationEmail.objects.filter(pk=confirmation.pk).update(sent_at=now)
    return 1 if reservations else 0
