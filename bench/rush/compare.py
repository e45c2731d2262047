"""Two rush reports side by side: usually one sale through the pages (`make bench`) and the same through the JSON
API (`make bench BENCH_ARGS="--api"`), journey step by journey step, each step's page beside the API operation
that does its work.

    python -m bench.rush.compare                           # the newest report of each mode in bench/results/
    python -m bench.rush.compare A.json B.json             # these two (any modes)

Prints, per step, each side's requests, p50 and p99; then the whole rush's requests, the stack's CPU per request
and per fan, PostgreSQL's transactions and Redis's commands per request, hold and pay p99, the fans' outcomes and
the checks; and the yardsticks' ratios to hello when both have one. Writes nothing.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.rush.api_client import (
    BALANCE,
    CANCEL,
    CHALLENGE,
    CONCERT,
    ENTER,
    HOLD,
    HOLDS,
    LEAVE,
    PAY,
    PLACE,
    QUOTE,
    RESERVATIONS,
    SEATS,
    TOP_UP,
)

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"

# (the step, the page's endpoint, the API's operation): None where a mode has no such request.
STEPS: list[tuple[str, str | None, str | None]] = [
    ("log-in page", "login page", None),
    ("log-in", "login (POST)", None),
    ("concert", "concert page", CONCERT),
    ("entry challenge", "queue challenge", CHALLENGE),
    ("join the waiting room", "queue join (POST)", ENTER),
    ("waiting room page", "waiting room page", None),
    ("status poll", "queue status", PLACE),
    ("seats", "seat map", SEATS),
    ("hold", "hold (POST)", HOLD),
    ("checkout: my holds", "checkout page", HOLDS),
    ("pay", "pay (POST)", PAY),
    ("wallet", "wallet page", BALANCE),
    ("top-up", "top-up (POST)", TOP_UP),
    ("my reservations", "reservations page", RESERVATIONS),
    ("cancel: the fee", "cancel page", QUOTE),
    ("cancel", "cancel (POST)", CANCEL),
    ("leave the waiting room", "queue leave (POST)", LEAVE),
]
# The yardstick's runs that do the same work: the page's run name, the API's (with --api a run is its operation).
YARDSTICK_RUNS = [
    ("status poll", "queue status", PLACE),
    ("waiting room page", "waiting room page", None),
    ("concert", "concert page", CONCERT),
    ("seats", "seat map", SEATS),
]


def mode(report: dict[str, Any]) -> str:
    """ "pages" or "api" (reports written before --api existed are the pages')."""
    return str(report["config"].get("mode", "pages"))


def endpoint_for(report: dict[str, Any], step: tuple[str, str | None, str | None]) -> str | None:
    return step[2] if mode(report) == "api" else step[1]


def step_rows(left: dict[str, Any], right: dict[str, Any]) -> list[list[str]]:
    """A row per journey step either report has requests for: the step, then per report its endpoint (page or
    operation), requests, p50 and p99 in ms."""
    rows = []
    for step in STEPS:
        cells, found = [step[0]], False
        for report in (left, right):
            name = endpoint_for(report, step)
            row = report["rush"]["metrics"]["endpoints"].get(name) if name else None
            found = found or row is not None
            if row is None:
                cells += [name or "—", "", "", ""]
            else:
                cells += [name or "", str(row["requests"]), f"{row['p50_ms']:.1f}", f"{row['p99_ms']:.1f}"]
        if found:
            rows.append(cells)
    return rows


OUTCOMES = "fans' outcomes"


def totals(report: dict[str, Any]) -> dict[str, str]:
    """The whole rush's figures, as text, by the row names the comparison prints."""
    summary = report["rush"]["metrics"]
    endpoints = summary["endpoints"]
    requests = sum(row["requests"] for row in endpoints.values())
    fans = report["config"]["fans"]
    out = {
        "fans": str(fans),
        "requests (per fan)": f"{requests:,} ({requests / max(fans, 1):.1f})",
        "rush wall time": f"{report['rush']['wall_s']:.1f} s",
    }
    cpu = summary.get("cpu")
    if cpu:
        out["stack CPU"] = (
            f"{cpu['stack_cpu_s']:.1f} s: {cpu['stack_cpu_s'] * 1000 / max(requests, 1):.2f} ms a request, "
            f"{cpu['stack_cpu_s'] * 1000 / max(fans, 1):.0f} ms a fan"
        )
        out["load generator CPU"] = f"{cpu['generator_cpu_s']:.1f} s"
        out["machine busy"] = f"{cpu['machine_cpu_s'] / (cpu['wall_s'] * cpu['cpus']) * 100:.0f}%"
        servers = cpu.get("servers")
        if servers:
            pg = servers["postgres"]
            xacts = pg["xact_commit"] + pg["xact_rollback"]
            out["PostgreSQL transactions a request"] = f"{xacts / max(requests, 1):.2f}"
            out["Redis commands a request"] = f"{servers['redis']['calls'] / max(requests, 1):.2f}"
    steps = {step[0]: step for step in STEPS}
    for label, step_name in (("hold p99", "hold"), ("pay p99", "pay")):
        name = endpoint_for(report, steps[step_name])
        if name in endpoints:
            out[label] = f"{endpoints[name]['p99_ms']:.0f} ms"
    out[OUTCOMES] = ", ".join(f"{count} {name}" for name, count in report["rush"]["outcomes"].items())
    checks = report["checks"]
    failed = [name for name, (ok, _detail) in checks.items() if not ok]
    out["checks"] = f"{len(checks) - len(failed)} of {len(checks)} pass" + (
        f" (failed: {'; '.join(failed)})" if failed else ""
    )
    return out


def yardstick_rows(left: dict[str, Any], right: dict[str, Any]) -> list[list[str]]:
    """Each yardstick run's requests/s as a share of hello's, per side; hello's own requests/s first."""
    if not left.get("yardstick") or not right.get("yardstick"):
        return []
    rows = [["hello", *(f"{report['yardstick']['hello_rps']:.0f} req/s" for report in (left, right))]]
    for step, page_run, api_run in YARDSTICK_RUNS:
        cells = [step]
        for report in (left, right):
            run = api_run if mode(report) == "api" else page_run
            summary = report["yardstick"]["runs"].get(run) if run else None
            ratio = summary["rps"] / report["yardstick"]["hello_rps"] if summary else None
            cells.append(f"{ratio * 100:.0f}% ({run})" if ratio is not None else "—")
        rows.append(cells)
    return rows


def columns(rows: Sequence[Sequence[str]], right_aligned: Sequence[int] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(widths[i]) if i in right_aligned else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def render(left: dict[str, Any], right: dict[str, Any]) -> str:
    """The two reports side by side, as text."""
    names = [f"{report['run_id']} ({mode(report)})" for report in (left, right)]
    out = [f"Rush {names[0]}  |  {names[1]}", ""]
    header = ["step", *(part for name in names for part in (name, "requests", "p50 ms", "p99 ms"))]
    out.append("Per step, the whole rush:")
    out += ["  " + line for line in columns([header, *step_rows(left, right)], right_aligned=(2, 3, 4, 6, 7, 8))]
    out.append("")
    out.append("The rush:")
    left_totals, right_totals = totals(left), totals(right)
    shown = [*left_totals, *(name for name in right_totals if name not in left_totals)]
    rows = [["", *names]] + [
        [name, left_totals.get(name, "—"), right_totals.get(name, "—")] for name in shown if name != OUTCOMES
    ]
    out += ["  " + line for line in columns(rows)]
    for name, report_totals in zip(names, (left_totals, right_totals), strict=True):
        out.append(f"  {name}: {report_totals[OUTCOMES]}")
    yardstick = yardstick_rows(left, right)
    if yardstick:
        out.append("")
        out.append("Yardstick (closed loop on the quiet stack; share of hello's requests/s):")
        out += ["  " + line for line in columns([["", *names], *yardstick])]
    return "\n".join(out)


def newest(results: Path, wanted: str) -> Path | None:
    """The newest rush report (rush-<run id>.json) of a mode in `results`."""
    found = [
        path
        for path in sorted(results.glob("rush-*.json"))
        if str(json.loads(path.read_text())["config"].get("mode", "pages")) == wanted
    ]
    return found[-1] if found else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rush.compare", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("reports", nargs="*", type=Path, help="two rush-*.json (default: the newest of each mode)")
    args = parser.parse_args(argv)
    paths: list[Path | None] = list(args.reports)
    if not paths:
        paths = [newest(RESULTS_DIR, "pages"), newest(RESULTS_DIR, "api")]
    if len(paths) != 2 or None in paths:
        parser.error(f"two reports are needed; found {[str(path) for path in paths if path]} in {RESULTS_DIR}")
    left, right = (json.loads(path.read_text()) for path in paths if path)
    print(render(left, right))
    return 0


if __name__ == "__main__":
    sys.exit(main())
