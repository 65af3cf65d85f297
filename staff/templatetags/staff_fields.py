"""`as_plain_crispy_field`: crispy-forms' Bootstrap 5 field markup for a plain filter field,
written in Python.

crispy's bootstrap5/field.html takes about 1.5 ms a field (some thirty {% if %} and three
includes), a third of the week calendar's template time and as much on the follow-ups page, whose
filters are a few optional menus and a date. For such a field (optional, labelled, no help text,
no errors, a <select> or a text-like <input>) this writes the same elements and attributes, without
the template's blank lines; any other field goes to crispy's own filter.
tests/staff/test_staff_fields.py compares both as HTML.
"""
from __future__ import annotations

import html

from django import forms, template
from django.forms.widgets import Input
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

from iop_clinic.forms import with_crispy_class

register = template.Library()


def _is_plain(field: forms.BoundField) -> bool:
    widget = field.field.widget
    if isinstance(widget, forms.Select):
        pass
    elif not isinstance(widget, Input) or isinstance(widget, (forms.CheckboxInput,
                                                                   forms.FileInput)):
        return False
    return (getattr(field.form, "helper", None) is None and not field.is_hidden
            and not field.field.required and not field.errors and not field.help_text
            and bool(field.label) and bool(field.id_for_label) and not field.css_classes()
            and not field.use_fieldset)


@register.filter
def as_plain_crispy_field(field: forms.BoundField) -> str:
    """What `{{ field|as_crispy_field }}` writes, without its templates for a plain field."""
    if not _is_plain(field):
        return as_crispy_field(field)
    is_select = isinstance(field.field.widget, forms.Select)
    with_crispy_class(field.field.widget, "form-select" if is_select else "form-control")
    return format_html('<div id="div_{}" class="mb-3"><label for="{}" class="form-label">{}</label>'
                       '{}</div>', field.auto_id, field.id_for_label, field.label, field)


@register.filter
def report_filter_field(field: forms.BoundField) -> str:
    """A report filter's field as templates/staff/reports/_filter_field.html wrote it (crispy's
    Bootstrap 5 markup, the classes set by the form), errors included, without an include and
    its context a field: the report pages show six."""
    form, form_field = field.form, field.field
    if not (form.is_bound and form.errors) and not (
            form_field.required or form_field.disabled or form_field.localize
            or form_field.show_hidden_initial or field.help_text):
        return _plain_report_filter_field(field)
    errors = field.errors
    feedback = ""
    if errors:
        feedback = format_html(
            '<div id="{}_error" class="invalid-feedback">{}</div>', errors.field_id,
            format_html_join("", '<p id="error_{}_{}"><strong>{}</strong></p>',
                             ((n, field.auto_id, error) for n, error in enumerate(errors, 1))))
    # format_html's escaping (conditional_escape) without its lazy-string wrapper per value.
    return mark_safe(_FILTER_FIELD.format(*map(_escape, (
        field.auto_id, field.id_for_label, field.label, field, feedback))))


def _plain_report_filter_field(field: forms.BoundField) -> str:
    """A filter field of a form without errors: what BoundField.as_widget gives such a field
    (optional, enabled, no help text) is its widget with the field's id and value, so the
    widget is rendered with those directly, without the empty error lists and ARIA
    attributes' checks as_widget makes (a third of a report menu's time)."""
    widget, auto_id = field.field.widget, field.auto_id
    attrs = {} if "id" in widget.attrs else {"id": auto_id}
    html = widget.render(name=field.html_name, value=field.value(), attrs=attrs,
                         renderer=field.form.renderer)
    label_for = widget.id_for_label(widget.attrs.get("id") or auto_id)  # BoundField.id_for_label
    return mark_safe(_FILTER_FIELD.format(*map(_escape, (auto_id, label_for, field.label)),
                                          html, ""))


_FILTER_FIELD = ('<div id="div_{}" class="mb-3"><label for="{}" class="form-label">{}</label>'
                 '{}{}</div>')


def _escape(value) -> str:
    """conditional_escape: a safe value (a widget, the feedback) as it is, any other escaped."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))
