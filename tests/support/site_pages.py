"""Visitors and pages for the tests that read every page of the site as it printed before (tests/config)."""

from django.test import Client

from concerts.models import ConcertDate


def visitors(**users) -> dict[str, Client]:
    """An anonymous visitor and a client logged in as each of `users`, by the name given."""
    clients = {"anonymous": Client()}
    for who, user in users.items():
        clients[who] = Client()
        clients[who].force_login(user)
    return clients


def page_paths(date: ConcertDate, query: str) -> list[str]:
    """Every kind of page a visitor sees, for `date` and its concert; `query` is a query string for the home page."""
    return [
        "/",
        f"/?{query}",
        f"/concerts/{date.concert.pk}/",
        f"/concerts/{date.concert.pk}/queue/",
        f"/dates/{date.pk}/seats/",
        "/wallet/",
        "/reservations/",
        "/accounts/login/?next=/wallet/",
        "/accounts/signup/",
        "/no-such-page/",
    ]
