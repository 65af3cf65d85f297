"""Who reaches which page: personas walk the role and site rules."""
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from sessions.models import FollowUp
from tests import factories

from .conftest import login

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_lands_staff_on_today_after_signing_in(client, clinician):
    response = client.post(reverse("login"), {"username": clinician.username,
                                              "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_it_shows_a_field_error_for_a_wrong_password(client, clinician):
    response = client.post(reverse("login"), {"username": clinician.username, "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_it_signs_out_with_a_post(as_clinician):
    response = as_clinician.post(reverse("logout"))
    assert response.status_code == 302
    assert as_clinician.get(reverse("home")).status_code == 302


def test_it_keeps_portal_users_out_of_staff_pages(site):
    participant = factories.ParticipantFactory(home_site=site)
    participant.user = factories.UserFactory()
    participant.save()
    client = login(participant.user)
    # Sent to the portal (issue 13), never shown a staff page.
    for name in ["home", "calendar", "participant_search", "followup_list", "program_list"]:
        response = client.get(reverse(name))
        assert (response.status_code, response["Location"]) == (302, "/portal/"), name


def test_it_keeps_out_a_portal_user_even_if_given_a_staff_role(site):
    from accounts.roles import Role

    user = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    factories.ParticipantFactory(home_site=site, user=user)
    assert login(user).get(reverse("home"))["Location"] == "/portal/"


def test_it_refuses_a_user_without_a_staff_role(site):
    user = factories.UserFactory()
    site.staff.add(user)
    assert login(user).get(reverse("home")).status_code == 403


@pytest.mark.parametrize("persona", ["as_clinician", "as_front_desk"])
def test_it_keeps_programs_for_directors_only(request, persona, track):
    client = request.getfixturevalue(persona)
    for url in [reverse("program_list"), reverse("program_create"), reverse("track_create"),
                reverse("track_edit", args=[track.pk])]:
        assert client.get(url).status_code == 403, url


def test_it_shows_programs_in_the_navigation_to_directors_only(as_director, as_clinician):
    assert reverse("program_list") in as_director.get(reverse("home")).content.decode()
    assert reverse("program_list") not in as_clinician.get(reverse("home")).content.decode()


def test_each_staff_member_sees_their_own_navigation(as_director, as_clinician, director,
                                                      clinician):
    for _ in range(2):  # the second time from what the first kept
        for client, user, manages in ((as_director, director, True),
                                      (as_clinician, clinician, False)):
            for url, current in ((reverse("home"), reverse("home")),
                                 (reverse("calendar"), reverse("calendar"))):
                navigation = client.get(url).content.decode().split("</nav>")[0]
                assert (reverse("program_list") in navigation) is manages
                assert f'aria-current="page" href="{current}"' in navigation
                assert navigation.count('aria-current="page"') == 1
                assert user.get_full_name() in navigation
                other = clinician if user == director else director
                assert other.get_full_name() not in navigation
                assert 'name="csrfmiddlewaretoken"' in navigation


def test_it_answers_404_for_another_sites_objects(as_outsider, group_session, track):
    session, (first, *_rest) = group_session
    followup = FollowUp.objects.create(participant=first.participant, kind="unexcused_absence",
                                       attendance=first, session=session)
    urls = [
        reverse("roster", args=[session.pk]),
        reverse("participant_chart", args=[first.participant.code]),
        reverse("followup_detail", args=[followup.pk]),
    ]
    for url in urls:
        assert as_outsider.get(url).status_code == 404, url
    response = as_outsider.post(reverse("attendance_mark", args=[session.pk, first.pk]),
                                {"status": "present"})
    assert response.status_code == 404
    first.refresh_from_db()
    assert first.status == "expected"


def test_it_answers_404_to_a_director_of_another_site_for_a_track(other_site, track):
    from accounts.roles import Role

    stranger = factories.StaffFactory(role=Role.DIRECTOR, sites=[other_site])
    assert login(stranger).get(reverse("track_edit", args=[track.pk])).status_code == 404


def test_it_does_not_find_another_sites_participants(as_outsider, group_session):
    _session, (first, *_rest) = group_session
    response = as_outsider.get(reverse("participant_search"), {"q": first.participant.last_name})
    assert first.participant.record_number not in response.content.decode()


def test_it_answers_404_not_500_for_ids_beyond_any_row(as_clinician):
    huge = "9" * 25
    assert as_clinician.get(f"/sessions/{huge}/roster/").status_code == 404
    assert as_clinician.get(f"/follow-ups/{huge}/").status_code == 404
    response = as_clinician.post(f"/sessions/{huge}/roster/{huge}/", {"status": "present"})
    assert response.status_code == 404
    assert as_clinician.get(reverse("followup_list"), {"assignee": huge}).status_code == 200


def test_it_offers_the_same_rules_as_mixins(rf, director, clinician, front_desk, site):
    from django.http import HttpResponse
    from django.views import View

    from staff.access import DirectorRequiredMixin, StaffRequiredMixin

    class DirectorsOnly(DirectorRequiredMixin, View):
        def get(self, request):
            return HttpResponse("ok")

    class AnyStaff(StaffRequiredMixin, View):
        def get(self, request):
            return HttpResponse("ok")

    def call(view, user):
        request = rf.get("/")
        request.user = user
        try:
            return view.as_view()(request).status_code
        except PermissionDenied:
            return 403

    assert call(DirectorsOnly, director) == 200
    assert call(DirectorsOnly, clinician) == 403
    assert call(AnyStaff, front_desk) == 200
    assert call(AnyStaff, factories.UserFactory()) == 403


def test_it_reads_who_is_asking_in_one_query(rf, django_assert_num_queries, site, other_site):
    """Roles, the participant check and the sites of a staff page cost one query together."""
    from django.http import HttpResponse
    from django.utils import timezone

    from accounts.models import User
    from accounts.roles import Role
    from staff.access import site_ids_for, staff_required

    clinician = factories.StaffFactory(role=Role.CLINICIAN, sites=[other_site, site])

    @staff_required
    def page(request):
        return HttpResponse(f"{site_ids_for(request.user)} {timezone.get_current_timezone()}")

    request = rf.get("/")
    request.user = User.objects.get(pk=clinician.pk)
    with django_assert_num_queries(1):
        response = page(request)
    assert response.content.decode() == (
        f"{sorted([site.pk, other_site.pk])} {min([site, other_site], key=lambda s: s.pk).time_zone}")


def test_it_takes_a_site_or_a_role_away_on_the_next_request(clinician, group_session):
    session, _attendance = group_session
    client = login(clinician)
    roster = reverse("roster", args=[session.pk])
    assert client.get(roster).status_code == 200
    session.site.staff.remove(clinician)
    assert client.get(roster).status_code == 404
    session.site.staff.add(clinician)
    assert client.get(roster).status_code == 200
    clinician.groups.clear()
    assert client.get(roster).status_code == 403
