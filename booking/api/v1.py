"""The JSON API, version 1 (/api/v1/): django-ninja, its OpenAPI 3 schema at /api/v1/openapi.json and the docs page
at /api/v1/docs (Swagger UI from our own static files).

Every operation is a thin caller of the apps' services and selectors, as the pages are: the same rules, the same
refusals (answered as RFC 9457 problems, api.problems), the same rate limits. Who calls: api.auth.
"""

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger
from ninja.openapi.schema import OpenAPISchema

from . import links, problems
from .auth import FAN
from .routers import booking, concerts, me, queue, reservations, wallet

DESCRIPTION = """Book concert seats on Frontrow from a program: the same rules, waiting room and refusals as the site.

**Authentication**: a personal access token (create one on your account page, *API access tokens*) sent as
`Authorization: Bearer frt_…`; a *read* token may only read, and never gets an e-ticket's `ticket_code` (the code
lets its holder in at the door: a calendar or a report has no use for it); a *book* token may also hold, release, pay
and cancel, and sees the codes. The site's own pages may call the API with their session cookie (and `X-CSRFToken` on
a POST or DELETE).

**Refusals** are RFC 9457 problems (`application/problem+json`): `code` is stable (for programs), `detail` is in the
language of `Accept-Language` (Korean or English). A request that does not match the schema answers **400** with
code `invalid_request` and `errors`, one per field. Too many requests answer **429** with `Retry-After`. A path no
operation has answers **404** `not_found`, a method the path does not take **405** `method_not_allowed` (with `Allow`).

**Links**: the booking flow's responses link to the next step (a hold to its release and to paying, a payment to the
cancellation quote, the quote to cancelling) with the values it takes.
"""


class FrontrowAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        """ninja's schema, with the problems' media type said as it is sent (application/problem+json) and the
        booking flow's links (api.links: a hold leads to its release and payment, a payment to the quote, ...)."""
        schema = super().get_openapi_schema(**kwargs)
        links.add_links(schema)
        problem_ref = "#/components/schemas/Problem"
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    if content.get("application/json", {}).get("schema", {}).get("$ref") == problem_ref:
                        response["content"] = {problems.MEDIA_TYPE: content["application/json"]}
        return schema


api = FrontrowAPI(
    title="Frontrow API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=FAN,
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
)
problems.install(api)
api.add_router("/me", me.router, tags=["Account"])
api.add_router("/concerts", concerts.router, tags=["Concerts"])
api.add_router("/dates", concerts.dates_router, tags=["Concerts"])
api.add_router("/concerts", queue.router, tags=["Waiting room"])
api.add_router("/dates", booking.router, tags=["Booking"])
api.add_router("/holds", booking.holds_router, tags=["Booking"])
api.add_router("/reservations", booking.reservations_router, tags=["Booking"])
api.add_router("/wallet", wallet.router, tags=["Wallet"])
api.add_router("/reservations", reservations.router, tags=["Reservations"])
