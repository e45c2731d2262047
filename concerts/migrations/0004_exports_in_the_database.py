"""CSV exports move from the RQ worker's disk (MEDIA_ROOT) into the DateExport row, so every web instance
can serve them. A ready export whose file this host can read is copied in; one it cannot read (written
on another host, or deleted) becomes FAILED with a note to request it again."""

from django.conf import settings
from django.db import migrations, models


def copy_files_into_rows(apps, schema_editor):
    DateExport = apps.get_model("concerts", "DateExport")
    for export in DateExport.objects.filter(status="READY").exclude(file=""):
        try:
            with export.file.open("rb") as handle:
                export.content = handle.read().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            export.status, export.error = "FAILED", "The file was not kept on this server; request a new export."
        else:
            export.filename = export.file.name.rsplit("/", 1)[-1][:100]
        export.save(update_fields=["content", "filename", "status", "error"])


class Migration(migrations.Migration):
    dependencies = [
        ("concerts", "0003_seat_tier"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="dateexport",
            name="date_export_ready_has_file",
        ),
        migrations.AddField(
            model_name="dateexport",
            name="content",
            field=models.TextField(blank=True, editable=False, verbose_name="CSV"),
        ),
        migrations.AddField(
            model_name="dateexport",
            name="filename",
            field=models.CharField(blank=True, max_length=100, verbose_name="file name"),
        ),
        migrations.RunPython(copy_files_into_rows, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="dateexport",
            name="file",
        ),
        migrations.AddConstraint(
            model_name="dateexport",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "READY"), _negated=True),
                    models.Q(
                        ("finished_at__isnull", False),
                        models.Q(("filename", ""), _negated=True),
                        models.Q(("content", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="date_export_ready_has_csv",
            ),
        ),
    ]
