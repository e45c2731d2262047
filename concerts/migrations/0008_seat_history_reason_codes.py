"""SeatStatusHistory.reason becomes a code (SeatStatusHistory.Reason) shown by its translated label; the staff
member's own words move to `note`. The English texts stored so far map to codes, and back on reversal."""

from django.db import migrations, models
from django.db.models import Case, F, Value, When
from django.db.models.functions import Concat, Substr

# Every English text the services have written, and the staff refund's default in either language (the admin's
# refund form offered it translated), with its code.
TEXT_TO_CODE = {
    "seat created": "seat_created",
    "held": "held",
    "paid": "paid",
    "hold expired": "hold_expired",
    "cancelled by the fan": "fan_cancelled",
    "refunded by staff": "staff_refunded",
    "스태프 환불": "staff_refunded",
    "운영자 환불": "staff_refunded",
    "released by staff": "staff_released",
    "offered from the waiting list": "waitlist_offered",
    "waiting-list offer declined": "offer_declined",
}
CODE_TO_TEXT = {
    "seat_created": "seat created",
    "held": "held",
    "paid": "paid",
    "hold_expired": "hold expired",
    "fan_cancelled": "cancelled by the fan",
    "staff_released": "released by staff",
    "waitlist_offered": "offered from the waiting list",
    "offer_declined": "waiting-list offer declined",
}
CODES = set(TEXT_TO_CODE.values()) | {"date_cancelled", "other"}
DATE_PREFIX = "date cancelled: "


def to_codes(apps, schema_editor):
    History = apps.get_model("concerts", "SeatStatusHistory")
    for text, code in TEXT_TO_CODE.items():
        History.objects.filter(reason=text).update(reason=code)
    # "date cancelled: <the staff's reason>": one UPDATE reads the old reason for both columns.
    History.objects.filter(reason__startswith=DATE_PREFIX).update(
        note=Substr("reason", len(DATE_PREFIX) + 1), reason="date_cancelled"
    )
    History.objects.filter(reason="date cancelled").update(reason="date_cancelled")
    # Anything else is words a staff member typed: a refund's reason (a paid seat made free by staff) or other.
    History.objects.exclude(reason__in=CODES).update(
        note=F("reason"),
        reason=Case(
            When(from_status="RESERVED", to_status="AVAILABLE", changed_by__isnull=False, then=Value("staff_refunded")),
            default=Value("other"),
        ),
    )


def to_texts(apps, schema_editor):
    History = apps.get_model("concerts", "SeatStatusHistory")
    for code, text in CODE_TO_TEXT.items():
        History.objects.filter(reason=code).update(reason=text)
    History.objects.filter(reason="staff_refunded", note="").update(reason="refunded by staff")
    History.objects.filter(reason="staff_refunded").update(reason=F("note"))
    History.objects.filter(reason="date_cancelled", note="").update(reason="date cancelled")
    History.objects.filter(reason="date_cancelled").update(
        reason=Substr(Concat(Value(DATE_PREFIX), F("note"), output_field=models.CharField()), 1, 200)
    )
    History.objects.filter(reason="other").update(reason=F("note"))


class Migration(migrations.Migration):
    dependencies = [("concerts", "0007_presales")]

    operations = [
        migrations.AddField(
            model_name="seatstatushistory",
            name="note",
            field=models.CharField(blank=True, max_length=200, verbose_name="note"),
        ),
        migrations.RunPython(to_codes, to_texts),
        migrations.AlterField(
            model_name="seatstatushistory",
            name="reason",
            field=models.CharField(
                choices=[
                    ("seat_created", "Seat created"),
                    ("held", "Held by the fan"),
                    ("paid", "Paid"),
                    ("hold_expired", "Hold expired"),
                    ("fan_cancelled", "Cancelled by the fan"),
                    ("staff_refunded", "Refunded by staff"),
                    ("staff_released", "Hold released by staff"),
                    ("date_cancelled", "Date cancelled by the organiser"),
                    ("waitlist_offered", "Offered from the waiting list"),
                    ("offer_declined", "Waiting-list offer declined"),
                    ("other", "Other"),
                ],
                max_length=32,
                verbose_name="reason",
            ),
        ),
    ]
