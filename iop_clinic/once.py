"""`{% once key=value ... %}...{% endonce %}`: a stretch of a layout rendered once per process
for each combination of its values, then given back as text.

Every page renders its layout's head, navigation, footer and scripts: two dozen {% static %},
{% fixed_url %}, {% translate %} and {% if %} tags whose answers depend only on the language,
the settings and a few values such as the page's URL name or the user's role. The template
engine's per-node work on them cost about as much as a small page's own content. Here such a
stretch is rendered the first time each combination is seen and kept.

What keeps it right:
- The stretch is rendered with only its declared values in its context (as `{% include ...
  only %}`): it cannot read anything else, so its text depends on nothing but the values, the
  active language, the URL prefix and configuration, and the settings. A variable left undeclared
  renders empty on the first page, where tests see it, and never some other user's value.
- The key holds the values, the language, the script prefix and the URLconf; every change of
  settings (a test's override_settings) forgets everything kept.
- Neither a {% block %} (a child template's content) nor a {% csrf_token %} (a new mask each
  response) may stand inside one: parsing refuses them.
- Values are small sets (a URL name, a role's yes/no, a site's alias), never a person's data;
  a stretch keeps at most MAX_KEPT combinations and renders the others without keeping them.
"""
import weakref

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import Node, NodeList, token_kwargs
from django.template.defaulttags import CsrfTokenNode
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

# The staff menu's combinations are its page's URL name (about 100) by the roles' flags (a few),
# a few kilobytes each: room for all of them.
MAX_KEPT = 1024

# Every OnceNode, so a change of settings can forget what they all kept (weakly: a template
# compiled from a string and dropped takes its node with it).
_nodes: weakref.WeakSet = weakref.WeakSet()


@receiver(setting_changed)
def _forget_rendered(**kwargs) -> None:
    for node in list(_nodes):
        node.kept.clear()


def _frozen(value):
    """A value as part of a key: a dict (the `clinic` context) as its sorted items."""
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return value


class OnceNode(Node):
    # No child nodelists: it holds no block (refused when parsed), and ExtendsNode looks for
    # blocks through every nodelist of the parent template on each render.
    child_nodelists = ()

    def __init__(self, nodelist: NodeList, values: dict) -> None:
        self.nodelist = nodelist
        self.values = values
        self.kept: dict[tuple, SafeString] = {}
        _nodes.add(self)

    def render(self, context) -> SafeString:
        values = {name: value.resolve(context) for name, value in self.values.items()}
        key = (get_language(), get_script_prefix(), get_urlconf(),
               *((name, _frozen(value)) for name, value in values.items()))
        text = self.kept.get(key)
        if text is None:
            text = self.nodelist.render(context.new(values))  # a SafeString
            if len(self.kept) < MAX_KEPT:
                self.kept[key] = text
        return text


@register.tag("once")
def do_once(parser, token) -> OnceNode:
    bits = token.split_contents()
    values = token_kwargs(bits[1:], parser, support_legacy=False)
    if len(values) != len(bits) - 1:
        raise template.TemplateSyntaxError(
            f"{bits[0]} takes only name=value arguments, got {token.contents!r}")
    nodelist = parser.parse(("endonce",))
    parser.delete_first_token()
    for refused in (BlockNode, CsrfTokenNode):
        if nodelist.get_nodes_by_type(refused):
            raise template.TemplateSyntaxError(
                f"{{% once %}} cannot hold a {refused.__name__}: its text differs per page")
    return OnceNode(nodelist, values)
