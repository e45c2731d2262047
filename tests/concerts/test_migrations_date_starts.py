"""The migration that gave each date its own start keeps every existing show at the time it had."""

import datetime
import zoneinfo

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("concerts", "0004_exports_in_the_database")]
AFTER = [("concerts", "0005_date_starts_at")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_each_existing_date_starts_on_its_day_at_the_concerts_local_time_and_the_span_follows():
    seoul = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    apps = _migrate(BEFORE)
    try:
        Concert, ConcertDate = apps.get_model("concerts", "Concert"), apps.get_model("concerts", "ConcertDate")
        # 19:30 in Seoul is 10:30 UTC: the day and the time of day come from the site's time zone.
        start = datetime.datetime(2030, 5, 1, 19, 30, tzinfo=seoul)
        concert = Concert.objects.create(
            title="Aurora",
            start_time=start.astimezone(datetime.UTC),
            end_time=start + datetime.timedelta(days=2, hours=3),
            sale_opens_at=start - datetime.timedelta(days=30),
        )
        for day in (1, 3):
            ConcertDate.objects.create(concert=concert, concert_date=datetime.date(2030, 5, day))
        empty = Concert.objects.create(
            title="No dates yet", start_time=start, end_time=start, sale_opens_at=start - datetime.timedelta(days=1)
        )

        apps = _migrate(AFTER)
        Concert, ConcertDate = apps.get_model("concerts", "Concert"), apps.get_model("concerts", "ConcertDate")
        starts = [d.starts_at.astimezone(seoul) for d in ConcertDate.objects.order_by("starts_at")]
        assert starts == [
            datetime.datetime(2030, 5, 1, 19, 30, tzinfo=seoul),
            datetime.datetime(2030, 5, 3, 19, 30, tzinfo=seoul),
        ]
        concert = Concert.objects.get(pk=concert.pk)
        assert (concert.start_time, concert.end_time) == (starts[0], starts[1])
        empty = Concert.objects.get(pk=empty.pk)
        assert (empty.start_time, empty.end_time) == (None, None)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
