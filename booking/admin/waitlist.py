"""The waiting lists of sold-out dates and the offers made from them: read-only screens (entries change only
through booking.services.waitlist) whose one action runs the offer job of the selected entries' dates now."""

import datetime
import logging

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin_site import audited_by_services
from accounts.requests import acting_user
from concerts.models import ConcertDate
from config.admin import ReadOnlyAdmin

from .. import services
from ..models import WaitlistEntry, WaitlistOffer

logger = logging.getLogger(__name__)


class OfferInline(admin.TabularInline[WaitlistOffer, WaitlistEntry]):
    model = WaitlistOffer
    fields = ("offered_at", "seat", "status", "expires_at", "accepted_at", "ended_at", "emailed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: WaitlistEntry | None = None) -> bool:
        return False

    # Django passes an inline the parent's row (the stubs say the inline's own model).
    def has_change_permission(self, request: HttpRequest, obj: WaitlistEntry | None = None) -> bool:  # type: ignore[override]
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdmin):
    """Each date's list in list order (joined at): who waits, who was offered a seat and how it ended."""

    list_display = ("joined_at", "concert", "date", "user", "status", "ended_at")
    list_filter = ("status", "concert_date__concert", "concert_date__concert_date")
    search_fields = ("user__email", "user__name", "concert_date__concert__title", "id")
    list_select_related = ("user", "concert_date__concert")
    date_hierarchy = "joined_at"
    ordering = ("concert_date__starts_at", "joined_at", "id")
    inlines = [OfferInline]
    actions = ["offer_returned_seats"]

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("booking.change_reservation")

    @audited_by_services
    @admin.action(description=_("Offer the free seats of these dates to their lists now"), permissions=["manage"])
    def offer_returned_seats(self, request: HttpRequest, queryset: QuerySet[WaitlistEntry]) -> None:
        """Each date's offers are made and committed first (make_offers), then their e-mails sent; a mail that fails
        stays owed (the beat sweep sends it later) and the answer is a warning saying how many, never a 500."""
        dates = ConcertDate.objects.filter(pk__in=queryset.values("concert_date_id")).select_related("concert")
        made = failed = 0
        for concert_date in dates:
            made += len(services.waitlist.offer_now(concert_date=concert_date, by=acting_user(request)))
            failed += services.waitlist.deliver_offer_emails(concert_date_id=concert_date.pk).failed
        offered = ngettext("%(n)d seat offered.", "%(n)d seats offered.", made) % {"n": made}
        if not failed:
            self.message_user(request, offered, messages.SUCCESS)
            return
        logger.warning("waiting-list offers run by %s: %d made, %d e-mails failed (owed)", request.user, made, failed)
        not_sent = ngettext(
            "%(failed)d offer e-mail could not be sent; the offer stands and its e-mail is tried again shortly.",
            "%(failed)d offer e-mails could not be sent; the offers stand and their e-mails are tried again shortly.",
            failed,
        ) % {"failed": failed}
        self.message_user(request, f"{offered} {not_sent}", messages.WARNING)

    @admin.display(description=_("concert"), ordering="concert_date__concert__title")
    def concert(self, obj: WaitlistEntry) -> str:
        return obj.concert_date.concert.title

    @admin.display(description=_("date"), ordering="concert_date__starts_at")
    def date(self, obj: WaitlistEntry) -> datetime.date:
        return obj.concert_date.concert_date


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(ReadOnlyAdmin):
    """Every seat offered from a waiting list, to whom, until when and its outcome; an open offer not e-mailed
    a minute after it was made is stuck (the RQ worker or the mail server): the beat sweep sends it."""

    list_display = (
        "offered_at",
        "user",
        "concert",
        "date",
        "seat_number",
        "status",
        "expires_at",
        "ended_at",
        "emailed_at",
    )
    list_filter = ("status", ("emailed_at", admin.EmptyFieldListFilter), "seat__concert_date__concert")
    search_fields = ("entry__user__email", "seat__concert_date__concert__title", "id")
    list_select_related = ("entry__user", "seat__concert_date__concert")
    date_hierarchy = "offered_at"

    @admin.display(description=_("user"), ordering="entry__user__email")
    def user(self, obj: WaitlistOffer) -> str:
        return str(obj.entry.user)

    @admin.display(description=_("concert"), ordering="seat__concert_date__concert__title")
    def concert(self, obj: WaitlistOffer) -> str:
        return obj.seat.concert_date.concert.title

    @admin.display(description=_("date"), ordering="seat__concert_date__starts_at")
    def date(self, obj: WaitlistOffer) -> datetime.date:
        return obj.seat.concert_date.concert_date

    @admin.display(description=_("seat"), ordering="seat__seat_number")
    def seat_number(self, obj: WaitlistOffer) -> int:
        return obj.seat.seat_number
