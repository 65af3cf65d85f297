"""The report filter's menus, read as plain rows in one query (staff/forms/reports.py), offer,
show and accept exactly what the ModelChoiceFields they replace did: the same options in the
same order with the same labels, the same markup, the same ids cleaned and the same errors."""
import datetime as dt

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.test.html import parse_html

from accounts.roles import Role
from programs.models import Program, Site, Track
from staff.forms.programs import StaffChoiceField, staff_at
from staff.forms.reports import ReportFilterForm, filter_menus
from staff.forms.widgets import Select as StaffSelect
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 2, 18)


class TrackChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.site.name})"


def model_fields(site_ids):
    """The menus as the form defined them before: one ModelChoiceField each (with the class
    the form gives its menus)."""
    def Select():  # noqa: N802 - the widget, as the old fields named it
        return StaffSelect(attrs={"class": "select form-select"})

    return {
        "site": forms.ModelChoiceField(
            queryset=Site.objects.filter(pk__in=site_ids).only("name"), required=False,
            empty_label="All my sites", widget=Select()),
        "program": forms.ModelChoiceField(
            queryset=Program.objects.filter(tracks__site_id__in=site_ids).distinct()
            .order_by("name").only("name"), required=False, empty_label="All programs",
            widget=Select()),
        "track": TrackChoiceField(
            queryset=Track.objects.filter(site_id__in=site_ids).select_related("site")
            .order_by("site__name", "name").only("name", "site__name"), required=False,
            empty_label="All tracks", widget=Select()),
        "clinician": StaffChoiceField(
            queryset=staff_at(site_ids, roles=[Role.CLINICIAN]), required=False,
            empty_label="Everyone", widget=Select()),
    }


@pytest.fixture
def clinic():
    north = factories.SiteFactory(name="North <A&B>")
    south = factories.SiteFactory(name="south")  # lower case: PostgreSQL's collation orders it
    elsewhere = factories.SiteFactory(name="Elsewhere")
    adult = factories.ProgramFactory(name="Adult IOP")
    teen = factories.ProgramFactory(name="adolescent IOP")
    hidden = factories.ProgramFactory(name="Only elsewhere")
    tracks = [
        factories.TrackFactory(site=north, program=adult, name="Evenings"),
        factories.TrackFactory(site=south, program=adult, name="Evenings"),  # same name
        factories.TrackFactory(site=south, program=teen, name="after school"),
        factories.TrackFactory(site=north, program=adult, name="Mornings", is_active=False),
        factories.TrackFactory(site=elsewhere, program=hidden, name="West"),
    ]
    factories.StaffFactory(role=Role.CLINICIAN, sites=[north, south], first_name="Kim",
                           last_name="O'Neil")  # at both sites: listed once
    factories.StaffFactory(role=Role.CLINICIAN, sites=[north], first_name="", last_name="",
                           username="nameless")
    factories.StaffFactory(role=Role.CLINICIAN, sites=[south], first_name="ada",
                           last_name="o'neil")
    factories.StaffFactory(role=Role.CLINICIAN, sites=[north], is_active=False)
    factories.StaffFactory(role=Role.DIRECTOR, sites=[north], first_name="Dana")
    factories.StaffFactory(role=Role.CLINICIAN, sites=[elsewhere], first_name="Far")
    return {"site_ids": [north.pk, south.pk], "north": north, "tracks": tracks,
            "elsewhere": elsewhere}


def _options(field):
    return [(str(value), str(label)) for value, label in field.choices]


@pytest.mark.postgres
@pytest.mark.parametrize("mine", ["both", "north", "none"])
def test_it_offers_the_options_the_model_menus_offered_in_their_order(clinic, mine):
    site_ids = {"both": clinic["site_ids"], "north": [clinic["north"].pk], "none": []}[mine]
    form = ReportFilterForm(None, site_ids=site_ids, today=TODAY, may_choose_clinician=True)
    old = model_fields(site_ids)
    for name, field in old.items():
        assert _options(form.fields[name]) == _options(field), name
        # The same <select>, option for option, selected or not.
        for value in ("", str(clinic["tracks"][1].pk)):
            assert (parse_html(form.fields[name].widget.render(name, value))
                    == parse_html(field.widget.render(name, value))), name
    if mine == "both":
        # Active clinicians of my sites, once each, by full name or else username.
        assert sorted(label for _pk, label in filter_menus(site_ids=site_ids, clinicians=True)[
            "clinician"]) == ["Kim O'Neil", "ada o'neil", "nameless"]


@pytest.mark.postgres
def test_it_leaves_the_clinician_menu_to_directors_in_the_same_query(
        clinic, django_assert_num_queries):
    with django_assert_num_queries(1):
        form = ReportFilterForm(None, site_ids=clinic["site_ids"], today=TODAY)
    assert "clinician" not in form.fields
    assert filter_menus(site_ids=clinic["site_ids"], clinicians=False)["clinician"] == []


@pytest.mark.postgres
@pytest.mark.parametrize("raw", ["", "1", " 2 ", "02", "x", "1.0", "-1", "99999999999",
                                 "99999999999999999999999", "real ids"])
def test_it_cleans_a_choice_as_the_model_menus_did(clinic, raw):
    form = ReportFilterForm(None, site_ids=clinic["site_ids"], today=TODAY,
                            may_choose_clinician=True)
    old = model_fields(clinic["site_ids"])
    # Every site's and track's real id too: another site's is not a choice.
    values = [raw] if raw != "real ids" else [
        str(pk) for pk in [*Site.objects.values_list("pk", flat=True),
                           *Track.objects.values_list("pk", flat=True)]]
    for name, field in old.items():
        for value in values:
            try:
                expected = field.clean(value)
                expected = expected.pk if expected is not None else None
            except ValidationError as error:
                expected = ("error", error.messages, error.code)
            try:
                got = form.fields[name].clean(value)
            except ValidationError as error:
                got = ("error", error.messages, error.code)
            assert got == expected, (name, value)


@pytest.mark.postgres
def test_it_scopes_the_report_to_the_chosen_ids(clinic):
    north, track = clinic["north"], clinic["tracks"][0]
    form = ReportFilterForm({"site": str(north.pk), "program": str(track.program_id),
                             "track": str(track.pk), "date_from": "2026-02-02"},
                            site_ids=clinic["site_ids"], today=TODAY, may_choose_clinician=True)
    scope = form.scope()
    assert (scope.site_ids, scope.program_id, scope.track_id, scope.clinician_id) == (
        (north.pk,), track.program_id, track.pk, None)
    mine = factories.StaffFactory(role=Role.CLINICIAN, sites=[north])
    form = ReportFilterForm({"clinician": "999"}, site_ids=clinic["site_ids"], today=TODAY,
                            caseload_of=mine)
    assert form.is_valid() and form.scope().clinician_id == mine.pk
    assert form.scope().site_ids == tuple(clinic["site_ids"])


# templates/staff/reports/_filter_field.html, which the pages included once a field.
FILTER_FIELD = """<div id="div_{{ field.auto_id }}" class="mb-3"><label for="{{ field.id_for_label }}" class="form-label">{{ field.label }}</label>{{ field }}{% if field.errors %}<div id="{{ field.errors.field_id }}_error" class="invalid-feedback">{% for error in field.errors %}<p id="error_{{ forloop.counter }}_{{ field.auto_id }}"><strong>{{ error }}</strong></p>{% endfor %}</div>{% endif %}</div>"""  # noqa: E501


@pytest.mark.postgres
@pytest.mark.parametrize("data", [
    None, {"site": "", "date_from": "2026-02-02"}, {"program": "", "date_to": "2026-02-20"},
    {"date_from": "2026-03-01", "date_to": "2026-02-01"},  # the form's error, no field's
    {"site": "x", "program": "99999", "track": "1", "clinician": "<b>", "date_from": "soon",
     "date_to": "0001-01-01"}])
def test_each_filter_field_reads_as_the_include_wrote_it(clinic, data):
    from django.template import Context, Template

    from staff.templatetags.staff_fields import report_filter_field

    form = ReportFilterForm(data, site_ids=clinic["site_ids"], today=TODAY,
                            may_choose_clinician=True)
    form.is_valid()
    for name in form.fields:
        ours = report_filter_field(form[name])
        assert ours == Template(FILTER_FIELD).render(Context({"field": form[name]})), name
        assert ("invalid-feedback" in ours) == bool(data and form[name].errors)
