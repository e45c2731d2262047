"""The CSV export of a date's reservations and payments: requested by staff, written by an RQ job into the
database (DateExport), so any web instance can serve the download. The rows are booking.selectors.export_rows.
"""

import csv
import io

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from concerts.models import ConcertDate, DateExport

from .. import selectors


def request_export(*, concert_date: ConcertDate, by: User | None = None) -> DateExport:
    """Record an export request and queue the job that writes it; returns the DateExport (PENDING).

    Audited ("date.export": the buyers' data leaves the site), in the transaction that records the request.
    """
    from .. import jobs

    with transaction.atomic():
        export = DateExport.objects.create(concert_date=concert_date, requested_by=by)
        audit.record("date.export", concert_date, changes={"export": (None, export.pk)}, actor=by)
    transaction.on_commit(lambda: jobs.enqueue(jobs.export_date_csv, export_id=str(export.pk)), robust=True)
    return export


def write_export(*, export: DateExport) -> DateExport:
    """Write the CSV of export.concert_date into the export's row and mark it READY. Idempotent.

    The CSV lives in the database (DateExport.content), so the web instance that serves the download
    need not be the host that ran this job. A second run replaces the first run's CSV.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(selectors.EXPORT_COLUMNS)
    rows = 0
    for row in selectors.export_rows(export.concert_date):
        writer.writerow(row)
        rows += 1
    date = export.concert_date
    export.filename = f"frontrow-{date.concert_date:%Y%m%d}-{str(date.pk)[:8]}.csv"
    export.content = buffer.getvalue()
    export.rows, export.status, export.finished_at, export.error = rows, DateExport.Status.READY, timezone.now(), ""
    export.save(update_fields=["filename", "content", "rows", "status", "finished_at", "error"])
    return export
