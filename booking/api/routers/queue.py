"""A concert's waiting room, with the page's rules: a verified e-mail address (when the site asks for one), the entry
window (pre-queue, then the sale, until the last show), the entry challenge when the room asks for one (GET
.../queue/challenge, solve it, send the solution as `challenge`), the cap of places per client address and the
rate limits; then the place, polled at the pace it says (`poll_seconds`, the waiting page's), and leaving it."""

import datetime
import uuid

from django.utils import timezone
from ninja import Router, Schema
from pydantic import Field

from accounts.exceptions import EmailNotVerified
from accounts.requests import AuthenticatedRequest
from accounts.selectors import must_verify_email
from concerts import selectors as concert_selectors
from concerts.models import Concert
from config.lockout import client_ip
from queueing import services as queue_services

from ..exceptions import NotFound
from ..problems import Problem
from ..ratelimits import rate_limit

router = Router()

REFUSED = dict.fromkeys((400, 401, 403, 404, 409, 429, 503), Problem)


class EnterIn(Schema):
    challenge: str | None = Field(
        None, max_length=4000, description="The solved entry challenge (base64 JSON), when the room asks for one"
    )


class PlaceOut(Schema):
    joined: bool  # false: no place in this room (never entered, left, or it ended)
    admitted: bool  # true: hold seats now, until expires_at
    prequeue: bool  # in the pre-queue: the draw gives a place at draw_at
    position: int | None = None  # 1 at the front (waiting only)
    ahead: int | None = None
    eta_seconds: int | None = None  # null while admission is paused or unknown
    paused: bool = False
    expires_at: datetime.datetime | None = None  # the admission's end
    draw_at: datetime.datetime | None = None
    receipt: str | None = None  # a pre-queue entry's public receipt (the draw's record)
    # When to ask again, in seconds: the waiting page's own pace (queueing.services.poll_seconds): less often the
    # further back, and in the pre-queue a moment drawn at random after the opening, so that the draw's news reaches
    # everyone at a rate the site can answer. Null when holding no place.
    poll_seconds: int | None = None


class ChallengeOut(Schema):
    algorithm: str
    challenge: str
    maxNumber: int  # noqa: N815  (ALTCHA's name)
    salt: str
    signature: str


def _concert_or_404(concert_id: uuid.UUID) -> Concert:
    concert = concert_selectors.find_concert(concert_id)
    if concert is None:
        raise NotFound()
    return concert


def _place(current: queue_services.QueueStatus | None) -> dict[str, object]:
    if current is None:
        return {"joined": False, "admitted": False, "prequeue": False}
    waiting = not current.admitted and not current.prequeued
    return {
        "joined": True,
        "admitted": current.admitted,
        "prequeue": current.prequeued,
        "position": current.position if waiting else None,
        "ahead": current.ahead if waiting else None,
        "eta_seconds": current.eta_seconds if waiting else None,
        "paused": current.paused,
        "expires_at": current.expires_at if current.admitted else None,
        "draw_at": current.draw_at if current.prequeued else None,
        "receipt": current.receipt or None,
        "poll_seconds": queue_services.poll_seconds(current),
    }


@router.post("/{concert_id}/queue", response={200: PlaceOut, **REFUSED}, summary="Enter the waiting room")
def enter(request: AuthenticatedRequest, concert_id: uuid.UUID, payload: EnterIn) -> dict[str, object]:
    """Enter the concert's waiting room, or get the place already held (a retry costs no new challenge). Refusals:
    email_not_verified (403), queue_not_open / queue_closed (409), queue_presale_only (403: the room serves a
    fan-club presale whose list the fan is not on), challenge_failed (403), queue_address_limit and rate_limited
    (429), queue_unavailable (503)."""
    rate_limit(request, "queue_join")
    concert = _concert_or_404(concert_id)
    if must_verify_email(request.user):
        raise EmailNotVerified()
    current = queue_services.enter(
        user=request.user,
        concert=concert,
        challenge_solution=payload.challenge,
        now=timezone.now(),
        client_ip=client_ip(request),
    )
    return _place(current)


@router.get("/{concert_id}/queue", response={200: PlaceOut, **REFUSED}, summary="My place in the waiting room")
def place(request: AuthenticatedRequest, concert_id: uuid.UUID) -> dict[str, object]:
    """My place now (position, how many ahead, the estimated wait) or my admission (until when). Poll it again after
    its `poll_seconds` (the waiting page's pace) while waiting; it may admit me when admission is overdue, as the
    page's poll does."""
    rate_limit(request, "queue_status")
    concert = _concert_or_404(concert_id)
    return _place(queue_services.poll_place(user=request.user, concert=concert))


@router.delete("/{concert_id}/queue", response={200: PlaceOut, **REFUSED}, summary="Leave the waiting room")
def leave(request: AuthenticatedRequest, concert_id: uuid.UUID) -> dict[str, object]:
    """Give up my place (waiting or admitted) for the next fan. Leaving twice is no error."""
    concert = _concert_or_404(concert_id)
    queue_services.leave(user=request.user, concert=concert)
    return _place(None)


@router.get("/{concert_id}/queue/challenge", response={200: ChallengeOut, **REFUSED}, summary="An entry challenge")
def challenge(request: AuthenticatedRequest, concert_id: uuid.UUID) -> dict[str, object]:
    """A proof-of-work challenge for this room (ALTCHA v1): find the number whose SHA-256 with the salt is the
    challenge, then send {algorithm, challenge, number, salt, signature} as base64 JSON in `challenge`."""
    rate_limit(request, "queue_status")
    return queue_services.issue_challenge(concert=_concert_or_404(concert_id))
