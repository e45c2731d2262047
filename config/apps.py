"""Third-party apps under names staff read in the admin's language (their own AppConfigs have none), and the
admin with Frontrow's site."""

from axes.apps import AppConfig as AxesAppConfig
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.utils.translation import gettext_lazy as _
from django_rq.apps import DjangoRqAdminConfig


class AxesConfig(AxesAppConfig):  # type: ignore[misc]  # django-axes ships no annotations
    """django-axes: failed log-ins and lockouts (config.lockout)."""

    verbose_name = _("Log-in attempts")


class DjangoRQConfig(DjangoRqAdminConfig):
    """django-rq: the RQ queues and workers behind e-mails, refunds and CSV exports."""

    verbose_name = _("Background jobs")


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin whose default site (admin.site) audits every ModelAdmin registered on it
    (accounts.admin_site.FrontrowAdminSite)."""

    default_site = "accounts.admin_site.FrontrowAdminSite"
