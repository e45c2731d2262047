"""Answers of the JSON API as the rush's app client keeps them (bench.rush.client.Response), for the bench's tests
of its --api mode."""

import json

from multidict import CIMultiDict, CIMultiDictProxy

from bench.rush.client import Response


def answer(status, body=None, **headers):
    """An answer with this status and JSON body (a problem's media type from 400 on), and these headers."""
    content_type = "application/problem+json" if status >= 400 else "application/json"
    return Response(status, CIMultiDictProxy(CIMultiDict({"Content-Type": content_type, **headers})), json.dumps(body))


def problem(status, code, **headers):
    """An RFC 9457 problem with this status and code."""
    return answer(status, {"status": status, "code": code}, **headers)
