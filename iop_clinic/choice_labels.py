"""`{{ obj|label:"field" }}`: what `{{ obj.get_field_display }}` shows, for the chart's labels.

Django's get_FOO_display rebuilds and hashes the field's whole choice list on every call, and
translates each lazy label: 20-75 µs a label, some sixteen on a participant's chart. This reads
the labels kept per process and language (`iop_clinic.page_rows.choice_labels`: the words of
the code's choices, nothing about anyone); a value outside the choices shows as itself, as
get_FOO_display shows it.
"""
from django import template

from iop_clinic.page_rows import choice_labels

register = template.Library()


@register.filter(is_safe=False)
def label(obj, field_name: str):
    """`obj.get_<field_name>_display()`."""
    value = getattr(obj, obj._meta.get_field(field_name).attname)
    try:
        return choice_labels(type(obj), field_name).get(value, value)
    except TypeError:  # an unhashable value (a list): Django makes it hashable first
        return getattr(obj, f"get_{field_name}_display")()
