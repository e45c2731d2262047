"""The command line (`python -m bench.rush`, see bench/rush/__init__.py): the options, and the run in
order: stack, setup, yardstick, rush, checks, report. Exit status 1 if a check failed."""

import argparse
import asyncio
import math
import os
import random
import sys
import time
from collections.abc import Sequence
from datetime import timedelta

from bench import rush
from bench.rush.bots import Bot, BotArmy
from bench.rush.challenge import Solver
from bench.rush.checks import check_database
from bench.rush.client import bot_address, fan_address
from bench.rush.fixtures import api_tokens, create_concert, create_fans, django_setup, session_cookies, wait_for_jobs
from bench.rush.report import RESULTS_DIR, build_report, machine_description, publish, publish_yardstick
from bench.rush.scenario import Fan, run_rush
from bench.rush.stack import Stack, port_in_use
from bench.rush.yardstick import admission_needed, run_yardstick


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rush", description=(rush.__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--fans", type=int, default=2000, help="fans in the rush (default 2000)")
    add(
        "--api",
        action="store_true",
        help="the fans book through the JSON API (/api/v1/, a personal access token each) instead of the pages, "
        "the same journey step for step; the figures are per API operation (the bots stay on the pages)",
    )
    add("--dates", type=int, default=None, help="concert dates on sale (default: fans / seats per date)")
    add(
        "--no-prequeue",
        action="store_true",
        help="the stampede before the pre-queue: every fan arrives within --spread seconds after the opening",
    )
    add(
        "--prequeue-window",
        type=float,
        default=None,
        help="fans arrive over this many seconds before the opening, the pre-queue open throughout "
        "(default 60, past 2,000 fans fans × 0.06: 600 for 10,000)",
    )
    add("--late", type=float, default=0.10, help="share of fans who arrive after the opening anyway (default 0.10)")
    add(
        "--late-spread",
        type=float,
        default=None,
        help="late fans arrive within this many seconds of the opening (default 30, or fans × 0.009: 90 for 10,000)",
    )
    add("--spread", type=float, default=3.0, help="--no-prequeue: fans arrive within this many seconds of the opening")
    add("--lead", type=float, default=5.0, help="seconds between the end of setup and the first arrival")
    add("--opening-window", type=float, default=30.0, help="the report shows the opening's first N seconds apart")
    add(
        "--challenge-max-number",
        type=int,
        default=10_000,
        help="the rush room's challenge difficulty (admin setting; default 10000, a tenth of a new room's: see README)",
    )
    add("--bots", type=int, default=0, help="scripted clients that skip the pages and hammer join, poll and hold")
    add("--bot-early", type=float, default=3.0, help="bots start this many seconds before the pre-queue opens")
    add("--bot-hammer", type=float, default=10.0, help="bots hammer the join until this many seconds after opening")
    add("--bot-interval", type=float, default=0.2, help="seconds between a bot's join POSTs")
    add("--bot-poll", type=float, default=0.25, help="seconds between a bot's status polls")
    add("--bot-addresses", type=int, default=0, help="client addresses the bots share (default: one each)")
    add(
        "--max-active",
        type=int,
        default=None,
        help="fans admitted at once, the waiting room's max_active (default 100, or fans × 0.03: 300 for 10,000)",
    )
    add(
        "--admit-per-minute",
        type=int,
        default=None,
        help="the rush room's admission rate, fans let in per minute (default QUEUE_ADMIT_PER_MINUTE, 1,200)",
    )
    add("--think", type=float, default=1.0, help="mean seconds a fan takes between two clicks (0 = none)")
    add("--patience", type=float, default=15.0, help="seconds a fan keeps looking for returned seats")
    add("--abandon", type=float, default=0.10, help="share of fans who hold and never pay")
    add("--cancel", type=float, default=0.05, help="share of fans who cancel after paying")
    add("--double-pay", type=float, default=0.03, help="share of payers who double-click pay (two instances)")
    add(
        "--top-up",
        type=float,
        default=0.0,
        help="share of payers who then top up their wallet (the wallet page's form, or with --api POST /wallet/top-ups)"
        " (default 0)",
    )
    add("--form-logins", type=int, default=10, help="fans who log in through the real login form (none with --api)")
    add("--yardstick-seconds", type=float, default=8.0, help="seconds per closed-loop yardstick run")
    add("--concurrency", type=int, default=32, help="workers per closed-loop yardstick run")
    add("--connections", type=int, default=400, help="most HTTP connections the load generator opens")
    add(
        "--timeout",
        type=float,
        default=None,
        help="give up on the rush after this many seconds (default 900, or fans × 0.3: 3,000 for 10,000)",
    )
    add("--hold-seconds", type=int, default=30, help="HOLD_SECONDS for the stack this script starts")
    add("--active-seconds", type=int, default=90, help="ACTIVE_SECONDS for the stack this script starts")
    add("--web-workers", type=int, default=None, help="gunicorn workers per instance (stack default: CPUs / 2)")
    add("--web-threads", type=int, default=None, help="gunicorn threads per worker (stack default 8)")
    add("--access-log", action="store_true", help="keep gunicorn's per-request JSON access log on")
    add(
        "--no-booking-lane",
        dest="booking_lane",
        action="store_false",
        help="no booking lane: the stack without its `booking` instance, every request round-robin on web1 and web2 "
        "(by default seat map, hold, checkout and pay go to `booking`, BOOKING_PORT 8003, as the README's load "
        "balancer routes them)",
    )
    add("--no-stack", action="store_true", help="use a stack already running on --ports")
    add(
        "--ports",
        default=None,
        help="web instance ports, comma-separated (default WEB1_PORT,WEB2_PORT,BOOKING_PORT; the third is the lane)",
    )
    add("--skip-yardstick", action="store_true", help="rush only")
    add("--yardstick-only", action="store_true", help="no rush: the yardstick only (hello and the pages)")
    add("--seed", type=int, default=None, help="random seed for the fans' choices")
    args = parser.parse_args(argv)
    if args.api:
        args.form_logins = 0  # an app's fan has a token: nobody logs in through the form
    scale_defaults(args)
    span = admission_needed(args.yardstick_seconds)
    if not args.skip_yardstick and span > args.active_seconds:
        # Otherwise the seat map answers with a redirect to the waiting room minutes in and the yardstick stops.
        parser.error(
            f"--yardstick-seconds {args.yardstick_seconds:g}: the seat map's run would end about {span:.0f} s after "
            f"the probes were admitted, past their admission (--active-seconds {args.active_seconds}); "
            f"raise --active-seconds to at least {span:.0f}"
        )
    return args


def scale_defaults(args: argparse.Namespace) -> None:
    """The defaults that grow with the fans (from 3,334 on) past the 2,000-fan rush they were set for, so that a
    bigger rush keeps its shape on the same machine: arrivals at most ~15 a second into the pre-queue and ~11 a second
    after the opening (each is a concert page, a challenge, a join and a waiting-room page), a waiting
    room that admits in proportion (at max_active 100 a 10,000-fan sale would take most of an hour: the
    abandoned holds alone keep ~1,000 places for ACTIVE_SECONDS each; far more than enough to keep two CPUs
    busy would only queue the admitted fans' requests in gunicorn), and time enough to finish."""
    if args.prequeue_window is None:
        # 180 s for 10,000 fans (run 20261130-152436) overloaded two CPUs: ~46 ms of the machine per arrival
        # (concert page, challenge, join, waiting-room page) plus the entrants' polls every 30 s (9,000 / 30 a
        # second at 1.8 ms each by the end) left requests waiting past the client's 60 s. 600 s keeps both
        # under ~60% of two CPUs; not yet run at 10,000. (Entrants now poll every 60 s, MAX_POLL_SECONDS.)
        args.prequeue_window = 60.0 if args.fans <= 2000 else args.fans * 0.06
    if args.late_spread is None:
        args.late_spread = max(30.0, args.fans * 0.009)
    if args.max_active is None:
        args.max_active = max(100, round(args.fans * 0.03))
    if args.timeout is None:
        args.timeout = max(900.0, args.fans * 0.3)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seed is not None:
        random.seed(args.seed)
    args.probe_admitted = max(1, args.concurrency // 4)
    args.stack_pid, args.stack_processes = None, {}
    ports = [
        int(port)
        for port in (args.ports or f"{os.environ.get('WEB1_PORT', 8001)},{os.environ.get('WEB2_PORT', 8002)}").split(
            ","
        )
    ]
    args.lane = None
    if args.booking_lane:
        if len(ports) < 3:
            ports.append(int(os.environ.get("BOOKING_PORT", 8003)))
        args.lane = f"http://127.0.0.1:{ports[2]}"
    bases = [f"http://127.0.0.1:{port}" for port in ports[:2]]
    run_id = time.strftime("%Y%m%d-%H%M%S") + ("-api" if args.api else "")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)

    solver = Solver()  # the fans' devices
    bot_solver = Solver(workers=1)  # the bots' own machine(s): they must not take the fans' turn
    stack = None
    if not args.no_stack:
        busy = [port for port in ports if port_in_use(port)]
        if busy:
            sys.exit(f"ports {busy} are in use: stop that server, or pass --no-stack to bench the stack running there")
        # The yardstick measures what each request costs, so its stack runs every web instance at the same
        # priority; the rush gets the stack as the Procfile runs it, the public instances below the booking
        # lane (a lower priority would otherwise slow hello, the yardstick's unit, more than the pages).
        equal = args.lane and not args.skip_yardstick
        stack = Stack(args, ports, RESULTS_DIR / f"stack-{run_id}.log", public_nice="0" if equal else None)
        args.stack_pid = stack.process.pid
    try:
        django_setup()
        from django.conf import settings
        from django.utils import timezone

        machine = machine_description()
        args.servers = (settings.DATABASES["default"], settings.REDIS_URL)  # read by bench.rush.servers
        if stack:
            print(f"starting the stack (honcho, log in {stack.log_path}) ...", flush=True)
            stack.wait_ready(bases + ([args.lane] if args.lane else []))
            args.stack_processes = stack.processes()

        backlog = wait_for_jobs()
        if backlog:
            print(f"warning: {backlog} background jobs of an earlier run still queued; they will run meanwhile")
        dates = args.dates or max(1, math.ceil(args.fans / settings.SEATS_PER_DATE))
        print(f"setup: {args.fans} fans, {dates} dates ...", flush=True)
        setup_started = time.monotonic()
        users = create_fans(run_id, args.fans, "fan")
        bot_users = create_fans(run_id, args.bots, "bot")
        probe_users = create_fans(run_id, args.concurrency, "probe")
        if args.api:
            fan_tokens, fan_cookies = api_tokens(users), []
        else:
            fan_tokens, fan_cookies = [], session_cookies(users[args.form_logins :])  # a few log in through the form
        fans = []
        for index, user in enumerate(users):
            # With the pre-queue, fans arrive over the window before the opening (a share of them after it);
            # without it, every fan within a few seconds after the opening.
            prequeue = not args.no_prequeue and random.random() >= args.late
            if args.no_prequeue:
                arrival = random.uniform(0.05, args.spread)
            else:
                arrival = (
                    -random.uniform(0.05, args.prequeue_window) if prequeue else random.uniform(0.05, args.late_spread)
                )
            fans.append(
                Fan(
                    index=index,
                    email=user.email,
                    address=fan_address(index),
                    cookies={} if args.api or index < args.form_logins else fan_cookies[index - args.form_logins],
                    arrival=arrival,
                    abandons=random.random() < args.abandon,
                    cancels=random.random() < args.cancel,
                    double_pays=random.random() < args.double_pay,
                    prequeue=prequeue,
                    # Drawn only when asked for, so that a run without top-ups draws what it always drew.
                    tops_up=args.top_up > 0 and random.random() < args.top_up,
                    token=fan_tokens[index] if args.api else "",
                )
            )
        bots = [
            Bot(index=index, email=user.email, cookies=cookies, address=bot_address(index, args.bot_addresses))
            for index, (user, cookies) in enumerate(zip(bot_users, session_cookies(bot_users), strict=True))
        ]
        probes = [] if args.api else session_cookies(probe_users)
        probe_tokens = api_tokens(probe_users) if args.api else []
        probe_concert = create_concert(
            run_id,
            "Bench yardstick",
            dates=1,
            opens_at=timezone.now() - timedelta(hours=1),
            max_active=args.probe_admitted,
            challenge=False,  # the yardstick measures the pages and the poll; its probes join once, unsolved
        )
        probe_date = probe_concert.dates.get()
        print(f"setup took {time.monotonic() - setup_started:.1f} s", flush=True)

        yardstick = None
        if not args.skip_yardstick:
            runs = "queue status, waiting room page, concert page, seat map"
            if args.api:
                runs = "the API's place, concert and seats"
            print(f"yardstick: hello, {runs} (closed loop) ...", flush=True)
            yardstick = asyncio.run(
                run_yardstick(args, bases, str(probe_concert.pk), str(probe_date.pk), probes, tokens=probe_tokens)
            )
        if stack and stack.public_nice is not None and not args.yardstick_only:
            print("restarting the stack with the Procfile's priorities for the rush ...", flush=True)
            stack.stop()
            stack = Stack(args, ports, RESULTS_DIR / f"stack-{run_id}-rush.log")
            args.stack_pid = stack.process.pid
            stack.wait_ready(bases + [args.lane])
            args.stack_processes = stack.processes()
        if args.yardstick_only:
            if yardstick:
                publish_yardstick(run_id, machine, yardstick, args.concurrency)
            return 0

        concert = create_concert(
            run_id,
            "Bench rush",
            dates=dates,
            opens_at=timezone.now() + timedelta(days=1),
            max_active=args.max_active,
            admit_per_minute=args.admit_per_minute,
            challenge_max_number=args.challenge_max_number,
        )
        args.admit_per_minute = concert.waiting_room.admit_per_minute  # the report says what the room used
        # The first arrival comes `lead` seconds from now (bots a little earlier, before the pre-queue opens);
        # with the pre-queue, the sale opens a window later and the pre-queue opens just before the first fan.
        lead = max(args.lead, args.bot_early + 2) if bots else args.lead
        window = 0.0 if args.no_prequeue else args.prequeue_window
        opens_wall = timezone.now() + timedelta(seconds=lead + window)
        opens_at = time.monotonic() + lead + window
        # --no-prequeue: a pre-queue that opens a millisecond before the sale is none at all.
        prequeue_opens = opens_wall - timedelta(seconds=window + 0.5 if window else 0.001)
        type(concert).objects.filter(pk=concert.pk).update(sale_opens_at=opens_wall, prequeue_opens_at=prequeue_opens)
        army = None
        if bots:
            bots_start = opens_at - window - 0.5 - args.bot_early
            date_ids = [str(pk) for pk in concert.dates.values_list("pk", flat=True)]
            army = BotArmy(args, bases, str(concert.pk), date_ids, opens_at, bots_start, bot_solver, bots)
        print(
            f"rush: the sale opens in {lead + window:.0f} s for {args.fans} fans"
            + (f" (the pre-queue in {lead - 0.5:.0f} s)" if window else "")
            + (f" and {len(bots)} bots" if bots else "")
            + " ...",
            flush=True,
        )
        rush_metrics = asyncio.run(
            run_rush(args, bases, str(concert.pk), fans, opens_at, solver, alongside=[army.run] if army else [])
        )

        joins = {fan.email: fan.joins for fan in fans} | {bot.email: bot.joins for bot in bots}
        checks, facts = check_database(concert, [*users, *bot_users], opens_wall, joins=joins, bots=bot_users)
        report = build_report(
            args,
            run_id=run_id,
            machine=machine,
            dates=dates,
            seats_per_date=settings.SEATS_PER_DATE,
            bases=bases,
            yardstick=yardstick,
            fans=fans,
            metrics=rush_metrics,
            opens_at=opens_at,
            opens_wall=opens_wall,
            checks=checks,
            facts=facts,
            army=army,
            solver=solver,
        )
        publish(report)
        return 0 if all(ok for ok, _ in checks.values()) else 1
    finally:
        solver.close()
        bot_solver.close()
        if stack:
            print("stopping the stack ...", flush=True)
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
