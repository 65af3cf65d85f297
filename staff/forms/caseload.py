"""The caseload list's filters: search words, site, track, status, clinician, at risk, sort."""
from django import forms
from django.utils.translation import gettext_lazy as _

from participants.models import EnrollmentStatus
from staff.forms.programs import StaffChoiceField
from staff.forms.widgets import Select

SORT_CHOICES = [("name", _("Name")), ("record", _("Record number")),
                ("admitted", _("Admitted, newest first")), ("site", _("Home site"))]


class CaseloadForm(forms.Form):
    q = forms.CharField(label=_("Name or record number"), required=False, max_length=80)
    site = forms.ModelChoiceField(label=_("Site"), queryset=None, required=False,
                                  empty_label=_("All my sites"), widget=Select)
    track = forms.ModelChoiceField(label=_("Track"), queryset=None, required=False,
                                   empty_label=_("Any track"), widget=Select)
    status = forms.ChoiceField(label=_("Status"), required=False, widget=Select)
    clinician = StaffChoiceField(label=_("Primary clinician"), queryset=None, required=False,
                                 empty_label=_("Anyone"), widget=Select)
    # Today's rule: can no longer reach the program's weekly hours (the results say so).
    at_risk = forms.BooleanField(label=_("At risk this week"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES,
                             widget=Select)

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
