"""The caseload list's filters: search words, site, track, status, clinician, at risk, sort."""
from django import forms
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from participants.models import EnrollmentStatus
from staff.forms.programs import StaffChoiceField

SORT_CHOICES = [("name", _("Name")), ("record", _("Record number")),
                ("admitted", _("Admitted, newest first")), ("site", _("Home site"))]


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html, in Python."""
    return "".join(
        f" {conditional_escape(name)}" if value is True
        else f' {conditional_escape(name)}="{conditional_escape(str(value))}"'
        for name, value in attrs.items() if value is not False)


class QuickSelect(forms.Select):
    """A select that writes the same markup as Django's select.html, without a template per
    option: the caseload's five menus hold some fifty options, and including
    select_option.html for each was a fifth of the page's time."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"', widget["name"]), _attrs(widget["attrs"]), ">"]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                parts += ['\n  <option value="', conditional_escape(str(option["value"])), '"',
                          _attrs(option["attrs"]), ">", conditional_escape(option["label"]),
                          "</option>\n"]
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))


class CaseloadForm(forms.Form):
    q = forms.CharField(label=_("Name or record number"), required=False, max_length=80)
    site = forms.ModelChoiceField(label=_("Site"), queryset=None, required=False,
                                  empty_label=_("All my sites"), widget=QuickSelect)
    track = forms.ModelChoiceField(label=_("Track"), queryset=None, required=False,
                                   empty_label=_("Any track"), widget=QuickSelect)
    status = forms.ChoiceField(label=_("Status"), required=False, widget=QuickSelect)
    clinician = StaffChoiceField(label=_("Primary clinician"), queryset=None, required=False,
                                 empty_label=_("Anyone"), widget=QuickSelect)
    # Today's rule: can no longer reach the program's weekly hours (the results say so).
    at_risk = forms.BooleanField(label=_("At risk this week"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES,
                             widget=QuickSelect)

    def __init__(self, *args, sites, tracks, clinicians, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None:
            self.fields["site"].queryset = sites
        self.fields["track"].queryset = tracks
        self.fields["clinician"].queryset = clinicians
        if sites is None:  # one site: nothing to choose, and no query to list it
            del self.fields["site"]
        self.fields["status"].choices = [("", _("Any status"))] + list(EnrollmentStatus.choices)
        for name in ("site", "track", "status", "clinician", "sort"):
            if name in self.fields:
                self.fields[name].widget.attrs.update({"data-autosubmit": "",
                                                       "class": "form-select"})
        self.fields["at_risk"].widget.attrs.update({"data-autosubmit": "",
                                                    "class": "form-check-input"})
