"""Top-level URLs: each app mounts its own pages; admin and health checks live here."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("config.health")),
    path("", include("concerts.urls")),
    path("", include("queueing.urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("booking.urls")),
    path("", include("wallet.urls")),
]
