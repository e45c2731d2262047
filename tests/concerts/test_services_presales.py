"""Fan-club presales (concerts.services, concerts.selectors): a window's checks, codes kept as keyed hashes, a
code used once and bound to its fan, the e-mail list, and who may enter."""

import datetime
import math

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from concerts import selectors, services
from concerts.exceptions import PresaleClosed, PresaleCodeInvalid
from concerts.models import Presale, PresaleCode, PresaleEmail
from concerts.presale_codes import (
    ALPHABET,
    GENERATED_LENGTH,
    MIN_UPLOADED_CODE_BITS,
    display_code,
    normalize_code,
    parse_code_csv,
)
from tests.factories import ConcertDateFactory, ConcertFactory, PresaleFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _window(concert, **changes):
    fields = {
        "concert": concert,
        "opens_at": concert.sale_opens_at - datetime.timedelta(days=1),
        "closes_at": concert.sale_opens_at - datetime.timedelta(hours=1),
        "quota": 10,
        **changes,
    }
    services.check_presale(**fields)


def _messages(error):
    return {field: [str(m) for m in messages] for field, messages in error.value.message_dict.items()}


@pytest.fixture
def concert():
    return ConcertDateFactory(concert=ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(days=3))).concert


def test_a_window_closing_by_the_general_sales_room_with_a_quota_within_the_seats_is_fine(concert):
    _window(concert)
    _window(concert, closes_at=concert.prequeue_starts_at, quota=50)


def test_a_window_must_close_after_it_opens_and_by_the_general_sales_room(concert):
    """The concert's one waiting room serves one sale at a time: a presale closes before the general sale's
    pre-queue opens (PREQUEUE_MINUTES before its opening, or staff's own time)."""
    with pytest.raises(ValidationError) as error:
        _window(concert, closes_at=concert.prequeue_starts_at + datetime.timedelta(minutes=1))
    assert "closes_at" in _messages(error) and "general sale's waiting room" in _messages(error)["closes_at"][0]
    concert.prequeue_opens_at = concert.sale_opens_at - datetime.timedelta(hours=3)
    with pytest.raises(ValidationError):
        _window(concert, closes_at=concert.sale_opens_at - datetime.timedelta(hours=2))
    with pytest.raises(ValidationError) as error:
        _window(concert, opens_at=concert.sale_opens_at - datetime.timedelta(hours=1))
    assert "close after it opens" in _messages(error)["closes_at"][0]


def test_a_quota_over_the_concerts_seats_is_refused(concert):
    with pytest.raises(ValidationError) as error:
        _window(concert, quota=51)
    assert "50 seats" in _messages(error)["quota"][0]


def test_windows_of_one_concert_do_not_overlap(concert):
    first = PresaleFactory(
        concert=concert,
        opens_at=concert.sale_opens_at - datetime.timedelta(days=2),
        closes_at=concert.sale_opens_at - datetime.timedelta(days=1),
    )
    with pytest.raises(ValidationError) as error:
        _window(concert, opens_at=first.closes_at - datetime.timedelta(minutes=1))
    assert "overlap" in _messages(error)["opens_at"][0]
    with pytest.raises(ValidationError) as error:  # back to back: the second's pre-queue would overlap the first
        _window(concert, opens_at=first.closes_at)
    assert "30 minutes apart" in _messages(error)["opens_at"][0]
    _window(concert, opens_at=first.closes_at + datetime.timedelta(minutes=30))  # its pre-queue opens at the close
    # The window itself is no overlap of its own.
    services.check_presale(concert=concert, opens_at=first.opens_at, closes_at=first.closes_at, quota=5, presale=first)


def test_the_general_sales_room_may_not_move_before_a_presale_closes(settings):
    presale = PresaleFactory()
    concert = presale.concert
    room_lead = datetime.timedelta(minutes=settings.PREQUEUE_MINUTES)
    with pytest.raises(ValidationError, match="general sale's waiting room may not open before"):
        services.check_sale_opening_change(
            concert=concert,
            sale_opens_at=presale.closes_at + room_lead - datetime.timedelta(minutes=1),
            prequeue_opens_at=None,
        )
    with pytest.raises(ValidationError, match="general sale's waiting room may not open before"):
        services.check_sale_opening_change(
            concert=concert,
            sale_opens_at=presale.closes_at + 2 * room_lead,
            prequeue_opens_at=presale.closes_at - datetime.timedelta(minutes=1),
        )
    services.check_sale_opening_change(
        concert=concert, sale_opens_at=presale.closes_at + room_lead, prequeue_opens_at=None
    )


def test_generated_codes_are_kept_only_as_keyed_hashes():
    presale = PresaleFactory()
    codes = services.generate_presale_codes(presale=presale, count=25)
    assert len(set(codes)) == 25
    assert all(len(code) == GENERATED_LENGTH and set(code) <= set(ALPHABET) for code in codes)
    stored = list(PresaleCode.objects.filter(presale=presale).values_list("code_hash", flat=True))
    assert len(stored) == 25 and all(len(h) == 64 for h in stored)
    assert not any(code in h or code.lower() in h for code in codes for h in stored)
    with pytest.raises(ValidationError):
        services.generate_presale_codes(presale=presale, count=0)


def test_the_same_code_hashes_differently_in_another_presale():
    first, second = PresaleFactory(), PresaleFactory()
    services.add_presale_codes(presale=first, codes=["SAMECODE1"])
    services.add_presale_codes(presale=second, codes=["SAMECODE1"])
    assert PresaleCode.objects.get(presale=first).code_hash != PresaleCode.objects.get(presale=second).code_hash
    fan = UserFactory()
    services.redeem_presale_code(user=fan, presale=first, code="samecode1")
    assert not selectors.is_presale_eligible(user=fan, presale=second)


def test_uploaded_codes_are_added_once():
    presale = PresaleFactory()
    assert services.add_presale_codes(presale=presale, codes=["ABCDEF12", "ABCDEF12", "XYZXYZ99"]) == (2, 0)
    assert services.add_presale_codes(presale=presale, codes=["XYZXYZ99", "NEWCODE7"]) == (1, 1)
    assert PresaleCode.objects.filter(presale=presale).count() == 3


def test_a_code_file_is_read_from_its_first_column_and_bad_rows_are_named():
    parsed = parse_code_csv(b"code,note\nabcd-efgh-jkmn,vip\n\n  zz99 zz99 ,\nno!,x\nab\n")
    assert parsed.codes == ["ABCDEFGHJKMN", "ZZ99ZZ99"]
    assert parsed.bad_rows == [5, 6]
    assert normalize_code(display_code("ABCDEFGHJKMN")) == "ABCDEFGHJKMN"


@pytest.mark.parametrize(
    ("code", "strong"),
    [
        ("123456", False),  # a million guesses
        ("123456789012", False),
        ("1234567890123", True),  # 13 digits: 43 bits
        ("ABCDEFGH", False),
        ("ABCDEFGHJ", True),  # 9 letters: 42 bits
        ("ABC1234", False),
        ("ABCD1234", True),  # 8 letters and digits: 41 bits
    ],
)
def test_an_uploaded_code_must_be_hard_to_guess_and_a_file_names_the_rows_that_are_not(code, strong):
    parsed = parse_code_csv(f"code\nGOODCODE1\n{code}\n".encode())
    assert parsed.codes == ["GOODCODE1", code]
    assert parsed.bad_rows == []
    assert parsed.weak_rows == ([] if strong else [3])


def test_codes_too_easy_to_guess_are_refused_by_the_service_and_none_is_added():
    presale = PresaleFactory()
    with pytest.raises(ValidationError) as refused:
        services.add_presale_codes(presale=presale, codes=["ABCD1234", "123456"])
    assert refused.value.code == "presale_weak_code"
    assert not PresaleCode.objects.exists()


def test_generated_codes_are_far_harder_to_guess_than_the_floor_for_uploaded_ones():
    assert GENERATED_LENGTH * math.log2(len(ALPHABET)) >= MIN_UPLOADED_CODE_BITS + 16  # 59 bits


def test_a_fan_uses_a_code_once_and_it_is_bound_to_them():
    presale = PresaleFactory()
    [code] = services.generate_presale_codes(presale=presale, count=1)
    fan, other = UserFactory(), UserFactory()
    assert not selectors.is_presale_eligible(user=fan, presale=presale)
    used = services.redeem_presale_code(user=fan, presale=presale, code=display_code(code).lower())
    assert used.used_by == fan and used.used_at is not None
    assert selectors.is_presale_eligible(user=fan, presale=presale)
    # The same fan again: fine, nothing changes.
    assert services.redeem_presale_code(user=fan, presale=presale, code=code).pk == used.pk
    # Another fan: the same answer as for a code that never existed.
    with pytest.raises(PresaleCodeInvalid) as taken:
        services.redeem_presale_code(user=other, presale=presale, code=code)
    with pytest.raises(PresaleCodeInvalid) as unknown:
        services.redeem_presale_code(user=other, presale=presale, code="NOSUCHCODE99")
    assert str(taken.value.message) == str(unknown.value.message)
    assert not selectors.is_presale_eligible(user=other, presale=presale)


def test_a_fan_who_holds_a_code_spends_no_other():
    presale = PresaleFactory()
    first, second = services.generate_presale_codes(presale=presale, count=2)
    fan = UserFactory()
    services.redeem_presale_code(user=fan, presale=presale, code=first)
    services.redeem_presale_code(user=fan, presale=presale, code=second)
    assert PresaleCode.objects.filter(presale=presale, used_by__isnull=True).count() == 1
    services.redeem_presale_code(user=UserFactory(), presale=presale, code=second)  # still free for another fan


@pytest.mark.parametrize("typed", ["", "abc", "x" * 65, "코드코드코드", "ABC!DEF"])
def test_malformed_codes_are_refused_like_unknown_ones(typed):
    with pytest.raises(PresaleCodeInvalid):
        services.redeem_presale_code(user=UserFactory(), presale=PresaleFactory(), code=typed)


def test_codes_are_refused_once_the_presale_has_closed_and_accepted_before_it_opens():
    presale = PresaleFactory(opens_at=timezone.now() + datetime.timedelta(hours=1))
    first, second = services.generate_presale_codes(presale=presale, count=2)
    services.redeem_presale_code(user=UserFactory(), presale=presale, code=first)  # before the opening: fine
    with pytest.raises(PresaleClosed):
        services.redeem_presale_code(user=UserFactory(), presale=presale, code=second, now=presale.closes_at)


def test_a_presale_by_email_list_takes_no_codes_and_lets_in_verified_addresses_on_it(settings):
    presale = PresaleFactory(access=Presale.Access.EMAILS)
    assert services.add_presale_emails(presale=presale, emails=[" Fan@Example.com", "fan@example.com", ""]) == (1, 0)
    assert list(PresaleEmail.objects.values_list("email", flat=True)) == ["fan@example.com"]
    with pytest.raises(ValidationError, match="not-an-address"):
        services.add_presale_emails(presale=presale, emails=["ok@example.com", "not-an-address"])
    assert PresaleEmail.objects.count() == 1  # nothing added
    listed = UserFactory(email="fan@example.com")
    assert selectors.is_presale_eligible(user=listed, presale=presale)
    assert not selectors.is_presale_eligible(user=UserFactory(), presale=presale)
    unverified = UserFactory(email="late@example.com", email_verified_at=None)
    services.add_presale_emails(presale=presale, emails=["late@example.com"])
    assert not selectors.is_presale_eligible(user=unverified, presale=presale)
    settings.EMAIL_VERIFICATION_REQUIRED = False
    assert selectors.is_presale_eligible(user=unverified, presale=presale)
    with pytest.raises(PresaleCodeInvalid):
        services.redeem_presale_code(user=listed, presale=presale, code="ABCDEFGH")


def test_the_open_window_and_the_coming_ones():
    presale = PresaleFactory()
    concert = presale.concert
    later = PresaleFactory(
        concert=concert, opens_at=presale.closes_at, closes_at=presale.closes_at + datetime.timedelta(hours=2)
    )
    assert selectors.open_presale(concert=concert) == presale
    assert selectors.open_presale(concert=concert, now=later.opens_at) == later
    assert selectors.open_presale(concert=concert, now=later.closes_at) is None
    assert selectors.coming_presales(concert=concert) == [presale, later]
    assert selectors.coming_presales(concert=concert, now=later.opens_at) == [later]


def test_a_concert_without_dates_takes_no_presale_yet():
    concert = ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(days=3))
    with pytest.raises(ValidationError) as error:
        _window(concert, quota=1)
    assert "Save the concert's dates first" in _messages(error)["quota"][0]
