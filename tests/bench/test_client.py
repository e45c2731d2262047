"""The rush bench's browser (bench/rush/client.py): what it keeps of the Set-Cookie headers Django sends."""

from django.http import HttpResponse

from bench.rush.client import parse_set_cookie


def set_cookie_headers(response: HttpResponse) -> list[str]:
    return [morsel.OutputString() for morsel in response.cookies.values()]


def test_a_cookie_is_kept_as_sent_quotes_and_all():
    response = HttpResponse()
    response.set_cookie("sessionid", "abc123", httponly=True, samesite="Lax")
    response.set_cookie("messages", 'a "quoted", value')
    kept = [parse_set_cookie(header) for header in set_cookie_headers(response)]
    assert kept[0] == ("sessionid", "abc123", False)
    name, value, deleted = kept[1]
    assert (name, deleted) == ("messages", False)
    assert value.startswith('"') and value.endswith('"')  # the browser sends it back as it came


def test_a_deleted_cookie_is_dropped():
    response = HttpResponse()
    response.delete_cookie("sessionid")
    assert parse_set_cookie(set_cookie_headers(response)[0]) == ("sessionid", '""', True)
    assert parse_set_cookie("queue=x; Max-Age=0; Path=/") == ("queue", "x", True)


def test_a_cookie_with_a_lifetime_is_kept():
    assert parse_set_cookie("queue=x; Max-Age=60; Path=/") == ("queue", "x", False)
    assert parse_set_cookie("queue=x; expires=Thu, 01 Jan 2037 00:00:00 GMT") == ("queue", "x", False)


def test_a_header_without_a_pair_is_ignored():
    assert parse_set_cookie("garbage") is None
    assert parse_set_cookie("=value") is None
