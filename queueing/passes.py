"""The queue pass: a signed, short-lived cookie that says "this browser's session is user X's, waiting in concert
Y's room with place token T", so the waiting page's status poll can be answered without loading the session or
the user (queueing.middleware.FastPollMiddleware).

The full paths issue it: the waiting room's page and the status poll that went through the session, once they know
who is logged in and that they hold a place. The fast poll issues it again for the same user, concert and token,
with only a new start, when the place lies further back than the pass says (the draw placed a fan whose pass the
pre-queue gave, with no place and so a start of 0). It binds the user, the concert, the place's token, the session
cookie it was issued beside (a hash of its key: after a log-out or a log-in as someone else the session key is
another, and the pass no longer counts) and its own expiry (QUEUE_PASS_SECONDS), signed with SECRET_KEY under a salt
of its own. It also carries what the page needs across polls without the session: how many fans were ahead when the
fan first saw this place (the progress bar's start), the account's label for the rate limit's record, and when it
was signed: a full path gives a pass that says the same again only once it has lived half its life (keeps).

It is trusted for nothing but "this is user X's own poll of concert Y": whatever it says, a poll answers only
what the queue backend holds for X in Y, and the pass's token must be that place's token, or the poll takes the
full path. A forged, altered, expired or foreign pass is simply ignored. After a log-out the browser's session
cookie changes, so the pass stops counting at once; a session ended on the server alone (an expired session, a
password change elsewhere) leaves the pass showing its fan their own place until it expires (or, when the draw's
first poll issued it again, until that one expires).
"""

import hashlib
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from config.stencil import Shelf

SALT = "queueing.passes.queue-pass"


@dataclass(frozen=True)
class QueuePass:
    user_id: uuid.UUID
    concert_id: uuid.UUID
    token: uuid.UUID  # the place it was issued for
    start: int  # fans ahead when this browser first saw the place (the progress bar's start)
    label: str  # the account's label in the rate limits' record (its e-mail address)
    issued_at: float = 0.0  # when it was signed (a Unix time; read from the pass, set by issue_pass)


def _session_tag(request: HttpRequest) -> str:
    """A digest of the browser's session key (from its cookie, without loading the session)."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    return hashlib.sha256(key.encode()).hexdigest()[:24] if key else ""


def cookie_path(concert_id: uuid.UUID) -> str:
    """The pass goes with the concert's waiting-room URLs only (the page and its poll)."""
    return reverse("queueing:room", kwargs={"concert_id": concert_id})


# Passes this process has found genuine, by the cookie's value: a waiting fan's browser sends the same pass with
# every poll and page until it is given a new one, and checking its signature (an HMAC, base64 and JSON) is most
# of what reading it costs. Only a value that passed the check is kept, each no longer than it has left to live,
# and its age is checked on every use as the signature's own check would: a forged or altered value never hits.
_GENUINE = Shelf(size=8192)


def _genuine_fields(value: str) -> tuple[Any, ...]:
    """The fields `value` was signed with, if it is a genuine, unexpired pass (signing.loads with the pass's salt
    and max_age); raises as that does otherwise."""
    max_age = settings.QUEUE_PASS_SECONDS
    kept = _GENUINE.get(value)
    if kept is not None:
        fields: tuple[Any, ...]
        fields, signed_at = kept
        if time.time() - signed_at > max_age:  # as signing.TimestampSigner.unsign checks it
            raise signing.SignatureExpired(f"Signature age > {max_age} seconds")
        return fields
    fields = tuple(signing.loads(value, salt=SALT, max_age=max_age))
    signed_at = signing.b62_decode(value.rsplit(":", 2)[1])  # payload:timestamp:signature, the timestamp checked
    _GENUINE.put(value, (fields, signed_at), signed_at + max_age - time.time())
    return fields


def read_pass(request: HttpRequest, concert_id: uuid.UUID) -> QueuePass | None:
    """The request's pass for this concert if it is genuine, unexpired, issued for this concert and beside the
    session cookie the request carries; else None. Reads no session and no database."""
    value = request.COOKIES.get(settings.QUEUE_PASS_COOKIE_NAME)
    if not value:
        return None
    try:
        user, concert, token, start, session, label, issued_at = _genuine_fields(value)
        found = QueuePass(
            user_id=uuid.UUID(hex=user),
            concert_id=uuid.UUID(hex=concert),
            token=uuid.UUID(hex=token),
            start=int(start),
            label=str(label),
            issued_at=float(issued_at),
        )
    except (signing.BadSignature, ValueError, TypeError):  # forged, altered, expired, or of another shape
        return None
    if found.concert_id != concert_id or not session or session != _session_tag(request):
        return None
    return found


def issue_pass(response: HttpResponseBase, request: HttpRequest, queue_pass: QueuePass) -> None:
    """Set the pass on `response` (a full path's answer, for the session the request carries)."""
    session = _session_tag(request)
    if not session:
        return
    value = signing.dumps(
        [
            queue_pass.user_id.hex,
            queue_pass.concert_id.hex,
            queue_pass.token.hex,
            queue_pass.start,
            session,
            queue_pass.label,
            time.time(),
        ],
        salt=SALT,
    )
    response.set_cookie(
        settings.QUEUE_PASS_COOKIE_NAME,
        value,
        max_age=settings.QUEUE_PASS_SECONDS,
        path=cookie_path(queue_pass.concert_id),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def keeps(kept: QueuePass | None, queue_pass: QueuePass) -> bool:
    """Does `kept` (the request's own pass, from read_pass) already say all that `queue_pass` would, with more than
    half its life left? Then issuing it again gains nothing but the signing and a Set-Cookie on every page."""
    if kept is None or time.time() - kept.issued_at >= settings.QUEUE_PASS_SECONDS / 2:
        return False
    return replace(kept, issued_at=0.0) == replace(queue_pass, issued_at=0.0)


def drop_pass(response: HttpResponseBase, concert_id: uuid.UUID) -> None:
    """Tell the browser to forget the concert's pass (the fan left, or holds no place)."""
    response.delete_cookie(settings.QUEUE_PASS_COOKIE_NAME, path=cookie_path(concert_id), samesite="Lax")
