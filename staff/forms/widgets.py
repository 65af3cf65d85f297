"""Form widgets of the staff pages."""
from __future__ import annotations

from html import escape

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html, in Python."""
    return "".join(f" {escape(str(name))}" if value is True else
                   f' {escape(str(name))}="{escape(str(value))}"'
                   for name, value in attrs.items() if value is not False)


class Select(forms.Select):
    """A <select> whose options are written in Python, not by including
    django/forms/widgets/select_option.html once an option: the week calendar's three filters
    list every room, track and staff member of the user's sites, and the includes were a fifth
    of the page's time. The markup is Django's, byte for byte; choices in groups (<optgroup>)
    keep Django's own template.

    Named Select, as Django's is: crispy-forms gives a field the CSS class of its widget's
    class name ("select")."""

    def render(self, name, value, attrs=None, renderer=None):
        choices = self.choices
        if (type(choices) is list and not self.allow_multiple_selected
                and not any(isinstance(label, (list, tuple)) for _value, label in choices)):
            return self._render_flat(name, value, attrs, choices)
        context = self.get_context(name, value, attrs)
        groups = context["widget"]["optgroups"]
        if any(group_name for group_name, _options, _index in groups):
            return self._render(self.template_name, context, renderer)
        widget = context["widget"]
        # django/forms/widgets/select.html and select_option.html (which ends with a newline;
        # the renderer strips the whole), every value and label escaped as their autoescaping
        # did. Safe for that reason.
        options = "".join(
            f'\n  <option value="{escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
            f'{conditional_escape(option["label"])}</option>\n'
            for _name, choices, _index in groups for option in choices)
        return mark_safe(f'<select name="{escape(str(widget["name"]))}"{_attrs(widget["attrs"])}>'
                         f"{options}\n</select>")

    def _render_flat(self, name, value, attrs, choices: list) -> str:
        """What render writes for a flat list of choices (a report's menus: a few dozen
        options), without get_context's option dictionaries: the same attributes (build_attrs),
        the same chosen values (format_value) and the same first-match selection as
        ChoiceWidget.optgroups, each value and label escaped as above."""
        chosen = self.format_value(value)
        selected = False
        options = []
        for option_value, label in choices:
            option_value = "" if option_value is None else str(option_value)
            is_selected = not selected and option_value in chosen
            selected |= is_selected
            # conditional_escape, without the lazy-string wrapper of django.utils.html.escape
            label = label.__html__() if hasattr(label, "__html__") else escape(str(label))
            options.append(f'\n  <option value="{escape(option_value)}"'
                           f'{" selected" if is_selected else ""}>{label}</option>\n')
        return mark_safe(f'<select name="{escape(str(name))}"'
                         f'{_attrs(self.build_attrs(self.attrs, attrs))}>{"".join(options)}\n</select>')


class DateInput(forms.DateInput):
    """A date <input> written in Python, not through django/forms/widgets/date.html and the
    two templates it includes (about 75 µs a field; every report page shows two). The value
    and attributes are Django's own (get_context), written as input.html and attrs.html write
    them, byte for byte.

    Named DateInput, as Django's is: crispy-forms gives a field the CSS class of its widget's
    class name ("dateinput")."""

    def render(self, name, value, attrs=None, renderer=None):
        return _input_html(self.get_context(name, value, attrs)["widget"])


class CheckboxInput(forms.CheckboxInput):
    """A checkbox written in Python, as DateInput is: input.html and attrs.html cost about
    0.15 ms a box (the caseload's "at risk" filter). Django's value and attributes (checked
    when its check_test says so), its markup byte for byte.

    Named CheckboxInput, as Django's is: crispy-forms reads the widget's class name."""

    def render(self, name, value, attrs=None, renderer=None):
        return _input_html(self.get_context(name, value, attrs)["widget"])


def _input_html(widget: dict) -> str:
    """django/forms/widgets/input.html and attrs.html for a widget's context, in Python."""
    # {% if widget.value != None %} value="{{ widget.value|stringformat:'s' }}"{% endif %}
    shown = "" if widget["value"] is None else f' value="{conditional_escape(widget["value"])}"'
    return mark_safe(f'<input type="{conditional_escape(widget["type"])}" '
                     f'name="{conditional_escape(widget["name"])}"{shown}'
                     f'{_attrs(widget["attrs"])}>')
