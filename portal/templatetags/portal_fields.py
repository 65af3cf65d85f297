"""`portal_form`: crispy-forms' Bootstrap 5 markup for the portal's small forms, written in
Python.

`{{ form|crispy }}` renders each field through some fifteen small templates; on the reminder
settings page its two forms (two sets of radio buttons and a tick box) were three quarters of
the page's rendering. For a form whose fields are all radio buttons, tick boxes, text boxes or
text areas (labelled, with an id, with or without help text and errors) this writes the same
elements and attributes, and so the same accessibility (fieldset and legend, aria-describedby,
aria-invalid, required), without the templates' blank lines; any other form goes to crispy's
own filter.
tests/portal/test_portal_fields.py compares both as HTML, in English and Spanish.

A form that says so (`markup_from_initial = True`: its unbound markup depends only on its
class, the language, its prefix, ids and initial values) is written once a process per those;
the reminder settings page's two forms were still half a millisecond of every view of it.
"""
from __future__ import annotations

from django import forms, template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.forms.widgets import Input
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form, optgroups

from iop_clinic.forms import with_crispy_class

register = template.Library()

_REQUIRED_MARK = mark_safe('<span class="asteriskField">*</span>')  # a constant


def _is_radio(field: forms.BoundField) -> bool:
    widget = field.field.widget
    return isinstance(widget, forms.RadioSelect) and not isinstance(
        widget, forms.CheckboxSelectMultiple)


def _is_text(field: forms.BoundField) -> bool:
    """A box crispy gives the form-control class: a text-like <input> or a <textarea>."""
    widget = field.field.widget
    return isinstance(widget, forms.Textarea) or (
        isinstance(widget, Input) and not isinstance(
            widget, (forms.CheckboxInput, forms.FileInput, forms.RadioSelect)))


def _is_plain(form: forms.BaseForm) -> bool:
    if getattr(form, "helper", None) is not None or form.non_field_errors():
        return False
    for field in form:
        if field.is_hidden or not field.auto_id or not field.label:
            return False
        if _is_radio(field):
            if not field.use_fieldset:
                return False
        elif not (isinstance(field.field.widget, forms.CheckboxInput) or _is_text(field)):
            return False
    return True


def _errors(field: forms.BoundField) -> str:
    """bootstrap5/layout/field_errors_block.html."""
    if not field.errors:
        return ""
    return format_html(
        '<div id="{}_error" class="invalid-feedback">{}</div>', field.errors.field_id,
        format_html_join("", '<p id="error_{}_{}"><strong>{}</strong></p>',
                         ((n, field.auto_id, error) for n, error in enumerate(field.errors, 1))))


def _help_text(field: forms.BoundField) -> str:
    """bootstrap5/layout/help_text.html (the help text is trusted markup there too)."""
    if not field.help_text:
        return ""
    return format_html('<div id="{}_helptext" class="form-text">{}</div>', field.auto_id,
                       mark_safe(field.help_text))  # as crispy's |safe


def _attrs(attrs: dict) -> str:
    """bootstrap5/layout/attrs.html: True as a bare name, False left out."""
    return format_html_join("", "{}", (
        (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
        for name, value in attrs.items() if value is not False))


def _radio(field: forms.BoundField) -> str:
    """bootstrap5/field.html and layout/radio_checkbox_select.html for a RadioSelect."""
    invalid = " is-invalid" if field.errors else ""
    options = [option for _group, group_options, _index in optgroups(field)
               for option in group_options]
    rows = []
    for number, option in enumerate(options, 1):
        rows.append(format_html(
            '<div class="form-check"><input type="{}" class="form-check-input{}" name="{}"'
            ' value="{}"{}><label for="{}" class="form-check-label">{}</label>{}</div>',
            option["type"], invalid, field.html_name, localize(option["value"], use_l10n=False),
            _attrs(option["attrs"]), option["attrs"].get("id", ""),
            localize(option["label"], use_l10n=False),
            _errors(field) if number == len(options) else ""))
    described = field.aria_describedby
    required = field.field.required
    return format_html(
        '<div id="div_{}" class="mb-3{}"><fieldset{}><legend class="form-label{} fs-6">{}{}'
        "</legend><div>{}</div>{}</fieldset></div>",
        field.auto_id, _css_classes(field),
        format_html(' aria-describedby="{}"', described) if described else "",
        " requiredField" if required else "", field.label, _REQUIRED_MARK if required else "",
        format_html_join("", "{}", ((row,) for row in rows)), _help_text(field))


def _css_classes(field: forms.BoundField) -> str:
    css_classes = field.css_classes()
    return f" {css_classes}" if css_classes else ""


def _checkbox(field: forms.BoundField) -> str:
    """bootstrap5/field.html and layout/help_text_and_errors.html for a CheckboxInput."""
    with_crispy_class(field.field.widget,
                "form-check-input is-invalid" if field.errors else "form-check-input")
    required = field.field.required
    return format_html(
        '<div class="mb-3"><div id="div_{}" class="form-check{}">{}<label for="{}"'
        ' class="form-check-label{}">{}{}</label>{}{}</div></div>',
        field.auto_id, _css_classes(field), field, field.id_for_label,
        " requiredField" if required else "", field.label, _REQUIRED_MARK if required else "",
        _errors(field), _help_text(field))


def _text(field: forms.BoundField) -> str:
    """bootstrap5/field.html and layout/help_text_and_errors.html for a text box."""
    with_crispy_class(field.field.widget,
                "form-control is-invalid" if field.errors else "form-control")
    required = field.field.required
    return format_html(
        '<div id="div_{}" class="mb-3{}"><label for="{}" class="form-label{}">{}{}</label>{}{}{}'
        "</div>", field.auto_id, _css_classes(field), field.id_for_label,
        " requiredField" if required else "", field.label, _REQUIRED_MARK if required else "",
        field, _errors(field), _help_text(field))


def _field(field: forms.BoundField) -> str:
    if _is_radio(field):
        return _radio(field)
    if isinstance(field.field.widget, forms.CheckboxInput):
        return _checkbox(field)
    return _text(field)


def _written(form: forms.BaseForm) -> str:
    if not _is_plain(form):
        return as_crispy_form(form)
    return format_html_join("", "{}", ((_field(field),) for field in form))


# (form class, language, prefix, auto_id, initial values) -> the markup of such an unbound form.
# Labels and choices, no one's data but the initial choices a key is made of.
_markups: dict[tuple, str] = {}
_MARKUPS_KEPT = 256


@receiver(setting_changed)
def _forget_markups(**kwargs) -> None:
    _markups.clear()  # LANGUAGES, the form renderer, crispy's pack... all can change the markup


def _markup_key(form: forms.BaseForm) -> tuple | None:
    if form.is_bound or not getattr(form, "markup_from_initial", False):
        return None
    key = (type(form), get_language(), form.prefix, form.auto_id,
           tuple(sorted(form.initial.items())))
    try:
        hash(key)
    except TypeError:  # an initial value that cannot be a key: written every time
        return None
    return key


@register.filter
def portal_form(form: forms.BaseForm) -> str:
    """What `{{ form|crispy }}` writes, without its templates for a form of choices."""
    key = _markup_key(form)
    if key is None:
        return _written(form)
    markup = _markups.get(key)
    if markup is None:
        if len(_markups) >= _MARKUPS_KEPT:
            _markups.clear()
        markup = _markups[key] = _written(form)
    return markup
