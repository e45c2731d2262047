"""Each date gets its own start (ConcertDate.starts_at); the concert's start_time / end_time become the span
of its dates (first and last start), kept by concerts.services.

Until now a date began on its day at the time of day of the concert's start_time, in the site's time zone
(settings.TIME_ZONE, Asia/Seoul by default): that is the start each existing date is given, so no show moves.
"""

import datetime
import zoneinfo

from django.conf import settings
from django.db import migrations, models
from django.db.models import Max, Min

BATCH = 500


def give_each_date_its_start(apps, schema_editor):
    Concert = apps.get_model("concerts", "Concert")
    ConcertDate = apps.get_model("concerts", "ConcertDate")
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    for concert in Concert.objects.all().iterator():
        at = concert.start_time.astimezone(tz).time().replace(tzinfo=None)
        dates = list(ConcertDate.objects.filter(concert_id=concert.pk).only("id", "concert_date"))
        for date in dates:
            date.starts_at = datetime.datetime.combine(date.concert_date, at, tzinfo=tz)
        ConcertDate.objects.bulk_update(dates, ["starts_at"], batch_size=BATCH)
    for concert in Concert.objects.all().iterator():
        span = ConcertDate.objects.filter(concert_id=concert.pk).aggregate(
            first=Min("starts_at"), last=Max("starts_at")
        )
        Concert.objects.filter(pk=concert.pk).update(start_time=span["first"], end_time=span["last"])


def fill_empty_spans(apps, schema_editor):
    """Backwards: the old schema wants a start and end on every concert; one without dates gets its creation."""
    Concert = apps.get_model("concerts", "Concert")
    for concert in Concert.objects.filter(start_time__isnull=True).iterator():
        Concert.objects.filter(pk=concert.pk).update(start_time=concert.created_at, end_time=concert.created_at)


class Migration(migrations.Migration):
    dependencies = [
        ("concerts", "0004_exports_in_the_database"),
    ]

    operations = [
        migrations.AddField(
            model_name="concertdate",
            name="starts_at",
            field=models.DateTimeField(null=True, verbose_name="starts at"),
        ),
        migrations.AlterField(
            model_name="concert",
            name="start_time",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="first show starts"),
        ),
        migrations.AlterField(
            model_name="concert",
            name="end_time",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="last show starts"),
        ),
        migrations.RunPython(give_each_date_its_start, fill_empty_spans, elidable=False),
        migrations.AlterField(
            model_name="concertdate",
            name="starts_at",
            field=models.DateTimeField(verbose_name="starts at"),
        ),
        migrations.AlterField(
            model_name="concertdate",
            name="concert_date",
            field=models.DateField(editable=False, verbose_name="date"),
        ),
        migrations.AlterModelOptions(
            name="concertdate",
            options={"ordering": ["starts_at"], "verbose_name": "concert date", "verbose_name_plural": "concert dates"},
        ),
    ]
