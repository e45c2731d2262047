"""The booking flow's OpenAPI links (Link Objects on the responses): which operation an answer leads to next and the
values it takes from it. A hold's `id` is the reservation id that releasing it takes; a payment's reservation ids
are what the cancellation quote and the cancel take; a quote leads to the cancel. Clients read them in the docs;
Schemathesis follows them to test hold → pay / release / cancel sequences (tests/api/test_schema.py)."""

from dataclasses import dataclass, field
from typing import Any

HOLD = ("post", "/dates/{date_id}/holds")
MY_HOLDS = ("get", "/dates/{date_id}/holds")
PAY = ("post", "/dates/{date_id}/payments")
RELEASE = ("delete", "/holds/{reservation_id}")
QUOTE = ("get", "/reservations/{reservation_id}/cancellation")
CANCEL = ("post", "/reservations/{reservation_id}/cancel")


@dataclass(frozen=True)
class Link:
    target: tuple[str, str]  # (method, path under the API's root)
    description: str
    parameters: dict[str, str] = field(default_factory=dict)  # name -> runtime expression


_FROM_HOLDS = {
    "ReleaseHold": Link(
        RELEASE,
        "Release the first of these holds (every hold's `id` is released the same way).",
        {"reservation_id": "$response.body#/holds/0/id"},
    ),
    "PayHolds": Link(PAY, "Pay these holds (with an Idempotency-Key).", {"date_id": "$response.body#/date_id"}),
}
_FROM_PAYMENT = {
    "CancellationQuote": Link(
        QUOTE,
        "What cancelling the first paid reservation would cost now (every reservation's `id` works the same way).",
        {"reservation_id": "$response.body#/reservations/0/id"},
    ),
}

# (operation, status) -> its links by name
LINKS: dict[tuple[tuple[str, str], int], dict[str, Link]] = {
    (HOLD, 201): {
        **_FROM_HOLDS,
        "MyHolds": Link(
            MY_HOLDS, "My holds of the date, as checkout shows them.", {"date_id": "$response.body#/date_id"}
        ),
    },
    (MY_HOLDS, 200): _FROM_HOLDS,
    (PAY, 201): _FROM_PAYMENT,
    (PAY, 200): _FROM_PAYMENT,
    (QUOTE, 200): {
        "Cancel": Link(
            CANCEL,
            "Cancel the reservation, sending the quote's `fee` as `accepted_fee`.",
            {"reservation_id": "$response.body#/reservation_id"},
        ),
    },
}


def _operation_key(paths: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The schema's path (it carries the API's root, e.g. /api/v1) and operation for `method` `path`."""
    found = [(key, item[method]) for key, item in paths.items() if key.endswith(path) and method in item]
    if len(found) != 1:
        raise LookupError(f"no single operation {method.upper()} …{path} in the schema for its links")
    return found[0]


def add_links(schema: dict[str, Any]) -> None:
    """Put LINKS on the responses of `schema` (an OpenAPI document as ninja builds it), naming each target by its
    operationId."""
    paths = schema.get("paths", {})
    for ((method, path), status), links in LINKS.items():
        _key, operation = _operation_key(paths, method, path)
        responses = operation["responses"]
        response = responses[status] if status in responses else responses[str(status)]  # ninja's keys are ints
        response["links"] = {
            name: {
                "operationId": _operation_key(paths, *link.target)[1]["operationId"],
                "parameters": dict(link.parameters),
                "description": link.description,
            }
            for name, link in links.items()
        }
