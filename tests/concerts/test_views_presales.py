"""The fans' side of a fan-club presale: the concert page lists its windows before the general sale, and the
presale's page shows its window and the general sale's opening, takes a code (rate limited, one answer for any
wrong code) and says whether the fan may book in it."""

import datetime
import html

import pytest
from django.urls import reverse
from django.utils import timezone

from concerts import services
from concerts.models import Concert, Presale, PresaleCode
from tests.factories import PresaleFactory, UserFactory
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _page(presale):
    return reverse("concerts:presale", args=[presale.concert_id, presale.pk])


def _code_url(presale):
    return reverse("concerts:presale_code", args=[presale.concert_id, presale.pk])


def _text(response):
    return html.unescape(response.content.decode())


def test_anyone_sees_the_window_and_when_the_general_sale_opens(client):
    presale = PresaleFactory()
    response = client.get(_page(presale))
    assert response.status_code == 200
    text = _text(response)
    assert presale.name in text and "Open now" in text and "General sale opens" in text
    assert 'data-testid="presale-login"' in text and 'data-testid="presale-code-form"' not in text


def test_a_fan_registers_a_code_and_may_then_book_in_the_presale(fan_client, fan):
    presale = PresaleFactory()
    [code] = services.generate_presale_codes(presale=presale, count=1)
    page = fan_client.get(_page(presale))
    assert 'data-testid="presale-code-form"' in page.content.decode()
    response = fan_client.post(_code_url(presale), {"code": code.lower()})
    assert response.status_code == 303 and response["Location"] == _page(presale)
    after = _text(fan_client.get(response["Location"]))
    assert "Your code is registered" in after and 'data-testid="presale-eligible"' in after
    assert PresaleCode.objects.get(presale=presale).used_by == fan


def test_a_wrong_or_used_code_is_refused_alike_and_binds_nothing(fan_client):
    presale = PresaleFactory()
    [code] = services.generate_presale_codes(presale=presale, count=1)
    services.redeem_presale_code(user=UserFactory(), presale=presale, code=code)
    used = fan_client.post(_code_url(presale), {"code": code})
    unknown = fan_client.post(_code_url(presale), {"code": "NOPE-NOPE-NOPE"})
    assert used.status_code == unknown.status_code == 400
    refusal = "This code is not valid for this presale, or it has already been used."
    assert refusal in _text(used) and refusal in _text(unknown)
    assert PresaleCode.objects.filter(used_by__isnull=False).count() == 1


def test_a_code_for_a_closed_presale_is_refused_with_the_general_sale(fan_client):
    presale = PresaleFactory()
    [code] = services.generate_presale_codes(presale=presale, count=1)
    Presale.objects.filter(pk=presale.pk).update(
        opens_at=timezone.now() - datetime.timedelta(days=2), closes_at=timezone.now() - datetime.timedelta(days=1)
    )
    response = fan_client.post(_code_url(presale), {"code": code})
    assert response.status_code == 409
    text = _text(response)
    assert "This presale has closed." in text and 'data-testid="presale-closed"' in text


def test_code_entry_is_rate_limited_right_or_wrong(fan_client, settings):
    set_limit(settings, "presale_code", account=2, ip=100)
    presale = PresaleFactory()
    for _ in range(2):
        assert fan_client.post(_code_url(presale), {"code": "WRONGCODE1"}).status_code == 400
    limited = fan_client.post(_code_url(presale), {"code": "WRONGCODE1"})
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0


def test_an_anonymous_post_goes_to_log_in_and_comes_back_to_the_presale(client):
    presale = PresaleFactory()
    response = client.post(_code_url(presale), {"code": "ANYCODE12"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert _page(presale).replace("/", "%2F") in response["Location"] or _page(presale) in response["Location"]


def test_a_presale_by_email_list_tells_each_fan_where_they_stand(client, settings):
    presale = PresaleFactory(access=Presale.Access.EMAILS)
    services.add_presale_emails(presale=presale, emails=["listed@example.com", "late@example.com"])
    for user, said in [
        (UserFactory(email="listed@example.com"), 'data-testid="presale-eligible"'),
        (UserFactory(email="late@example.com", email_verified_at=None), 'data-testid="presale-verify"'),
        (UserFactory(email="other@example.com"), 'data-testid="presale-not-eligible"'),
    ]:
        client.force_login(user)
        text = _text(client.get(_page(presale)))
        assert said in text, user.email
        assert 'data-testid="presale-code-form"' not in text


def test_another_concerts_presale_is_not_found(client):
    presale, other = PresaleFactory(), PresaleFactory()
    assert client.get(reverse("concerts:presale", args=[other.concert_id, presale.pk])).status_code == 404


def test_the_concert_page_lists_the_presales_before_the_general_sale_and_none_after(client):
    presale = PresaleFactory()
    concert = presale.concert
    text = _text(client.get(reverse("concerts:detail", args=[concert.pk])))
    assert 'data-testid="presales"' in text and presale.name in text and _page(presale) in text
    assert "Everyone may book in the general sale, which opens" in text
    Concert.objects.filter(pk=concert.pk).update(sale_opens_at=timezone.now() - datetime.timedelta(minutes=1))
    from django.core.cache import cache

    cache.clear()
    assert 'data-testid="presales"' not in _text(client.get(reverse("concerts:detail", args=[concert.pk])))
