"""Solving the waiting room's entry challenge the way a browser's widget (or a scripted client) does: with the
`altcha` package, from the challenge JSON the room hands out (queueing:challenge)."""

import base64
import json

from altcha import v1 as altcha

from queueing import services
from tests.factories import WaitingRoomFactory

EASY = 1000  # the easiest challenge a room may set: solved in a few milliseconds


def challenge_room(concert, *, max_number=EASY, enabled=True):
    """The concert's waiting room, asking for the entry challenge (the test settings make it off by default)."""
    room = WaitingRoomFactory(concert=concert)
    room.challenge_enabled, room.challenge_max_number = enabled, max_number
    room.save(update_fields=["challenge_enabled", "challenge_max_number"])
    return room


def solve(challenge):
    """The `altcha` form field a widget posts for this challenge JSON (a dict)."""
    solution = altcha.solve_challenge(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxNumber"]
    )
    assert solution is not None, "no number up to maxNumber solves the challenge"
    return altcha.Payload(
        challenge["algorithm"], challenge["challenge"], solution.number, challenge["salt"], challenge["signature"]
    ).to_base64()


def solved(concert, **issue):
    """A solution of a new challenge for the concert (issue_challenge's keyword arguments pass through)."""
    return solve(services.issue_challenge(concert=concert, **issue))


def decoded(payload):
    return json.loads(base64.b64decode(payload))


def encoded(fields):
    return base64.b64encode(json.dumps(fields).encode()).decode()


def altered(payload, **changes):
    """The payload with some fields changed (a forged or tampered solution)."""
    return encoded({**decoded(payload), **changes})
