"""Forms of the participant portal: password, reminder choices, language, excuse requests,
sign-in links."""
from django import forms
from django.conf import settings
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from participants.models import ReminderChannels
from sessions.services.excuses import REASON_MAX_LENGTH


class PortalSetPasswordForm(SetPasswordForm):
    """Django's own form and password validators, with phone-friendly autocomplete hints."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget.attrs.update({"autocomplete": "new-password"})


class SignInLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class ReminderPreferencesForm(forms.Form):
    # Unbound, its markup is its initial values' in the language (portal_fields.portal_form).
    markup_from_initial = True

    channels = forms.ChoiceField(label=_("How should we remind you?"),
                                 choices=ReminderChannels.choices, widget=forms.RadioSelect)
    sms_consent = forms.BooleanField(
        label=_("I agree to get appointment text messages on my mobile phone. "
                "I can reply STOP at any time to end them."),
        required=False,
    )


class LanguageForm(forms.Form):
    # Each language named in itself, so someone who cannot read the current one finds theirs.
    NATIVE_NAMES = {"en": "English", "es": "Español"}
    # Unbound, its markup is its initial value's in the language (portal_fields.portal_form);
    # its choices come from settings.LANGUAGES, whose change empties the kept markup.
    markup_from_initial = True

    language = forms.ChoiceField(label=_("Language"), widget=forms.RadioSelect,
                                 help_text=_("Of these pages, your reminders and our messages."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [
            (code, self.NATIVE_NAMES.get(code, name)) for code, name in settings.LANGUAGES]


class CalendarAddressForm(forms.Form):
    shows_address = forms.BooleanField(
        label=_("Show the street address in my calendar"), required=False,
        help_text=_("Off, each visit shows only the place's name. Anyone who sees your calendar "
                    "would see the address too."))


class ExcuseRequestForm(forms.Form):
    reason = forms.CharField(label=_("Why can't you come?"), max_length=REASON_MAX_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 4}))
