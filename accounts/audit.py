"""The audit trail of staff actions (accounts.AuditEntry): who changed what, on which object, the changed fields
before and after, when, and from which client address.

The API, for any service a staff member (or an operator's command) runs:

    with transaction.atomic():
        ...  # the change
        audit.record("reservation.refund", reservation, changes={"status": ("confirmed", "cancelled")},
                     actor=by, note=reason)

- record() must run inside the transaction of the change (it refuses to run outside one): a change that rolls
  back leaves no entry, and an entry that cannot be written rolls the change back.
- Who and where come from, in order: `actor=` / `request=` given to record(), else the surrounding
  `acting(request)` (every admin view runs in one: accounts.admin_site; a staff page outside the admin takes
  the @acting_view decorator) or `acting_as_operator(command)` (the management commands that change things),
  else nobody ("system").
- changes: {"field": (before, after)} of the changed fields only (diff() and snapshot() build them); values are
  stored as JSON, and a field whose name says it is a secret (password, secret, token, key, seed, code, otp)
  is stored as "[redacted]" (that it changed is kept, never its value).
- Every admin add, change, delete (accounts.admin_site.AuditedAdmin) is recorded without any call here.

Fans' own actions are not audited (their history and ledger rows record them), so no fan request pays for this.
"""

import contextlib
import dataclasses
import datetime
import decimal
import enum
import functools
import getpass
import ipaddress
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models, router, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from config.lockout import client_ip

from .models import AuditEntry, User

_Response = TypeVar("_Response")
REDACTED = "[redacted]"
SECRET_WORDS = ("password", "secret", "token", "key", "seed", "code", "otp")

# What staff read in the admin for each action code. Add your action's code and label here (one line each);
# an unknown code still records and shows as itself.
ACTION_LABELS: dict[str, StrOrPromise] = {
    "admin.add": _("Added in the admin"),
    "admin.change": _("Changed in the admin"),
    "admin.delete": _("Deleted in the admin"),
    "admin.action": _("Admin action run"),
    "concert.create": _("Concert or dates created"),
    "date.cancel": _("Date cancelled"),
    "date.export": _("Date exported (CSV)"),
    "reservation.refund": _("Reservation refunded"),
    "reservation.release": _("Hold released"),
    "ticket.check_in": _("Ticket checked in"),
    "queue.pause": _("Admission paused"),
    "queue.resume": _("Admission resumed"),
    "queue.remove": _("Fan removed from the queue"),
    "queue.admit_now": _("Next batch admitted now"),
    "waitlist.offer_now": _("Waiting-list seats offered now"),
    "presale.codes_upload": _("Presale codes uploaded"),
    "presale.codes_generate": _("Presale codes generated"),
    "presale.emails_add": _("Presale e-mail addresses added"),
    "two_factor.enrol": _("Two-factor log-in set up"),
    "two_factor.reset": _("Two-factor log-in reset"),
}


class AuditOutsideTransaction(RuntimeError):
    """record() was called outside a transaction: the entry and the change could part ways."""


@dataclasses.dataclass(frozen=True)
class Acting:
    """Who is acting in this context, from where, and through what."""

    actor: User | None
    label: str
    ip: str | None
    via: str


_acting: ContextVar[Acting | None] = ContextVar("audit_acting", default=None)


def _address(request: HttpRequest) -> str | None:
    """The client's address as the rate limits and log-in lockout read it (config.lockout.client_ip), if valid."""
    found = client_ip(request)
    try:
        return str(ipaddress.ip_address(found)) if found else None
    except ValueError:
        return None


def _user_of(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_authenticated else None


@contextlib.contextmanager
def acting(request: HttpRequest, *, via: str = "admin") -> Iterator[Acting]:
    """Within this block, record() credits the request's logged-in user and client address (and `via`)."""
    user = _user_of(request)
    context = Acting(actor=user, label=user.email if user else "anonymous", ip=_address(request), via=via[:100])
    token = _acting.set(context)
    try:
        yield context
    finally:
        _acting.reset(token)


@contextlib.contextmanager
def acting_as_operator(command: str) -> Iterator[Acting]:
    """Within this block, record() credits the operator running a management command: "operator:<OS user>"."""
    try:
        who = getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        who = "unknown"
    context = Acting(actor=None, label=f"operator:{who}"[:254], ip=None, via=f"manage.py {command}"[:100])
    token = _acting.set(context)
    try:
        yield context
    finally:
        _acting.reset(token)


def acting_view(view: Callable[..., _Response]) -> Callable[..., _Response]:
    """Decorate a staff page outside the admin (the admin's views have it already): the services it calls record
    the logged-in staff member and the request's client address, as in `with acting(request, via=<view>)`."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> _Response:
        with acting(request, via=getattr(view, "__name__", "view")):
            return view(request, *args, **kwargs)

    return wrapped


def current() -> Acting | None:
    """The surrounding acting()/acting_as_operator() context, if any."""
    return _acting.get()


# --- values -----------------------------------------------------------------------------------------------


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def jsonable(value: Any) -> Any:
    """`value` as JSON can hold it: instants (in UTC) and days in ISO 8601, ids and amounts as text, rows by pk."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime.datetime) and value.utcoffset() is not None:
        return value.astimezone(datetime.UTC).isoformat()  # one zone in the log, whatever the form's
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return jsonable(value.pk)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, bytes | memoryview):
        return REDACTED
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item) for item in value), key=str)
    if isinstance(value, Iterable):
        return [jsonable(item) for item in value]
    return str(value)


def _clean_changes(changes: Mapping[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    cleaned = {}
    for name, (before, after) in changes.items():
        if is_secret(name):
            cleaned[name] = [REDACTED, REDACTED]  # that it changed, never a value
        else:
            cleaned[name] = [jsonable(before), jsonable(after)]
    return cleaned


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The row's values by field name (a foreign key as its pk): the named fields, or every concrete field."""
    names = set(fields) if fields is not None else None
    values = {}
    for field in obj._meta.concrete_fields:
        if names is None or field.name in names:
            values[field.name] = field.value_from_object(obj)
    return values


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{"field": (before, after)} for the fields whose value differs (a field in one mapping only counts)."""
    changes = {}
    for name in [*before, *(name for name in after if name not in before)]:
        old, new = before.get(name), after.get(name)
        if jsonable(old) != jsonable(new):
            changes[name] = (old, new)
    return changes


# --- writing ----------------------------------------------------------------------------------------------


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
    note: str = "",
    object_repr: str | None = None,
) -> AuditEntry:
    """Write one audit entry for `action` on `obj` (changes: {"field": (before, after)}). Returns it.

    Call it inside the transaction that makes the change: raises AuditOutsideTransaction otherwise. Any
    database error writing the entry propagates, so the change rolls back with it.
    """
    using = router.db_for_write(AuditEntry)
    if not transaction.get_connection(using).in_atomic_block:
        raise AuditOutsideTransaction(f"audit.record({action!r}) must run inside the change's transaction")
    context = _acting.get()
    who = actor or (_user_of(request) if request is not None else None) or (context.actor if context else None)
    if who is not None:
        label = who.email
    elif context is not None:
        label = context.label
    else:
        label = "system"
    ip = _address(request) if request is not None else context.ip if context else None
    return AuditEntry.objects.using(using).create(
        actor=who,
        actor_label=label[:254],
        action=action[:64],
        content_type=ContentType.objects.db_manager(using).get_for_model(obj, for_concrete_model=False)
        if obj is not None
        else None,
        object_id=str(obj.pk)[:64] if obj is not None and obj.pk is not None else "",
        object_repr=(object_repr if object_repr is not None else str(obj) if obj is not None else "")[:200],
        changes=_clean_changes(changes or {}),
        note=note[:500],
        ip=ip,
        via=(context.via if context else "")[:100],
    )
