"""Every request of a phase (when it started, how long it took, what it answered) and the per-endpoint
figures a report shows: requests/s, percentiles, statuses."""

import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

# The endpoints the report lists, in the order a fan meets them.
ENDPOINTS = [
    "hello",
    "concert page",
    "queue challenge",
    "queue join (POST)",
    "waiting room page",
    "queue status",
    "seat map",
    "hold (POST)",
    "checkout page",
    "pay (POST)",
    "wallet page",
    "top-up (POST)",
    "reservations page",
    "cancel page",
    "cancel (POST)",
    "queue leave (POST)",
    "login page",
    "login (POST)",
]


class Metrics:
    """Every request of a phase: when it started, how long it took, what it answered, per endpoint (a page's name,
    or with --api an API operation's); the summary lists them in `order`, then any other in the order first met."""

    def __init__(self, order: Sequence[str] = ENDPOINTS) -> None:
        self.order = list(order)
        # endpoint -> [(started, seconds, status or transport error)]
        self.samples: defaultdict[str, list[tuple[float, float, int | str]]] = defaultdict(list)
        self.started = time.monotonic()
        self.ended: float | None = None
        self.cpu: dict[str, Any] | None = None  # a CpuMeter's reading
        self.window_cpu: dict[str, dict[str, Any]] = {}  # CpuMeter readings of parts of the phase, by name
        self.queue_keys: dict[str, dict[str, Any]] = {}  # the concert's Redis queue keys at moments of the phase

    def record(self, endpoint: str, started: float, seconds: float, status: int | str) -> None:
        self.samples[endpoint].append((started, seconds, status))

    def finish(self) -> None:
        self.ended = time.monotonic()

    @property
    def duration(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def summary(self, since: float | None = None, until: float | None = None) -> dict[str, Any]:
        """Per-endpoint figures for the requests started in [since, until) (default: the whole phase)."""
        since = self.started if since is None else since
        until = (self.ended or time.monotonic()) if until is None else until
        duration = max(until - since, 1e-9)
        rows: dict[str, dict[str, Any]] = {}
        for endpoint in sorted(self.samples, key=lambda name: self.order.index(name) if name in self.order else 99):
            window = [(seconds, status) for at, seconds, status in self.samples[endpoint] if since <= at < until]
            if not window:
                continue
            values = sorted(seconds for seconds, _ in window)
            statuses = Counter(status for _, status in window if isinstance(status, int))
            errors = Counter(status for _, status in window if not isinstance(status, int))
            rows[endpoint] = {
                "requests": len(values),
                "rps": len(values) / duration,
                "p50_ms": percentile(values, 50) * 1000,
                "p95_ms": percentile(values, 95) * 1000,
                "p99_ms": percentile(values, 99) * 1000,
                "max_ms": values[-1] * 1000,
                "status": {str(code): count for code, count in sorted(statuses.items())},
                "5xx": sum(count for code, count in statuses.items() if code >= 500),
                "transport_errors": dict(errors),
            }
        return {"duration_s": duration, "endpoints": rows, "cpu": self.cpu}


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of sorted values (0.0 for none)."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(values)))
    return values[rank - 1]
