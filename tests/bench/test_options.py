"""The rush bench's options (bench/rush/__main__.py): the defaults that grow with the number of fans."""

import pytest

from bench.rush.__main__ import parse_args
from bench.rush.stack import BASE_DIR, without_booking_lane


def shape(argv):
    args = parse_args(argv)
    return args.prequeue_window, args.late_spread, args.max_active, args.timeout


def test_the_2000_fan_rush_keeps_the_defaults_it_was_set_for():
    assert shape([]) == shape(["--fans", "200"]) == (60.0, 30.0, 100, 900.0)


def test_a_10000_fan_rush_gets_a_longer_window_a_wider_room_and_more_time():
    assert shape(["--fans", "10000"]) == (600.0, 90.0, 300, 3000.0)


def test_what_the_command_line_says_wins():
    argv = ["--fans", "10000", "--prequeue-window", "60", "--late-spread", "30", "--max-active", "100"]
    assert shape([*argv, "--timeout", "900"]) == (60.0, 30.0, 100, 900.0)


def test_the_rush_rooms_admission_rate_is_the_settings_unless_given():
    assert parse_args([]).admit_per_minute is None  # the room's default, QUEUE_ADMIT_PER_MINUTE
    assert parse_args(["--admit-per-minute", "600"]).admit_per_minute == 600


def test_the_booking_lane_is_on_unless_turned_off():
    assert parse_args([]).booking_lane is True
    assert parse_args(["--no-booking-lane"]).booking_lane is False


def test_without_the_lane_the_stack_is_the_procfile_minus_its_booking_instance():
    procfile = (BASE_DIR / "Procfile").read_text()

    laneless = without_booking_lane(procfile)

    names = [line.split(":", 1)[0] for line in laneless.splitlines() if line and line[0] != "#"]
    assert names == ["web1", "web2", "worker", "beat", "rqworker"]
    assert procfile.replace(next(line for line in procfile.splitlines(True) if line.startswith("booking:")), "") == (
        laneless
    )


def test_a_yardstick_longer_than_the_probes_admission_is_refused_before_the_stack_starts(capsys):
    assert parse_args(["--yardstick-seconds", "15"]).yardstick_seconds == 15  # 90 s: the seat map ends at 90 s

    with pytest.raises(SystemExit) as refused:
        parse_args(["--yardstick-seconds", "30"])  # the seat map would still run at 165 s: it answered 302

    assert refused.value.code == 2
    assert "raise --active-seconds to at least 165" in capsys.readouterr().err
    assert parse_args(["--yardstick-seconds", "30", "--active-seconds", "165"]).active_seconds == 165
    assert parse_args(["--yardstick-seconds", "30", "--skip-yardstick"]).skip_yardstick


def test_the_pages_are_the_default_and_with_the_api_nobody_logs_in_through_the_form():
    pages, api = parse_args([]), parse_args(["--api"])
    assert (pages.api, pages.form_logins, pages.top_up) == (False, 10, 0.0)
    assert (api.api, api.form_logins) == (True, 0)
    assert shape(["--api"]) == shape([])  # the same sale's shape in both modes
