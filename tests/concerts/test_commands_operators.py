"""Operators' commands: --help everywhere, non-zero exit on failure, the database checked afterwards,
and a second run that changes nothing."""

import csv
import datetime
import io

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.utils import timezone

from booking.models import Reservation
from concerts.models import Concert, ConcertDate, Seat
from tests.factories import ConcertDateFactory
from tests.support.sales import holding_fan, paid_fan
from wallet.models import UsageHistory

OPERATOR_COMMANDS = [
    "seed_demo",
    "expire_holds",
    "admit_queue",
    "queue_status",
    "reconcile_wallets",
    "create_concert",
    "sales_report",
    "cancel_date",
]


def run(name, *argv):
    """Run a command as `manage.py name argv...` would; return (exit code, stdout, stderr).

    Mirrors BaseCommand.run_from_argv (parse, execute, CommandError -> its exit code) except that it
    leaves the test's database connection open.
    """
    out, err = io.StringIO(), io.StringIO()
    command = load_command_class(get_commands()[name], name)
    options = vars(command.create_parser("manage.py", name).parse_args(argv))
    args = options.pop("args", ())
    try:
        command.execute(*args, stdout=out, stderr=err, **options)
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        return exc.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", OPERATOR_COMMANDS)
def test_every_operator_command_has_help(name, capsys):
    assert name in get_commands()
    with pytest.raises(SystemExit) as exit_info:
        call_command(name, "--help")
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert f"{name} [-h]" in help_text
    description = help_text.split("\n\n")[1]
    assert len(description.strip()) > 30, f"{name} needs a description in --help"


TIERS = ["--tier", "VIP 1-10 165000", "--tier", "R 11-30 132,000", "--tier", "S:31-50:99000"]


@pytest.mark.django_db
def test_create_concert_creates_dates_with_tiers_and_is_idempotent():
    args = ["create_concert", "--title", "Aurora", "--date", "2030-05-01,2030-05-02", "--start", "19:30"]
    args += ["--sale-opens", "2030-04-01 20:00", "--venue", "KSPO Dome", *TIERS]
    code, out, _err = run(*args)
    assert code == 0, out
    concert = Concert.objects.get(title="Aurora")
    assert [d.concert_date.isoformat() for d in concert.dates.all()] == ["2030-05-01", "2030-05-02"]
    assert concert.venue == "KSPO Dome"
    assert timezone.localtime(concert.start_time).strftime("%Y-%m-%d %H:%M") == "2030-05-01 19:30"
    assert timezone.localtime(concert.sale_opens_at).strftime("%Y-%m-%d %H:%M") == "2030-04-01 20:00"
    prices = dict(
        Seat.objects.filter(concert_date__concert=concert, concert_date__concert_date="2030-05-02").values_list(
            "seat_number", "price"
        )
    )
    assert (prices[10], prices[11], prices[30], prices[31]) == (165_000, 132_000, 132_000, 99_000)

    code, out, _err = run(*args)
    assert code == 0 and "Nothing to do" in out
    assert ConcertDate.objects.filter(concert=concert).count() == 2
    code, out, _err = run(*[a if a != "2030-05-01,2030-05-02" else "2030-05-03 14:00" for a in args])
    assert code == 0
    assert Concert.objects.count() == 1  # a date added to the same concert, with its own start
    concert.refresh_from_db()
    starts = [timezone.localtime(d.starts_at).strftime("%Y-%m-%d %H:%M") for d in concert.dates.all()]
    assert starts == ["2030-05-01 19:30", "2030-05-02 19:30", "2030-05-03 14:00"]
    assert timezone.localtime(concert.end_time).strftime("%Y-%m-%d %H:%M") == "2030-05-03 14:00"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad",
    [
        ["--date", "2030-02-30"],
        ["--date", "2030-05-01", "--tier", "VIP 1-10 165000"],  # seats 11..50 have no price
        ["--date", "2030-05-01", "--tier", "cheap"],
        ["--date", "2030-05-01", "--start", "25:00"],
        ["--date", "2030-05-01", "--sale-opens", "2030-06-01 10:00"],  # after the show
        ["--date", "2030-05-01 25:00"],
        ["--date", "2030-05-01 14:00,2030-05-01 19:00"],  # two shows on one day
    ],
)
def test_create_concert_refuses_bad_input_with_exit_1_and_creates_nothing(bad):
    code, _out, err = run("create_concert", "--title", "Bad", *bad)
    assert code == 1
    assert err.strip()
    assert not Concert.objects.exists() and not Seat.objects.exists()


@pytest.fixture
def two_dates():
    first = ConcertDateFactory()
    second = ConcertDateFactory(concert=first.concert, concert_date=first.concert_date + datetime.timedelta(days=1))
    paid_fan(concert_date=first, seats=[1, 2])
    holding_fan(concert_date=first, seats=[3])
    return first, second


@pytest.mark.django_db
def test_sales_report_as_csv_and_table(two_dates):
    first, second = two_dates
    code, out, _err = run("sales_report", "--format", "csv")
    assert code == 0
    rows = {row["date_id"]: row for row in csv.DictReader(io.StringIO(out))}
    assert rows[str(first.pk)]["sold"] == "2" and rows[str(first.pk)]["held"] == "1"
    assert rows[str(first.pk)]["free"] == "47"
    assert int(rows[str(first.pk)]["revenue_won"]) == 2 * 99_000
    assert rows[str(second.pk)]["sold"] == "0" and rows[str(second.pk)]["revenue_won"] == "0"

    code, out, _err = run("sales_report", "--concert", first.concert.title)
    assert code == 0
    assert "TOTAL" in out and "198,000" in out and str(first.pk) in out

    code, _out, err = run("sales_report", "--concert", "no such concert")
    assert code == 1 and "No concert" in err


@pytest.mark.django_db
def test_cancel_date_dry_run_then_real_then_again(two_dates):
    first, second = two_dates
    code, out, _err = run("cancel_date", str(first.pk), "--dry-run")
    assert code == 0 and "1 hold(s)" in out and "2 paid" in out and "198,000 won" in out
    first.refresh_from_db()
    assert first.status == ConcertDate.Status.SCHEDULED
    assert Reservation.objects.filter(seat__concert_date=first, status__in=Reservation.LIVE_STATUSES).count() == 3

    code, out, _err = run("cancel_date", str(first.pk), "--reason", "typhoon")
    assert code == 0, out
    assert "3/3" in out
    first.refresh_from_db()
    assert first.status == ConcertDate.Status.CANCELLED
    assert not Reservation.objects.filter(seat__concert_date=first, status__in=Reservation.LIVE_STATUSES).exists()
    refunds = UsageHistory.objects.filter(reservation__seat__concert_date=first, action_type="CANCELLATION")
    assert refunds.count() == 2

    code, out, _err = run("cancel_date", str(first.pk))
    assert code == 0 and "already cancelled" in out
    assert refunds.count() == 2  # refunded once
    second.refresh_from_db()
    assert second.status == ConcertDate.Status.SCHEDULED  # the other date is untouched


@pytest.mark.django_db
@pytest.mark.parametrize("date_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_cancel_date_with_an_unknown_date_exits_1(date_id):
    code, _out, err = run("cancel_date", date_id)
    assert code == 1 and "No concert date" in err
