"""Template filters for the fans' pages: won amounts and price runs (concerts.pricing does the work) and
small display formats.

`{{ amount|won }}` renders 12,000원 in Korean and ₩12,000 in English (the active language decides).
"""

import datetime
import re
import zlib
from collections.abc import Iterable

from django import template
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from concerts import pricing

register = template.Library()


@register.filter
def won(amount: object) -> object:
    """{{ amount|won }}: pricing.won, the amount in won for the active language."""
    return pricing.won(amount)


@register.filter
def seconds_until(moment: datetime.datetime | None, now: datetime.datetime | None = None) -> int:
    """Whole seconds from now until moment (0 once it has passed): the no-JS value of a countdown."""
    if moment is None:
        return 0
    now = now or timezone.now()
    return max(0, int((moment - now).total_seconds()))


def _whole_seconds(value: object) -> int | None:
    """What a template hands over as a number of seconds, as an int >= 0; None if int() cannot read it."""
    try:
        seconds: int = int(value)  # type: ignore[call-overload]  # whatever int() takes
    except (TypeError, ValueError):
        return None
    return max(0, seconds)


@register.filter
def clock(value: object) -> str:
    """Seconds as a countdown clock: 4:05, or 1:02:03 / 3일 4:05:06 for longer spans (no-JS fallback)."""
    seconds = _whole_seconds(value)
    if seconds is None:
        return ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        prefix = ngettext("%(days)d day", "%(days)d days", days) % {"days": days}
        return f"{prefix} {hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@register.filter
def duration(value: object) -> str:
    """Seconds as words for a fan: "5 minutes", "45 seconds", "1 minute 30 seconds" (5분, 45초, 1분 30초)."""
    seconds = _whole_seconds(value)
    if seconds is None:
        return ""
    minutes, secs = divmod(seconds, 60)
    parts = []
    if minutes:
        parts.append(ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes})
    if secs or not minutes:
        parts.append(ngettext("%(count)d second", "%(count)d seconds", secs) % {"count": secs})
    return " ".join(parts)


@register.filter
def poster_hue(concert: object) -> int:
    """A stable colour (0..11, a `hue-N` class of site.css) per concert: its own poster without images.

    A class, not an inline style, so the pages keep a Content-Security-Policy without 'unsafe-inline'.
    """
    return zlib.crc32(str(getattr(concert, "pk", concert)).encode()) % 12


@register.filter
def initials(title: object) -> str:
    """Up to two initials of a title, for the generated poster ("Seoul Jazz Night" → "SJ")."""
    words = [w for w in str(title).split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "♪"


@register.filter
def price_runs(seats: Iterable[pricing.PricedSeat]) -> list[pricing.PriceRun]:
    """{{ seats|price_runs }}: pricing.price_runs, runs of consecutive seats at one price."""
    return pricing.price_runs(seats)


# Refusal reasons are stored in English (ChargeHistory.reason, Payment.reason) for the records; these are
# the message templates the wallet and booking services fill in, so a stored reason can be shown again in
# the fan's language. A reason that matches none of them is shown as stored.
REASON_TEMPLATES = (
    "A top-up must be at least {minimum:,} won.",
    "A top-up can be at most {maximum:,} won.",
    "Your balance can be at most {cap:,} won; you can top up {room:,} won more.",
    "Your balance is {available:,} won but {needed:,} won is needed. Top up your wallet and try again.",
)
_PLACEHOLDER = re.compile(r"\{(\w+)(:,)?\}")


def _template_pattern(template_text: str) -> re.Pattern[str]:
    parts: list[str] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(template_text):
        parts.append(re.escape(template_text[pos : match.start()]))
        parts.append(rf"(?P<{match[1]}>-?[\d,]+)" if match[2] else rf"(?P<{match[1]}>.+?)")
        pos = match.end()
    parts.append(re.escape(template_text[pos:]))
    return re.compile("".join(parts))


_REASON_PATTERNS = [(text, _template_pattern(text)) for text in REASON_TEMPLATES]


@register.filter
def reason_text(reason: str | None) -> str:
    """A stored English refusal reason in the active language (as stored when no translation fits)."""
    if not reason:
        return ""
    translated = gettext(reason)
    if translated != reason:
        return translated
    for text, pattern in _REASON_PATTERNS:
        match = pattern.fullmatch(reason)
        if match:
            values = {
                name: int(value.replace(",", "")) if f"{{{name}:,}}" in text else value
                for name, value in match.groupdict().items()
            }
            return gettext(text).format(**values)
    return reason
