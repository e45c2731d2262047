"""Staff screens for the wallet ledger: every top-up attempt and every payment or refund, read-only
(the balance moves only through wallet.services)."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin

from .models import ChargeHistory, UsageHistory


@admin.register(ChargeHistory)
class ChargeHistoryAdmin(ReadOnlyAdmin):
    list_display = ("charged_at", "user", "amount", "status", "reason")
    list_filter = ("status", "charged_at")
    search_fields = ("user__email", "user__name", "reason")
    list_select_related = ("user",)
    date_hierarchy = "charged_at"


@admin.register(UsageHistory)
class UsageHistoryAdmin(ReadOnlyAdmin):
    list_display = ("used_at", "user", "action_type", "amount", "status", "reservation", "reason")
    list_filter = ("action_type", "status", "used_at")
    search_fields = ("user__email", "user__name", "reason", "reservation__seat__concert_date__concert__title")
    list_select_related = ("user", "reservation__seat__concert_date__concert")
    date_hierarchy = "used_at"
