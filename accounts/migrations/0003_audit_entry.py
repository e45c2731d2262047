"""The audit log of staff actions (accounts.AuditEntry, written by accounts.audit.record)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_user_email_verified_at'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='when')),
                ('actor_label', models.CharField(db_index=True, max_length=254, verbose_name='who')),
                ('action', models.CharField(db_index=True, max_length=64, verbose_name='staff action')),
                ('object_id', models.CharField(blank=True, db_index=True, max_length=64, verbose_name='object id')),
                ('object_repr', models.CharField(blank=True, max_length=200, verbose_name='object')),
                ('changes', models.JSONField(blank=True, default=dict, verbose_name='changes')),
                ('note', models.CharField(blank=True, max_length=500, verbose_name='note')),
                ('ip', models.GenericIPAddressField(blank=True, null=True, verbose_name='client address')),
                ('via', models.CharField(blank=True, max_length=100, verbose_name='through')),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='staff member')),
                ('content_type', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='contenttypes.contenttype', verbose_name='object type')),
            ],
            options={
                'verbose_name': 'audit log entry',
                'verbose_name_plural': 'audit log',
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['content_type', 'object_id'], name='audit_object')],
            },
        ),
    ]
