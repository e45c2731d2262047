"""The account e-mails (password reset, e-mail verification, e-mail changed): rendered in the fan's language from
templates/accounts/email/<kind>_subject.txt, <kind>.txt and <kind>.html, sent by the jobs in accounts.jobs."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def language_of(value: str | None) -> str:
    """`value` if the site speaks it (or a variant of it), else the site's default language."""
    try:
        return translation.get_supported_language_variant(value or "")
    except LookupError:
        return settings.LANGUAGE_CODE


def render(*, kind: str, to: str, context: Mapping[str, Any], language: str | None) -> EmailMultiAlternatives:
    """The `kind` e-mail to `to`, in `language` (plain text with an HTML alternative)."""
    with translation.override(language_of(language)):
        subject = " ".join(render_to_string(f"accounts/email/{kind}_subject.txt", context).split())
        text = render_to_string(f"accounts/email/{kind}.txt", context)
        html = render_to_string(f"accounts/email/{kind}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    return message
