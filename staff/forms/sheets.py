"""The day's sign-in sheets: which day, at which of my sites."""
from django import forms
from django.utils.translation import gettext_lazy as _

from staff.forms.care import validate_plausible_date


class SheetsForm(forms.Form):
    date = forms.DateField(label=_("Day"), required=False, validators=[validate_plausible_date],
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    site = forms.TypedChoiceField(label=_("Site"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(site.pk, site.name) for site in sites]
