"""The seat version of each concert date: a random token in the cache that every change of one of its seats'
status replaces, so that what is cached from a date's seats (booking.seat_map_cache) is only ever used under
the version it was read at.

A change replaces the token twice. At once, inside the writing transaction, so the rest of that transaction
(and a test running inside one) never reads an older grid. Again once the transaction has committed: a reader
between the two could only read the seats as they were before the commit, and may have stored them under the
first new token; a reader that sees the final token reads the database after the commit. A change that rolls
back costs one rebuild, nothing more.

Tokens are random, not counters: if the cache loses a version key (a Redis restart or eviction) while cached
grids survive, the new token matches none of them. With the cache unreachable every read is a miss and every
replacement is skipped (config.cache): nothing stale can be read from a cache that answers nothing.
"""

import logging
import secrets
import uuid
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

# A version outlives any cached grid (seconds); a date not changed for that long starts a new one when read.
VERSION_SECONDS = 24 * 3600


def version_key(concert_date_id: uuid.UUID | str) -> str:
    return f"booking:seat-version:{concert_date_id}"


def _new_tokens(concert_date_ids: Iterable[uuid.UUID | str]) -> None:
    cache.set_many({version_key(pk): secrets.token_hex(8) for pk in concert_date_ids}, VERSION_SECONDS)


def seats_changed(concert_date_ids: Iterable[uuid.UUID | str]) -> None:
    """The seats of these dates changed in the current transaction: replace their seat versions now and again
    after the commit (see the module's docstring). Never raises for the cache's sake."""
    ids = frozenset(concert_date_ids)
    if not ids:
        return
    _new_tokens(ids)

    def after_commit() -> None:  # named: Django logs a failed robust callback by its __qualname__
        _new_tokens(ids)

    transaction.on_commit(after_commit, robust=True)


def current_version(concert_date_id: uuid.UUID | str, found: dict[str, object]) -> str | None:
    """The date's seat version from `found` (what a cache.get_many that asked for version_key returned), or a
    new one when the cache had none; None when the cache cannot keep one (then nothing may be cached)."""
    key = version_key(concert_date_id)
    token = found.get(key)
    if isinstance(token, str):
        return token
    fresh = secrets.token_hex(8)
    if cache.add(key, fresh, VERSION_SECONDS):
        return fresh
    token = cache.get(key)  # another reader or a writer set one meanwhile
    return token if isinstance(token, str) else None
