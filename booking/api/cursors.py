"""Opaque cursors of the API's paged lists: the last item's sort key, as URL-safe base64 of JSON. A cursor a client
made up or mangled is a 400 naming the `cursor` parameter, never a 500."""

import base64
import binascii
import datetime
import json
import uuid
from typing import Any

from ninja import Schema

from .exceptions import InvalidRequest

MAX_LIMIT = 100


def encode(*parts: object) -> str:
    values = [part.isoformat() if isinstance(part, datetime.datetime) else str(part) for part in parts]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _invalid() -> InvalidRequest:
    return InvalidRequest(errors=[{"field": "cursor", "message": "not a cursor this API gave out"}])


def decode(cursor: str, *types: type) -> tuple[Any, ...]:
    """The parts of `cursor`, read as `types` (datetime.datetime, int, uuid.UUID, in order). Raises InvalidRequest."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError(cursor)
        parts: list[Any] = []
        for kind, value in zip(types, values, strict=True):
            if not isinstance(value, str):  # encode() writes every part as text; a number, list or null is made up
                raise ValueError(cursor)
            if kind is datetime.datetime:
                moment = datetime.datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValueError(value)
                parts.append(moment)
            elif kind is int:
                parts.append(int(value))
            else:
                parts.append(uuid.UUID(value))
        return tuple(parts)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError) as exc:
        raise _invalid() from exc


class Page(Schema):
    """A page of a list: `next_cursor` fetches the next one (null on the last page)."""

    next_cursor: str | None
