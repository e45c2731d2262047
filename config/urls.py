"""Top-level URLs: each app mounts its own pages; admin and health checks live here."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

# The admin says whose it is: Frontrow's, not "Django administration".
admin.site.site_header = _("Frontrow admin")
admin.site.site_title = _("Frontrow admin")
admin.site.index_title = _("Staff home")

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
    path("api/v1/", include("booking.api.urls")),
]
