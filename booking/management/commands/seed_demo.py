"""`manage.py seed_demo`: the embedded demo's data — concerts on sale and one opening soon, priced seats,
a fan with won in the wallet and a staff superuser, and a sold-out date with a waiting list (취소표). Creates only
what is missing, so it is safe to rerun.
It lives in booking, the top app, because it builds on the apps below it (concerts, wallet, accounts)."""

import base64
import datetime
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.models import User
from booking import services as booking_services
from concerts.models import Concert, ConcertDate, Presale
from concerts.pricing import PriceTier
from concerts.services import add_presale_emails, check_presale, create_concert
from wallet import services as wallet_services
from wallet.models import ChargeHistory

FAN_EMAIL, FAN_PASSWORD = "fan@frontrow.local", "frontrow-fan"
STAFF_EMAIL, STAFF_PASSWORD = "staff@frontrow.local", "frontrow-staff"
# The demo staff's authenticator key (base32), public like the password: the demo only. Type it into an
# authenticator app (time-based), or read the current code with `manage.py demo_two_factor_code`.
STAFF_TOTP_SECRET = "FRONTROWDEMOSTAFFTOTPSECRETKEY23"
FAN_TOP_UP = 500_000

# (title, venue, description, days until the first show, local start of each show (one a day, from that
# day on), hours until the sale opens)
CONCERTS = [
    (
        "Neon Harbor — Live in Seoul",
        "Olympic Hall",
        "Synth-pop under the lights, three nights only.",
        21,
        ["19:00"] * 3,
        -24,
    ),
    (
        "Seoul Philharmonic: Midsummer Nights",
        "Seoul Arts Center",
        "Mendelssohn and Dvořák.",
        35,
        ["19:30", "15:00"],
        -2,
    ),
    (
        "Blue Moon Jazz Sessions",
        "Blue Square",
        "A late-night trio with guests.",
        10,
        ["21:00", "21:00", "17:00", "21:00"],
        -72,
    ),
    (
        "Aurora Skies World Tour",
        "KSPO Dome",
        "The tour everyone is waiting for. Sale opens soon.",
        60,
        ["19:00"] * 3,
        2,
    ),
]


# A concert on sale whose first date is sold out (every seat paid by demo buyers, MAX_SEATS_PER_USER each) with
# WAITING_FANS on its waiting list; its second date has seats. The buyers and the waiting fans cannot log in.
SOLD_OUT = (
    "Han River Acoustic Night",
    "Nodeul Island Live House",
    "An intimate acoustic set by the river. The first night sold out: join its waiting list for returned seats.",
    14,
    ["20:00", "20:00"],
    -48,
)
WAITING_FANS = 2

# The concert whose sale opens soon has a fan-club presale before it, the demo fan on its list: its waiting room
# (a pre-queue now, the draw when the window opens) serves the presale first. (name, minutes from the seeding until
# it opens, and until it closes: before the general sale's waiting room opens, PREQUEUE_MINUTES before its sale.)
PRESALE = ("Aurora Skies World Tour", "Aurora Fan Club", 10, 70, 20)


def demo_tiers(seats: int | None = None) -> list[PriceTier]:
    """VIP / R / S over the first 20% / next 40% / rest of the seats (VIP 1-10, R 11-30, S 31-50 for 50)."""
    seats = seats or settings.SEATS_PER_DATE
    vip_last, r_last = max(1, seats // 5), max(1, seats * 3 // 5)
    tiers = [PriceTier("VIP", 1, vip_last, 165_000)]
    if r_last > vip_last:
        tiers.append(PriceTier("R", vip_last + 1, r_last, 132_000))
    if seats > r_last:
        tiers.append(PriceTier("S", r_last + 1, seats, 99_000))
    return tiers


class Command(BaseCommand):
    help = (
        "Load the demo data: four concerts on sale (the first date of one sold out, with fans on its waiting "
        "list) and one whose sale opens in two hours, each with "
        f"several dates of {settings.SEATS_PER_DATE} seats priced VIP/R/S; the fan {FAN_EMAIL} "
        f"(password {FAN_PASSWORD}) with {FAN_TOP_UP:,} won topped up; the staff superuser {STAFF_EMAIL} "
        f"(password {STAFF_PASSWORD}) with an authenticator whose key is {STAFF_TOTP_SECRET} "
        "(demo_two_factor_code prints its current code). Only missing rows are created, so running it again "
        "changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        with transaction.atomic():
            staff = self._user(STAFF_EMAIL, STAFF_PASSWORD, "Frontrow Staff", superuser=True)
            self._staff_authenticator(staff)
            fan = self._user(FAN_EMAIL, FAN_PASSWORD, "Demo Fan", superuser=False)
            for spec in CONCERTS:
                if self._concert(*spec, now=now, staff=staff) and spec[0] == PRESALE[0]:
                    self._fan_club_presale(Concert.objects.get(title=PRESALE[0]), fan, now=now)
            if self._concert(*SOLD_OUT, now=now, staff=staff):
                self._sell_out_with_a_waiting_list(Concert.objects.get(title=SOLD_OUT[0]), now=now)
        self._top_up(fan, now=now)
        fan.refresh_from_db(fields=["balance"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {Concert.objects.count()} concerts, {ConcertDate.objects.count()} dates. "
                f"Fan {FAN_EMAIL} / {FAN_PASSWORD} ({fan.balance:,} won), staff {STAFF_EMAIL} / {STAFF_PASSWORD}."
            )
        )
        self.stdout.write(
            f"Staff two-factor: add the key {STAFF_TOTP_SECRET} to an authenticator app (time-based), or run "
            "`manage.py demo_two_factor_code` for the current code."
        )

    def _user(self, email: str, password: str, name: str, *, superuser: bool) -> User:
        user = User.objects.filter(email__iexact=email).first()
        if user:
            if user.email_verified_at is None:  # a demo database made before e-mail verification existed
                User.objects.filter(pk=user.pk).update(email_verified_at=timezone.now())
            return user
        if superuser:
            user = User.objects.create_superuser(email, password, name=name)
        else:
            user = User.objects.create_user(email, password, name=name, email_verified_at=timezone.now())
        self.stdout.write(f"Created {'staff' if superuser else 'fan'} account {email}")
        return user

    def _staff_authenticator(self, staff: User) -> None:
        """The demo staff's confirmed authenticator with the public demo key, unless they have one (set up by
        hand, or reset: then the staff pages ask for a new one)."""
        if TOTPDevice.objects.filter(user=staff).exists():
            return
        key = base64.b32decode(STAFF_TOTP_SECRET).hex()
        TOTPDevice.objects.create(user=staff, name=two_factor.TOTP_DEVICE_NAME, key=key, confirmed=True)
        self.stdout.write(f"Created the demo authenticator of {staff.email}")

    def _concert(
        self,
        title: str,
        venue: str,
        description: str,
        days_ahead: int,
        times: list[str],
        sale_in_hours: int,
        *,
        now: datetime.datetime,
        staff: User,
    ) -> bool:
        """Create the concert with its dates unless it exists; return True if created."""
        if Concert.objects.filter(title=title).exists():
            return False  # its dates were created with it, in one transaction: a rerun on a later day adds nothing
        tz = timezone.get_current_timezone()
        first_day = timezone.localdate(now) + datetime.timedelta(days=days_ahead)
        starts = [
            datetime.datetime.combine(
                first_day + datetime.timedelta(days=offset), datetime.time.fromisoformat(at), tzinfo=tz
            )
            for offset, at in enumerate(times)
        ]
        create_concert(
            title=title,
            venue=venue,
            description=description,
            starts=starts,
            sale_opens_at=(now + datetime.timedelta(hours=sale_in_hours)).replace(second=0, microsecond=0),
            tiers=demo_tiers(),
            created_by=staff,
        )
        self.stdout.write(f"Created concert {title}")
        return True

    def _fan_club_presale(self, concert: Concert, fan: User, *, now: datetime.datetime) -> None:
        """The concert's fan-club presale by e-mail list, the demo fan on it (runs once, with the concert)."""
        _title, name, opens_in, closes_in, quota = PRESALE
        opens_at = (now + datetime.timedelta(minutes=opens_in)).replace(second=0, microsecond=0)
        closes_at = (now + datetime.timedelta(minutes=closes_in)).replace(second=0, microsecond=0)
        check_presale(concert=concert, opens_at=opens_at, closes_at=closes_at, quota=quota)
        presale = Presale.objects.create(
            concert=concert,
            name=name,
            opens_at=opens_at,
            closes_at=closes_at,
            quota=quota,
            access=Presale.Access.EMAILS,
        )
        add_presale_emails(presale=presale, emails=[fan.email])
        self.stdout.write(f"Created the fan-club presale {name} of {concert.title}, {fan.email} on its list")

    def _sell_out_with_a_waiting_list(self, concert: Concert, *, now: datetime.datetime) -> None:
        """Sell every seat of the concert's first date through the booking services (held, topped up and paid by
        demo buyers, so seats, history and ledgers agree), then put WAITING_FANS on its waiting list. Runs once,
        in the transaction that created the concert."""
        concert_date = concert.dates.order_by("starts_at").first()
        assert concert_date is not None  # created with its dates
        seats = list(concert_date.seats.order_by("seat_number").values_list("seat_number", "price"))
        step = settings.MAX_SEATS_PER_USER
        for n, start in enumerate(range(0, len(seats), step), start=1):
            chunk = seats[start : start + step]
            buyer = self._extra(f"buyer{n:02d}@frontrow.local", f"Demo Buyer {n}")
            wallet_services.charge(user=buyer, amount=sum(price for _number, price in chunk), now=now)
            booking_services.hold_seats(
                user=buyer, concert_date=concert_date, seat_numbers=[number for number, _price in chunk], now=now
            )
            booking_services.pay(user=buyer, concert_date=concert_date, idempotency_key=uuid.uuid4().hex, now=now)
        for n in range(1, WAITING_FANS + 1):
            waiting = self._extra(f"waiting{n}@frontrow.local", f"Demo Waiting Fan {n}")
            joined_at = now - datetime.timedelta(minutes=WAITING_FANS - n + 1)  # a few minutes ago, in list order
            booking_services.waitlist.join_waitlist(user=waiting, concert_date=concert_date, now=joined_at)
        self.stdout.write(f"Sold out {concert.title} on {concert_date.concert_date}, {WAITING_FANS} fans waiting")

    def _extra(self, email: str, name: str) -> User:
        """A demo account that is data only: no password (nobody logs in as it), not verified."""
        return User.objects.create_user(email, None, name=name)

    def _top_up(self, fan: User, *, now: datetime.datetime) -> None:
        """Top the fan up once, through the wallet service, so the ledger reconciles."""
        if ChargeHistory.objects.filter(user=fan, status=ChargeHistory.Status.SUCCESS).exists():
            return
        amount = min(FAN_TOP_UP, settings.MAX_CHARGE, settings.MAX_BALANCE)
        wallet_services.charge(user=fan, amount=amount, now=now)
        self.stdout.write(f"Topped up {fan.email} with {amount:,} won")
