"""Two rush reports side by side (bench/rush/compare.py): each journey step's page beside the API operation that
does its work, the rush's totals, and the newest report of each mode found in a results folder."""

import json

from bench.rush import compare
from bench.rush.api_client import CONCERT, HOLD, PAY, PLACE


def row(requests, p50, p99):
    return {"requests": requests, "rps": 1.0, "p50_ms": p50, "p95_ms": p99, "p99_ms": p99, "max_ms": p99}


def report(run_id, mode, endpoints, *, stack_cpu_s=20.0, checks=None, yardstick=None):
    config = {"fans": 100, "form_logins": 0}
    if mode is not None:
        config["mode"] = mode
    return {
        "run_id": run_id,
        "config": config,
        "yardstick": yardstick,
        "rush": {
            "metrics": {
                "endpoints": endpoints,
                "cpu": {
                    "wall_s": 100.0,
                    "cpus": 2,
                    "stack_cpu_s": stack_cpu_s,
                    "generator_cpu_s": 3.0,
                    "machine_cpu_s": 50.0,
                    "servers": {
                        "postgres": {"xact_commit": 1500, "xact_rollback": 0},
                        "redis": {"calls": 3000},
                    },
                },
            },
            "wall_s": 99.0,
            "outcomes": {"bought": 90, "abandoned hold": 10},
        },
        "checks": checks or {"no seat with two live reservations": (True, "0 seats")},
    }


PAGES = report(
    "p1",
    None,  # written before --api: the pages'
    {"concert page": row(200, 10, 40), "queue status": row(500, 2, 9), "hold (POST)": row(100, 20, 120)},
)
API = report(
    "a1-api",
    "api",
    {CONCERT: row(200, 5, 20), PLACE: row(400, 4, 15), HOLD: row(100, 18, 110), PAY: row(90, 30, 150)},
    stack_cpu_s=10.0,
    checks={"no seat with two live reservations": (True, ""), "wallets reconcile": (False, "1 off")},
)


def test_each_step_shows_the_page_beside_the_api_operation_and_only_steps_either_made():
    rows = compare.step_rows(PAGES, API)
    assert [r[0] for r in rows] == ["concert", "status poll", "hold", "pay"]
    hold = rows[2]
    assert hold == ["hold", "hold (POST)", "100", "20.0", "120.0", HOLD, "100", "18.0", "110.0"]
    assert rows[3][1:5] == ["pay (POST)", "", "", ""]  # the pages' run made no payment


def test_the_totals_put_the_stacks_cpu_per_request_and_per_fan_and_the_checks_side_by_side():
    pages, api = compare.totals(PAGES), compare.totals(API)
    assert pages["requests (per fan)"] == "800 (8.0)"
    assert pages["stack CPU"] == "20.0 s: 25.00 ms a request, 200 ms a fan"
    assert api["stack CPU"] == "10.0 s: 12.66 ms a request, 100 ms a fan"  # 790 requests
    assert pages["PostgreSQL transactions a request"] == "1.88"
    assert (pages["hold p99"], api["hold p99"], api["pay p99"]) == ("120 ms", "110 ms", "150 ms")
    assert "pay p99" not in pages
    assert api["checks"] == "1 of 2 pass (failed: wallets reconcile)"
    text = compare.render(PAGES, API)
    assert "p1 (pages)" in text and "a1-api (api)" in text and "90 bought, 10 abandoned hold" in text
    assert any(line.split()[:3] == ["pay", "p99", "—"] for line in text.splitlines())  # a figure of one side only


def test_the_yardsticks_runs_for_the_same_work_are_compared_as_shares_of_hello():
    def yardstick(hello, runs):
        return {"hello_rps": hello, "runs": {name: {"rps": rps} for name, rps in runs.items()}}

    pages = {**PAGES, "yardstick": yardstick(1000, {"queue status": 900, "waiting room page": 400})}
    api = {**API, "yardstick": yardstick(800, {PLACE: 200})}
    rows = compare.yardstick_rows(pages, api)
    assert rows[0] == ["hello", "1000 req/s", "800 req/s"]
    assert rows[1] == ["status poll", "90% (queue status)", f"25% ({PLACE})"]
    assert rows[2] == ["waiting room page", "40% (waiting room page)", "—"]
    assert compare.yardstick_rows(PAGES, api) == []  # one side without a yardstick


def test_without_arguments_the_newest_report_of_each_mode_is_compared(tmp_path, monkeypatch, capsys):
    for name, body in [("rush-1.json", PAGES), ("rush-2.json", PAGES), ("rush-3-api.json", API)]:
        (tmp_path / name).write_text(json.dumps({**body, "run_id": name}))
    (tmp_path / "yardstick-9.json").write_text("{}")  # not a rush
    assert compare.newest(tmp_path, "pages") == tmp_path / "rush-2.json"
    assert compare.newest(tmp_path, "api") == tmp_path / "rush-3-api.json"

    monkeypatch.setattr(compare, "RESULTS_DIR", tmp_path)
    assert compare.main([]) == 0
    assert capsys.readouterr().out.startswith("Rush rush-2.json (pages)  |  rush-3-api.json (api)")
