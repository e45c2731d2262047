"""The template sources themselves: mistakes Django renders as text instead of refusing."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATE_ROOT = Path(settings.BASE_DIR) / "templates"


def template_files():
    return sorted(path for path in TEMPLATE_ROOT.rglob("*") if path.suffix in {".html", ".txt", ".xml", ".svg"})


def test_the_template_folder_is_found():
    assert len(template_files()) > 10


def test_no_template_opens_a_one_line_comment_without_closing_it_on_the_same_line():
    """Django's {# #} ends at the line's end: a comment spread over lines is printed on the page as text."""
    unclosed = []
    for path in template_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            # Every {# on the line needs a #} after it, on the same line.
            rest = line
            while "{#" in rest:
                rest = rest[rest.index("{#") + 2 :]
                if "#}" not in rest:
                    unclosed.append(f"{path.relative_to(TEMPLATE_ROOT)}:{number}: {line.strip()[:80]}")
                    break
                rest = rest[rest.index("#}") + 2 :]
    assert unclosed == [], "use {% comment %} … {% endcomment %} for comments over several lines:\n" + "\n".join(
        unclosed
    )


def test_no_template_tag_or_variable_is_split_over_lines():
    """{% … %} and {{ … }} are one line each too: split, they are printed as text."""
    split = []
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\{%[^%]*?\n|\{\{[^}]*?\n", text):
            number = text.count("\n", 0, match.start()) + 1
            split.append(f"{path.relative_to(TEMPLATE_ROOT)}:{number}")
    assert split == []
