"""CSV exports are written by the RQ job and downloaded from any web instance: the file is kept where
every instance reads it (the database), not on the worker's disk."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from booking import jobs, services
from concerts.models import DateExport
from tests.factories import ConcertDateFactory, StaffFactory
from tests.support.sales import paid_fan

pytestmark = pytest.mark.django_db


def download(client, export):
    response = client.get(reverse("admin:concerts_dateexport_download", args=[export.pk]))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_an_export_written_on_the_worker_host_downloads_on_a_web_host_with_another_media_root(settings, tmp_path):
    date = ConcertDateFactory()
    paid_fan(concert_date=date, seats=[3, 4])
    staff_member = StaffFactory()

    settings.MEDIA_ROOT = tmp_path / "worker-host"  # the RQ worker's machine
    export = services.request_export(concert_date=date, by=staff_member)
    assert jobs.export_date_csv(export_id=str(export.pk)) == 2

    settings.MEDIA_ROOT = tmp_path / "web-host"  # a web instance on another machine
    client = Client()
    client.force_login(staff_member)
    response, body = download(client, DateExport.objects.get(pk=export.pk))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment") and ".csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert sorted(int(row["seat_number"]) for row in rows) == [3, 4]
    assert body.startswith("\ufeff".encode())  # a BOM, so spreadsheet programs read Korean names
    assert not list(tmp_path.rglob("*.csv")), "nothing is written to a local disk"


def test_writing_an_export_again_replaces_it(settings):
    date = ConcertDateFactory()
    paid_fan(concert_date=date, seats=[1])
    export = services.request_export(concert_date=date)
    jobs.export_date_csv(export_id=str(export.pk))
    paid_fan(concert_date=date, seats=[2])

    jobs.export_date_csv(export_id=str(export.pk))  # an RQ retry or a requeue from the dashboard

    export.refresh_from_db()
    assert export.status == DateExport.Status.READY and export.rows == 2
    assert export.content.count("\n") == 3  # the header and two rows, not the first run's rows again


def test_the_exports_list_does_not_load_the_files(settings, django_assert_max_num_queries):
    date = ConcertDateFactory()
    paid_fan(concert_date=date, seats=[1])
    for _ in range(3):
        jobs.export_date_csv(export_id=str(services.request_export(concert_date=date).pk))
    client = Client()
    client.force_login(StaffFactory())

    with django_assert_max_num_queries(12):
        listing = client.get(reverse("admin:concerts_dateexport_changelist"))

    assert listing.status_code == 200
    assert listing.content.decode().count("/download/") == 3
    assert all("content" in export.get_deferred_fields() for export in listing.context["cl"].result_list)
