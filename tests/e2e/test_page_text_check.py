"""The check every browser test runs on the pages it visits (tests/e2e/conftest.py), on known pages."""

from tests.e2e.conftest import leaked_syntax


def test_template_syntax_and_none_in_text_or_read_attributes_are_found():
    html = (
        '<p title="{{ x }}">Seats {% if a %}</p><div>{# note</div><span>None</span>'
        '<form data-confirm="Cancel {{ seat }}?"></form><td>None None None</td><p>좌석 None번</p>'
    )
    assert leaked_syntax(html) == [
        "{{ x }}",
        "Seats {% if a %}",
        "{# note",
        "None",
        "Cancel {{ seat }}?",
        "None None None",
        "좌석 None번",
    ]


def test_scripts_styles_and_words_containing_none_are_not_leaks():
    html = (
        "<script>if (a) { b({c: 1}) }}</script><style>a{}</style><p>Nonetheless, no one</p><p>None available</p>"
        '<input type="hidden" name="next" value=""><p>fine</p>'
    )
    assert leaked_syntax(html) == []
