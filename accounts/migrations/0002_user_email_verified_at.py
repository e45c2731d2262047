"""E-mail verification: User.email_verified_at. Accounts that exist when it is added count as verified (they signed
up before the site asked, and a sale should not surprise them); every account created afterwards starts unverified
(staff made by createsuperuser verified)."""

from django.db import migrations, models
from django.db.models.functions import Now


def accounts_so_far_are_verified(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(email_verified_at__isnull=True).update(email_verified_at=Now())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="e-mail verified at"),
        ),
        migrations.RunPython(accounts_so_far_are_verified, migrations.RunPython.noop, elidable=True),
    ]
