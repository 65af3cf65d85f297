"""The participants changelist writes its rows itself (participants/admin.py,
PreparedRowsChangeList): they must be Django's own rows, byte for byte."""
import datetime as dt

import pytest
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", [{}, {"o": "-2.1"}, {"q": "Ann"}, {"home_site__id__exact": "x"}])
def test_its_rows_are_djangos_rows(admin_client, query):
    site = factories.SiteFactory(name="North <& Co>")
    clinician = factories.StaffFactory(first_name="Dana", last_name="O'Neil", sites=[site])
    track = factories.TrackFactory(site=site, name="Evening & weekend")
    people = [
        factories.ParticipantFactory(home_site=site, first_name="Ann", last_name="<b>Lee</b>",
                                     primary_clinician=clinician, reminder_channels="sms"),
        factories.ParticipantFactory(home_site=site, first_name="Ann", last_name="Moss",
                                     primary_clinician=None, record_number=""),
    ]
    factories.EnrollmentFactory(participant=people[0], track=track, status="active")
    if "home_site__id__exact" in query:
        query = {"home_site__id__exact": site.pk}

    response = admin_client.get(reverse("admin:participants_participant_changelist"), query)

    assert response.status_code == 200
    cl = response.context["cl"]
    # Both written here, at the same clock (the request's time zone is over by now).
    prepared = cl._prepared_results()
    assert len(prepared) == len(cl.result_list) >= 2
    for row, result in zip(prepared, cl.result_list):
        assert "".join(row) == "".join(items_for_result(cl, result, None))
    page = response.content.decode()
    assert "&lt;b&gt;Lee&lt;/b&gt;" in page and "Evening &amp; weekend" in page


def test_a_popup_gets_djangos_own_rows(admin_client):
    factories.ParticipantFactory(first_name="Ann",
                                 created_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    response = admin_client.get(reverse("admin:participants_participant_changelist"),
                                {"_popup": "1", "_to_field": "id"})
    assert response.status_code == 200
    assert "data-popup-opener" in response.content.decode()


def test_it_counts_the_people_once_and_still_shows_the_total_beside_a_search(admin_client):
    for name in ("Ann", "Bea", "Cy"):
        factories.ParticipantFactory(first_name=name)
    url = reverse("admin:participants_participant_changelist")

    with CaptureQueriesContext(connection) as unfiltered:
        response = admin_client.get(url)
    counts = [q["sql"] for q in unfiltered.captured_queries if "COUNT(*)" in q["sql"]]
    assert len(counts) == 1
    assert "3 participants" in response.text

    searched = admin_client.get(url, {"q": "Bea"})
    assert "1 result" in searched.text and "3 total" in searched.text


@pytest.mark.parametrize("language", ["en", "es"])
def test_its_date_cells_read_as_djangos_through_a_year_of_times(language, settings):
    from django.contrib.admin.utils import display_for_field
    from django.utils import timezone, translation

    from participants.admin import _DateTimeCells
    from participants.models import Participant

    field = Participant._meta.get_field("created_at")
    start = dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)
    # Every 53 minutes for a year: both DST changes, midnight and noon, every month and weekday.
    moments = [start + dt.timedelta(minutes=53 * i) for i in range(0, 10_000)]
    moments += [dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.UTC),  # midnight in New York
                dt.datetime(2026, 7, 1, 16, 0, tzinfo=dt.UTC)]  # noon
    with translation.override(language), timezone.override("America/New_York"):
        cells = _DateTimeCells.for_page()
        assert [cells.text(m) for m in moments] == [
            display_for_field(m, field, "-") for m in moments]


def test_a_date_format_with_seconds_or_zones_is_left_to_django(monkeypatch):
    from participants import admin as participants_admin

    for fmt, planned in (("M j, Y, g:i A", True), ("N j, Y, P", True), ("M j, Y, g:i:s A", False),
                         ("M j, Y, g:i A T", False), (r"\a\t g:i A", True)):
        monkeypatch.setattr(participants_admin.formats, "get_format", lambda name, f=fmt: f)
        cells = participants_admin._DateTimeCells.for_page()
        assert (cells is not None) == planned, fmt
    assert cells.text(dt.datetime(2026, 7, 1, 16, 5, tzinfo=dt.UTC)).startswith("at ")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("query", [{}, {"o": "3"}, {"o": "-3.2"}, {"o": "8.-3.2"}, {"q": "nobody"},
                                   {"q": "Ann", "o": "-8"}])
def test_its_result_table_is_djangos_template(admin_client, query, language):
    from django.template.loader import get_template
    from django.utils import translation

    site = factories.SiteFactory(name="North <& Co>")
    for first, last in (("Ann", "<b>Lee</b>"), ("Ann", "Moss"), ("Bea", "O'Neil")):
        factories.ParticipantFactory(home_site=site, first_name=first, last_name=last)

    with translation.override(language):
        response = admin_client.get(reverse("admin:participants_participant_changelist"), query)
        assert response.status_code == 200
        cl = response.context["cl"]
        ours = cl.results_html()
        djangos = get_template("admin/change_list_results.html").render(cl.results_context)

    assert ours == djangos
    assert ours in response.content.decode()
    if query.get("o", "").count(".") >= 1:
        assert 'class="sortpriority"' in ours


@pytest.mark.parametrize("query", [{}, {"p": "7"}, {"p": "13"}, {"all": ""}, {"q": "Ann 3"},
                                   {"q": "nobody"}])
def test_its_page_links_are_djangos(admin_client, monkeypatch, query):
    from django.contrib.admin.templatetags.admin_list import pagination
    from django.template.loader import get_template

    from participants.admin import ParticipantAdmin

    monkeypatch.setattr(ParticipantAdmin, "list_per_page", 2)
    site = factories.SiteFactory()
    for i in range(25):
        factories.ParticipantFactory(home_site=site, first_name="Ann", last_name=f"Lee {i}")

    response = admin_client.get(reverse("admin:participants_participant_changelist"), query)
    assert response.status_code == 200
    cl = response.context["cl"]
    ours = cl.pagination_html()

    assert ours == get_template("admin/pagination.html").render(pagination(cl))
    assert ours in response.content.decode()
    if not query:
        assert "…" in ours and 'class="showall"' in ours


@pytest.mark.parametrize("order", [None, "-2.1", "5", "-5.3", "8", "4.-1"])
def test_an_unfiltered_lists_pages_are_the_orm_querys_pages(admin_client, monkeypatch, order):
    """The unfiltered list reads its pages through a statement compiled once (_CompiledPages):
    each page holds the rows, home sites, clinicians and active tracks the ORM query reads,
    in every sort, and builds no query of its own per row."""
    from participants.admin import ParticipantAdmin

    monkeypatch.setattr(ParticipantAdmin, "list_per_page", 2)
    site = factories.SiteFactory(name="North")
    clinician = factories.StaffFactory(first_name="Dana", last_name="Oak", sites=[site])
    tracks = [factories.TrackFactory(site=site, name=name) for name in ("Evenings", "Days")]
    for n, (first, last) in enumerate([("Ann", "Lee"), ("Bo", "Lee"), ("Cy", "Moss"),
                                       ("Di", "Abe"), ("Ed", "Zed")]):
        person = factories.ParticipantFactory(
            home_site=site, first_name=first, last_name=last,
            primary_clinician=clinician if n % 2 else None)
        if n != 2:
            factories.EnrollmentFactory(participant=person, track=tracks[n % 2], status="active")
    url = reverse("admin:participants_participant_changelist")

    seen = []
    for page in (1, 2, 3):
        query = {"p": page, **({"o": order} if order else {})}
        cl = admin_client.get(url, query).context["cl"]
        assert isinstance(cl.result_list, list)  # read through the compiled statement
        expected = list(cl.queryset[(page - 1) * 2:page * 2])
        with CaptureQueriesContext(connection) as reads:
            got = [(p.pk, p.record_number, str(p.home_site), str(p.primary_clinician),
                    p._active_track) for p in cl.result_list]
        assert not reads.captured_queries
        assert got == [(p.pk, p.record_number, str(p.home_site), str(p.primary_clinician),
                        p._active_track) for p in expected]
        seen += [row[0] for row in got]
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize("query", [{}, {"q": "Ann"}, {"o": "-3"}, {"enrollment_status": "active"}])
def test_its_rows_read_only_the_columns_they_show(admin_client, query):
    """The list's rows read ParticipantAdmin.list_only's columns (not the email, phone, birth
    date...) and show them, each checkbox's label too, without another query; the change
    page and the actions still read whole rows."""
    from participants.admin import ParticipantAdmin

    site = factories.SiteFactory(name="North")
    clinician = factories.StaffFactory(first_name="Dana", last_name="Oak", sites=[site])
    track = factories.TrackFactory(site=site, name="Evenings")
    for first, doctor in (("Ann", clinician), ("Ann", None), ("Bea", clinician)):
        person = factories.ParticipantFactory(home_site=site, first_name=first,
                                              primary_clinician=doctor)
        factories.EnrollmentFactory(participant=person, track=track, status="active")

    response = admin_client.get(reverse("admin:participants_participant_changelist"), query)

    cl = response.context["cl"]
    rows = list(cl.result_list)
    assert len(rows) >= 2
    for person in rows:
        assert {"email", "phone", "date_of_birth", "code"} <= person.get_deferred_fields()
    with CaptureQueriesContext(connection) as reads:
        prepared = cl._prepared_results()
        djangos = ["".join(items_for_result(cl, result, None)) for result in rows]
    assert not reads.captured_queries
    assert ["".join(row) for row in prepared] == djangos
    page = response.content.decode()
    assert "Dana Oak" in page and "Evenings" in page
    request = response.wsgi_request
    admin_ = cl.model_admin
    assert isinstance(admin_, ParticipantAdmin)
    assert not admin_.get_queryset(request).first().get_deferred_fields()
    assert not cl.get_queryset(request).first().get_deferred_fields()
