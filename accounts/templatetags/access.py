"""Template filters over the access layer, so templates hide what a role may not do."""
from django import template

from accounts import access
from accounts.roles import Role

register = template.Library()

register.filter("is_staff_member", access.is_staff_member)
register.filter("can_manage_programs", access.can_manage_programs)
register.filter("can_write_clinical_notes", access.can_write_clinical_notes)
register.filter("can_mark_attendance", access.can_mark_attendance)
register.filter("can_enroll", access.can_enroll)


@register.filter
def role_label(user) -> str:
    labels = [str(role.label) for role in Role if user.has_role(role)]
    if user.is_superuser and not labels:
        labels = ["Administrator"]
    return ", ".join(labels)
