"""The participants page as a caseload: filters, sort, paging, empty states, query budget."""
import datetime as dt
import re

import pytest
from django.test.html import parse_html
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from tests import factories

pytestmark = pytest.mark.django_db


def _names(response) -> list[str]:
    return [p["last_name"] for p in response.context["page_obj"].object_list]


@pytest.fixture
def caseload(site, other_site, track, clinician):
    # Fixed first names: a search for "che" must not also find a random "Michelle".
    other_track = factories.TrackFactory(site=site, name="Mornings")
    active = factories.ParticipantFactory(home_site=site, first_name="Ana", last_name="Alvarez",
                                          primary_clinician=clinician)
    factories.EnrollmentFactory(participant=active, track=track, status="active")
    waiting = factories.ParticipantFactory(home_site=site, first_name="Ben", last_name="Baker")
    factories.EnrollmentFactory(participant=waiting, track=other_track, status="waitlisted",
                                waitlisted_at=timezone.now())
    done = factories.ParticipantFactory(home_site=site, first_name="Cai", last_name="Chen")
    factories.EnrollmentFactory(participant=done, track=track, status="discharged",
                                discharge_date=dt.date(2026, 2, 1), discharge_reason="other")
    factories.ParticipantFactory(home_site=site, first_name="Dev", last_name="Diaz")  # never enrolled
    factories.ParticipantFactory(home_site=other_site, first_name="Eli", last_name="Elsewhere")
    return {"track": track, "other_track": other_track}


def test_it_lists_my_sites_caseload_without_a_search(as_front_desk, caseload):
    response = as_front_desk.get(reverse("participant_search"))
    assert _names(response) == ["Alvarez", "Baker", "Chen", "Diaz"]
    html = response.content.decode()
    assert "Waitlisted" in html and "Not enrolled" in html and "Elsewhere" not in html


@pytest.mark.parametrize("query, expected", [
    ({"status": "active"}, ["Alvarez"]),
    ({"status": "waitlisted"}, ["Baker"]),
    ({"q": "che"}, ["Chen"]),
    ({"q": "alvarez", "status": "active"}, ["Alvarez"]),
    ({"sort": "admitted", "status": "discharged"}, ["Chen"]),
])
def test_it_filters_the_caseload(as_front_desk, caseload, query, expected):
    assert _names(as_front_desk.get(reverse("participant_search"), query)) == expected


def test_a_track_lists_whoever_is_on_it_now_not_whoever_was(as_front_desk, caseload, site):
    """Fay moved from Mornings to the first track: an old enrollment on a track is not enough."""
    moved = factories.ParticipantFactory(home_site=site, first_name="Fay", last_name="Fox")
    factories.EnrollmentFactory(participant=moved, track=caseload["other_track"],
                                status="discharged", admission_date=dt.date(2026, 1, 5),
                                discharge_date=dt.date(2026, 2, 1), discharge_reason="other")
    factories.EnrollmentFactory(participant=moved, track=caseload["track"], status="active",
                                admission_date=dt.date(2026, 2, 2))
    url = reverse("participant_search")

    assert _names(as_front_desk.get(url, {"track": caseload["other_track"].pk})) == ["Baker"]
    assert _names(as_front_desk.get(url, {"track": caseload["track"].pk})) == [
        "Alvarez", "Chen", "Fox"]


def test_it_filters_by_track_and_clinician(as_front_desk, caseload, clinician):
    url = reverse("participant_search")
    assert _names(as_front_desk.get(url, {"track": caseload["other_track"].pk})) == ["Baker"]
    assert _names(as_front_desk.get(url, {"clinician": clinician.pk})) == ["Alvarez"]


def test_it_ignores_a_filter_value_from_another_site(as_front_desk, caseload, other_site):
    foreign = factories.TrackFactory(site=other_site)
    response = as_front_desk.get(reverse("participant_search"), {"track": foreign.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["track"]



def _menu(html: str, name: str):
    return parse_html(re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0))


@pytest.mark.parametrize("chosen", [False, True])
def test_its_menus_write_what_model_choice_fields_wrote(client, caseload, site, other_site,
                                                        clinician, chosen):
    """The menus are filled from plain rows; they list, label and keep the choice as Django's
    ModelChoiceField (over the models' own labels) did, at a director's two sites."""
    from django import forms

    from accounts.models import User
    from programs.models import Site, Track
    from staff.forms.widgets import Select
    from tests.auth import sign_in

    nameless = factories.StaffFactory(role=Role.CLINICIAN, sites=[site], first_name="",
                                      last_name="", username="zed")
    factories.TrackFactory(site=other_site, name="Weekends")
    boss = factories.StaffFactory(role=Role.DIRECTOR, sites=[site, other_site])
    sign_in(client, boss)
    query = ({"site": other_site.pk, "track": caseload["other_track"].pk,
              "clinician": nameless.pk} if chosen else {})
    html = client.get(reverse("participant_search"), query).content.decode()

    class Staff(forms.ModelChoiceField):
        def label_from_instance(self, obj):
            return obj.get_full_name() or obj.username

    both = [site.pk, other_site.pk]  # the class body below has a field named `site`

    class Reference(forms.Form):
        site = forms.ModelChoiceField(Site.objects.filter(pk__in=both)
                                      .order_by("name"), required=False,
                                      empty_label="All my sites", widget=Select)
        track = forms.ModelChoiceField(Track.objects.filter(site__in=both)
                                       .order_by("program__name", "name"), required=False,
                                       empty_label="Any track", widget=Select)
        clinician = Staff(User.objects.filter(sites__in=both, is_active=True)
                          .distinct().order_by("last_name", "first_name", "pk"),
                          required=False, empty_label="Anyone", widget=Select)

    reference = Reference(query or None)
    for name in ("site", "track", "clinician"):
        reference.fields[name].widget.attrs.update({"data-autosubmit": "",
                                                    "class": "form-select"})
        expected = parse_html(str(reference[name].as_widget()))
        assert _menu(html, name) == expected
    assert "zed" in html and f"{clinician.first_name} {clinician.last_name}" in html

def test_it_says_what_to_do_when_nothing_matches(as_front_desk, site):
    empty = as_front_desk.get(reverse("participant_search")).content.decode()
    assert "No participants at your sites yet." in empty and "Register the first one" in empty
    none = as_front_desk.get(reverse("participant_search"), {"q": "zzz"}).content.decode()
    assert "No participant matches these filters." in none and "Clear the filters" in none


def test_it_pages_a_long_caseload(as_front_desk, site):
    for i in range(30):
        factories.ParticipantFactory(home_site=site, last_name=f"Page{i:02d}")
    first = as_front_desk.get(reverse("participant_search"))
    assert len(first.context["page_obj"].object_list) == 25
    second = as_front_desk.get(reverse("participant_search"), {"page": 2})
    assert _names(second) == [f"Page{i:02d}" for i in range(25, 30)]


@pytest.mark.parametrize("size", [2, 40])
def test_it_keeps_a_fixed_query_budget(client, site, track, size,
                                       django_assert_max_num_queries):
    from tests.auth import sign_in

    front_desk = factories.StaffFactory(role=Role.FRONT_DESK, sites=[site])
    for _ in range(size):
        person = factories.ParticipantFactory(home_site=site, primary_clinician=front_desk)
        factories.EnrollmentFactory(participant=person, track=track)
    sign_in(client, front_desk)
    with django_assert_max_num_queries(11):
        client.get(reverse("participant_search"), {"status": "active", "sort": "admitted"})


# --- At risk this week: Today's rule (the ledger's), as a filter --------------------------

@pytest.fixture
def week_at_risk(site, clinician):
    """This week (Mon Jan 5, 2026, frozen at 8 pm): three 3-hour groups for a 9-hour program.
    Fay missed Monday, so she can reach 6 hours at most: at risk. Gus came: on track."""
    import datetime as dt
    from decimal import Decimal

    from tests.staff.conftest import MONDAY

    track = factories.TrackFactory(site=site, mode="rolling", end_date=None,
                                   start_date=MONDAY - dt.timedelta(weeks=2),
                                   program__min_weekly_hours=Decimal(9), name="Evenings")
    people = {}
    for first, last, monday_status in (("Fay", "Ferreira", "absent"), ("Gus", "Gray", "present")):
        person = factories.ParticipantFactory(home_site=site, first_name=first, last_name=last,
                                              primary_clinician=clinician)
        enrollment = factories.EnrollmentFactory(participant=person, track=track,
                                                 status="active", admission_date=MONDAY)
        people[last] = enrollment
    for offset in (0, 2, 3):
        starts = dt.datetime.combine(MONDAY + dt.timedelta(days=offset), dt.time(10, 0),
                                     tzinfo=site.zone)
        session = factories.TherapySessionFactory(track=track, starts_at=starts,
                                                  ends_at=starts + dt.timedelta(hours=3))
        for last, enrollment in people.items():
            status = ("absent" if last == "Ferreira" else "present") if offset == 0 else "expected"
            factories.AttendanceFactory(session=session, participant=enrollment.participant,
                                        enrollment=enrollment, status=status)
    return track


@pytest.mark.usefixtures("frozen_now")
def test_it_filters_the_caseload_to_those_at_risk_as_today_does(as_clinician, clinician,
                                                               week_at_risk):
    from sessions.selectors.ledger import participants_at_risk
    from tests.staff.conftest import MONDAY

    response = as_clinician.get(reverse("participant_search"), {"at_risk": "on"})

    assert _names(response) == ["Ferreira"]
    today = [a.participant.last_name for a in participants_at_risk(
        site_ids=[week_at_risk.site_id], today=MONDAY)]
    assert _names(response) == today  # one rule, one answer
    html = response.content.decode()
    assert "At risk</span>" in html and "can no longer reach the program" in html
    assert 'name="at_risk" data-autosubmit="" class="form-check-input" id="id_at_risk" checked' in html


@pytest.mark.usefixtures("frozen_now")
def test_it_combines_at_risk_with_the_other_filters(as_clinician, clinician, week_at_risk):
    url = reverse("participant_search")

    assert _names(as_clinician.get(url, {"at_risk": "on", "status": "active",
                                         "clinician": clinician.pk, "q": "fer"})) == ["Ferreira"]
    assert _names(as_clinician.get(url, {"at_risk": "on", "q": "gray"})) == []
    assert _names(as_clinician.get(url, {"at_risk": "on", "status": "waitlisted"})) == []
    assert _names(as_clinician.get(url, {"q": "gray"})) == ["Gray"]


@pytest.mark.usefixtures("frozen_now")
def test_it_says_so_when_nobody_is_at_risk(as_clinician, site):
    html = as_clinician.get(reverse("participant_search"), {"at_risk": "on"}).content.decode()
    assert "Nobody here is at risk of missing this week" in html and "Clear the filters" in html


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize("size", [2, 40])
def test_it_keeps_a_fixed_query_budget_when_filtering_at_risk(client, site, clinician, size,
                                                              week_at_risk,
                                                              django_assert_max_num_queries):
    from tests.auth import sign_in

    for _ in range(size):
        person = factories.ParticipantFactory(home_site=site, primary_clinician=clinician)
        factories.EnrollmentFactory(participant=person, track=week_at_risk)
    sign_in(client, clinician)
    # the unfiltered page's 11, and the ledger's one query for this week's people at risk
    with django_assert_max_num_queries(12):
        response = client.get(reverse("participant_search"),
                              {"at_risk": "on", "status": "active", "sort": "admitted"})
    assert _names(response) == ["Ferreira"]


@pytest.mark.usefixtures("frozen_now")
def test_today_links_its_at_risk_box_to_the_filtered_caseload(as_clinician, week_at_risk):
    html = as_clinician.get(reverse("home")).content.decode()
    box = html.split('id="at-risk-heading"')[1].split("</section>")[0]
    assert "Ferreira" in box
    assert f'href="{reverse("participant_search")}?at_risk=on"' in box


@pytest.mark.parametrize("sites", ["one", "both"])
@pytest.mark.parametrize("chosen", [
    {}, {"query": "a"}, {"query": "  al   VAR "}, {"query": "e l i c h"},
    {"query": "50%"}, {"query": "l_b"}, {"query": "x\\y"},
    {"status": "active"}, {"status": "discharged", "sort": "admitted"},
    {"sort": "record"}, {"sort": "site"}, {"sort": "nonsense"},
    {"query": "a", "status": "waitlisted", "sort": "site"},
    {"track": "track"}, {"track": "other_track", "query": "b"},
    {"clinician": True}, {"clinician": True, "track": "track", "status": "active"},
    {"site": True, "query": "e"},
])
def test_its_compiled_statements_list_what_the_orm_query_lists(caseload, site, other_site,
                                                                clinician, sites, chosen):
    """Every shape of request (sites, words, each filter, each sort) pages through the same
    rows, and counts the same, as the caseload queryset it was compiled from."""
    from django.core.paginator import Paginator

    from sessions.selectors import caseload as selectors
    from staff.access import participants_at

    odd = factories.ParticipantFactory(home_site=other_site, first_name="Al_b 50%",
                                       last_name="X\\y")
    factories.EnrollmentFactory(participant=odd, track=caseload["track"], status="active")
    # Found by "l_b" and "50%" only if _ and % were taken as LIKE's wildcards.
    factories.ParticipantFactory(home_site=site, first_name="Lub 50x", last_name="Xzy")
    site_ids = [site.pk] if sites == "one" else [site.pk, other_site.pk]
    values = {"query": chosen.get("query", ""),
              "site_id": site.pk if chosen.get("site") else None,
              "track_id": caseload[chosen["track"]].pk if chosen.get("track") else None,
              "status": chosen.get("status", ""),
              "clinician_id": clinician.pk if chosen.get("clinician") else None,
              "sort": chosen.get("sort", "name")}
    participants = participants_at(site_ids)
    if values["query"].strip():
        participants = selectors.participant_search(participants=participants,
                                                    query=values["query"].strip())
    expected = selectors.caseload(participants=participants,
                                  **{k: v for k, v in values.items() if k != "query"})
    compiled = selectors.CaseloadPages(scope=participants_at, site_ids=site_ids, **values)

    if values["query"] in ("50%", "l_b", "x\\y"):
        assert [row["last_name"] for row in compiled[0:100]] == ["X\\y"]
    assert compiled.count() == expected.count()
    assert compiled[0:100] == list(expected)
    for number in (1, 2, 3):
        assert (list(Paginator(compiled, 2).get_page(number))
                == list(Paginator(expected, 2).get_page(number)))


@pytest.fixture
def lived_in(site, other_site, track, clinician):
    """A caseload with history: people with several enrollments (ended and current, two
    holding a seat, on hold, waitlisted after a discharge, ties on the admission date), each
    named for the status their row shows (the one holding a seat, else the latest)."""
    now, day = timezone.now(), dt.date(2026, 1, 5)
    there = factories.TrackFactory(site=other_site)
    ended = {"discharge_date": day + dt.timedelta(days=40), "discharge_reason": "other"}
    named = []

    def person(name, *enrollments, home=site):
        # Every other one in my caseload, for the clinician filter.
        mine = clinician if len(named) % 2 else None
        who = factories.ParticipantFactory(home_site=home, first_name="Lived",
                                           last_name=name, primary_clinician=mine)
        named.append(name)
        for status, days, where in enrollments:
            extra = {"completed": ended, "discharged": ended,
                     "waitlisted": {"waitlisted_at": now}, "on_hold": {"held_at": now}}
            factories.EnrollmentFactory(participant=who, track=where, status=status,
                                        admission_date=day + dt.timedelta(days=days),
                                        **extra.get(status, {}))
        return who

    person("Active-after-completing", ("completed", 0, track), ("active", 60, track))
    person("Active-before-a-later-discharge", ("active", 0, track), ("discharged", 30, track))
    person("Active-after-a-hold", ("on_hold", 0, track), ("active", 20, track))
    person("On-hold-after-active", ("active", 0, track), ("on_hold", 20, there))
    person("Waitlisted-after-discharge", ("discharged", 0, track), ("waitlisted", 70, track))
    # The same admission date: the later enrollment (the higher key) is the current one.
    person("Completed-tied-later", ("waitlisted", 10, track), ("completed", 10, track))
    person("Discharged-latest", ("completed", 0, track), ("discharged", 5, there),
           ("completed", 1, track))
    person("Referred-again", ("completed", 0, track), ("referred", 90, track))
    person("Withdrawn", ("withdrawn", 0, track))
    person("On-hold", ("on_hold", 0, track))
    person("Never-enrolled")
    person("Elsewhere-enrolled-here", ("completed", 0, there), ("active", 50, track),
           home=other_site)
    person("Elsewhere-only", ("discharged", 0, there), ("active", 30, there), home=other_site)


def _current_statuses(participants) -> dict[str, str | None]:
    """Each participant's current status by its plain definition, worked out in Python."""
    from participants.models import EnrollmentStatus

    current = {}
    for who in participants.prefetch_related("enrollments"):
        ranked = sorted(who.enrollments.all(), key=lambda e: (
            e.status not in EnrollmentStatus.seat_holding(), -e.admission_date.toordinal(),
            -e.pk))
        current[who.code] = ranked[0].status if ranked else None
    return current


@pytest.mark.parametrize("sites", ["one", "both"])
@pytest.mark.parametrize("sort", ["name", "record", "admitted", "site"])
def test_a_status_lists_whoever_is_in_it_now_with_their_history(lived_in, site, other_site,
                                                                 clinician, sites, sort):
    """Filtering on a status keeps the rows, in the page's order, whose current status it is:
    by the participants' whole history (worked out in Python), through the compiled
    statements and the caseload queryset alike, with any other filter."""
    from django.core.paginator import Paginator

    from participants.models import EnrollmentStatus, Participant
    from sessions.selectors import caseload as selectors
    from staff.access import participants_at

    site_ids = [site.pk] if sites == "one" else [site.pk, other_site.pk]
    current = _current_statuses(Participant.objects.filter(
        pk__in=participants_at(site_ids).values("pk")))
    everyone = list(selectors.caseload(participants=participants_at(site_ids), sort=sort))
    assert {row["code"]: row["current_status"] for row in everyone} == current
    for status in EnrollmentStatus.values:
        for other in ({}, {"clinician_id": clinician.pk}, {"site_id": site.pk}):
            expected = [row for row in everyone if row["current_status"] == status
                        and (not other.get("clinician_id")
                             or row["primary_clinician__last_name"] == clinician.last_name)
                        and (not other.get("site_id") or row["home_site__name"] == site.name)]
            queryset = selectors.caseload(participants=participants_at(site_ids),
                                          status=status, sort=sort, **other)
            compiled = selectors.CaseloadPages(scope=participants_at, site_ids=site_ids,
                                               status=status, sort=sort, **other)
            assert list(queryset) == expected, (status, other)
            assert compiled.count() == queryset.count() == len(expected), (status, other)
            assert compiled[0:100] == expected, (status, other)
            assert (list(Paginator(compiled, 2).get_page(2))
                    == list(Paginator(expected, 2).get_page(2))), (status, other)
    assert {status for status in current.values()} >= {
        "active", "on_hold", "waitlisted", "completed", "discharged", "referred", "withdrawn",
        None}
