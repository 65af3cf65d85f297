"""The caseload list's filters: search words, site, track, status, clinician, at risk, sort."""
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import staff_name

from participants.models import EnrollmentStatus
from staff.forms.widgets import CheckboxInput, Select

SORT_CHOICES = [("name", _("Name")), ("record", _("Record number")),
                ("admitted", _("Admitted, newest first")), ("site", _("Home site"))]


def _id_menu(label, empty_label) -> forms.TypedChoiceField:
    """A menu of ids (a site, track or clinician) whose choices are set per request: a
    ModelChoiceField built a queryset and read it through a server-side cursor once per menu,
    a fifth of the page's time, for a few labels."""
    return forms.TypedChoiceField(label=label, coerce=int, required=False, empty_value=None,
                                  choices=[("", empty_label)], widget=Select)


class CaseloadForm(forms.Form):
    q = forms.CharField(label=_("Name or record number"), required=False, max_length=80)
    site = _id_menu(_("Site"), _("All my sites"))
    track = _id_menu(_("Track"), _("Any track"))
    status = forms.ChoiceField(label=_("Status"), required=False, widget=Select)
    clinician = _id_menu(_("Primary clinician"), _("Anyone"))
    # Today's rule: can no longer reach the program's weekly hours (the results say so).
    at_risk = forms.BooleanField(label=_("At risk this week"), required=False,
                                 widget=CheckboxInput)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES,
                             widget=Select)

    def __init__(self, *args, sites, tracks, clinicians, **kwargs):
        """`sites` (None at one site: nothing to choose), `tracks` and `clinicians` are
        sessions.selectors.caseload.caseload_filter_choices' rows; each cleans to an id."""
        super().__init__(*args, **kwargs)
        if sites is None:
            del self.fields["site"]
        else:
            self.fields["site"].choices = [("", _("All my sites"))] + [
                (s.pk, s.name) for s in sites]
        # Tracks as Track.__str__ names them.
        self.fields["track"].choices = [("", _("Any track"))] + [
            (t.pk, f"{t.program__name} — {t.name}") for t in tracks]
        self.fields["clinician"].choices = [("", _("Anyone"))] + [
            (u.pk, staff_name(u.first_name, u.last_name, u.username)) for u in clinicians]
        self.fields["status"].choices = [("", _("Any status"))] + list(EnrollmentStatus.choices)
        for name in ("site", "track", "status", "clinician", "sort"):
            if name in self.fields:
                self.fields[name].widget.attrs.update({"data-autosubmit": "",
                                                       "class": "form-select"})
        self.fields["at_risk"].widget.attrs.update({"data-autosubmit": "",
                                                    "class": "form-check-input"})
