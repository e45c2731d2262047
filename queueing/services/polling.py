"""How often a fan's waiting page asks for its status (poll_seconds, the status JSON's `poll_seconds`, which
static/js/queue.js and the no-JavaScript page's meta refresh follow): less often the further the fan is from the
front, and in the pre-queue at a moment drawn at random after the opening, over a spread that grows with the
pre-queue, so that the draw's news reaches everyone at a rate the site can answer.
"""

import datetime
import math
import random

from django.conf import settings
from django.utils import timezone

from .places import QueueStatus

# The shortest wait between two polls (a fan at the front, or admitted) and the longest (a fan far back, or in the
# pre-queue long before the opening): a tenth of the default ACTIVE_SECONDS, so a fan admitted between two polls
# still has nearly all of their admission when they hear of it.
MIN_POLL_SECONDS = 3
MAX_POLL_SECONDS = 60
PAUSED_POLL_SECONDS = 15
# A waiting fan polls again after at most a fifth of their estimated wait (they hear of their admission within
# a fifth of the wait, never later than the wait itself) ...
WAIT_FRACTION = 5
# ... and after at most MIN_POLL_SECONDS plus a second per this many fans ahead, whatever the estimate says: before
# any admission has been seen the estimate assumes every admitted fan takes ACTIVE_SECONDS, far slower than a
# sale moves, and a fan near the front must still poll every few seconds.
PLACES_PER_SECOND = 10
# static/js/queue.js waits up to a fifth longer than told in the pre-queue (its jitter): a poll told to come
# MAX_POLL_SECONDS later must not land after the opening unspread.
PREQUEUE_JITTER = 0.2
# The spread of the opening's polls: at least the 12 s it always was, at most two minutes of not knowing one's
# place (past that a bigger pre-queue makes the opening busier rather than the wait longer).
MIN_OPENING_SPREAD_SECONDS = 12
MAX_OPENING_SPREAD_SECONDS = 120


def opening_spread_seconds(prequeue_size: int) -> int:
    """Seconds after the opening over which a pre-queue of `prequeue_size` entrants learns its drawn places: enough
    that their polls come at most QUEUE_OPENING_POLLS_PER_SECOND a second, within the floor and the cap.

    Fairness does not depend on it: places are drawn, not handed out first come first served, so when a fan asks
    changes nothing about where they stand; each fan's moment is drawn at random, independently of their place.
    """
    spread = math.ceil(max(0, prequeue_size) / settings.QUEUE_OPENING_POLLS_PER_SECOND)
    return max(MIN_OPENING_SPREAD_SECONDS, min(MAX_OPENING_SPREAD_SECONDS, spread))


def waiting_poll_seconds(*, ahead: int, eta_seconds: int | None) -> int:
    """How long a waiting fan with `ahead` fans in front and this estimated wait (None: paused) waits to poll."""
    if eta_seconds is None:
        return PAUSED_POLL_SECONDS
    by_wait = eta_seconds // WAIT_FRACTION
    by_place = MIN_POLL_SECONDS + ahead // PLACES_PER_SECOND
    return max(MIN_POLL_SECONDS, min(MAX_POLL_SECONDS, by_wait, by_place))


def poll_seconds(
    current: QueueStatus | None, *, now: datetime.datetime | None = None, rng: random.Random | None = None
) -> int:
    """How long the fan's page waits before it asks for `current` again (None: the fan holds no place).

    In the pre-queue, every MAX_POLL_SECONDS until the opening is near; then at a moment drawn at random within
    opening_spread_seconds after it (never at zero: the page would reload with the whole pre-queue at once).
    """
    if current is None or current.admitted:
        return MIN_POLL_SECONDS
    if current.prequeued and current.draw_at is not None:
        until = math.ceil((current.draw_at - (now or timezone.now())).total_seconds())
        if until > MAX_POLL_SECONDS * (1 + PREQUEUE_JITTER):
            return MAX_POLL_SECONDS
        spread = opening_spread_seconds(current.prequeue_size)
        return max(MIN_POLL_SECONDS, until + (rng or random).randint(1, spread))  # noqa: S311 -- not secret
    return waiting_poll_seconds(ahead=current.ahead, eta_seconds=current.eta_seconds)
