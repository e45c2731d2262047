"""A URLconf for the gate tests: the site's URLs plus two tiny views behind admitted_required."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns
from queueing.gate import admitted_required


@admitted_required
def by_date(request, date_id):
    return HttpResponse(f"{request.concert.pk}|{request.concert_date.pk}")


@admitted_required
def by_concert(request, concert_id):
    return HttpResponse(f"{request.concert.pk}|{hasattr(request, 'concert_date')}")


urlpatterns = [
    path("gated/date/<uuid:date_id>/", by_date, name="gated-date"),
    path("gated/any/<str:date_id>/", by_date, name="gated-any"),
    path("gated/concert/<uuid:concert_id>/", by_concert, name="gated-concert"),
    *site_urlpatterns,
]
