"""The entry challenge as a scripted browser meets it: a join form that carries the ALTCHA widget names the
challenge URL; the browser fetches a challenge there, solves it and sends the solution as the form's `altcha`
field. A form without the widget (the room's challenge off, or an app without one) is sent as it is.

Solving is the fans' devices' work in a real sale, not the machine under test's: here it runs in worker
processes at the lowest CPU priority (nice 19), so it takes only CPU the stack leaves idle, and the report
counts it apart from the load generator's own CPU.
"""

import asyncio
import contextlib
import multiprocessing
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

FORM_RE = re.compile(r"<form\b[^>]*>.*?</form>", re.DOTALL)
ACTION_RE = re.compile(r'action="([^"]+)"')
WIDGET_RE = re.compile(r'<altcha-widget\b[^>]*\bchallengeurl="([^"]+)"')


@dataclass(frozen=True)
class Form:
    """A POST form of a page: where it goes, and the challenge URL when it carries the widget."""

    action: str
    challenge_url: str | None


def find_form(page: str, marker: str) -> Form | None:
    """The page's form that contains `marker` (e.g. 'data-testid="enter-prequeue"'), or None."""
    for match in FORM_RE.finditer(page):
        body = match.group(0)
        if marker in body:
            action = ACTION_RE.search(body)
            widget = WIDGET_RE.search(body)
            return Form(
                action=action.group(1).replace("&amp;", "&") if action else "",
                challenge_url=widget.group(1).replace("&amp;", "&") if widget else None,
            )
    return None


def solve_payload(challenge: dict[str, Any]) -> tuple[str, float]:
    """The `altcha` field for a challenge (the challenge page's JSON), and the CPU seconds solving took.

    Runs in a worker process; the `altcha` package solves it the way the widget does (tries numbers up to
    maxNumber until the salted SHA-256 matches)."""
    from altcha import v1 as altcha

    started = time.process_time()
    solution = altcha.solve_challenge(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], int(challenge["maxNumber"])
    )
    if solution is None:
        raise ValueError("the challenge has no solution up to its maxNumber")
    payload = altcha.Payload(
        challenge["algorithm"], challenge["challenge"], solution.number, challenge["salt"], challenge["signature"]
    )
    return payload.to_base64(), time.process_time() - started


def _lowest_priority() -> None:
    """nice 19, and in a session of its own whose autogroup is at nice 19 too: where the kernel groups tasks
    by session (sched_autogroup_enabled, the default on most Linux hosts), a task's nice only ranks it inside
    its own session's group, so a solver left in the load generator's session would share that group's
    full share of the CPU with the stack."""
    os.nice(19)
    with contextlib.suppress(OSError):
        os.setsid()
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write("19")


@dataclass
class Solver:
    """Worker processes that solve challenges at nice 19; counts solves, their CPU and how long fans waited."""

    workers: int = max(1, os.cpu_count() or 1)
    solves: int = 0
    cpu_s: float = 0.0
    waits: list[float] = field(default_factory=list)  # seconds from asking to having the solution
    pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        # spawn, not fork: the load generator holds Django's database connection, which a child must not share.
        self.pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_lowest_priority
        )

    async def solve(self, challenge: dict[str, Any]) -> str:
        if self.pool is None:
            self.start()
        assert self.pool is not None
        asked = time.monotonic()
        payload, cpu_s = await asyncio.get_running_loop().run_in_executor(self.pool, solve_payload, challenge)
        self.solves += 1
        self.cpu_s += cpu_s
        self.waits.append(time.monotonic() - asked)
        return payload

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
