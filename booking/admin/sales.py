"""The sales dashboard: per concert and date, seats sold, held and free and the revenue (booking.selectors)."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from concerts import selectors as concert_selectors
from concerts.models import SalesDashboard

from .. import charts, selectors


@admin.register(SalesDashboard)
class SalesDashboardAdmin(admin.ModelAdmin[SalesDashboard]):
    """The sales dashboard (selectors.sales_dashboard): per concert and date seats sold / held / free and gross,
    refunded and net won; gross payments per day as a chart (charts.daily_sales_svg)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SalesDashboard | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SalesDashboard | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: SalesDashboard | None = None) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.has_perm("concerts.view_concertdate")

    def get_urls(self) -> list[URLPattern]:
        return [
            path("ticket/", self.admin_site.admin_view(self.ticket_check_view), name="concerts_ticket_check"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        concert = concert_selectors.find_concert(request.GET.get("concert"))
        dashboard = selectors.sales_dashboard(concert=concert, days=30, now=timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "title": _("Sales dashboard"),
            "opts": self.model._meta,
            "dashboard": dashboard,
            "all_concerts": concert_selectors.concert_choices(),
            "selected": concert,
            "chart": charts.daily_sales_svg(dashboard.series),
        }
        return TemplateResponse(request, "admin/concerts/sales_dashboard.html", context)

    def ticket_check_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """The old "check a ticket" address: the door check-in page now (CheckInAdmin.door_view), without the query,
        so a code in an old bookmark is neither checked nor carried on."""
        return HttpResponseRedirect(reverse("booking:door"))
