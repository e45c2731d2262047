"""The report: the run's figures gathered into one dict (config, yardstick, rush per window, facts,
targets, checks), rendered as text, printed and written to bench/results/ as .txt and .json."""

import argparse
import json
import os
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.rush.api_client import HOLD, PAY
from bench.rush.bots import BotArmy
from bench.rush.challenge import Solver
from bench.rush.checks import Checks
from bench.rush.metrics import Metrics, percentile
from bench.rush.scenario import Fan

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"


def build_report(
    args: argparse.Namespace,
    *,
    run_id: str,
    machine: str,
    dates: int,
    seats_per_date: int,
    bases: Sequence[str],
    yardstick: dict[str, Any] | None,
    fans: Sequence[Fan],
    metrics: Metrics,
    opens_at: float,
    opens_wall: datetime,
    checks: Checks,
    facts: dict[str, Any],
    army: BotArmy | None = None,
    solver: Solver | None = None,
) -> dict[str, Any]:
    """The report of a finished rush. Adds the checks that come from the requests (no 5xx, no 429 for a fan)
    to `checks`."""
    wall = max((fan.arrival + (fan.finished_at or 0) for fan in fans), default=0.0) - min(
        [0.0, *(fan.arrival for fan in fans)]
    )
    rush_summary = metrics.summary()
    every_request = metrics.summary(since=0.0)["endpoints"]  # the form log-ins before the rush too
    bot_requests = army.metrics.summary(since=0.0)["endpoints"] if army else {}
    five_xx = sum(row["5xx"] for row in [*every_request.values(), *bot_requests.values()])
    transport = sum(sum(row["transport_errors"].values()) for row in [*every_request.values(), *bot_requests.values()])
    # A 429 is a fan of the normal flow refused by a rate limit: a failure (bots expect theirs).
    rate_limited = {name: row["status"].get("429", 0) for name, row in every_request.items()}
    windows = rush_windows(args, metrics, fans, opens_at)
    checks["no request answered 5xx (or failed to connect), fans' or bots'"] = (
        five_xx == 0 and transport == 0,
        f"{five_xx} 5xx, {transport} transport errors",
    )
    checks["no fan was rate limited (429)"] = (
        sum(rate_limited.values()) == 0,
        f"{sum(rate_limited.values())} 429s" + "".join(f", {name} {n}" for name, n in rate_limited.items() if n),
    )
    # From joining (or from the opening, for a fan who joined the pre-queue before it) to admission.
    waits = sorted(
        fan.admitted_at - max(0.0, fan.joined_at)
        for fan in fans
        if fan.admitted_at is not None and fan.joined_at is not None
    )
    # How long an admission sat unnoticed until the fan's next status poll (their place is idle meanwhile).
    first_admitted = facts.pop("first_admitted_at")
    lags = sorted(
        max(0.0, fan.admitted_at - (first_admitted[fan.email] - opens_wall).total_seconds())
        for fan in fans
        if fan.admitted_at and fan.email in first_admitted
    )
    endpoints = rush_summary["endpoints"]
    targets: Checks = {}
    if yardstick:
        for name, ratio in yardstick["ratios"].items():
            target = yardstick_target(yardstick, name)
            targets[f"{name} ≥ {target * 100:.0f}% of hello req/s"] = (ratio >= target, f"{ratio * 100:.0f}%")
    opening = windows[opening_title(args)]["endpoints"]
    for name in (HOLD, PAY) if args.api else ("hold (POST)", "pay (POST)"):
        if name in endpoints:
            p99 = endpoints[name]["p99_ms"]
            detail = f"{p99:.0f} ms"
            if name in opening:
                detail += f" (the opening's first {args.opening_window:.0f} s: {opening[name]['p99_ms']:.0f} ms)"
            targets[f"{name} p99 < 250 ms over the whole rush"] = (p99 < 250, detail)
    targets["zero double bookings, zero lost won, zero 5xx"] = (
        all(ok for ok, _ in checks.values()),
        "see checks",
    )
    web_workers = args.web_workers or os.environ.get("WEB_WORKERS") or max(1, (os.cpu_count() or 2) // 2)
    report = {
        "run_id": run_id,
        "machine": machine,
        "config": {
            "mode": mode(args),
            "fans": args.fans,
            "dates": dates,
            "seats_per_date": seats_per_date,
            "max_active": args.max_active,
            "admit_per_minute": args.admit_per_minute,
            "think": args.think,
            "hold_seconds": args.hold_seconds,
            "active_seconds": args.active_seconds,
            "patience": args.patience,
            "concurrency": args.concurrency,
            "web": f"{len(bases)} instances ({web_workers} workers × "
            f"{args.web_threads or os.environ.get('WEB_THREADS', 8)} threads)",
            "access_log": args.access_log,
            "booking_lane": args.lane,
            "prequeue_window": None if args.no_prequeue else args.prequeue_window,
            "late": None if args.no_prequeue else args.late,
            "late_spread": None if args.no_prequeue else args.late_spread,
            "spread": args.spread if args.no_prequeue else None,
            "prequeue_fans": sum(1 for fan in fans if fan.prequeue),
            "bots": len(army.bots) if army else 0,
            "form_logins": args.form_logins,
            "top_up": args.top_up,
        },
        "yardstick": yardstick,
        "rush": {
            "metrics": rush_summary,
            "windows": windows,
            "wall_s": wall,
            "facts": facts,
            "outcomes": dict(Counter(fan.outcome for fan in fans).most_common()),
            "admission_noticed_after_s": {"p50": percentile(lags, 50), "p95": percentile(lags, 95)} if lags else None,
            "admission_wait_s": {
                "p50": percentile(waits, 50),
                "p95": percentile(waits, 95),
                "max": waits[-1],
            }
            if waits
            else None,
            "queue_keys": metrics.queue_keys,
            "fan_notes": Counter(note for fan in fans for note in fan.notes).most_common(10),
            "challenges": {
                "solved": solver.solves,
                "cpu_s": solver.cpu_s,
                "wait_p50_s": percentile(sorted(solver.waits), 50),
                "wait_p99_s": percentile(sorted(solver.waits), 99),
            }
            if solver and solver.solves
            else None,
        },
        "bots": bot_report(army) if army else None,
        "checks": checks,
        "targets": targets,
    }
    return report


def mode(args: argparse.Namespace) -> str:
    """How the fans went: "pages" (a browser's requests; the default) or "api" (--api: an app's calls)."""
    return "api" if args.api else "pages"


def mode_line(config: dict[str, Any]) -> str:
    """The report's second line: which mode ran, so that two reports read side by side say which is which."""
    if config.get("mode") == "api":
        line = (
            "Mode: api (--api): the fans book through the JSON API (/api/v1/, a personal access token each); "
            "the tables are per API operation"
        )
        return line + ("; the bots through the pages" if config.get("bots") else "")
    logins = config.get("form_logins")
    return "Mode: pages: the fans book through the pages, as a browser" + (
        f" ({logins} log in through the form)" if logins else ""
    )


def opening_title(args: argparse.Namespace) -> str:
    return f"the opening's first {args.opening_window:.0f} s"


def rush_windows(
    args: argparse.Namespace, metrics: Metrics, fans: Sequence[Fan], opens_at: float
) -> dict[str, dict[str, Any]]:
    """The rush in parts: the pre-queue before the opening (if any), the opening's first seconds, the rest; and
    without the pre-queue the old split too: the opening burst (until the last fan's join was answered, where
    every fan's first three requests land) and after it."""
    opening_end = opens_at + args.opening_window
    bounds: dict[str, tuple[float | None, float | None, str | None]] = {}  # title: since, until, CPU reading
    if metrics.started < opens_at:
        bounds["the pre-queue, before the opening"] = (None, opens_at, "before the opening")
    bounds[opening_title(args)] = (opens_at, opening_end, "opening")
    bounds[f"after the first {args.opening_window:.0f} s"] = (opening_end, None, None)
    if args.no_prequeue:
        last_join = max((fan.joined_at for fan in fans if fan.joined_at is not None), default=0.0)
        bounds[f"opening burst: the first {last_join:.1f} s, until every fan had joined"] = (
            opens_at,
            opens_at + last_join,
            None,
        )
        bounds["after every fan had joined"] = (opens_at + last_join, None, None)
    windows = {}
    for title, (since, until, cpu) in bounds.items():
        windows[title] = metrics.summary(since=since, until=until)
        windows[title]["cpu"] = metrics.window_cpu.get(cpu) if cpu else None  # only the windows metered apart
    return windows


def bot_report(army: BotArmy) -> dict[str, Any]:
    """What the bots sent and got: per endpoint, the refusals they met, what became of them."""
    summary = army.metrics.summary()
    statuses: Counter[str] = Counter()
    for row in summary["endpoints"].values():
        statuses.update(row["status"])
    return {
        "metrics": summary,
        "statuses": dict(sorted(statuses.items())),
        "429": statuses.get("429", 0),
        "4xx": sum(count for code, count in statuses.items() if code.startswith("4")),
        "5xx": sum(count for code, count in statuses.items() if code.startswith("5")),
        "outcomes": dict(Counter(bot.outcome for bot in army.bots).most_common()),
        "admitted": sum(1 for bot in army.bots if bot.admitted_at is not None),
        "seats": sum(bot.seats for bot in army.bots),
        "challenges_solved": army.solver.solves,
        "challenge_cpu_s": army.solver.cpu_s,
        "notes": Counter(note for bot in army.bots for note in bot.notes).most_common(10),
    }


def publish(report: dict[str, Any]) -> None:
    """Print the report and write it to bench/results/rush-<run id>.txt and .json."""
    run_id = report["run_id"]
    text = render_report(report)
    print()
    print(text)
    (RESULTS_DIR / f"rush-{run_id}.json").write_text(json.dumps(report, indent=2, default=str))
    (RESULTS_DIR / f"rush-{run_id}.txt").write_text(text + "\n")
    print(f"\nwritten to {RESULTS_DIR / f'rush-{run_id}.txt'} (and .json)")
    if report["rush"]["fan_notes"]:
        print("fan notes:", report["rush"]["fan_notes"])


def publish_yardstick(run_id: str, machine: str, yardstick: dict[str, Any], concurrency: int) -> None:
    """A yardstick-only run (`--yardstick-only`): print it and write bench/results/yardstick-<run id>.txt and
    .json, so its figures can be quoted by run id like a rush's."""
    text = f"Frontrow yardstick — {run_id} — {machine}\n\n" + render_yardstick(yardstick, concurrency)
    print()
    print(text)
    payload = {"run_id": run_id, "machine": machine, "concurrency": concurrency, "yardstick": yardstick}
    (RESULTS_DIR / f"yardstick-{run_id}.json").write_text(json.dumps(payload, indent=2, default=str))
    (RESULTS_DIR / f"yardstick-{run_id}.txt").write_text(text + "\n")
    print(f"\nwritten to {RESULTS_DIR / f'yardstick-{run_id}.txt'} (and .json)")


def table(summary: dict[str, Any], title: str) -> str:
    # The pages' names fit in 28 characters; the API's operations ("GET /reservations/{id}/cancellation") take more.
    width = max([28, *(len(name) for name in summary["endpoints"])])
    lines = [
        f"{title} ({summary['duration_s']:.1f} s)",
        f"  {'endpoint':<{width}} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        "  statuses",
    ]
    for name, row in summary["endpoints"].items():
        statuses = " ".join(f"{code}×{count}" for code, count in row["status"].items())
        if row["transport_errors"]:
            statuses += " " + " ".join(f"{kind}×{count}" for kind, count in row["transport_errors"].items())
        lines.append(
            f"  {name:<{width}} {row['requests']:>8} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
            f"{row['p99_ms']:>8.1f} {row['max_ms']:>8.1f}  {statuses}"
        )
    cpu = summary.get("cpu")
    if cpu:
        requests = sum(row["requests"] for row in summary["endpoints"].values())
        lines.append(
            f"  CPU over {cpu['wall_s']:.1f} s on {cpu['cpus']} CPUs: stack {cpu['stack_cpu_s']:.1f} s, "
            f"load generator {cpu['generator_cpu_s']:.1f} s ({cpu['generator_cpu_s'] * 1000 / max(requests, 1):.2f} ms "
            f"per request), everything else {cpu['other_cpu_s']:.1f} s "
            f"(machine busy {cpu['machine_cpu_s'] / (cpu['wall_s'] * cpu['cpus']) * 100:.0f}%)"
        )
        if cpu.get("stack_processes_cpu_s"):
            lines.append(
                "  stack CPU by process: "
                + ", ".join(f"{name} {value:.1f} s" for name, value in cpu["stack_processes_cpu_s"].items())
            )
        if cpu.get("servers"):
            lines.extend(f"  {line}" for line in server_lines(cpu["servers"], requests))
    return "\n".join(lines)


def server_lines(servers: dict[str, Any], requests: int) -> list[str]:
    """PostgreSQL's and Redis's work over a phase (bench.rush.servers), and per request of the phase."""
    pg, redis = servers["postgres"], servers["redis"]
    xacts = pg["xact_commit"] + pg["xact_rollback"]
    top = ", ".join(f"{name} {calls}" for name, calls in list(redis["commands"].items())[:6])
    per = max(requests, 1)
    return [
        f"PostgreSQL (the stack's database): {xacts} transactions ({pg['xact_rollback']} rolled back), "
        f"{pg['tup_inserted']} rows inserted, {pg['tup_updated']} updated; Redis (whole server): {redis['calls']} "
        f"commands ({top}), {redis['cpu_s']:.1f} CPU-s, memory {redis['used_memory_start'] / 2**20:.1f} → "
        f"{redis['used_memory_end'] / 2**20:.1f} MiB",
        f"per request: {xacts / per:.2f} PostgreSQL transactions, {redis['calls'] / per:.2f} Redis commands; "
        "server CPU: " + ", ".join(f"{name} {value:.1f} s" for name, value in servers["process_cpu_s"].items()),
    ]


def yardstick_target(yardstick: dict[str, Any], name: str) -> float:
    """The share of hello's requests/s an endpoint must reach (reports written before issue 14 have none: 50%)."""
    return float(yardstick.get("targets", {}).get(name, 0.5))


def cpu_per_request(summary: dict[str, Any]) -> dict[str, float] | None:
    """A closed-loop run's CPU milliseconds per request: the stack (the web instances, all of it), the load
    generator, and everything else (PostgreSQL, Redis, other work on the machine)."""
    cpu, requests = summary.get("cpu"), sum(row["requests"] for row in summary["endpoints"].values())
    if not cpu or not requests:
        return None
    return {name: cpu[f"{name}_cpu_s"] * 1000 / requests for name in ("stack", "generator", "other", "machine")}


def render_yardstick(yardstick: dict[str, Any], concurrency: int) -> str:
    out = []
    for name, summary in yardstick["runs"].items():
        out.append(table(summary, f"Yardstick: {name}, closed loop, {concurrency} workers"))
        per_request = cpu_per_request(summary)
        if per_request:
            out.append(
                f"  CPU per request: stack {per_request['stack']:.2f} ms, load generator "
                f"{per_request['generator']:.2f} ms, everything else {per_request['other']:.2f} ms "
                f"(machine {per_request['machine']:.2f} ms)"
            )
    out.append("")
    out.append(f"  hello (mean of two runs): {yardstick['hello_rps']:.1f} req/s")
    for name, ratio in yardstick["ratios"].items():
        target = yardstick_target(yardstick, name)
        verdict = "met" if ratio >= target else "missed"
        out.append(f"  {name}: {ratio * 100:.0f}% of hello's requests/s (target ≥ {target * 100:.0f}%: {verdict})")
    return "\n".join(out)


def render_report(report: dict[str, Any]) -> str:
    cfg = report["config"]
    out = [f"Frontrow rush — {report['run_id']} — {report['machine']}", mode_line(cfg), ""]
    if cfg.get("prequeue_window"):
        arrivals = (
            f"pre-queue: {cfg['prequeue_fans']} fans arrive over the {cfg['prequeue_window']:.0f} s before the "
            f"opening, {cfg['fans'] - cfg['prequeue_fans']} within {cfg['late_spread']:.0f} s after it"
        )
    else:
        arrivals = f"no pre-queue: every fan arrives within {cfg['spread']:.0f} s after the opening"
    top_up = f"; {cfg['top_up']:.0%} of payers top up" if cfg.get("top_up") else ""
    out.append(arrivals + (f"; {cfg['bots']} bots" if cfg.get("bots") else "") + top_up)
    out.append(
        f"{cfg['fans']} fans, {cfg['dates']} dates × {cfg['seats_per_date']} seats, max_active {cfg['max_active']}"
        + (f" admitted at {cfg['admit_per_minute']:,}/min, " if cfg.get("admit_per_minute") else ", ")
        + f"think {cfg['think']} s, hold {cfg['hold_seconds']} s, web {cfg['web']}"
        + (
            f"; booking lane: seat map, hold, checkout and pay on {cfg['booking_lane']}"
            if cfg.get("booking_lane")
            else "; no booking lane (--no-booking-lane): every request on the public instances"
        )
    )
    out.append("")
    if report.get("yardstick"):
        out.append(render_yardstick(report["yardstick"], cfg["concurrency"]))
        out.append("")
    out.append(table(report["rush"]["metrics"], "Rush, from the first arrival to the last fan"))
    out.append("")
    for title, summary in report["rush"]["windows"].items():
        out.append(table(summary, f"Rush, {title}"))
        out.append("")
    rush = report["rush"]
    facts = rush["facts"]
    gone, last = facts["no_seat_free_after_opening_s"], facts["last_sale_after_opening_s"]
    sold = f"every seat held or paid {gone:.1f} s after the sale opened" if gone else "some seat was always free"
    if facts["sold_out"]:
        sold += f"; every seat paid {last:.1f} s after (the last sale)"
    else:
        sold += f"; {facts['reserved']} of {facts['seats']} seats paid at the end" + (
            f", the last {last:.1f} s after opening" if last else ""
        )
    out.append(f"Time to sell out: {sold}")
    out.append(f"Rush wall time (first arrival to last fan done): {rush['wall_s']:.1f} s")
    out.append(f"Fans: {', '.join(f'{count} {name}' for name, count in rush['outcomes'].items())}")
    admitted_waits = rush["admission_wait_s"]
    if admitted_waits:
        out.append(
            f"Wait from joining to admission: p50 {admitted_waits['p50']:.1f} s, p95 {admitted_waits['p95']:.1f} s, "
            f"max {admitted_waits['max']:.1f} s"
        )
    noticed = rush.get("admission_noticed_after_s")
    if noticed:
        out.append(
            f"Admission noticed by the fan's next status poll after: p50 {noticed['p50']:.1f} s, "
            f"p95 {noticed['p95']:.1f} s (the place is idle meanwhile)"
        )
    out.append(
        f"Reservations: {facts['reservations']}; won paid {facts['won_paid']:,}, refunded {facts['won_refunded']:,}"
    )
    draw = facts.get("draw")
    if draw and draw["after_opening_s"] is not None:
        out.append(
            f"Draw: {draw['size']} pre-queue entrants placed {draw['after_opening_s']:.2f} s after the opening "
            f"({draw['left_before']} left before it); {draw['late_visits']} visits queued after it"
        )
    for moment, keys in (rush.get("queue_keys") or {}).items():
        out.append(
            f"Redis queue keys {moment}: "
            + ", ".join(
                f"{name} ({row['keys']:,} × {row['type']}) {row['members']:,} members {row['bytes'] / 1024:,.0f} KiB"
                + (f" = {row['bytes'] / row['members']:.0f} B each" if row["members"] > 1 else "")
                for name, row in keys.items()
            )
            + f"; {sum(row['bytes'] for row in keys.values()) / 1024:,.0f} KiB in all"
        )
    challenges = rush.get("challenges")
    if challenges:
        out.append(
            f"Entry challenges: {challenges['solved']} solved at nice 19 (the fans' devices' work), "
            f"{challenges['cpu_s']:.1f} CPU-s; a solve took p50 {challenges['wait_p50_s']:.2f} s, "
            f"p99 {challenges['wait_p99_s']:.2f} s"
        )
    bots = report.get("bots")
    if bots:
        out.append("")
        out.append(table(bots["metrics"], "Bots (their own requests; refusals expected)"))
        out.append(
            f"Bots: {', '.join(f'{count} {name}' for name, count in bots['outcomes'].items())}; "
            f"{bots['admitted']} admitted, {bots['seats']} seats bought; refusals: {bots['429']} × 429, "
            f"{bots['4xx'] - bots['429']} other 4xx; {bots['5xx']} 5xx; {bots['challenges_solved']} challenges "
            f"solved ({bots['challenge_cpu_s']:.1f} CPU-s at nice 19)"
        )
        if draw and draw["bot_places"]:
            places = draw["bot_places"]
            out.append(
                f"Bots' drawn places among {draw['size']}: {', '.join(str(p) for p in places[:12])}"
                + (" ..." if len(places) > 12 else "")
                + f" (median {places[len(places) // 2]})"
            )
        if bots["notes"]:
            out.append(f"Bot notes: {bots['notes']}")
    out.append("")
    out.append("Targets:")
    for name, (ok, detail) in report["targets"].items():
        out.append(f"  [{'PASS' if ok else 'MISS'}] {name}: {detail}")
    out.append("")
    out.append("Checks:")
    for name, (ok, detail) in report["checks"].items():
        out.append(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    return "\n".join(out)


def machine_description() -> str:
    cpus = os.cpu_count()
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return f"{cpus} CPUs, load average {load:.2f} at start"
