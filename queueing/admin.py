"""Staff's view of the waiting rooms: per-concert max_active, pause/resume, the entry challenge (on/off and its
difficulty), live waiting and admitted counts.

Queue tokens and the visit history are read-only records here (with the Redis backend the live queue is
in Redis, so the QueueToken table stays empty; the history is always in the database).
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_stubs_ext import StrOrPromise

from config.admin import GuardedDeleteAdmin, ReadOnlyAdmin, SavesChangedFieldsAdmin
from config.ratelimit import KINDS, top_offenders

from . import selectors, services
from .exceptions import QueueUnavailable
from .models import QueueEntryHistory, QueueToken, WaitingRoom
from .selectors import RoomCounts


@admin.register(WaitingRoom)
class WaitingRoomAdmin(SavesChangedFieldsAdmin, GuardedDeleteAdmin, admin.ModelAdmin[WaitingRoom]):
    """Staff change max_active, pause and the entry challenge; the queue counters move only in queueing.services
    (the form writes only what staff changed), and a room fans have queued in is never deleted."""

    list_display = [
        "concert",
        "max_active",
        "is_paused",
        "waiting_now",
        "admitted_now",
        "admitted_total",
        "last_admission_at",
    ]
    list_editable = ["max_active"]
    list_filter = ["is_paused"]
    list_select_related = ["concert"]
    search_fields = ["concert__title"]
    ordering = ["concert__start_time"]
    actions = ["pause_admission", "resume_admission", "admit_batch_now"]
    readonly_fields = ["waiting_now", "admitted_now", "admitted_total", "last_admission_at"]
    fields = ["concert", "max_active", "is_paused", "challenge_enabled", "challenge_max_number", *readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: WaitingRoom | None = None) -> list[str]:
        return [*self.readonly_fields, "concert"] if obj else self.readonly_fields

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
            services.set_paused(concert=room.concert, paused=paused)
        self.message_user(request, message(len(rooms)) % len(rooms))

    @admin.action(description=_("Pause admission"))
    def pause_admission(self, request: HttpRequest, queryset: QuerySet[WaitingRoom]) -> None:
        self._set_paused(
            request,
            queryset,
            paused=True,
            message=lambda n: ngettext("Paused admission for %d concert.", "Paused admission for %d concerts.", n),
        )

    @admin.action(description=_("Resume admission"))
    def resume_admission(self, request: HttpRequest, queryset: QuerySet[WaitingRoom]) -> None:
        self._set_paused(
            request,
            queryset,
            paused=False,
            message=lambda n: ngettext("Resumed admission for %d concert.", "Resumed admission for %d concerts.", n),
        )

    @admin.action(description=_("Admit the next batch now"))
    def admit_batch_now(self, request: HttpRequest, queryset: QuerySet[WaitingRoom]) -> None:
        total = 0
        try:
            for room in queryset.select_related("concert"):
                total += services.admit_batch(concert=room.concert)
        except QueueUnavailable as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, ngettext("Admitted %d fan.", "Admitted %d fans.", total) % total)


@admin.register(QueueToken)
class QueueTokenAdmin(ReadOnlyAdmin):
    list_display = ["token", "user", "concert", "queue_position", "state", "issued_at", "admitted_at", "expired_at"]
    list_filter = ["state", "end_reason", "concert"]
    list_select_related = ["user", "concert"]
    search_fields = ["user__email", "=token"]
    ordering = ["concert", "queue_position"]
    show_full_result_count = False


@admin.register(QueueEntryHistory)
class QueueEntryHistoryAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "concert",
        "queue_position",
        "entered_at",
        "admitted_at",
        "exited_at",
        "exit_reason",
        "was_admitted",
        "duration_seconds",
    ]
    list_filter = ["was_admitted", "exit_reason", "concert"]
    list_select_related = ["user", "concert"]
    search_fields = ["user__email", "=token"]
    date_hierarchy = "entered_at"
    show_full_result_count = False
