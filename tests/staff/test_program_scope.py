"""Programs belong to sites: those that offer them and those that run their tracks. Staff see
and edit only their own sites' programs (the attack: a director with no site set another
site's excused-absence notice from 48 hours to 1 with POST /programs/<id>/edit/)."""
import pytest
from django.urls import reverse

from accounts.roles import Role
from programs.models import Program
from tests import factories

from .conftest import login

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

RULES = {
    "name": "Evening Adult IOP", "level_of_care": "2.1", "population": "adult",
    "duration_weeks": "12", "min_weekly_hours": "9", "min_attendance_percent": "80",
    "max_unexcused_absences": "6", "excused_notice_hours": "1",
    "consecutive_absences_to_escalate": "2", "marking_opens_minutes_before": "0",
    "seat_offer_hours": "48", "cant_come_reply": "follow_up", "minor_disclosure_signer": "both",
    "is_active": "on",
}


@pytest.fixture
def program_a(site):
    """Run at `site` through a track, offered nowhere explicitly."""
    program = factories.ProgramFactory(name="Adult IOP at A", excused_notice_hours=48)
    factories.TrackFactory(site=site, program=program)
    return program


@pytest.fixture
def program_b(other_site):
    return factories.ProgramFactory(name="Adult IOP at B", sites=[other_site])


@pytest.fixture
def director_no_site(db):
    return factories.StaffFactory(role=Role.DIRECTOR, sites=[])


@pytest.fixture
def director_b(other_site):
    return factories.StaffFactory(role=Role.DIRECTOR, sites=[other_site])


@pytest.mark.parametrize("persona", ["director_no_site", "director_b"])
def test_it_refuses_another_site_s_program_rules(request, persona, program_a):
    client = login(request.getfixturevalue(persona))

    response = client.post(reverse("program_edit", args=[program_a.pk]),
                           {**RULES, "name": program_a.name})

    assert response.status_code == 404
    program_a.refresh_from_db()
    assert program_a.excused_notice_hours == 48


def test_it_lists_only_the_programs_of_my_sites(director, director_b, director_no_site,
                                                program_a, program_b):
    def listed(user):
        text = login(user).get(reverse("program_list")).content.decode()
        return {name for name in (program_a.name, program_b.name) if name in text}

    assert listed(director) == {program_a.name}
    assert listed(director_b) == {program_b.name}
    assert listed(director_no_site) == set()


def test_it_offers_only_my_sites_programs_for_a_new_track(director, program_a, program_b):
    response = login(director).get(reverse("track_create"))

    assert list(response.context["form"].fields["program"].queryset) == [program_a]


def test_it_makes_a_new_program_belong_to_a_site_of_mine(director, site, other_site):
    client = login(director)

    refused = client.post(reverse("program_create"), RULES)
    foreign = client.post(reverse("program_create"), {**RULES, "offered_at": [other_site.pk]})
    created = client.post(reverse("program_create"), {**RULES, "offered_at": [site.pk]})

    assert refused.status_code == foreign.status_code == 200
    assert "Choose at least one of your sites." in refused.content.decode()
    assert refused.context["form"].errors["offered_at"]
    assert foreign.context["form"].errors["offered_at"]
    assert created.status_code == 302
    assert list(Program.objects.get(name=RULES["name"]).sites.all()) == [site]


def test_it_lets_a_director_with_no_site_create_nothing(director_no_site):
    response = login(director_no_site).post(reverse("program_create"), RULES)

    assert response.status_code == 200
    assert response.context["form"].errors["offered_at"]
    assert not Program.objects.exists()


def test_it_keeps_the_other_sites_that_offer_a_shared_program(director, site, other_site):
    shared = factories.ProgramFactory(name="Shared IOP", sites=[site, other_site])

    response = login(director).post(reverse("program_edit", args=[shared.pk]),
                                    {**RULES, "name": "Shared IOP", "offered_at": []})

    assert response.status_code == 302
    # The director withdrew their own site; site B's say is not theirs to change.
    assert list(shared.sites.all()) == [other_site]
