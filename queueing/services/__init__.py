"""Writes about the waiting room: join, poll a place, admit, touch, leave and end, over the configured backend.

The live queue sits in a backend (queueing.backends: the database or Redis). This package adds the rules
around it: the sale must be open, every visit is written to QueueEntryHistory (in the database for both
backends), admission runs under the WaitingRoom row lock, the estimated wait comes from the recent
admission rate, and a poll (poll_place) that finds admission overdue (beat stopped) runs it itself.

One module per side: places (the fan's: join, poll_place, touch, leave, end_for_user and the status they
see), admissions (admitting and expiring under the room's lock, pausing, when a run is overdue, staff
removals), draws (the pre-queue's draw when the sale opens), challenges (the proof-of-work challenge a fan's
browser solves to enter: issued per room, each solution redeemed once), polling (how often a fan's page asks:
by the distance to the front, and spread after the opening by the pre-queue's size); _history has the
QueueEntryHistory writes both share and the catch-up of what Redis changed but the history missed; _mirror the
room's short-lived copy in the backend that lets a status poll skip the database (places.poll_quickly).
Callers use the names re-exported here (`from queueing import services; services.join(...)`).
"""

from ..exceptions import (
    ChallengeFailed,
    QueueClosed,
    QueueError,
    QueueNotOpen,
    QueueUnavailable,
    TooManyPlacesFromAddress,
)
from ._history import EXIT_EXPIRED, EXIT_LEFT, EXIT_PAID, EXIT_REMOVED
from ._mirror import forget_room_mirror
from .admissions import (
    ADMISSION_LOG_SECONDS,
    OVERDUE_INTERVALS,
    admit_all_due,
    admit_batch,
    admit_now,
    expire_admissions,
    remove_from_queue,
    set_paused,
)
from .challenges import issue_challenge, redeem_solution
from .draws import draw_commitment, is_draw_due, run_draw
from .places import (
    MAX_LIFETIME_FACTOR,
    MIN_RATE_SPAN_SECONDS,
    QueueStatus,
    QuickPoll,
    address_for_cap,
    check_entry_window,
    end_for_user,
    enter,
    estimate_wait_seconds,
    has_fast_poll,
    is_entry_open,
    join,
    leave,
    max_lifetime_seconds,
    poll_place,
    poll_quickly,
    touch,
)
from .polling import (
    MAX_OPENING_SPREAD_SECONDS,
    MAX_POLL_SECONDS,
    MIN_OPENING_SPREAD_SECONDS,
    MIN_POLL_SECONDS,
    opening_spread_seconds,
    poll_seconds,
)
from .sales import current as current_sale
from .sales import may_enter, move_on

__all__ = [
    "ADMISSION_LOG_SECONDS",
    "EXIT_EXPIRED",
    "EXIT_LEFT",
    "EXIT_PAID",
    "EXIT_REMOVED",
    "MAX_LIFETIME_FACTOR",
    "MAX_OPENING_SPREAD_SECONDS",
    "MAX_POLL_SECONDS",
    "MIN_OPENING_SPREAD_SECONDS",
    "MIN_POLL_SECONDS",
    "MIN_RATE_SPAN_SECONDS",
    "OVERDUE_INTERVALS",
    "ChallengeFailed",
    "QueueClosed",
    "QueueError",
    "QueueNotOpen",
    "QueueStatus",
    "QueueUnavailable",
    "QuickPoll",
    "TooManyPlacesFromAddress",
    "address_for_cap",
    "admit_all_due",
    "admit_batch",
    "admit_now",
    "end_for_user",
    "enter",
    "estimate_wait_seconds",
    "check_entry_window",
    "draw_commitment",
    "current_sale",
    "may_enter",
    "move_on",
    "expire_admissions",
    "forget_room_mirror",
    "has_fast_poll",
    "issue_challenge",
    "join",
    "leave",
    "max_lifetime_seconds",
    "opening_spread_seconds",
    "poll_seconds",
    "is_draw_due",
    "is_entry_open",
    "poll_place",
    "poll_quickly",
    "redeem_solution",
    "remove_from_queue",
    "run_draw",
    "set_paused",
    "touch",
]
