"""Forms behind the chart's family contacts: the contact, the disclosure consent, revoking it."""
from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from participants.models import (
    DisclosureScope,
    DisclosureSigner,
    ReminderChannels,
    Relationship,
)
from programs.phones import MobilePhoneField


def _date_widget():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    relationship = forms.ChoiceField(label=_("Relationship"), choices=Relationship.choices)
    is_guardian_of_minor = forms.BooleanField(
        label=_("Legal guardian of a participant under 18"), required=False)
    phone = MobilePhoneField(label=_("Mobile phone"), required=False,
                             help_text=_("For text reminders, e.g. (201) 555-0123."))
    email = forms.EmailField(label=_("Email"), required=False)
    language = forms.ChoiceField(label=_("Language for messages"), choices=settings.LANGUAGES)
    reminder_channels = forms.ChoiceField(label=_("Reminders by"),
                                          choices=ReminderChannels.choices)
    sms_consent = forms.BooleanField(
        label=_("The contact agreed to receive text messages"), required=False,
        help_text=_("Texts need this as well as the participant's signed consent below."))


class DisclosureConsentForm(forms.Form):
    scope = forms.ChoiceField(label=_("What may be shared"), choices=DisclosureScope.choices)
    signed_by = forms.ChoiceField(label=_("Signed by"), choices=DisclosureSigner.choices)
    signed_on = forms.DateField(label=_("Signed on"), widget=_date_widget())
    expires_on = forms.DateField(
        label=_("Expires on"), widget=_date_widget(),
        help_text=_("The first day it no longer covers. Required by 42 CFR Part 2; a year is "
                    "usual, or the planned end of care."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["signed_on"].initial = today
        self.fields["expires_on"].initial = today + timedelta(days=365)


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
