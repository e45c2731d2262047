"""Presales in the admin: windows inline on the concert's page (checked against the general sale, each other and
the seats), and a presale's own page where codes are uploaded or generated (shown once, never stored in clear) and
e-mail addresses are added."""

import csv
import datetime
import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from concerts import services
from concerts.models import Presale, PresaleCode, PresaleEmail
from concerts.presale_codes import normalize_code
from tests.factories import ConcertDateFactory, ConcertFactory, PresaleFactory, UserFactory
from tests.support.browser import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _utc_and_english(settings):
    settings.TIME_ZONE = "UTC"  # the form's date and time fields, as typed below
    settings.LANGUAGE_CODE = "en"


def _at(data, field, moment):
    data[f"{field}_0"], data[f"{field}_1"] = moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")


def _concert():
    opens = (timezone.now() + datetime.timedelta(days=3)).replace(second=0, microsecond=0)
    return ConcertDateFactory(concert=ConcertFactory(sale_opens_at=opens)).concert


def _with_window(client, concert, *, opens_at, closes_at, quota="10", row=0, data=None):
    url = reverse("admin:concerts_concert_change", args=[concert.pk])
    data = data or form_data(client.get(url), "concert_form")
    prefix = f"presales-{row}"
    data["presales-TOTAL_FORMS"] = str(row + 1)
    data[f"{prefix}-name"] = f"Fan club {row}"
    data[f"{prefix}-quota"] = quota
    data[f"{prefix}-access"] = "CODES"
    data[f"{prefix}-concert"] = str(concert.pk)
    _at(data, f"{prefix}-opens_at", opens_at)
    _at(data, f"{prefix}-closes_at", closes_at)
    return url, data


def test_staff_add_a_presale_window_on_the_concerts_page(staff_client):
    concert = _concert()
    url, data = _with_window(
        staff_client,
        concert,
        opens_at=concert.sale_opens_at - datetime.timedelta(days=1),
        closes_at=concert.sale_opens_at - datetime.timedelta(hours=2),
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, html.unescape(response.content.decode())[:3000]
    presale = Presale.objects.get(concert=concert)
    assert (presale.name, presale.quota) == ("Fan club 0", 10)
    page = staff_client.get(url).content.decode()
    assert reverse("admin:concerts_presale_change", args=[presale.pk]) in page


@pytest.mark.parametrize(
    ("closes_after_sale", "quota", "said"),
    [
        (True, "10", "must close by the time the general sale's waiting room opens"),
        (False, "51", "more than the concert's 50 seats"),
    ],
)
def test_a_window_after_the_general_sale_or_over_the_seats_is_refused(staff_client, closes_after_sale, quota, said):
    concert = _concert()
    # Into the general sale's pre-queue (it opens PREQUEUE_MINUTES before the sale): the room serves one sale at once.
    closes = concert.sale_opens_at + datetime.timedelta(minutes=-10 if closes_after_sale else -60)
    url, data = _with_window(
        staff_client,
        concert,
        opens_at=concert.sale_opens_at - datetime.timedelta(days=1),
        closes_at=closes,
        quota=quota,
    )
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert said in html.unescape(response.content.decode())
    assert not Presale.objects.exists()


def test_two_overlapping_windows_on_one_page_are_refused(staff_client):
    concert = _concert()
    day = datetime.timedelta(days=1)
    url, data = _with_window(
        staff_client, concert, opens_at=concert.sale_opens_at - 2 * day, closes_at=concert.sale_opens_at - day / 2
    )
    url, data = _with_window(
        staff_client,
        concert,
        opens_at=concert.sale_opens_at - day,
        closes_at=concert.prequeue_starts_at,
        row=1,
        data=data,
    )
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "may not overlap" in html.unescape(response.content.decode())
    assert not Presale.objects.exists()


def _presale_page(client, presale, **fields):
    url = reverse("admin:concerts_presale_change", args=[presale.pk])
    data = form_data(client.get(url), "presale_form")
    data.update(fields)
    return client.post(url, data)


def test_staff_upload_a_csv_of_codes_and_codes_on_the_list_are_skipped(staff_client):
    presale = PresaleFactory()
    services.add_presale_codes(presale=presale, codes=["ALREADY123"])
    upload = SimpleUploadedFile("codes.csv", b"code\nabcd-efgh-1234\nALREADY123\nzzzz9999\n", content_type="text/csv")
    response = _presale_page(staff_client, presale, code_file=upload)
    assert response.status_code == 302, html.unescape(response.content.decode())[:3000]
    assert PresaleCode.objects.filter(presale=presale).count() == 3
    assert "2 codes added (1 were on the list already)" in html.unescape(
        staff_client.get(response.url).content.decode()
    )


def test_a_csv_with_a_row_that_is_no_code_adds_nothing_and_names_the_row(staff_client):
    presale = PresaleFactory()
    upload = SimpleUploadedFile("codes.csv", b"GOODCODE1\nbad!\n", content_type="text/csv")
    response = _presale_page(staff_client, presale, code_file=upload)
    assert response.status_code == 200
    assert "Rows 2 are not codes" in html.unescape(response.content.decode())
    assert not PresaleCode.objects.exists()


def test_a_csv_with_codes_too_easy_to_guess_adds_nothing_names_the_first_and_saves_nothing_else(staff_client):
    # Six digits are a million guesses: across accounts within the rate limit, a fan could find one of the codes.
    presale = PresaleFactory(name="Fan club")
    upload = SimpleUploadedFile("codes.csv", b"code\nGOODCODE1\n123456\nABCDEFGH\n", content_type="text/csv")
    response = _presale_page(staff_client, presale, code_file=upload, name="Renamed")
    assert response.status_code == 200
    assert (
        "The code in row 3 is too easy to guess (2 rows in all): uploaded codes need at least 8 characters mixing "
        "letters and digits, 9 letters or 13 digits. Nothing was added." in html.unescape(response.content.decode())
    )
    assert not PresaleCode.objects.exists()
    presale.refresh_from_db()
    assert presale.name == "Fan club"


def test_generated_codes_are_shown_once_and_downloaded_as_csv(staff_client):
    presale = PresaleFactory()
    response = _presale_page(staff_client, presale, generate="3")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="generated-codes"' in page
    shown = form_data(response, "generated-codes-form")["codes"].split()
    assert len(shown) == 3 and PresaleCode.objects.filter(presale=presale).count() == 3
    # Each shown code is one of the presale's: a fan can use it.
    fan = UserFactory()
    services.redeem_presale_code(user=fan, presale=presale, code=shown[0])
    # The page is not shown again, and no code is in any page or table in clear.
    again = staff_client.get(reverse("admin:concerts_presale_change", args=[presale.pk])).content.decode()
    assert not any(normalize_code(code) in again or code in again for code in shown)
    download = staff_client.post(reverse("admin:concerts_presale_codes_csv"), {"codes": "\n".join(shown)})
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows == [["code"], *[[code] for code in shown]]
    assert staff_client.get(reverse("admin:concerts_presale_codes_csv")).status_code == 405


def test_codes_for_a_presale_by_email_list_are_refused(staff_client):
    presale = PresaleFactory(access=Presale.Access.EMAILS)
    response = _presale_page(staff_client, presale, generate="3")
    assert response.status_code == 200
    assert "Codes are for a presale by codes" in html.unescape(response.content.decode())
    assert not PresaleCode.objects.exists()


def test_staff_add_email_addresses_and_a_bad_one_adds_none(staff_client):
    presale = PresaleFactory(access=Presale.Access.EMAILS)
    response = _presale_page(staff_client, presale, new_emails="Fan@Example.com\nnope\n")
    assert response.status_code == 200
    assert "Not an e-mail address: nope" in html.unescape(response.content.decode())
    assert not PresaleEmail.objects.exists()
    response = _presale_page(staff_client, presale, new_emails="Fan@Example.com, other@example.com\n")
    assert response.status_code == 302
    assert sorted(PresaleEmail.objects.values_list("email", flat=True)) == ["fan@example.com", "other@example.com"]


def test_the_code_list_shows_who_used_a_code_but_never_a_code(staff_client):
    presale = PresaleFactory()
    [code] = services.generate_presale_codes(presale=presale, count=1)
    fan = UserFactory()
    services.redeem_presale_code(user=fan, presale=presale, code=code)
    page = staff_client.get(reverse("admin:concerts_presalecode_changelist")).content.decode()
    assert fan.email in page and code not in page
    assert staff_client.get(reverse("admin:concerts_presalecode_add")).status_code == 403


def test_uploading_generating_and_adding_addresses_are_in_the_audit_log_without_any_code(staff_client, staff):
    from accounts.models import AuditEntry

    presale = PresaleFactory()
    upload = SimpleUploadedFile("codes.csv", b"FIRSTCODE1\nSECONDCODE2\n", content_type="text/csv")
    assert _presale_page(staff_client, presale, code_file=upload).status_code == 302
    shown = form_data(_presale_page(staff_client, presale, generate="2"), "generated-codes-form")["codes"].split()
    entries = {entry.action: entry for entry in AuditEntry.objects.filter(action__startswith="presale.")}
    assert set(entries) == {"presale.codes_upload", "presale.codes_generate"}
    assert entries["presale.codes_upload"].changes == {"list_size": [0, 2]}
    assert entries["presale.codes_generate"].changes == {"list_size": [2, 4]}
    assert all(entry.actor == staff and entry.object_id == str(presale.pk) for entry in entries.values())
    everything = str(list(AuditEntry.objects.values()))
    assert not any(code in everything for code in ["FIRSTCODE1", "SECONDCODE2", *shown])
    by_list = PresaleFactory(access=Presale.Access.EMAILS)
    assert _presale_page(staff_client, by_list, new_emails="a@example.com").status_code == 302
    assert AuditEntry.objects.get(action="presale.emails_add").changes == {"list_size": [0, 1]}
    everything = str(list(AuditEntry.objects.values()))
    assert "a@example.com" not in everything  # the change form's entry says the box was used, not what it held
    [change] = AuditEntry.objects.filter(action="admin.change", object_id=str(by_list.pk))
    assert change.changes["new_emails"] == [None, "[redacted]"]
