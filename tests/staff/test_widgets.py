"""staff.forms.widgets.Select, DateInput and CheckboxInput write Django's markup themselves (staff/forms/widgets.py)."""
import datetime as dt

import pytest
from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from staff.forms import widgets

CHOICES = [("", gettext_lazy("Any")), (1, "North · Room <A>"), (2, 'Dana "D" O\'Neil'), (3, "")]


@pytest.mark.parametrize("value", [None, "", 1, "2", 99])
def test_it_writes_what_djangos_select_writes(value):
    attrs = {"class": "select form-select", "id": "id_room", "data-autosubmit": "",
             "required": True, "disabled": False}
    ours = widgets.Select(choices=CHOICES).render("room", value, attrs=attrs)
    assert ours == forms.Select(choices=CHOICES).render("room", value, attrs=attrs)


def test_grouped_choices_keep_djangos_template():
    grouped = [("North", [(1, "Room A"), (2, "Room B")]), ("South", [(3, "Room C")])]
    ours = widgets.Select(choices=grouped).render("room", 2)
    assert ours == forms.Select(choices=grouped).render("room", 2)
    assert "<optgroup" in ours


@pytest.mark.parametrize("value", [None, "", dt.date(2026, 3, 1), "2026-13-45", '"><b>&'])
def test_the_date_input_writes_what_djangos_writes(value):
    attrs = {"class": "dateinput form-control", "id": "id_date_from", "required": True,
             "disabled": False}
    ours = widgets.DateInput(attrs={"type": "date"}).render("date_from", value, attrs=attrs)
    assert ours == forms.DateInput(attrs={"type": "date"}).render("date_from", value,
                                                                    attrs=attrs)
    assert ours.startswith('<input type="date" name="date_from"')


@pytest.mark.parametrize("value", [None, "", False, True, "on", "0", "false", 1, '"><b>&'])
def test_the_checkbox_writes_what_djangos_writes(value):
    attrs = {"class": "form-check-input", "id": "id_at_risk", "data-autosubmit": "",
             "required": False, "disabled": False}
    ours = widgets.CheckboxInput().render("at_risk", value, attrs=attrs)
    assert ours == forms.CheckboxInput().render("at_risk", value, attrs=attrs)
    assert (" checked" in ours) == bool(forms.CheckboxInput().check_test(value))


@pytest.mark.parametrize("value", [None, "", "1", 1, '"><b>&'])
def test_a_flat_menu_selects_the_first_match_as_django_does(value):
    # Written without get_context's option dictionaries: a value listed twice, None as a value
    # and markup in values and labels come out as Django's template wrote them.
    choices = [(None, "None"), (1, "One"), ("1", "One again"), ('"><b>&', "<i>Odd</i>"),
               (5, mark_safe("<b>Safe</b>")), (6, gettext_lazy("Any"))]
    ours = widgets.Select(choices=choices).render("pick", value, attrs={"id": "id_pick"})
    assert ours == forms.Select(choices=choices).render("pick", value, attrs={"id": "id_pick"})
    assert ours.count(" selected") == 1


def test_menus_from_a_callable_keep_djangos_options():
    ours = widgets.Select(choices=lambda: CHOICES).render("room", "2")
    assert ours == forms.Select(choices=lambda: CHOICES).render("room", "2")
