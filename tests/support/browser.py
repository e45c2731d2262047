"""What a browser would post for a form on a page: every field as the page rendered it (hidden inputs
included), so a test changes one field and posts the rest untouched, like staff do."""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields = []  # (name, value) pairs in page order
        self._select = None  # (name, multiple, [selected values], first option value)
        self._option = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name and "disabled" not in attrs:
            self._select = (name, "multiple" in attrs, [], [])
        elif tag == "option" and self._select is not None:
            value = attrs.get("value")
            self._option = value
            self._select[3].append(value)
            if "selected" in attrs:
                self._select[2].append(value)
        elif tag == "textarea" and name and "disabled" not in attrs:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            name, multiple, selected, options = self._select
            if not selected and not multiple and options:
                selected = [options[0]]
            self.fields.extend((name, value or "") for value in selected)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            value = self._textarea[1]
            self.fields.append((self._textarea[0], value[1:] if value.startswith("\n") else value))
            self._textarea = None


def form_data(response, form_id):
    """{name: value or [values]} of the form with this id on the page, as a browser would submit it."""
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    data = {}
    for name, value in reader.fields:
        data.setdefault(name, []).append(value)
    assert data, f"no form #{form_id} with fields on the page"
    return {name: values[0] if len(values) == 1 else values for name, values in data.items()}
