"""Celery beat's schedule (config/settings.py, read by config/celery.py): every periodic task expires.

A beat entry sends its task every interval whether or not a worker is there to run it. Without an
`expires`, the sweeps sent while the worker is down pile up in the broker and all run, back to back, when
it restarts; with `expires` of about one interval, the stale ones are dropped and the next one does the
work.
"""

import datetime

import pytest
from celery.schedules import schedule as celery_schedule

from config.celery import app


def interval_seconds(value):
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, celery_schedule):
        return value.run_every.total_seconds()
    raise AssertionError(f"unexpected schedule {value!r}")


def test_the_beat_schedule_has_entries():
    assert {"expire-holds", "admit-queue-batches"} <= set(app.conf.beat_schedule)


@pytest.mark.parametrize("name", sorted(app.conf.beat_schedule))
def test_every_beat_entry_expires_within_about_one_interval(name):
    entry = app.conf.beat_schedule[name]
    interval = interval_seconds(entry["schedule"])
    expires = entry.get("options", {}).get("expires")

    assert expires is not None, f"{name} has no expires: its runs pile up while the worker is down"
    assert 0 < expires <= interval, f"{name}: expires {expires} s for an interval of {interval} s"
