"""The admission rate: how many waiting fans a room may let in right now, at most WaitingRoom.admit_per_minute
a minute, a little at a time. Admitted fans book at once, so letting max_active in at one moment (a sale's
opening) sends them all to the seat maps, holds and payments in the same second; pacing spreads them out.

The rule reads nothing but the room's admission log (what was admitted when, kept ADMISSION_LOG_SECONDS), so
it is the same for both backends, and it is applied where every admission happens: admissions.run_admission,
under the WaitingRoom row lock (a join that finds nobody ahead runs admission rather than admitting itself).
"""

import datetime
import math

from django.conf import settings

# The window "per minute" is counted over: in any RATE_WINDOW_SECONDS at most admit_per_minute are admitted.
RATE_WINDOW_SECONDS = 60
# The admission log keeps times to the millisecond (admissions._log_admissions).
LOG_DIGITS = 3
# Float rounding must not cost a fan: a bucket holding 1.9999999999 holds 2.
_EPSILON = 1e-6


def burst_size(*, per_minute: int) -> int:
    """The most fans one admission run may let in at once (the bucket's size): what the rate earns between two
    of beat's runs (ADMIT_QUEUE_EVERY_SECONDS), rounded up, and one more, so that the part of a fan earned
    before a run is kept for the next. Smaller, and runs every interval would lose some of what the rate
    earned (a bucket of one at 20 a minute admits 15); larger, and the opening's first run lets in more
    at once."""
    return math.ceil(per_minute * settings.ADMIT_QUEUE_EVERY_SECONDS / RATE_WINDOW_SECONDS) + 1


def admission_allowance(*, per_minute: int, log: list[list[float]], now: datetime.datetime) -> int:
    """How many more fans may be admitted at `now`, given the admissions in `log` ([epoch seconds, fans] of
    each run; the room's admission_log) and a rate of `per_minute`. Two limits, both from the log:

    - a token bucket that holds burst_size(per_minute) fans and refills at per_minute / 60 a second, full
      when nothing was admitted lately: its level is the smallest, over the logged runs, of the burst plus
      what the rate earned since that run less what was admitted from it on (the level since the bucket was
      last full; older runs only give larger figures), so no state beyond the log is kept;
    - at most per_minute admitted in any RATE_WINDOW_SECONDS: the bucket alone would allow a burst more in
      the first minute.

    Runs logged after `now` (a run that waited for the lock behind a later one) count as admitted already.
    """
    now_ts = round(now.timestamp(), LOG_DIGITS)  # as the log keeps times: a run at this moment compares equal
    rate = per_minute / RATE_WINDOW_SECONDS
    burst = burst_size(per_minute=per_minute)
    in_window = sum(count for at, count in log if at > now_ts - RATE_WINDOW_SECONDS)
    level = float(burst)
    since = 0.0
    for at, count in sorted(log, reverse=True):
        since += count
        level = min(level, burst + rate * (now_ts - at) - since)
    return max(0, min(per_minute - int(in_window), math.floor(level + _EPSILON)))
