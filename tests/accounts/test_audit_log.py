"""The audit log's mechanism (accounts.audit, accounts.admin_site): every admin add, change and delete is
recorded with who, the changed fields before and after, and the client address, in the transaction of the change;
secrets are redacted; the log's own admin is read-only and searchable."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEntry
from concerts.models import ConcertDate
from queueing.models import WaitingRoom
from tests.factories import ConcertDateFactory, StaffFactory, WaitingRoomFactory
from tests.support.browser import form_data

pytestmark = pytest.mark.django_db

STAFF_IP = "203.0.113.7"


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    client.defaults["REMOTE_ADDR"] = STAFF_IP
    return client


@pytest.fixture
def audit_writes_fail():
    """The database refuses every new audit entry (a trigger raising), as a full disk or a lost table would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION audit_refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit log down'; END $$ "
            "LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER audit_refuse BEFORE INSERT ON accounts_auditentry "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse()"
        )


def only_entry(**filters):
    entries = list(AuditEntry.objects.filter(**filters))
    assert len(entries) == 1, entries
    return entries[0]


def test_an_admin_change_records_who_the_changed_fields_before_and_after_and_the_address(staff_client, staff):
    room = WaitingRoomFactory(max_active=100)
    url = reverse("admin:queueing_waitingroom_change", args=[room.pk])
    data = form_data(staff_client.get(url), "waitingroom_form")
    data["max_active"] = "250"
    assert staff_client.post(url, data).status_code == 302

    entry = only_entry(action="admin.change")
    assert (entry.actor, entry.actor_label, entry.ip) == (staff, staff.email, STAFF_IP)
    assert (entry.content_type.model, entry.object_id) == ("waitingroom", str(room.pk))
    assert entry.changes == {"max_active": [100, 250]}  # only what changed
    assert entry.via == "admin"


def test_the_lists_editable_columns_are_recorded_too(staff_client):
    room = WaitingRoomFactory(max_active=100, admit_per_minute=600)
    url = reverse("admin:queueing_waitingroom_changelist")
    data = form_data(staff_client.get(url), "changelist-form")
    data["form-0-admit_per_minute"] = "120"
    data["_save"] = "Save"
    assert staff_client.post(url, data).status_code == 302
    assert only_entry(action="admin.change", object_id=str(room.pk)).changes == {"admit_per_minute": [600, 120]}


def test_an_admin_addition_and_a_deletion_are_recorded(staff_client, staff):
    response = staff_client.post(reverse("admin:auth_group_add"), {"name": "door staff"})
    assert response.status_code == 302
    group = Group.objects.get(name="door staff")
    added = only_entry(action="admin.add")
    assert (added.object_id, added.object_repr, added.changes) == (
        str(group.pk),
        "door staff",
        {"name": [None, "door staff"]},
    )

    delete = reverse("admin:auth_group_delete", args=[group.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 302
    deleted = only_entry(action="admin.delete")
    assert (deleted.object_id, deleted.actor, deleted.ip) == (str(group.pk), staff, STAFF_IP)
    assert deleted.changes["name"] == ["door staff", None]


def test_delete_selected_records_each_row_in_the_transaction_of_the_deletion(staff_client):
    groups = [Group.objects.create(name=f"group {n}") for n in range(2)]
    url = reverse("admin:auth_group_changelist")
    response = staff_client.post(
        url, {"action": "delete_selected", "_selected_action": [g.pk for g in groups], "post": "yes"}
    )
    assert response.status_code == 302
    assert not Group.objects.exists()
    assert sorted(AuditEntry.objects.filter(action="admin.delete").values_list("object_repr", flat=True)) == [
        "group 0",
        "group 1",
    ]


def test_a_password_set_in_the_admin_is_recorded_without_the_password(staff_client):
    clerk = StaffFactory(email="clerk@example.com")
    url = reverse("admin:auth_user_password_change", args=[clerk.pk])
    response = staff_client.post(url, {"password1": "Ticket-Door-2026!", "password2": "Ticket-Door-2026!"})
    assert response.status_code == 302
    entry = only_entry(action="admin.change", object_id=str(clerk.pk))
    assert "Ticket-Door" not in str(entry.changes) and "argon2" not in str(entry.changes)
    assert entry.changes == {"password": [audit.REDACTED, audit.REDACTED]}


def test_secret_fields_are_redacted_whoever_records_them():
    with transaction.atomic():
        entry = audit.record(
            "test.secret",
            changes={"draw_seed": ("a" * 64, "b" * 64), "otp_secret": (None, "JBSWY3DP"), "max_active": (1, 2)},
        )
    assert entry.changes == {
        "draw_seed": [audit.REDACTED, audit.REDACTED],
        "otp_secret": [audit.REDACTED, audit.REDACTED],
        "max_active": [1, 2],
    }
    assert entry.actor_label == "system"


def test_record_refuses_to_run_outside_a_transaction(transactional_db):
    with pytest.raises(audit.AuditOutsideTransaction):
        audit.record("test.outside")
    assert not AuditEntry.objects.exists()


def test_a_change_that_rolls_back_leaves_no_audit_entry(transactional_db):
    room = WaitingRoomFactory(max_active=100)
    with pytest.raises(RuntimeError), transaction.atomic():
        WaitingRoom.objects.filter(pk=room.pk).update(max_active=5)
        audit.record("admin.change", room, changes={"max_active": (100, 5)})
        raise RuntimeError("the change failed after its entry was written")
    assert not AuditEntry.objects.exists()
    assert WaitingRoom.objects.get(pk=room.pk).max_active == 100


def test_an_audit_write_that_fails_rolls_the_admin_change_back(staff_client, audit_writes_fail):
    room = WaitingRoomFactory(max_active=100)
    url = reverse("admin:queueing_waitingroom_change", args=[room.pk])
    data = form_data(staff_client.get(url), "waitingroom_form")
    data["max_active"] = "250"
    with pytest.raises(DatabaseError, match="audit log down"):
        staff_client.post(url, data)
    assert WaitingRoom.objects.get(pk=room.pk).max_active == 100


def test_a_staff_page_outside_the_admin_credits_the_staff_member_and_the_address(rf, staff):
    @audit.acting_view
    def door_page(request):
        with transaction.atomic():
            return audit.record("ticket.check_in")

    request = rf.post("/door/", REMOTE_ADDR=STAFF_IP)
    request.user = staff
    entry = door_page(request)
    assert (entry.actor, entry.actor_label, entry.ip, entry.via) == (staff, staff.email, STAFF_IP, "door_page")
    assert audit.current() is None  # the context ends with the view


def test_the_operator_context_names_the_os_user_and_the_command():
    with audit.acting_as_operator("cancel_date"), transaction.atomic():
        entry = audit.record("date.cancel")
    assert entry.actor is None
    assert entry.actor_label.startswith("operator:")
    assert (entry.via, entry.ip) == ("manage.py cancel_date", None)


# --- the log's own admin ----------------------------------------------------------------------------------


@pytest.fixture
def entries(staff):
    other = StaffFactory(email="door@example.com")
    with transaction.atomic():
        audit.record("queue.pause", None, actor=staff, object_repr="Seoul Jazz Night", changes={"is_paused": (0, 1)})
        audit.record("ticket.check_in", None, actor=other, object_repr="Seat 7")
    return staff, other


def test_the_log_lists_searches_and_filters_for_staff(staff_client, entries):
    url = reverse("admin:accounts_auditentry_changelist")
    page = staff_client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Seoul Jazz Night" in body and "Seat 7" in body

    by_actor = staff_client.get(url, {"q": "door@example.com"}).content.decode()
    assert "Seat 7" in by_actor and "Seoul Jazz Night" not in by_actor
    by_object = staff_client.get(url, {"q": "Jazz"}).content.decode()
    assert "Seoul Jazz Night" in by_object and "Seat 7" not in by_object
    by_action = staff_client.get(url, {"action": "ticket.check_in"}).content.decode()
    assert "Seat 7" in by_action and "Seoul Jazz Night" not in by_action


def test_nobody_adds_changes_or_deletes_log_entries_not_even_a_superuser(staff_client, entries):
    entry = AuditEntry.objects.get(action="queue.pause")
    assert staff_client.get(reverse("admin:accounts_auditentry_add")).status_code == 403
    detail = staff_client.get(reverse("admin:accounts_auditentry_change", args=[entry.pk]))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    staff_client.post(reverse("admin:accounts_auditentry_change", args=[entry.pk]), {"note": "edited"})
    assert (
        staff_client.post(reverse("admin:accounts_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.note == ""
    assert AuditEntry.objects.count() == 2
    page = staff_client.get(reverse("admin:accounts_auditentry_changelist")).content.decode()
    assert "delete_selected" not in page
    with pytest.raises(ValueError):
        entry.save()


def test_the_log_list_reads_a_fixed_number_of_queries_however_many_entries(staff_client, staff):
    url = reverse("admin:accounts_auditentry_changelist")
    room = WaitingRoomFactory()

    def write(count):
        with transaction.atomic():
            for n in range(count):
                audit.record("admin.change", room, actor=staff, changes={"max_active": (n, n + 1)})

    write(2)
    staff_client.get(url)  # the content types are cached from here on
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(url).status_code == 200
    write(20)
    with CaptureQueriesContext(connection) as many:
        assert staff_client.get(url).status_code == 200
    assert len(many) == len(few)


def test_the_concert_pages_inline_date_rows_are_recorded_each_with_its_own_changes(staff_client, staff):
    from tests.concerts.test_admin_dates import _concert_form, _local

    first = ConcertDateFactory(starts_at=timezone.now() + datetime.timedelta(days=3))
    concert = first.concert
    moved = _local(first.starts_at) + datetime.timedelta(hours=1)
    added = _local(first.starts_at) + datetime.timedelta(days=7)
    data = _concert_form(concert, (first, moved, {}), (None, added, {}))
    data["venue"] = "KSPO DOME"
    response = staff_client.post(reverse("admin:concerts_concert_change", args=[concert.pk]), data)
    assert response.status_code == 302

    on_concert = only_entry(action="admin.change", object_id=str(concert.pk))
    assert on_concert.changes["venue"][1] == "KSPO DOME"
    on_date = only_entry(action="admin.change", object_id=str(first.pk))
    assert on_date.changes["starts_at"][1].startswith(moved.astimezone(datetime.UTC).isoformat()[:16])
    new_date = ConcertDate.objects.get(concert=concert, starts_at=added)
    assert only_entry(action="admin.add", object_id=str(new_date.pk)).changes["starts_at"][0] is None
    assert {entry.ip for entry in AuditEntry.objects.all()} == {STAFF_IP}


def test_the_database_refuses_to_change_or_delete_an_entry_but_clears_a_deleted_accounts_link(staff):
    with transaction.atomic():
        entry = audit.record("queue.pause", None, actor=staff, note="paused for the storm")
    with pytest.raises(DatabaseError, match="never changed"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(note="nothing happened")
    with pytest.raises(DatabaseError, match="never changed"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(actor=StaffFactory())
    with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()

    staff.delete()  # the account goes; the entry stays, saying who it was
    entry.refresh_from_db()
    assert (entry.actor, entry.actor_label, entry.note) == (None, "staff@example.com", "paused for the storm")
