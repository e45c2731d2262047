"""Pages pre-rendered once and filled in per request.

A Stencil is a template's output with named slots left open for what differs between requests (a CSRF token, a
countdown's seconds, a fan's own part of the page): rendered once per page, language and state, then filled per
request by string substitution, every value HTML-escaped unless it is already safe HTML. A Shelf keeps stencils
(or anything) in this process for a few seconds.

Rendering a stencil sets each slot's variable to a marker and cuts the output at the markers. The template gets
no request, so nothing of the visitor's (user, session, messages, token) can slip into the shared part; a slot is
used as a plain `{{ name }}` (or a tag that prints its variable as it is, like {% csrf_token %}): a filter on it
would change the marker, and render() refuses a marker it cannot find whole.
"""

import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.signals import setting_changed
from django.template import loader
from django.template.backends.django import Template as BackendTemplate
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

# Unknown outside this process, so a concert title or any other text a template prints cannot pose as a slot.
_NONCE = secrets.token_hex(8)
_MARKER = re.compile(rf"stencil-{_NONCE}-([a-z_]+)-")
_SLOT_NAME = re.compile(r"[a-z_]+")


def marker(name: str) -> str:
    """What a template prints in place of slot `name` when a stencil is rendered from it."""
    if not _SLOT_NAME.fullmatch(name):
        raise ValueError(f"a slot's name is lower-case letters and underscores: {name!r}")
    return f"stencil-{_NONCE}-{name}-"


class Stencil:
    """A rendered template with slots: fill() it per request."""

    __slots__ = ("_texts", "_slots")

    def __init__(self, texts: list[str], slots: list[str]) -> None:
        self._texts = texts  # one more than slots: text, slot, text, slot, ..., text
        self._slots = slots

    @classmethod
    def render(cls, template: "str | BackendTemplate", context: Mapping[str, Any], slots: Iterable[str]) -> "Stencil":
        """Render the template (a name, or a template of the engine) with `context` (no request) and each name of
        `slots` left open."""
        markers = {name: marker(name) for name in slots}
        compiled = loader.get_template(template) if isinstance(template, str) else template
        return cls.split(compiled.render({**context, **markers}), markers, origin=template)

    @classmethod
    def split(cls, html: str, slots: Iterable[str], origin: object = "") -> "Stencil":
        """The stencil of output rendered with marker(name) where each of `slots` goes."""
        parts = _MARKER.split(html)
        texts, names = parts[0::2], parts[1::2]
        if any(_NONCE[:8] in text.lower() for text in texts) or not set(names) <= set(slots):
            raise ValueError(f"{origin}: a slot is used through a filter or tag that changes it")
        return cls(texts, names)

    @property
    def slots(self) -> frozenset[str]:
        """The slots that appear in this rendering (a slot the template left out in this state is not here)."""
        return frozenset(self._slots)

    def fill(self, values: Mapping[str, str]) -> SafeString:
        """The page with every slot replaced by its value (escaped unless safe HTML). A value for a slot the
        rendering does not have is ignored; a slot without a value is a KeyError."""
        texts = self._texts
        out = [texts[0]]
        for name, text in zip(self._slots, texts[1:], strict=True):
            out.append(conditional_escape(values[name]))
            out.append(text)
        return mark_safe("".join(out))  # noqa: S308  # the texts are the template's output, the values escaped


class Shelf:
    """Values kept in this process for a few seconds each (a dict with an expiry per key, at most `size` keys).

    For what may lag by a known bound anyway (what a shared cache would keep that long): each process renders
    its own copy once per period instead of fetching and unpickling one per request. Cleared when a test changes
    a setting."""

    def __init__(self, size: int = 1024) -> None:
        self._items: dict[object, tuple[float, Any]] = {}
        self._size = size
        # gunicorn's threads share a shelf: a put that sweeps a full shelf iterates it, which another thread's
        # put or clear must not change meanwhile. A get reads one key (atomic under the GIL) and takes no lock.
        self._lock = threading.Lock()
        _SHELVES.append(self)

    def get(self, key: object) -> Any | None:
        item = self._items.get(key)
        if item is None or item[0] <= time.monotonic():
            return None
        return item[1]

    def put(self, key: object, value: object, seconds: float) -> None:
        """Keep value for `seconds` (not at all if seconds <= 0)."""
        if seconds <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._items) >= self._size:
                self._items = {k: item for k, item in self._items.items() if item[0] > now}
                if len(self._items) >= self._size:
                    self._items.clear()
            self._items[key] = (now + seconds, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_SHELVES: list[Shelf] = []


@setting_changed.connect
def _clear_shelves(**kwargs: object) -> None:
    for shelf in _SHELVES:
        shelf.clear()
