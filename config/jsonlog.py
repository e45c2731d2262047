"""Structured logs for the full stack: one JSON object per line, for web, Celery and RQ processes alike.

Used by config.settings_production (Django, Celery, RQ loggers) and config/gunicorn.conf.py (gunicorn's
error and access logs), so every process of `make up` writes lines a log shipper can parse as they are.
"""

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

# Attributes every LogRecord has; anything else on a record came from `extra=` and is worth keeping.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

# gunicorn's access-log atoms (see gunicorn.glogging.Logger.atoms) under readable names.
_ACCESS_ATOMS = {
    "remote": "h",
    "method": "m",
    "path": "U",
    "query": "q",
    "status": "s",
    "bytes": "B",
    "duration_ms": "M",
    "user_agent": "a",
}


# Secrets that must never reach a log line even when a client puts them in a URL: e-ticket codes (the
# door check-in takes them by POST, but an old bookmark or a scanner app may still send ?code=...).
# A parameter with one of these names is redacted whatever its value; so is any value, in the query or
# the path, shaped like django.core.signing output ("payload:timestamp:signature"), which is what
# booking.tickets and the e-mail verification links (accounts.tokens) issue; and a password-reset link's token
# (Django's PasswordResetTokenGenerator: base-36 time, "-", 20+ hex digits; a UUID's groups are shorter).
REDACTED = "REDACTED"
_SECRET_PARAMETERS = frozenset({"code", "ticket", "ticket_code"})
_SIGNED_VALUE = re.compile(
    r"[A-Za-z0-9_-]{8,}:[A-Za-z0-9_-]{4,}:[A-Za-z0-9_-]{20,}|(?<![0-9A-Za-z])[0-9a-z]{1,13}-[0-9a-f]{20,}(?![0-9a-f])"
)


def redact_path(path: object) -> object:
    """The path with any signed value in it replaced by REDACTED."""
    if not isinstance(path, str):
        return path
    plain = unquote_plus(path)
    return _SIGNED_VALUE.sub(REDACTED, plain) if _SIGNED_VALUE.search(plain) else path


def redact_query(query: object) -> object:
    """The query string with secret parameters' values (and any signed value) replaced by REDACTED."""
    if not isinstance(query, str) or not query:
        return query
    parts = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        if unquote_plus(name).lower() in _SECRET_PARAMETERS and value:
            parts.append(f"{name}{sep}{REDACTED}")
        elif _SIGNED_VALUE.search(unquote_plus(part)):
            parts.append(f"{name}{sep}{REDACTED}" if sep else REDACTED)
        else:
            parts.append(part)
    return "&".join(parts)


def _plain(value: object) -> object:
    """A JSON-safe version of an `extra=` value (requests, sockets and the like become their repr)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return repr(value)


class JsonLineFormatter(logging.Formatter):
    """Format a record as one line of JSON: ts, level, logger, message, process, thread, then extras.

    gunicorn's access records carry their atoms as the record's args; they become fields
    (method, path, status, duration_ms, ...) instead of a pre-formatted Apache line, with ticket codes
    redacted from the path and query.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            entry["message"] = "request"
            for field, atom in _ACCESS_ATOMS.items():
                value = record.args.get(atom)
                if isinstance(value, str):
                    value = value.replace('\\"', '"')
                entry[field] = value
            entry["path"], entry["query"] = redact_path(entry["path"]), redact_query(entry["query"])
            if isinstance(entry["status"], str) and entry["status"].isdigit():
                entry["status"] = int(entry["status"])
        else:
            entry["message"] = record.getMessage()
        entry["process"] = record.process
        entry["thread"] = record.threadName
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry and not key.startswith("_"):
                entry[key] = _plain(value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=repr)
