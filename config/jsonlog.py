"""Structured logs for the full stack: one JSON object per line, for web, Celery and RQ processes alike.

Used by config.settings_production (Django, Celery, RQ loggers) and config/gunicorn.conf.py (gunicorn's
error and access logs), so every process of `make up` writes lines a log shipper can parse as they are.
"""

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

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


def _plain(value):
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
    (method, path, status, duration_ms, ...) instead of a pre-formatted Apache line.
    """

    def format(self, record):
        entry = {
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
