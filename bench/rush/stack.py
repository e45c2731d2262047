"""The stack under test: `honcho start -f Procfile` (web instances, Celery worker and beat, RQ worker)
started, waited for, and stopped with everything it started."""

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.rush.client import YARDSTICK_NETWORK
from bench.rush.cpu import descendants, process_table

BASE_DIR = Path(__file__).resolve().parents[2]


class Stack:
    """`honcho start -f Procfile` in its own process group, output to a log file."""

    def __init__(
        self, args: argparse.Namespace, ports: Sequence[int], log_path: Path, public_nice: str | None = None
    ) -> None:
        """`public_nice` overrides the public instances' CPU priority (the Procfile's PUBLIC_NICE)."""
        env = {
            **os.environ,
            "WEB1_PORT": str(ports[0]),
            "WEB2_PORT": str(ports[1]),
            "HOLD_SECONDS": str(args.hold_seconds),
            "ACTIVE_SECONDS": str(args.active_seconds),
            "ACCESS_LOG": "true" if args.access_log else "false",
            # Confirmation e-mails are still rendered (QR codes and all) by the RQ worker, then dropped
            # instead of printed into the stack's log.
            "EMAIL_URL": os.environ.get("BENCH_EMAIL_URL", "dummymail://"),
            # As behind one load balancer: the client address is the one it appends to X-Forwarded-For (each
            # fan's own, see client.py), so the rate limits and django-axes count per fan, not per generator.
            "TRUSTED_PROXY_COUNT": "1",
            "RATE_LIMIT_EXEMPT_NETWORKS": YARDSTICK_NETWORK,  # the yardstick's probes only
        }
        if args.web_workers:
            env["WEB_WORKERS"] = str(args.web_workers)
        if args.web_threads:
            env["WEB_THREADS"] = str(args.web_threads)
        env.pop("DB_POOL", None)  # the Procfile decides per process
        self.public_nice = public_nice
        if public_nice is not None:
            env["PUBLIC_NICE"] = public_nice
        procfile = BASE_DIR / "Procfile"
        if args.lane:
            env["BOOKING_PORT"] = str(ports[2])
        else:
            # --no-booking-lane: the stack as it was before it had one, every request on web1 and web2 at the
            # usual priority.
            env["PUBLIC_NICE"] = "0"
            laneless = log_path.with_name(f"Procfile-{log_path.stem}")
            laneless.write_text(without_booking_lane(procfile.read_text()))
            procfile = laneless
        self.log_path = log_path
        self.log = log_path.open("w")
        honcho = Path(sys.executable).with_name("honcho")
        self.process = subprocess.Popen(
            [str(honcho), "start", "-f", str(procfile), "-d", str(BASE_DIR)],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def processes(self) -> dict[str, int]:
        """{"web1.1": pid, ...} from honcho's "web1.1 started (pid=...)" lines."""
        started = re.findall(r"\| (\S+) started \(pid=(\d+)\)", self.log_path.read_text(errors="replace"))
        return {name.removesuffix(".1"): int(pid) for name, pid in started}

    def wait_ready(self, bases: Sequence[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        wanted = ("celery@", "beat: Starting", "Listening on")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited; see {self.log_path}")
            text = self.log_path.read_text(errors="replace")
            try:
                web_ok = all(httpx.get(f"{base}/healthz/", timeout=2).status_code == 200 for base in bases)
            except httpx.HTTPError:
                web_ok = False
            if web_ok and all(marker in text for marker in wanted) and " ready." in text:
                return
            time.sleep(0.5)
        raise RuntimeError(f"the stack did not come up in {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        table = process_table()
        ours = {pid: table[pid]["started"] for pid in descendants(self.process.pid, table)}
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # honcho stops its processes in turn
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid, row in process_table().items():  # anything of ours that honcho left behind
            if ours.get(pid) == row["started"]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.log.close()


def without_booking_lane(procfile: str) -> str:
    """The Procfile without its `booking` instance (`--no-booking-lane`)."""
    return "".join(line for line in procfile.splitlines(True) if not line.startswith("booking:"))


def port_in_use(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.ConnectError:
        return False
    except httpx.HTTPError:
        return True
    return True
