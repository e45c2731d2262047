"""Top-level URLs: each app mounts its own pages; admin and health checks live here."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # django-rq's dashboard (its views are staff_member_required), before admin/ so it wins the prefix.
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("config.health")),
    path("", include("concerts.urls")),
    path("", include("queueing.urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("booking.urls")),
    path("", include("wallet.urls")),
]
