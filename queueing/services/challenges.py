"""The proof-of-work challenge at queue entry (ALTCHA, self-hosted: nothing here calls a third party): a waiting
room's challenge, and a fan's solution redeemed once.

Challenges are ALTCHA's v1 format, the one the vendored widget (static/vendor/altcha, altcha 2.x) solves: the
SHA-256 of a random salt and a secret number from 0 to the room's challenge_max_number, signed with
ALTCHA_HMAC_KEY. The salt ends in `?expires=<epoch seconds>&concert=<uuid>&`, so the signature covers the expiry
and the concert. A browser finds the number by trying them (max_number / 2 hashes on average); checking it costs
the server two. One solution admits one entry: a redeemed challenge is remembered until it expires (Redis SET NX
under the queue's key prefix when REDIS_URL is set, else the cache's add()).

A scripted client (the rush bench) solves a challenge with the same package, from the challenge page's JSON `c`:

    solution = altcha.solve_challenge_v1(c["challenge"], c["salt"], c["algorithm"], c["maxNumber"])
    payload = altcha.PayloadV1(c["algorithm"], c["challenge"], solution.number, c["salt"], c["signature"])

and posts `payload.to_base64()` as the join form's `altcha` field.
"""

import base64
import binascii
import datetime
import hmac
import json
import logging
from typing import Any, NoReturn

from altcha import v1 as altcha
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from concerts.models import Concert
from config.redis_circuit import UNREACHABLE, breaker_for
from config.redis_circuit import client as redis_client

from ..exceptions import ChallengeFailed, QueueUnavailable
from ..models import WaitingRoom

logger = logging.getLogger(__name__)

CLOCK_SKEW_MARGIN_SECONDS = 60

ALGORITHM: altcha.AlgoType = "SHA-256"
# A real payload is about 400 characters; anything much longer is not one, and is not decoded.
PAYLOAD_MAX_LENGTH = 2_000
PAYLOAD_FIELDS: dict[str, type] = {"algorithm": str, "challenge": str, "number": int, "salt": str, "signature": str}

MISSING_MESSAGE = _(
    "The waiting room's check did not run: it needs JavaScript. Please turn JavaScript on and try again."
)
EXPIRED_MESSAGE = _("The waiting room's check has expired. Please try again.")


def _room_of(concert: Concert) -> WaitingRoom:
    """The concert's waiting room, or (before anyone has joined) an unsaved one with a new room's settings."""
    return WaitingRoom.objects.filter(pk=concert.pk).first() or WaitingRoom(concert=concert)


def issue_challenge(*, concert: Concert, now: datetime.datetime | None = None) -> dict[str, Any]:
    """A new challenge for the concert's waiting room, as the JSON the widget fetches: algorithm, challenge,
    maxNumber (the room's challenge_max_number), salt (with the concert and the expiry, ALTCHA_EXPIRES_SECONDS
    from now) and signature. Writes nothing (a challenge is remembered only once redeemed)."""
    now = now or timezone.now()
    room = _room_of(concert)
    challenge = altcha.create_challenge(
        altcha.ChallengeOptions(
            algorithm=ALGORITHM,
            max_number=room.challenge_max_number,
            hmac_key=settings.ALTCHA_HMAC_KEY,
            expires=now + datetime.timedelta(seconds=settings.ALTCHA_EXPIRES_SECONDS),
            params={"concert": str(concert.pk)},
        )
    )
    issued: dict[str, Any] = challenge.to_dict()
    return issued


def redeem_solution(*, concert: Concert, payload: str | None, now: datetime.datetime | None = None) -> None:
    """Accept a solution of this concert's challenge once, when the room asks for one (challenge_enabled).

    `payload` is the widget's `altcha` form field (base64 JSON). Refused with ChallengeFailed, changing
    nothing, when it is missing, malformed, forged (bad signature), has the wrong number, has expired, is for
    another concert, or was redeemed already; raises QueueUnavailable when Redis (which remembers redeemed
    solutions) cannot be reached, rather than letting a replay through. Not idempotent by design: the second
    call with one payload is a replay. Takes no lock: Redis's SET NX (or the cache's add) decides between two
    requests with one solution.
    """
    room = _room_of(concert)
    if not room.challenge_enabled:
        return
    now = now or timezone.now()
    solution = _parsed(concert, payload)
    # Compared in constant time here; the package's own check below compares with ==.
    signature = altcha.hmac_hex(ALGORITHM, solution["challenge"].encode(), settings.ALTCHA_HMAC_KEY)
    if not hmac.compare_digest(signature.encode(), solution["signature"].encode()):  # bytes: any text compares
        _refuse(concert, "bad signature")
    verified, _error = altcha.verify_solution(solution, settings.ALTCHA_HMAC_KEY, check_expires=False)
    if not verified:
        _refuse(concert, "wrong number")
    params = altcha.extract_params(solution)
    if params.get("concert") != [str(concert.pk)]:
        _refuse(concert, "another concert's challenge")
    expires = _expiry(params)
    if expires is None:
        _refuse(concert, "no expiry")
    seconds_left = expires - int(now.timestamp())
    if seconds_left <= 0:
        _refuse(concert, "expired", EXPIRED_MESSAGE)
    # Remembered a minute past its expiry, so a server whose clock runs a little behind cannot take it again.
    if not _first_use(concert, solution["challenge"], seconds=seconds_left + CLOCK_SKEW_MARGIN_SECONDS):
        _refuse(concert, "replayed")


def _refuse(concert: Concert, why: str, message: StrOrPromise | None = None) -> NoReturn:
    logger.info("queue %s: entry challenge refused (%s)", concert.pk, why)
    raise ChallengeFailed(message)


def _parsed(concert: Concert, payload: str | None) -> altcha.PayloadType:
    """The payload's fields, each of the type ALTCHA gives it, or a refusal."""
    if not payload:
        _refuse(concert, "no solution", MISSING_MESSAGE)
    if len(payload) > PAYLOAD_MAX_LENGTH:
        _refuse(concert, "oversized payload")
    try:
        data = json.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError, RecursionError):
        _refuse(concert, "undecodable payload")
    if not isinstance(data, dict) or any(
        type(data.get(name)) is not kind for name, kind in PAYLOAD_FIELDS.items()
    ):  # type() rather than isinstance(): True is not a number here
        _refuse(concert, "malformed payload")
    if data["algorithm"] != ALGORITHM:
        _refuse(concert, "another algorithm")
    return {
        "algorithm": ALGORITHM,
        "challenge": data["challenge"],
        "number": data["number"],
        "salt": data["salt"],
        "signature": data["signature"],
    }


def _expiry(params: dict[str, list[str]]) -> int | None:
    values = params.get("expires", [])
    if len(values) != 1 or not (values[0].isascii() and values[0].isdigit()):
        return None
    return int(values[0])


def _first_use(concert: Concert, challenge: str, *, seconds: int) -> bool:
    """Remember the challenge as redeemed for `seconds` (until it expires); False if it was already."""
    key = f"{settings.QUEUE_REDIS_PREFIX}:{{{concert.pk}}}:redeemed:{challenge}"
    if not settings.REDIS_URL:
        return cache.add(key, 1, timeout=seconds)
    try:
        with breaker_for(settings.REDIS_URL).guard():
            return bool(redis_client(settings.REDIS_URL).set(key, 1, nx=True, ex=seconds))
    except UNREACHABLE as exc:  # RedisSkipped (breaker open) included
        raise QueueUnavailable() from exc
