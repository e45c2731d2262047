"""config.stencil: a page rendered once with slots, filled per request with escaped values; the Shelf's expiry."""

import threading
import time

import pytest
from django.middleware.csrf import get_token
from django.template import engines
from django.test import RequestFactory
from django.utils.safestring import mark_safe

from config.stencil import Shelf, Stencil


def _template(text):
    return engines["django"].from_string(text)


def test_a_stencil_fills_each_slot_with_its_value_escaped_and_safe_html_as_it_is():
    stencil = Stencil.render(
        _template('<h1>{{ title }}</h1><p title="{{ name }}">{{ name }}</p>{{ part }}<i>{{ name }}</i>'),
        {"title": "Seoul <Jazz>"},
        slots=["name", "part"],
    )
    page = stencil.fill({"name": 'Kim "<b>"', "part": mark_safe("<em>own</em>")})
    assert page == (
        '<h1>Seoul &lt;Jazz&gt;</h1><p title="Kim &quot;&lt;b&gt;&quot;">Kim &quot;&lt;b&gt;&quot;</p>'
        "<em>own</em><i>Kim &quot;&lt;b&gt;&quot;</i>"
    )
    # Filled again with other values: nothing of the first fill stays.
    assert stencil.fill({"name": "Lee", "part": ""}) == '<h1>Seoul &lt;Jazz&gt;</h1><p title="Lee">Lee</p><i>Lee</i>'


def test_a_stencil_gives_two_visitors_their_own_csrf_tokens():
    stencil = Stencil.render(_template("<form>{% csrf_token %}</form>"), {}, slots=["csrf_token"])
    requests = [RequestFactory().get("/"), RequestFactory().get("/")]
    tokens = [get_token(request) for request in requests]
    pages = [stencil.fill({"csrf_token": token}) for token in tokens]
    for page, token in zip(pages, tokens, strict=True):
        assert page == f'<form><input type="hidden" name="csrfmiddlewaretoken" value="{token}"></form>'
    assert tokens[0] != tokens[1]


def test_a_stencil_renders_without_the_request_so_no_visitor_data_can_be_shared():
    stencil = Stencil.render(_template("[{{ user }}][{{ request }}][{{ csrf_token }}]"), {}, slots=[])
    assert stencil.fill({}) == "[][][]"
    assert stencil.slots == frozenset()


def test_text_that_looks_like_a_slot_stays_text():
    stencil = Stencil.render(
        _template("{{ title }}|{{ name }}"), {"title": "stencil-0123456789abcdef-name-"}, slots=["name"]
    )
    assert stencil.fill({"name": "Lee"}) == "stencil-0123456789abcdef-name-|Lee"


def test_a_slot_left_out_of_a_state_needs_no_value_and_a_slot_shown_needs_one():
    stencil = Stencil.render(_template("{% if open %}{{ seconds }}{% endif %}."), {"open": False}, slots=["seconds"])
    assert stencil.fill({}) == "."
    shown = Stencil.render(_template("{% if open %}{{ seconds }}{% endif %}."), {"open": True}, slots=["seconds"])
    assert shown.slots == {"seconds"}
    with pytest.raises(KeyError):
        shown.fill({})


@pytest.mark.parametrize("text", ["{{ name|upper }}", "{{ name|slice:':20' }}", "{{ name|cut:'-' }}"])
def test_a_slot_changed_by_a_filter_is_refused_when_rendered(text):
    with pytest.raises(ValueError, match="changes it"):
        Stencil.render(_template(text), {}, slots=["name"])


def test_a_slot_name_is_lower_case_letters_and_underscores():
    with pytest.raises(ValueError, match="slot's name"):
        Stencil.render(_template("{{ a }}"), {}, slots=["a-b"])


def test_a_shelf_keeps_a_value_for_its_seconds_and_none_at_zero(monkeypatch):
    shelf = Shelf(size=3)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    shelf.put("a", 1, 2)
    shelf.put("b", 2, 0)
    assert shelf.get("a") == 1
    assert shelf.get("b") is None
    clock[0] += 2
    assert shelf.get("a") is None


def test_a_full_shelf_drops_what_ran_out_first_then_everything(monkeypatch):
    shelf = Shelf(size=2)
    clock = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    shelf.put("old", 1, 1)
    shelf.put("kept", 2, 10)
    clock[0] = 5
    shelf.put("new", 3, 10)  # "old" ran out: dropped, "kept" stays
    assert (shelf.get("kept"), shelf.get("new")) == (2, 3)
    shelf.put("more", 4, 10)  # nothing ran out: the shelf starts again
    assert (shelf.get("kept"), shelf.get("new"), shelf.get("more")) == (None, None, 4)


def test_shelves_are_cleared_when_a_setting_changes(settings):
    shelf = Shelf()
    shelf.put("a", 1, 60)
    settings.CONCERT_PAGE_CACHE_SECONDS = 7
    assert shelf.get("a") is None


def test_a_shelf_shared_by_threads_sweeps_and_clears_without_failing():
    # gunicorn's threads share each shelf: one thread's sweep of a full shelf iterates it while others put and
    # clear (without the shelf's lock: "dictionary changed size during iteration", a 500 on the page).
    shelf = Shelf(size=16)
    failures: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for n in range(20_000):
                shelf.put((index, n), n, 0.001 if n % 2 else 60)  # half run out at once: every sweep has work
                if index == 0 and n % 500 == 0:
                    shelf.clear()
        except BaseException as exc:  # noqa: BLE001 -- any failure in a thread is the test's result
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(shelf._items) <= 16
