"""Form helpers shared by every app's views."""
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: under its field where the form has one,
    above the form otherwise, so no rule's message is lost and none answers 500."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def with_crispy_class(widget: forms.Widget, bootstrap_class: str) -> None:
    """What crispy_forms_field.CrispyFieldNode does to a widget before rendering it: its class
    gains the widget's class name in lower case and the Bootstrap classes (on the form's own
    copy of the widget, as crispy does). For the faces' fields written without crispy's
    templates (staff_fields, portal_fields), which must come out as crispy writes them."""
    class_name = widget.__class__.__name__.lower()
    class_name = getattr(settings, "CRISPY_CLASS_CONVERTERS", {}).get(class_name, class_name)
    css_class = widget.attrs.get("class", "")
    if css_class:
        if css_class.find(class_name) == -1:
            css_class += " %s" % class_name
    else:
        css_class = class_name
    for name in bootstrap_class.split():
        if name not in css_class.split():
            css_class += " " + name
    widget.attrs["class"] = css_class
