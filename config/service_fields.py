"""Columns that only a service writes: a plain save() of a row it read earlier leaves them as they are now.

A balance, a seat's status or a queue counter changes under a row lock or with an F() update in its app's
services while other code (an admin form, a password change, a test factory) may hold the same row read a
moment before. A full-row save() from that code would write the old value back. Models that mix this in
name those columns in `service_fields`; save() on an existing row then writes every other column only.
A service that means to write one of them says so: a queryset update(), or save(update_fields=[...]).
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import models

# The mixin goes in front of models.Model; the checker is told so, the runtime class stays a plain mixin.
if TYPE_CHECKING:
    _Model = models.Model
else:
    _Model = object


class ServiceFieldsMixin(_Model):
    service_fields: tuple[str, ...] = ()

    def save(self, *args: Any, update_fields: Iterable[str] | None = None, **kwargs: Any) -> None:
        if update_fields is None and not self._state.adding and not kwargs.get("force_insert"):
            update_fields = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.service_fields
            ]
        super().save(*args, update_fields=update_fields, **kwargs)
