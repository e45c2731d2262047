"""Every refusal of the JSON API as an RFC 9457 problem (application/problem+json).

A body has `type` (urn:frontrow:problem:<code>, stable), `title` (the HTTP status's phrase), `status`, `detail` (the
refusal's message, in the request's language: LocaleMiddleware read Accept-Language or the language cookie) and
`code` (config.refusals.RefusalCode, what a program reads). An invalid request adds `errors`, one per field
({"field", "message"}); a cancellation_fee_changed adds the current `fee` and `refund` and the `accepted_fee`. A 429
carries Retry-After, a 401 WWW-Authenticate, a 405 Allow.

Beyond the operations, every answer under the API's root is a problem too (api.urls): a path no operation has is a
404 not_found (no_such_path), a method the path's operations do not take a 405 method_not_allowed (answering_405).
"""

import functools
import inspect
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accounts.exceptions import NotAuthenticated
from booking.exceptions import CancellationFeeChanged
from config.ratelimit import RateLimited
from config.refusals import Refusal

from .exceptions import CsrfFailed, InvalidRequest, MethodNotAllowed, NotFound

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:frontrow:problem:"


class FieldError(Schema):
    field: str
    message: str


class Problem(Schema):
    """An RFC 9457 problem: why a request was refused."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None
    # cancellation_fee_changed: the fee and refund of cancelling now, and the fee the request accepted
    fee: int | None = None
    refund: int | None = None
    accepted_fee: int | None = None


def problem_response(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + refusal.code,
        "title": HTTPStatus(refusal.status).phrase,
        "status": refusal.status,
        "detail": str(refusal.message),
        "code": str(refusal.code),
    }
    if isinstance(refusal, InvalidRequest):
        body["errors"] = refusal.errors
    elif isinstance(refusal, CancellationFeeChanged):
        body.update(fee=refusal.fee, refund=refusal.refund, accepted_fee=refusal.accepted)
    response = HttpResponse(Problem(**body).model_dump_json(exclude_none=True), status=refusal.status)
    response["Content-Type"] = MEDIA_TYPE
    response["Cache-Control"] = "no-store"
    if isinstance(refusal, RateLimited):
        response["Retry-After"] = str(refusal.retry_after)
    elif refusal.status == 503:  # the queue's store is away: like the pages' 503
        response["Retry-After"] = "10"
    if refusal.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="frontrow"'
    if isinstance(refusal, MethodNotAllowed):
        response["Allow"] = refusal.allow
    return response


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as the field a client sent: ("body", "payload", "seats", 0) -> "seats[0]";
    a header or query parameter keeps its name."""
    parts = [part for part in location[1:] if part != "payload"] if location else []
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or (str(location[0]) if location else "")


def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"field": _field(error.get("loc", ())), "message": str(error.get("msg", ""))} for error in exc.errors]
    return problem_response(request, InvalidRequest(errors=errors))


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError) or exc.status_code == 401:
        return problem_response(request, NotAuthenticated())
    if exc.status_code == 403:  # ninja's own CSRF refusal, should a cookie auth of its own ever run
        return problem_response(request, CsrfFailed())
    if exc.status_code == 404:
        return problem_response(request, NotFound())
    return problem_response(request, InvalidRequest(str(exc)))


def _on_refusal(request: HttpRequest, exc: Refusal | type[Refusal]) -> HttpResponse:
    return problem_response(request, exc if isinstance(exc, Refusal) else exc())


def _on_invalid(request: HttpRequest, exc: ValidationError | type[ValidationError]) -> HttpResponse:
    return _invalid(request, exc if isinstance(exc, ValidationError) else exc([]))


def _on_http_error(request: HttpRequest, exc: HttpError | type[HttpError]) -> HttpResponse:
    return _http_error(request, exc if isinstance(exc, HttpError) else exc(400, ""))


def _on_404(request: HttpRequest, exc: Http404 | type[Http404]) -> HttpResponse:
    return problem_response(request, NotFound())


def install(api: NinjaAPI) -> None:
    """Answer every refusal of `api` as a problem: a service's (Refusal), a schema's (ValidationError, 400 naming
    the fields), ninja's own (HttpError: no credentials 401) and a 404."""
    api.add_exception_handler(Refusal, _on_refusal)
    api.add_exception_handler(ValidationError, _on_invalid)
    api.add_exception_handler(HttpError, _on_http_error)
    api.add_exception_handler(Http404, _on_404)


@csrf_exempt  # as ninja's own views: it changes nothing, and a POST to a wrong path is told so, not refused CSRF
def no_such_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any path under the API's root that no operation has (a typo, an id with a slash in it): 404 not_found."""
    return problem_response(request, NotFound())


def answering_405(pattern: URLPattern) -> URLPattern:
    """`pattern` (one of ninja's) with its 405, a plain-text "Method not allowed", answered as a problem with the
    same Allow header. ninja's views here are all synchronous; an asynchronous one is left as it is."""
    view: Callable[..., HttpResponseBase] = pattern.callback
    if inspect.iscoroutinefunction(view):
        return pattern

    @functools.wraps(view)  # keeps ninja's csrf_exempt and operation attributes
    def problems_for_405(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            return problem_response(request, MethodNotAllowed(allow=response["Allow"]))
        return response

    return URLPattern(pattern.pattern, problems_for_405, pattern.default_args, pattern.name)
