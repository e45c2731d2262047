"""The staff data the fans' busiest pages read, shared between visitors for CONCERT_PAGE_CACHE_SECONDS: a
concert's row (the concert page) and a date's row with its concert (every seat map, hold and checkout, through
the queue's gate).

At a sale's opening thousands of fans load these pages every few seconds while staff change nothing, so one
read per concert and date every few seconds serves them all. Any save or delete of a concert or a date, from the
admin or a service, forgets both once it commits (the receivers in concerts.apps), as does booking's cancelling of
a date; what still lags (a waiting room's setting read along with the concert) lags a few seconds at most. Rules
never rest on this copy: holding and paying lock and re-read the date row (status, start) themselves.
CONCERT_PAGE_CACHE_SECONDS=0 reads the database every time.

The concert page's rendered body (concerts.detail_page) is kept under page_key() for as long, and forgotten with
its concert, or alone (forget_pages) when booking's waiting list of one of its dates stops keeping the free seats.
"""

import uuid
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from .models import Concert, ConcertDate


def concert_key(concert_id: uuid.UUID | str) -> str:
    return f"concerts:concert:{concert_id}"


def date_key(concert_date_id: uuid.UUID | str) -> str:
    return f"concerts:date:{concert_date_id}"


def page_key(concert_id: uuid.UUID | str, language: str, authenticated: bool) -> str:
    """Where the concert page's body for this language and kind of visitor is kept (concerts.detail_page)."""
    return f"concerts:page:{concert_id}:{language}:{int(authenticated)}"


def _page_keys(concert_id: uuid.UUID | str) -> list[str]:
    return [
        page_key(concert_id, code, authenticated) for code, _ in settings.LANGUAGES for authenticated in (False, True)
    ]


def concert(concert_id: uuid.UUID, *, related: Iterable[str] = ()) -> Concert | None:
    """The concert (None if there is none), with the one-to-one relations `related` read along (a reverse
    one-to-one another app defines, named as a string: `concert.waiting_room`) so the page reads none again.

    A related model's SHARED_CACHE_EXCLUDED fields are left unread (deferred), so they never reach the shared
    cache: the waiting room's draw seed is secret until the draw. Reading one from the copy queries its row."""
    related = tuple(related)
    seconds = settings.CONCERT_PAGE_CACHE_SECONDS
    found = cache.get(concert_key(concert_id)) if seconds > 0 else None
    if isinstance(found, Concert) and all(found._state.fields_cache.get(name, found) is not found for name in related):
        return found
    row = read_concert(concert_id, related=related)
    if row is not None and seconds > 0:
        cache.set(concert_key(concert_id), row, seconds)
    return row


def read_concert(concert_id: uuid.UUID, *, related: Iterable[str] = ()) -> Concert | None:
    """The concert from the database (no shared copy), ready to be shared: `related` read along as in concert(),
    a missing one (no room yet) remembered as missing, SHARED_CACHE_EXCLUDED fields left unread."""
    related = tuple(related)
    row = Concert.objects.select_related(*related).defer(*_excluded(related)).filter(pk=concert_id).first()
    if row is not None:
        for name in related:
            row._state.fields_cache.setdefault(name, None)
    return row


def _excluded(related: Iterable[str]) -> list[str]:
    """`relation__field` for every field the related models keep out of shared caches."""
    return [
        f"{name}__{field}"
        for name in related
        for field in getattr(Concert._meta.get_field(name).related_model, "SHARED_CACHE_EXCLUDED", ())
    ]


def concert_date(concert_date_id: uuid.UUID) -> ConcertDate | None:
    """The date with its concert (None if there is none)."""
    return concert_date_with(concert_date_id)[0]


def concert_date_with(
    concert_date_id: uuid.UUID, also: Sequence[str] = ()
) -> tuple[ConcertDate | None, dict[str, object]]:
    """The date with its concert (None if there is none), and what the cache holds under the keys `also` (the
    seat map's seat version), read in the same round trip as the date's copy: {key: value} of those it holds.
    With the shared copy off (CONCERT_PAGE_CACHE_SECONDS=0) nothing is read from the cache: ({}, the caller
    reads `also` itself)."""
    seconds = settings.CONCERT_PAGE_CACHE_SECONDS
    key = date_key(concert_date_id)
    found: dict[str, object] = cache.get_many([key, *also]) if seconds > 0 else {}
    shared = found.pop(key, None)
    if isinstance(shared, ConcertDate):
        return shared, found
    row = ConcertDate.objects.select_related("concert").filter(pk=concert_date_id).first()
    if row is not None and seconds > 0:
        cache.set(key, row, seconds)
    return row, found


def forget_pages(*, concert_ids: Iterable[uuid.UUID]) -> None:
    """Forget the concert pages' shared bodies (concerts.detail_page) of these concerts once the current transaction
    commits (at once outside one), keeping the concerts' own copies: their seats left changed in a way a fan must
    not wait the body's life to see (booking's waiting list stopped keeping a date's free seats)."""
    keys = [key for pk in concert_ids for key in _page_keys(pk)]
    if keys:
        transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


def forget(*, concert_ids: Iterable[uuid.UUID] = (), concert_date_ids: Iterable[uuid.UUID] = ()) -> None:
    """Forget these concerts (and their pages) and dates once the current transaction commits (at once outside
    one)."""
    keys = [key for pk in concert_ids for key in (concert_key(pk), *_page_keys(pk))]
    keys += [date_key(pk) for pk in concert_date_ids]
    if keys:
        transaction.on_commit(lambda: cache.delete_many(keys), robust=True)
