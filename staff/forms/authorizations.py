"""Forms behind the staff pages about payer authorizations and coverage."""
from django import forms
from django.utils.translation import gettext_lazy as _

from authorizations.models import AuthorizationStatus, AuthorizationUnit, Payer
from programs.models import LevelOfCare
from staff.forms.care import validate_plausible_date


def _date_widget():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _payers():
    return Payer.objects.filter(is_active=True).order_by("name")


class AuthorizationForm(forms.Form):
    payer = forms.ModelChoiceField(label=_("Payer"), queryset=Payer.objects.none())
    member_id = forms.CharField(label=_("Member id"), max_length=40, required=False)
    number = forms.CharField(label=_("Authorization number"), max_length=40, required=False,
                             help_text=_("Required once approved."))
    status = forms.ChoiceField(label=_("Status"), choices=AuthorizationStatus.choices)
    level_of_care = forms.ChoiceField(label=_("Level of care"), choices=LevelOfCare.choices)
    unit = forms.ChoiceField(label=_("Unit"), choices=AuthorizationUnit.choices)
    service_code = forms.CharField(label=_("Service code"), max_length=12,
                                   help_text=_("E.g. H0015 (per day)."))
    units_authorized = forms.IntegerField(label=_("Units authorized"), min_value=1,
                                          max_value=32767)
    start_date = forms.DateField(label=_("First day covered"), widget=_date_widget(),
                                 validators=[validate_plausible_date])
    end_date = forms.DateField(label=_("Last day covered"), widget=_date_widget(),
                               validators=[validate_plausible_date])
    next_review_date = forms.DateField(label=_("Next utilization review"), required=False,
                                       widget=_date_widget(),
                                       validators=[validate_plausible_date])
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = _payers()

    def clean_service_code(self):
        return self.cleaned_data["service_code"].strip().upper()


class CoverageForm(forms.Form):
    payer = forms.ModelChoiceField(label=_("Payer"), queryset=Payer.objects.none(),
                                   required=False, empty_label=_("None (self-pay)"))
    member_id = forms.CharField(label=_("Member id"), max_length=40, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = _payers()
