"""The participants changelist's actions bar, written in Python (participants.admin)."""
from django import template

from participants.admin import actions_html

register = template.Library()


@register.simple_tag(takes_context=True)
def participant_actions(context) -> str:
    """Django's {% admin_actions %}: counts its uses on the page, as that tag does."""
    context["action_index"] = context.get("action_index", -1) + 1
    return actions_html(context)
