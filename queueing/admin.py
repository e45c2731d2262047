"""Staff's view of the waiting rooms: per-concert max_active, pause/resume, the entry challenge (on/off and its
difficulty), live waiting and admitted counts, the pre-queue and its draw, and the addresses holding the most
live places.

Queue tokens and the visit history are read-only records here (with the Redis backend the live queue is
in Redis, so the QueueToken table stays empty; the history is always in the database).
"""

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import display_for_value
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_stubs_ext import StrOrPromise

from accounts.admin_site import audited_by_services
from accounts.models import User
from accounts.requests import acting_user
from config.admin import GuardedDeleteAdmin, ReadOnlyAdmin, SavesChangedFieldsAdmin
from config.ratelimit import KINDS, top_offenders

from . import selectors, services
from .exceptions import QueueUnavailable
from .models import ExitReason, QueueEntryHistory, QueueToken, SaleDraw, WaitingRoom
from .selectors import RoomCounts

# The change page's read-only parts about the pre-queue and its draw, and who holds the most places.
DRAW_FIELDS = [
    "sale_served",
    "prequeue_opens",
    "prequeue_now",
    "draw_state",
    "commitment",
    "draw_seed_after_draw",
    "drawn_at",
    "draw_size",
    "public_draw_page",
]
PLACES_FIELDS = ["live_visits", "places_by_address"]


def _history_url(**filters: object) -> str:
    return f"{reverse('admin:queueing_queueentryhistory_changelist')}?{urlencode(filters)}"


@admin.register(WaitingRoom)
class WaitingRoomAdmin(SavesChangedFieldsAdmin, GuardedDeleteAdmin, admin.ModelAdmin[WaitingRoom]):
    """Staff change max_active, the admission rate, pause and the entry challenge; the queue counters move only
    in queueing.services (the form writes only what staff changed), and a room fans have queued in is never
    deleted."""

    list_display = [
        "concert",
        "max_active",
        "admit_per_minute",
        "is_paused",
        "waiting_now",
        "admitted_now",
        "admitted_total",
        "last_admission_at",
        "prequeue_now",
        "draw_state",
    ]
    list_editable = ["max_active", "admit_per_minute"]
    list_filter = ["is_paused"]
    list_select_related = ["concert"]
    search_fields = ["concert__title"]
    ordering = ["concert__start_time"]
    actions = ["pause_admission", "resume_admission", "admit_batch_now"]
    readonly_fields = ["waiting_now", "admitted_now", "admitted_total", "last_admission_at"]
    fields = [
        "concert",
        "max_active",
        "admit_per_minute",
        "is_paused",
        "challenge_enabled",
        "challenge_max_number",
        *readonly_fields,
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: WaitingRoom | None = None) -> list[str]:
        if obj is None:
            return self.readonly_fields
        return [*self.readonly_fields, "concert", *DRAW_FIELDS, *PLACES_FIELDS, "limit_offenders"]

    def get_fieldsets(self, request: HttpRequest, obj: WaitingRoom | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        return [
            *fieldsets,
            (_("Pre-queue and draw"), {"fields": DRAW_FIELDS}),
            (
                _("Who holds the most places"),
                {
                    "fields": PLACES_FIELDS,
                    "description": _(
                        "Live places (waiting, in the pre-queue or admitted) per client address. One address may be "
                        "many fans behind one network. To remove an account, pick its visits in the history and "
                        "use the action “Remove the selected fans from the queue…”."
                    ),
                },
            ),
            (
                _("Refused most often by the rate limits · last 24 hours"),
                {
                    "fields": ["limit_offenders"],
                    "description": _(
                        "Counted over every concert and action (config.ratelimit). Each link shows this concert's "
                        "live visits of that account or address, to remove them if need be."
                    ),
                },
            ),
        ]

    def delete_refusal(self, obj: WaitingRoom) -> StrOrPromise | None:
        return selectors.room_delete_refusal(obj)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Under the rooms: the accounts and addresses the rate limits refused most over the last day.
        extra_context = {**(extra_context or {}), "offenders": {kind: top_offenders(kind) for kind in KINDS}}
        return super().changelist_view(request, extra_context)

    def _counts(self, obj: WaitingRoom) -> RoomCounts | None:
        # Read once per row (two columns show them), kept on the row object the list draws.
        if not hasattr(obj, "_live_counts"):
            obj._live_counts = selectors.room_counts(room=obj) if obj.pk else None  # type: ignore[attr-defined]  # see above
        counts: RoomCounts | None = obj._live_counts  # type: ignore[attr-defined]  # see above
        return counts

    @admin.display(description=_("waiting now"))
    def waiting_now(self, obj: WaitingRoom) -> StrOrPromise | int:
        counts = self._counts(obj)
        if counts is None:
            return "—"
        return _("unavailable") if counts.waiting is None else counts.waiting

    @admin.display(description=_("admitted now"))
    def admitted_now(self, obj: WaitingRoom) -> StrOrPromise:
        counts = self._counts(obj)
        if counts is None:
            return "—"
        return _("unavailable") if counts.admitted is None else f"{counts.admitted} / {obj.max_active}"

    # --- the pre-queue and its draw ---

    @admin.display(description=_("sale served"))
    def sale_served(self, obj: WaitingRoom) -> StrOrPromise:
        """The sale the room serves now: the general sale, or a fan-club presale (queueing.services.sales)."""
        sale = services.current_sale(obj.concert, timezone.now())
        if obj.serving_presale is not None and (sale.presale is None or sale.presale.pk != obj.serving_presale):
            return _("a presale that has closed (the room moves on to the next sale at its next run)")
        if sale.presale is not None and sale.presale.pk == obj.serving_presale:
            return format_html("{} · {}", _("fan-club presale"), sale.presale.name)
        return _("the general sale")

    @admin.display(description=_("pre-queue opens"))
    def prequeue_opens(self, obj: WaitingRoom) -> str:
        sale = services.current_sale(obj.concert, timezone.now())
        opens = sale.prequeue_starts_at
        text = display_for_value(opens, "")
        if sale.presale is None and obj.concert.prequeue_opens_at is None:
            return format_html('{} <span class="quiet">({})</span>', text, _("default"))
        return str(text)

    @admin.display(description=_("in the pre-queue now"))
    def prequeue_now(self, obj: WaitingRoom) -> StrOrPromise | int:
        if not obj.pk:
            return "—"
        size = selectors.prequeue_size(room=obj)
        return _("unavailable") if size is None else size

    @admin.display(description=_("draw"))
    def draw_state(self, obj: WaitingRoom) -> StrOrPromise:
        state = selectors.draw_state(room=obj, concert=obj.concert)
        return format_html('<a href="{}">{}</a>', reverse("queueing:draw", args=[obj.pk]), state.label)

    @admin.display(description=_("draw commitment (SHA-256 of the seed)"))
    def commitment(self, obj: WaitingRoom) -> str:
        return format_html("<code>{}</code>", obj.draw_commitment)

    @admin.display(description=_("draw seed"))
    def draw_seed_after_draw(self, obj: WaitingRoom) -> StrOrPromise:
        if obj.drawn_at is None:
            return _("secret until the draw")
        return format_html("<code>{}</code>", obj.draw_seed)

    @admin.display(description=_("public draw page"))
    def public_draw_page(self, obj: WaitingRoom) -> str:
        url = reverse("queueing:draw", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, url)

    # --- who holds the most places ---

    @admin.display(description=_("live visits"))
    def live_visits(self, obj: WaitingRoom) -> str:
        url = _history_url(concert__id__exact=obj.pk, live="yes")
        return format_html('<a href="{}">{}</a>', url, _("Show the live visits of this concert (to remove a fan)"))

    @admin.display(description=_("most live places per address"))
    def places_by_address(self, obj: WaitingRoom) -> StrOrPromise:
        rows = selectors.live_places_by_address(concert=obj.concert)
        if not rows:
            return _("No live place has a recorded address.")
        body = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td></tr>',
            (
                (_history_url(concert__id__exact=obj.pk, live="yes", client_ip=ip), ip, row.places)
                for row in rows
                for ip in [row.client_ip]
            ),
        )
        return format_html(
            '<table class="places-by-address"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>',
            _("client address"),
            _("live places"),
            body,
        )

    @admin.display(description=_("accounts and addresses"))
    def limit_offenders(self, obj: WaitingRoom) -> str:
        def table(heading: StrOrPromise, rows: list[tuple[str, int]], link: Callable[[str], str]) -> str:
            body = format_html_join(
                "", '<tr><td><a href="{}">{}</a></td><td>{}</td></tr>', ((link(who), who, hits) for who, hits in rows)
            )
            if not rows:
                body = format_html('<tr><td colspan="2">{}</td></tr>', _("No refusals"))
            return format_html(
                "<table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
                heading,
                _("Refusals"),
                body,
            )

        live = {"concert__id__exact": obj.pk, "live": "yes"}
        accounts = table(_("Account"), top_offenders("account"), lambda email: _history_url(**live, q=email))
        addresses = table(
            _("Client address"), top_offenders("ip"), lambda address: _history_url(**live, client_ip=address)
        )
        return format_html('<div class="limit-offenders">{}{}</div>', accounts, addresses)

    def _set_paused(
        self,
        request: HttpRequest,
        queryset: QuerySet[WaitingRoom],
        *,
        paused: bool,
        message: Callable[[int], str],
    ) -> None:
        rooms = list(queryset.select_related("concert"))
        for room in rooms:
            services.set_paused(concert=room.concert, paused=paused, by=acting_user(request))
        self.message_user(request, message(len(rooms)) % len(rooms))

    @audited_by_services
    @admin.action(description=_("Pause admission"))
    def pause_admission(self, request: HttpRequest, queryset: QuerySet[WaitingRoom]) -> None:
        self._set_paused(
            request,
            queryset,
            paused=True,
            message=lambda n: ngettext("Paused admission for %d concert.", "Paused admission for %d concerts.", n),
        )

    @audited_by_services
    @admin.action(description=_("Resume admission"))
    def resume_admission(self, request: HttpRequest, queryset: QuerySet[WaitingRoom]) -> None:
        self._set_paused(
            request,
            queryset,
            paused=False,
            message=lambda n: ngettext("Resumed admission for %d concert.", "Resumed admission for %d concerts.", n),
        )

    @audited_by_services
    @admin.action(description=_("Admit the next batch now"))
    def admit_batch_now(self, request: HttpRequest, queryset: QuerySet[WaitingRoom]) -> None:
        total = 0
        try:
            for room in queryset.select_related("concert"):
                total += services.admit_now(concert=room.concert, by=acting_user(request))
        except QueueUnavailable as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, ngettext("Admitted %d fan.", "Admitted %d fans.", total) % total)


@admin.register(QueueToken)
class QueueTokenAdmin(ReadOnlyAdmin):
    list_display = [
        "token",
        "user",
        "concert",
        "queue_position",
        "state",
        "issued_at",
        "admitted_at",
        "expired_at",
        "end_reason",
    ]
    list_filter = ["state", "end_reason", "concert"]
    list_select_related = ["user", "concert"]
    search_fields = ["user__email", "=token"]
    ordering = ["concert", "queue_position"]
    show_full_result_count = False


class LiveFilter(admin.SimpleListFilter):
    title = _("in the queue now")
    parameter_name = "live"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("yes", _("Yes (not exited)")), ("no", _("No (exited)"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(exited_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(exited_at__isnull=False)
        return queryset


class ExitReasonFilter(admin.SimpleListFilter):
    title = _("exit reason")
    parameter_name = "exit_reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [(code, label) for code, label in ExitReason.choices if code != ExitReason.ERROR]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(exit_reason=self.value()) if self.value() else queryset


class ClientAddressFilter(admin.SimpleListFilter):
    """The visits from one client address (?client_ip=...), reached from the room's address table; a value
    that is not an address filters nothing."""

    title = _("client address")
    parameter_name = "client_ip"

    def _address(self) -> str | None:
        try:
            return str(ipaddress.ip_address(self.value() or ""))
        except ValueError:
            return None

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        address = self._address()
        return [(address, address)] if address else []

    def has_output(self) -> bool:
        return self._address() is not None

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        address = self._address()
        return queryset.filter(client_ip=address) if address else queryset


class RemovalForm(forms.Form):
    reason = forms.CharField(
        label=_("Why (kept in the history with your name)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


@admin.register(QueueEntryHistory)
class QueueEntryHistoryAdmin(ReadOnlyAdmin):
    """Every visit, read-only; staff who control the waiting rooms may remove fans from a queue (the action
    goes through queueing.services.remove_from_queue, which records who and why)."""

    list_display = [
        "user",
        "concert",
        "presale",
        "receipt",
        "queue_position",
        "client_ip",
        "entered_at",
        "admitted_at",
        "exited_at",
        "exit_reason",
        "removed_by",
        "was_admitted",
        "duration_seconds",
    ]
    list_filter = [LiveFilter, ExitReasonFilter, "was_admitted", "concert", ClientAddressFilter]
    # The presale joined outer: a visit keeps its presale's id when staff delete the presale (no constraint), and
    # shows none then.
    list_select_related = ["user", "concert", "removed_by", "presale"]
    search_fields = ["user__email", "=token", "=receipt"]
    date_hierarchy = "entered_at"
    show_full_result_count = False
    actions = ["remove_from_queue"]

    def has_remove_permission(self, request: HttpRequest) -> bool:
        """Staff who may change waiting rooms may remove fans from them."""
        return request.user.has_perm("queueing.change_waitingroom")

    @audited_by_services
    @admin.action(description=_("Remove the selected fans from the queue…"), permissions=["remove"])
    def remove_from_queue(self, request: HttpRequest, queryset: QuerySet[QueueEntryHistory]) -> TemplateResponse | None:
        visits = list(queryset.filter(exited_at__isnull=True).select_related("user", "concert").order_by("entered_at"))
        if not visits:
            self.message_user(request, _("None of the selected visits is still in the queue."), messages.WARNING)
            return None
        form = RemovalForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._remove(request, visits, selected=queryset.count(), note=form.cleaned_data["reason"])
            return None
        return TemplateResponse(
            request,
            "admin/queueing/queueentryhistory/remove_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Remove fans from the queue"),
                "opts": self.model._meta,
                "visits": visits,
                "form": form,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    def _remove(self, request: HttpRequest, visits: list[QueueEntryHistory], *, selected: int, note: str) -> None:
        staff = request.user
        assert isinstance(staff, User)  # the admin lets only logged-in staff in
        removed, seen = 0, set()
        try:
            for visit in visits:
                if (visit.concert_id, visit.user_id) in seen:
                    continue
                seen.add((visit.concert_id, visit.user_id))
                removed += services.remove_from_queue(concert=visit.concert, user=visit.user, by=staff, note=note)
        except QueueUnavailable as exc:
            self.message_user(request, exc.message, messages.ERROR)
            selected = removed  # the rest were not tried: say nothing about them
        if removed:
            self.message_user(
                request,
                ngettext("Removed %d fan from the queue.", "Removed %d fans from the queue.", removed) % removed,
                messages.SUCCESS,
            )
        if selected > removed:
            skipped = selected - removed
            self.message_user(
                request,
                ngettext(
                    "%d selected visit was not in the queue any more.",
                    "%d selected visits were not in the queue any more.",
                    skipped,
                )
                % skipped,
                messages.INFO,
            )


@admin.register(SaleDraw)
class SaleDrawAdmin(ReadOnlyAdmin):
    """The draws of fan-club presales the waiting rooms have moved on from, read-only (their public pages link
    from the concert's draw page)."""

    list_display = ["concert", "presale_name", "drawn_at", "draw_size", "closed_at", "public_page"]
    list_select_related = ["concert"]
    search_fields = ["concert__title", "presale_name"]
    fields = ["concert", "presale", "presale_name", "commitment", "seed", "drawn_at", "draw_size", "closed_at"]

    @admin.display(description=_("public page"))
    def public_page(self, obj: SaleDraw) -> str:
        url = reverse("queueing:draw", args=[obj.concert_id]) + f"?presale={obj.presale}"
        return format_html('<a href="{}">{}</a>', url, _("draw"))
