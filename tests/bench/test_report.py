"""The rush bench's report (bench/rush/report.py): the yardstick's verdicts against issue 14's targets, the
CPU per request it prints for each closed-loop run, the mode it says ran and its tables' width."""

import pytest

from bench.rush.report import cpu_per_request, mode_line, render_yardstick, table, yardstick_target
from bench.rush.yardstick import TARGETS


def run(requests, stack=0.0, generator=0.0, other=0.0):
    return {
        "duration_s": 8.0,
        "endpoints": {
            "x": {
                "requests": requests,
                "rps": requests / 8,
                "p50_ms": 1,
                "p95_ms": 2,
                "p99_ms": 3,
                "max_ms": 4,
                "status": {"200": requests},
                "5xx": 0,
                "transport_errors": {},
            }
        },
        "cpu": {
            "wall_s": 8.0,
            "cpus": 2,
            "stack_cpu_s": stack,
            "generator_cpu_s": generator,
            "other_cpu_s": other,
            "machine_cpu_s": stack + generator + other,
            "stack_processes_cpu_s": {},
        },
        "rps": requests / 8,
    }


def test_each_endpoint_has_the_issues_target_and_old_reports_fall_back_to_half():
    yardstick = {"targets": TARGETS}
    assert [yardstick_target(yardstick, name) for name in ("queue status", "waiting room page", "concert page")] == [
        0.9,
        0.6,
        0.6,
    ]
    assert yardstick_target(yardstick, "seat map") == 0.5
    assert yardstick_target({}, "queue status") == 0.5  # written before the targets were stored


def test_cpu_per_request_divides_each_share_by_the_runs_requests():
    figures = cpu_per_request(run(2000, stack=4.0, generator=0.5, other=1.0))
    assert figures == pytest.approx({"stack": 2.0, "generator": 0.25, "other": 0.5, "machine": 2.75})


def test_a_run_without_requests_or_cpu_reading_has_no_cpu_per_request():
    assert cpu_per_request(run(0, stack=1.0)) is None
    assert cpu_per_request({**run(10), "cpu": None}) is None


def test_the_yardstick_says_met_or_missed_against_each_target():
    yardstick = {
        "runs": {"hello": run(8000, stack=8.0), "queue status": run(7400, stack=8.0)},
        "hello_rps": 1000.0,
        "ratios": {"queue status": 0.925, "concert page": 0.55},
        "targets": TARGETS,
    }
    text = render_yardstick(yardstick, 32)
    assert "queue status: 92% of hello's requests/s (target ≥ 90%: met)" in text
    assert "concert page: 55% of hello's requests/s (target ≥ 60%: missed)" in text
    assert "CPU per request: stack 1.00 ms" in text


def test_the_report_says_which_mode_ran():
    assert mode_line({"mode": "pages", "form_logins": 10}) == (
        "Mode: pages: the fans book through the pages, as a browser (10 log in through the form)"
    )
    api = mode_line({"mode": "api", "bots": 5})
    assert api.startswith("Mode: api (--api): the fans book through the JSON API") and "bots through the pages" in api
    assert mode_line({}).startswith("Mode: pages")  # a report written before --api


def test_the_tables_column_fits_the_apis_operations_and_keeps_the_pages_width():
    pages = run(10)
    pages["endpoints"] = {"queue status": pages["endpoints"]["x"]}
    api = run(10)
    api["endpoints"] = {"GET /reservations/{id}/cancellation": api["endpoints"]["x"]}
    page_row = table(pages, "Rush").splitlines()[2]
    api_row = table(api, "Rush").splitlines()[2]
    assert page_row.startswith("  queue status" + " " * 16 + " " * 7 + "10")  # 28 wide, as before --api
    assert api_row.startswith("  GET /reservations/{id}/cancellation " + " " * 6 + "10")
