"""The portal's choice forms keep crispy-forms' markup when written in Python
(portal/templatetags/portal_fields.py): the radio buttons, tick box, legends, help text, errors
and their aria attributes read the same, element for element and attribute for attribute, in
English and Spanish (only the templates' blank lines are gone)."""
import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form
from django import forms
from django.test.html import parse_html
from django.utils import translation

from accounts.models import User
from portal.forms import (ExcuseRequestForm, LanguageForm, PortalSetPasswordForm,
                          ReminderPreferencesForm, SignInLinkForm)
from portal.templatetags.portal_fields import portal_form


def _both(make):
    """Ours on one copy of the form, crispy's on another: crispy changes the widget's class."""
    return parse_html(portal_form(make())), parse_html(as_crispy_form(make()))


def _refused_sms():
    form = ReminderPreferencesForm({"channels": "sms"})
    form.is_valid()
    form.add_error("sms_consent", forms.ValidationError("Agree first <b>", code="sms_needs_consent"))
    return form


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("make", [
    lambda: ReminderPreferencesForm(initial={"channels": "email", "sms_consent": True}),
    lambda: ReminderPreferencesForm(initial={"channels": "both", "sms_consent": False}),
    lambda: ReminderPreferencesForm({"channels": "bogus"}),
    lambda: ReminderPreferencesForm({}),
    _refused_sms,
    lambda: LanguageForm(initial={"language": "es"}),
    lambda: LanguageForm({"language": "fr"}),
])
def test_the_reminder_and_language_forms_read_as_crispy_writes_them(language, make):
    with translation.override(language):
        ours, crispys = _both(make)
        assert ours == crispys
        assert "form-check" in str(ours)


def test_an_invalid_choice_is_announced_as_crispy_does():
    ours = portal_form(ReminderPreferencesForm({"channels": "bogus"}))
    assert 'aria-describedby="id_channels_error"' in ours
    assert ours.count('aria-invalid="true"') == 4
    assert 'id="error_1_id_channels"' in ours


class Odd(forms.Form):
    # Escaping, a required tick box, help text on a tick box, a prefix-free id and no initial.
    picked = forms.ChoiceField(label="Pick <one>", choices=[("a&b", "A & <B>"), ("c", '"C"')],
                               widget=forms.RadioSelect, required=False, help_text="Only <em>one</em>")
    sure = forms.BooleanField(label="I'm <sure>", help_text="Needed")


@pytest.mark.parametrize("data", [None, {}, {"picked": "a&b", "sure": "on"}, {"picked": "z"}])
def test_odd_labels_and_values_read_as_crispy_writes_them(data):
    ours, crispys = _both(lambda: Odd(data))
    assert ours == crispys


def _password_form(data):
    # Not saved: the form only reads the user's name and e-mail for its similarity check.
    return PortalSetPasswordForm(User(username="ana", email="ana@example.com"), data)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("make", [
    lambda: ExcuseRequestForm(),
    lambda: ExcuseRequestForm({"reason": ""}),
    lambda: ExcuseRequestForm({"reason": "x" * 5000}),
    lambda: ExcuseRequestForm({"reason": "Sick <kid> & fever"}),
    lambda: SignInLinkForm(),
    lambda: SignInLinkForm({"email": "not an address"}),
    lambda: SignInLinkForm({"email": "ana@example.com"}),
    lambda: _password_form(None),
    lambda: _password_form({"new_password1": "ana", "new_password2": "anna"}),
])
def test_the_text_forms_read_as_crispy_writes_them(language, make):
    with translation.override(language):
        form = make()
        if form.is_bound:
            form.is_valid()
        ours, crispys = _both(lambda: form)
        assert ours == crispys
        # And on a fresh copy, whose widgets crispy has not changed yet.
        assert parse_html(portal_form(make())) == parse_html(as_crispy_form(make()))


def test_a_refused_password_is_announced_as_crispy_does():
    ours = portal_form(_password_form({"new_password1": "ana", "new_password2": "anna"}))
    assert 'aria-invalid="true"' in ours and 'class="invalid-feedback"' in ours


class Mixed(forms.Form):
    agreed = forms.BooleanField(label="Agreed", required=False)
    menu = forms.ChoiceField(label="Menu", choices=[("a", "A")])


class Hidden(forms.Form):
    note = forms.CharField(label="Note")
    secret = forms.CharField(widget=forms.HiddenInput)


class Upload(forms.Form):
    file = forms.FileField(label="File")


class Complaint(forms.Form):
    note = forms.CharField(label="Note")

    def clean(self):
        raise forms.ValidationError("Not now")


@pytest.mark.parametrize("make", [lambda: Mixed(), lambda: Hidden({}), lambda: Upload(),
                                  lambda: Complaint({"note": "x"}),
                                  lambda: Odd(prefix="x", auto_id=False)])
def test_any_other_form_is_crispys_own(make):
    assert portal_form(make()) == as_crispy_form(make())


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_kept_markup_of_the_settings_forms_is_their_own_initial_values(language):
    """The reminder and language forms are written once a process per language and initial
    values: each choice the participant made still shows ticked, in their language."""
    from portal.templatetags import portal_fields

    portal_fields._markups.clear()
    made = [
        *(lambda c=c, s=s: ReminderPreferencesForm(initial={"channels": c, "sms_consent": s})
          for c in ("email", "sms", "both", "none") for s in (True, False)),
        *(lambda code=code: LanguageForm(initial={"language": code}) for code in ("en", "es")),
    ]
    with translation.override(language):
        first = [portal_form(make()) for make in made]
        again = [portal_form(make()) for make in made]  # from the kept markup
        fresh = [portal_fields._written(make()) for make in made]

    assert again == first == fresh
    assert len(set(first)) == len(made)
    assert 'value="es" id="id_language_1" required checked' in first[-1]
    assert len(portal_fields._markups) == len(made)


def test_a_filled_in_form_is_never_kept():
    from portal.templatetags import portal_fields

    portal_fields._markups.clear()
    portal_form(ReminderPreferencesForm({"channels": "sms"}))
    portal_form(LanguageForm({"language": "fr"}))

    assert not portal_fields._markups
