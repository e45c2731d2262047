"""The page layout (templates/base.html) and its site header (templates/_site_header.html), each rendered once and
filled in per request.

`{% page_layout %}...{% endpage_layout %}` (all of base.html) is a config.stencil.Stencil rendered once per process,
language and URL prefix: its blocks (which the page's template fills) and its `{% live %}` parts (the header, the
messages) are slots, rendered per request in the page's context; everything else (the head's links, the footer,
their URL and static lookups and translations) is rendered once, in a context of its own without the request, so
nothing of a visitor's can reach it. A page then runs the template engine only over its blocks and live parts.

The header is the same for every visitor of a page but for a few values: the name, e-mail address and balance
of the fan logged in, the CSRF token of its forms and the path the language switch and the log-in links return
to. `{% site_header %}` (base.html) renders it as a config.stencil.Stencil once per process, language, URL
prefix, app and URL name and log-in state, with those values as slots, and fills them in per request: a page
no longer walks the header's ~70 template nodes (URL reversing, translations, conditions) on every request.

The header template sees only the keys and slots below, never the request or the user, in both ways it is
rendered (as a stencil, or directly where there is no request), so a value that is not a slot cannot be
shared between visitors and both ways print the same.
"""

from typing import Any, cast
from urllib.parse import quote

from django import template
from django.core.signals import setting_changed
from django.template import loader
from django.template.base import Node, NodeList, Parser, Token
from django.template.context import Context
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from .stencil import Stencil, marker

register = template.Library()

HEADER_TEMPLATE = "_site_header.html"
SLOTS = ("balance", "name", "email", "csrf_token", "next_path", "login_next")

# Rendered headers by (language, script prefix, keys). The keys come from small sets (URL names, booleans),
# so this stays small; the cap only guards against the unforeseen.
_HEADERS: dict[tuple[object, ...], Stencil] = {}
_HEADERS_MAX = 1024
# Rendered layouts by (node, language, script prefix).
_LAYOUTS: dict[tuple[object, ...], Stencil] = {}
_LAYOUTS_MAX = 256


@setting_changed.connect
def _forget_headers(**kwargs: object) -> None:
    """Tests that change settings (URLs, languages, static files) get the header and layout rendered afresh."""
    _HEADERS.clear()
    _LAYOUTS.clear()


def header_values(context: Context, balance: str) -> tuple[dict[str, Any], dict[str, str]]:
    """What the header shows of this page's context: the keys it is rendered by and the per-request slots."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    user = context.get("user")
    signed_in = user is not None and bool(user.is_authenticated)
    keys = {
        "LANGUAGE_CODE": get_language(),
        "section": match.app_name if match else None,
        "page": match.url_name if match else None,
        "routed": match is not None,
        "signed_in": signed_in,
    }
    full_path = request.get_full_path() if request is not None else ""
    values = {
        "balance": balance if signed_in else "",
        "name": (user.name or user.email) if user is not None and signed_in else "",
        "email": user.email if user is not None and signed_in else "",
        "csrf_token": str(context.get("csrf_token") or ""),
        "next_path": context.get("page_url") or full_path or "/",
        "login_next": quote(full_path, safe="/"),
    }
    return keys, values


@register.simple_tag(takes_context=True)
def site_header(context: Context, balance: object = "") -> SafeString:
    """{% site_header balance=user.balance|won %}: templates/_site_header.html for this request (see the module's
    docstring); the balance comes formatted (concerts.pricing is a layer above config)."""
    keys, values = header_values(context, str(balance))
    if context.get("request") is None or values["csrf_token"] in ("", "NOTPROVIDED"):
        # A page rendered without a request (Django's 500 page) prints no token field: render it as it is.
        return loader.render_to_string(HEADER_TEMPLATE, {**keys, **values})
    key = (get_script_prefix(), *keys.values())
    stencil = _HEADERS.get(key)
    if stencil is None:
        stencil = Stencil.render(HEADER_TEMPLATE, keys, slots=SLOTS)
        if len(_HEADERS) < _HEADERS_MAX:
            _HEADERS[key] = stencil
    return stencil.fill(values)


# --- {% page_layout %} ------------------------------------------------------------------------------------------


class LiveNode(Node):
    """{% live %}...{% endlive %}: a part of {% page_layout %} rendered on every request (it shows the visitor's
    own: the header's name and token, the messages). Outside a layout it is rendered as it is."""

    child_nodelists = ("nodelist",)

    def __init__(self, nodelist: NodeList) -> None:
        self.nodelist = nodelist

    def render(self, context: Context) -> SafeString:
        return self.nodelist.render(context)


class SlotNode(Node):
    """A block or live part of a layout, where its stencil has a slot: renders the part itself (as it would be
    rendered without the stencil)."""

    def __init__(self, name: str, node: BlockNode | LiveNode) -> None:
        self.name = name
        self.node = node
        self.token = node.token
        self.origin = node.origin

    def render(self, context: Context) -> SafeString:
        return self.node.render(context)

    def get_nodes_by_type(self, nodetype: type[Node]) -> list[Node]:
        return self.node.get_nodes_by_type(nodetype)


class PageLayoutNode(Node):
    """The layout as a stencil (see the module's docstring). Its blocks and live parts must sit at its top level,
    so that everything else in it is the same for every request with the same language."""

    child_nodelists = ("nodelist",)

    def __init__(self, nodelist: NodeList) -> None:
        self.slots: list[SlotNode] = []
        for index, node in enumerate(nodelist):
            if isinstance(node, (BlockNode, LiveNode)):
                name = "part_" + "".join(chr(ord("a") + int(digit)) for digit in str(len(self.slots)))
                nodelist[index] = slot = SlotNode(name, node)
                self.slots.append(slot)
        self.nodelist = nodelist
        nested = {
            node
            for found in (nodelist.get_nodes_by_type(BlockNode), nodelist.get_nodes_by_type(LiveNode))
            for node in found
        }
        if nested - {slot.node for slot in self.slots}:
            raise template.TemplateSyntaxError(
                "{% page_layout %}: a {% block %} or {% live %} inside another tag (they must stand at its top level)"
            )
        self._by_type: dict[type[Node], list[Node]] = {}

    def get_nodes_by_type(self, nodetype: type[Node]) -> list[Node]:
        # {% extends %} looks for the layout's blocks on every page it renders: found once, the tree never changes.
        found = self._by_type.get(nodetype)
        if found is None:
            found = self._by_type[nodetype] = super().get_nodes_by_type(nodetype)
        return list(found)

    def render(self, context: Context) -> SafeString:
        key = (self, get_language(), get_script_prefix())
        stencil = _LAYOUTS.get(key)
        if stencil is None:
            stencil = self._stencil(context)
            if len(_LAYOUTS) < _LAYOUTS_MAX:
                _LAYOUTS[key] = stencil
        return stencil.fill({slot.name: cast(SafeString, slot.render_annotated(context)) for slot in self.slots})

    def _stencil(self, context: Context) -> Stencil:
        """The layout rendered with a marker for each slot, in a context of its own: no request, no page values."""
        fresh = Context(autoescape=context.autoescape, use_l10n=context.use_l10n, use_tz=context.use_tz)
        parts: list[str] = []
        assert context.template is not None  # set by the page's Template.render
        with fresh.bind_template(context.template):
            for node in self.nodelist:
                if isinstance(node, SlotNode):
                    parts.append(marker(node.name))
                else:
                    parts.append(cast(str, node.render_annotated(fresh)))
        return Stencil.split("".join(parts), [slot.name for slot in self.slots], origin=self.origin)


@register.tag
def page_layout(parser: Parser, token: Token) -> PageLayoutNode:
    """{% page_layout %}...{% endpage_layout %}: see PageLayoutNode."""
    nodelist = parser.parse(("endpage_layout",))
    parser.delete_first_token()
    return PageLayoutNode(nodelist)


@register.tag
def live(parser: Parser, token: Token) -> LiveNode:
    """{% live %}...{% endlive %}: see LiveNode."""
    nodelist = parser.parse(("endlive",))
    parser.delete_first_token()
    return LiveNode(nodelist)
