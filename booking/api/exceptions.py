"""Refusals of the JSON API itself, before any service is asked: a request whose shape is wrong, an object or a path
that is not there (or is another fan's), a method the operation does not take, a session request without its CSRF
token. Each is a config.refusals.Refusal, so it
is answered like every service refusal (api.problems)."""

from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from config.refusals import Refusal, RefusalCode


class ApiError(Refusal):
    """Base of the API's own refusals."""

    status = 400
    default_message = _("The request could not be handled.")


class InvalidRequest(ApiError):
    """The request does not match the operation's schema (api.problems lists the fields in `errors`)."""

    status = 400
    code = RefusalCode.INVALID_REQUEST
    default_message = _("The request is not valid: check the fields named in 'errors'.")

    def __init__(self, message: StrOrPromise | None = None, *, errors: list[dict[str, str]] | None = None) -> None:
        self.errors = errors or []
        fields = ", ".join(dict.fromkeys(error["field"] for error in self.errors if error.get("field")))
        if message is None and fields:
            message = _check_fields(fields)
        super().__init__(message)


def _check_fields_text(fields: str) -> str:
    return gettext("The request is not valid: check %(fields)s.") % {"fields": fields}


# Translated when shown, like every refusal's message (the English `reason` is read from the same text).
_check_fields = lazy(_check_fields_text, str)


class NotFound(ApiError):
    """No such object, or one that is another fan's: the same answer, so it tells nothing."""

    status = 404
    code = RefusalCode.NOT_FOUND
    default_message = _("There is nothing here: it does not exist, or it is not yours.")


class CsrfFailed(ApiError):
    """A request authenticated by the site's session cookie that changes something, without the CSRF token (the
    site's own scripts send it as X-CSRFToken; other programs use a bearer token instead)."""

    status = 403
    code = RefusalCode.CSRF_FAILED
    default_message = _(
        "The CSRF check failed: send the page's CSRF token as X-CSRFToken, or use an access token instead of the "
        "session."
    )


class MethodNotAllowed(ApiError):
    """A method the path's operations do not take (PUT on a hold, POST on /me): `allow` lists those they take, sent
    as the Allow header."""

    status = 405
    code = RefusalCode.METHOD_NOT_ALLOWED
    default_message = _("This address does not take that method: the Allow header lists the ones it takes.")

    def __init__(self, *, allow: str) -> None:
        self.allow = allow
        super().__init__()
