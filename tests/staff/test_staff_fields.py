"""The staff filter forms' fields keep crispy-forms' markup when written in Python
(staff/templatetags/staff_fields.py): a menu or date box looks and reads the same, element for
element and attribute for attribute (only the template's blank lines are gone)."""
import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms
from django.test.html import parse_html

from staff.forms.care import CalendarFilterForm, FollowUpFilterForm
from staff.templatetags.staff_fields import as_plain_crispy_field


class Rows:
    def __init__(self, **values):
        self.__dict__.update(values)


def _calendar_form(data):
    sites = [Rows(pk=1, name="North"), Rows(pk=2, name="South <2>")]
    return CalendarFilterForm(
        data, sites=sites,
        rooms=[Rows(pk=3, name="Room & A", site__name="North")],
        facilitators=[Rows(pk=4, username="dana", first_name='Dana "D"', last_name="O'Neil")],
        tracks=[Rows(pk=5, name="Evenings", program__name="IOP")])


def _both(form, name):
    """Ours on one copy of the form, crispy's on another: crispy changes the widget's class."""
    ours = as_plain_crispy_field(form()[name])
    return parse_html(ours), parse_html(as_crispy_field(form()[name]))


@pytest.mark.parametrize("data", [
    {"site": ["1"]},
    {"site": ["1", "2"], "room": "3", "facilitator": "4", "track": "5", "week": "2026-03-02"},
    # Invalid filters show crispy's error markup: crispy writes those itself.
    {"site": ["9"], "room": "x", "facilitator": "99", "track": "", "week": "soon"},
])
@pytest.mark.parametrize("name", ["site", "room", "facilitator", "track", "week"])
def test_the_calendar_filters_read_as_crispy_writes_them(data, name):
    ours, crispys = _both(lambda: _calendar_form(data), name)
    assert ours == crispys
    assert dict(ours.attributes)["id"] == f"div_id_{name}"


@pytest.mark.parametrize("data", [{}, {"assignee": "me", "status": "open"},
                                  {"assignee": "nobody", "status": "lost"}])
@pytest.mark.parametrize("name", ["assignee", "status"])
def test_the_follow_up_filters_read_as_crispy_writes_them(data, name):
    people = [Rows(pk=7, username="sam", first_name="Sam", last_name="<Lee>")]  # staff_menu_rows
    ours, crispys = _both(lambda: FollowUpFilterForm(data, assignees=people), name)
    assert ours == crispys


class OtherFields(forms.Form):
    required = forms.CharField(label="Name")
    helped = forms.CharField(label="Code", required=False, help_text="As on the card")
    agreed = forms.BooleanField(label="Agreed", required=False)
    picked = forms.ChoiceField(label="Picked", required=False, choices=[("a", "A")],
                               widget=forms.RadioSelect)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea)
    text = forms.CharField(label="Text <b>", required=False,
                           widget=forms.TextInput(attrs={"class": "wide"}))


@pytest.mark.parametrize("name", list(OtherFields.base_fields))
def test_any_other_field_is_crispys_own(name):
    ours, crispys = _both(lambda: OtherFields({"required": ""}), name)
    assert ours == crispys
