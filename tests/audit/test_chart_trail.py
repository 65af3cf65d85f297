"""The director's "who viewed or changed this chart" page."""
import pytest
from auditlog.context import set_actor
from django.contrib.auth.models import Group, Permission
from django.test import RequestFactory

from accounts.roles import Role
from audit.models import AccessEvent
from audit.services import audit_access
from tests import factories
from tests.auth import sign_in

pytestmark = pytest.mark.django_db


def trail_url(participant) -> str:
    return f"/participants/{participant.code}/audit/"


def viewed_by(user, obj, what="chart"):
    request = RequestFactory().get(f"/participants/{obj.code}/")
    request.user = user
    audit_access(request=request, obj=obj, what=what)


@pytest.fixture
def chart(site, clinician, front_desk):
    participant = factories.ParticipantFactory(home_site=site, first_name="Quill")
    with set_actor(front_desk):
        factories.ContactConsentFactory(participant=participant, channel="email")
        participant.phone = "+15550109999"
        participant.save()
    viewed_by(clinician, participant)
    return participant


def test_it_shows_directors_who_viewed_and_who_changed_the_chart(client, director, clinician,
                                                                front_desk, chart):
    sign_in(client, director)

    response = client.get(trail_url(chart))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Who viewed or changed this chart" in html
    rows = html.split('id="audit-trail"')[1]
    assert str(clinician) in rows and "viewed" in rows and "chart" in rows
    assert str(front_desk) in rows and "changed" in rows and "(555) 010-9999" in rows
    assert "Contact consent" in rows and "created" in rows


def test_it_records_the_directors_look_at_the_trail(client, director, chart):
    sign_in(client, director)

    client.get(trail_url(chart))

    event = AccessEvent.objects.filter(actor=director).get()
    assert (event.participant_id, event.what) == (chart.pk, "audit trail")


@pytest.mark.parametrize("persona", ["clinician", "front_desk"])
def test_it_refuses_other_roles(client, persona, request, chart):
    sign_in(client, request.getfixturevalue(persona))

    assert client.get(trail_url(chart)).status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, chart):
    response = client.get(trail_url(chart))

    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_it_answers_404_for_another_sites_participant(client, other_site, director):
    stranger = factories.ParticipantFactory(home_site=other_site)
    sign_in(client, director)

    assert client.get(trail_url(stranger)).status_code == 404
    assert not AccessEvent.objects.filter(participant_id=stranger.pk).exists()


def test_it_gives_directors_view_permission_on_audit_rows_and_nobody_change(director,
                                                                           clinician):
    assert director.has_perms(["audit.view_accessevent", "auditlog.view_logentry"])
    assert not director.has_perm("auditlog.change_logentry")
    assert not director.has_perm("auditlog.delete_logentry")
    assert not clinician.has_perm("audit.view_accessevent")
    assert not director.is_staff, "directors read the trail in the app, not in the admin"


def test_it_refuses_a_director_whose_role_lost_the_audit_permissions(client, director, chart):
    group = Group.objects.get(name=Role.DIRECTOR.label)
    group.permissions.remove(*Permission.objects.filter(codename="view_accessevent"))
    sign_in(client, director)

    assert client.get(trail_url(chart)).status_code == 403


@pytest.mark.parametrize("size", [1, 12])
def test_it_keeps_a_fixed_query_budget(client, director, clinician, front_desk, site, size,
                                       django_assert_max_num_queries):
    participant = factories.ParticipantFactory(home_site=site)
    for _ in range(size):
        with set_actor(front_desk):
            factories.AttendanceFactory(participant=participant)
            consent = factories.ContactConsentFactory(participant=participant, channel="sms")
            consent.revoked_at, consent.revoked_source = consent.given_at, "portal"
            consent.save()
        viewed_by(clinician, participant)
    sign_in(client, director)

    # session, user, groups, sites, participant, 2 permissions, 2 trail reads, audit insert (+CT),
    # and since issue 14: 2 counts for paging, 3 name look-ups (one per kind of related row)
    # and the people in the trail (the "who" filter's choices)
    with django_assert_max_num_queries(18):
        response = client.get(trail_url(participant))
    assert response.status_code == 200
    assert response.content.decode().count("<tr>") >= 2 * size + 1


def test_it_names_related_rows_instead_of_showing_their_ids(client, director, front_desk, site):
    participant = factories.ParticipantFactory(home_site=site)
    with set_actor(front_desk):
        participant.primary_clinician = director
        participant.save()
    sign_in(client, director)
    rows = client.get(trail_url(participant)).content.decode().split('id="audit-trail"')[1]
    assert f"primary clinician</span>: — → {director}" in rows
    assert f"→ {director.pk}<" not in rows


def test_it_pages_a_long_trail(client, director, clinician, site):
    participant = factories.ParticipantFactory(home_site=site)
    for _ in range(60):
        viewed_by(clinician, participant)
    sign_in(client, director)
    first = client.get(trail_url(participant))
    # 60 views, the participant's creation, and this look at the trail itself
    assert first.context["page_obj"].paginator.count == 62
    assert len(first.context["trail"]) == 50
    second = client.get(trail_url(participant), {"page": 2})
    assert len(second.context["trail"]) == 13  # the second look is recorded too
    assert "Page 2 of 2" in second.content.decode()


# --- Filters: who, what, when -------------------------------------------------------------

def trail_rows(response) -> str:
    html = response.content.decode()
    return html.split('id="audit-trail"')[1] if 'id="audit-trail"' in html else ""


def test_it_filters_the_trail_by_who(client, director, clinician, front_desk, chart):
    sign_in(client, director)

    response = client.get(trail_url(chart), {"actor": clinician.pk})

    rows = trail_rows(response)
    assert str(clinician) in rows and "viewed" in rows
    assert str(front_desk) not in rows
    assert all(entry.actor == clinician for entry in response.context["trail"])
    assert "these filters" in response.content.decode()


def test_it_offers_only_the_people_in_this_trail_and_the_system(client, director, clinician,
                                                                front_desk, chart, site):
    stranger = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    sign_in(client, director)

    choices = dict(client.get(trail_url(chart)).context["form"].fields["actor"].choices)

    assert str(clinician.pk) in choices and str(front_desk.pk) in choices
    assert str(stranger.pk) not in choices
    assert choices["system"] == "System (automatic)"


def test_it_filters_the_trail_by_what_was_done_and_to_which_record(client, director,
                                                                   clinician, front_desk, chart):
    from django.contrib.contenttypes.models import ContentType
    from participants.models import ContactConsent
    sign_in(client, director)

    changed = client.get(trail_url(chart), {"action": "changed"}).context["trail"]
    viewed = client.get(trail_url(chart), {"action": "viewed"}).context["trail"]
    consents = client.get(trail_url(chart), {
        "record_type": ContentType.objects.get_for_model(ContactConsent).pk}).context["trail"]

    assert changed and {entry.verb for entry in changed} == {"changed"}
    assert viewed and {entry.verb for entry in viewed} == {"viewed"}
    assert consents and {entry.record_type for entry in consents} == {"contact consent"}


def test_it_filters_the_trail_by_whole_days_in_the_sites_time_zone(client, director,
                                                                   clinician, site):
    import datetime as dt
    import time_machine
    participant = factories.ParticipantFactory(home_site=site)
    # 11:30 pm on Nov 3 in New York is already Nov 4 in UTC.
    late_evening = dt.datetime(2026, 11, 3, 23, 30, tzinfo=site.zone)
    for moment in (late_evening, late_evening + dt.timedelta(days=2)):
        with time_machine.travel(moment, tick=False):
            viewed_by(clinician, participant, what="attendance history")
    sign_in(client, director)

    on_the_third = client.get(trail_url(participant), {"since": "2026-11-03",
                                                       "until": "2026-11-03"})
    from_the_fourth = client.get(trail_url(participant), {"since": "2026-11-04"})

    assert [e.what for e in on_the_third.context["trail"]] == ["attendance history"]
    assert on_the_third.context["trail"][0].at == late_evening
    assert [e.at for e in from_the_fourth.context["trail"]
            if e.what == "attendance history"] == [late_evening + dt.timedelta(days=2)]


@pytest.mark.parametrize("query, field", [
    ({"actor": "999999"}, "actor"),
    ({"actor": "<script>"}, "actor"),
    ({"action": "erased"}, "action"),
    ({"record_type": "abc"}, "record_type"),
    ({"record_type": "999999"}, "record_type"),
    ({"since": "not-a-date"}, "since"),
    ({"since": "0001-01-01"}, "since"),
    ({"since": "2026-11-10", "until": "2026-11-01"}, "until"),
])
def test_it_names_a_bad_filter_on_its_field_and_still_shows_the_trail(client, director, chart,
                                                                      query, field):
    sign_in(client, director)

    response = client.get(trail_url(chart), query)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    html = response.content.decode()
    assert f'id="id_{field}-error"' in html and 'aria-invalid="true"' in html
    assert response.context["trail"]  # the whole trail meanwhile, not a blank page


def test_it_keeps_the_filters_when_paging(client, director, clinician, front_desk, site):
    participant = factories.ParticipantFactory(home_site=site)
    for _ in range(55):
        viewed_by(clinician, participant)
    for _ in range(5):
        viewed_by(front_desk, participant)
    sign_in(client, director)

    first = client.get(trail_url(participant), {"actor": clinician.pk})
    html = first.content.decode()

    assert first.context["page_obj"].paginator.count == 55
    assert f"?actor={clinician.pk}&amp;page=2" in html
    second = client.get(trail_url(participant), {"actor": clinician.pk, "page": 2})
    assert len(second.context["trail"]) == 5
    assert {entry.actor for entry in second.context["trail"]} == {clinician}


def test_it_says_when_nothing_matches(client, director, chart):
    sign_in(client, director)

    response = client.get(trail_url(chart), {"since": "2001-01-01", "until": "2001-01-02"})

    html = response.content.decode()
    assert "Nothing in this chart's trail matches these filters." in html
    assert "Show the whole trail" in html


@pytest.mark.parametrize("size", [1, 12])
def test_it_keeps_a_fixed_query_budget_when_filtered(client, director, clinician, front_desk,
                                                     site, size, django_assert_max_num_queries):
    participant = factories.ParticipantFactory(home_site=site)
    for _ in range(size):
        with set_actor(front_desk):
            consent = factories.ContactConsentFactory(participant=participant, channel="sms")
        consent.revoked_at, consent.revoked_source = consent.given_at, "portal"
        consent.save()
        viewed_by(clinician, participant)
    sign_in(client, director)
    query = {"actor": front_desk.pk, "action": "created", "since": "2000-01-01",
             "until": "2100-01-01"}

    # the same as the unfiltered page
    with django_assert_max_num_queries(18):
        response = client.get(trail_url(participant), query)
    assert response.status_code == 200
    assert len(response.context["trail"]) == size
