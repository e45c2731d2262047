"""Refusals of the concerts app (fan-club presales), each a config.refusals.Refusal: a message a fan can read
(Korean or English), an English reason for records, an HTTP status and a stable code."""

from django.utils.translation import gettext_lazy as _

from config.refusals import Refusal, RefusalCode


class PresaleError(Refusal):
    """Base of every presale refusal."""

    status = 409
    default_message = _("The presale could not do that.")


class PresaleCodeInvalid(PresaleError):
    """A code that is not one of this presale's unused codes. One answer for a typo, an unknown code and a code
    another fan has used, so trying codes tells nothing about which exist."""

    status = 400
    code = RefusalCode.PRESALE_CODE_INVALID
    default_message = _("This code is not valid for this presale, or it has already been used. Please check it.")


class PresaleClosed(PresaleError):
    code = RefusalCode.PRESALE_CLOSED
    default_message = _("This presale has closed.")
