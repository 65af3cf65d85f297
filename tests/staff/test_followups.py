import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.roles import Role
from sessions.models import FollowUp
from sessions.services.attendance import attendance_mark
from sessions.services.followups import followup_resolve
from tests import factories
from tests.privacy import names

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_it_raises_a_follow_up_for_the_primary_clinician_on_an_unexcused_absence(
    group_session, front_desk, django_capture_on_commit_callbacks
):
    _session, (first, *_rest) = group_session
    primary = factories.StaffFactory(role=Role.CLINICIAN, sites=[first.session.site])
    first.participant.primary_clinician = primary
    first.participant.save()

    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(attendance=first, status="absent", by=front_desk)

    followup = FollowUp.objects.get()
    assert followup.kind == "unexcused_absence"
    assert followup.assignee == primary
    assert followup.attendance == first
    assert followup.created_by == front_desk
    assert [m.to for m in mail.outbox] == [[primary.email]]


def test_it_falls_back_to_the_tracks_lead_clinician(group_session, clinician, front_desk):
    _session, (first, *_rest) = group_session  # no primary clinician; the track is led by clinician
    attendance_mark(attendance=first, status="absent", by=front_desk)
    assert FollowUp.objects.get().assignee == clinician


def test_it_sends_a_neutral_email_that_names_nobody_and_no_treatment(
    group_session, front_desk, django_capture_on_commit_callbacks
):
    session, (first, *_rest) = group_session
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(attendance=first, status="absent", by=front_desk)

    message = mail.outbox[0]
    text = (message.subject + message.body).lower()
    for name in (first.participant.first_name, first.participant.last_name):
        assert not names(text, name), name
    for secret in [first.participant.record_number, session.title, session.track.program.name,
                   "absence", "absent", "therapy", "iop", "treatment", "recovery", "group"]:
        assert secret.lower() not in text
    assert "/follow-ups/" in message.body


def test_it_does_not_raise_for_an_excused_absence(group_session, front_desk):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="excused", by=front_desk)
    assert not FollowUp.objects.exists()


def test_it_raises_only_one_open_follow_up_for_the_same_absence(group_session, front_desk):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", by=front_desk)
    attendance_mark(attendance=first, status="absent", note="No answer", by=front_desk)
    assert FollowUp.objects.count() == 1


def test_it_resolves_the_absence_follow_up_when_the_absence_is_corrected(group_session, front_desk):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", by=front_desk)
    attendance_mark(attendance=first, status="late", minutes=120, by=front_desk)
    followup = FollowUp.objects.get()
    assert followup.status == "resolved"


def _two_evenings(track, clinician):
    earlier, (a1,) = make_group_session(track, size=1, day=MONDAY - dt.timedelta(days=7))
    later = factories.TherapySessionFactory(
        track=track, site=track.site, starts_at=earlier.starts_at + dt.timedelta(days=7))
    a2 = factories.AttendanceFactory(session=later, participant=a1.participant,
                                     enrollment=a1.enrollment)
    return a1, a2


def test_it_escalates_consecutive_absences_to_a_director_of_the_site(track, clinician, director,
                                                                    front_desk):
    a1, a2 = _two_evenings(track, clinician)  # the program escalates after 2 in a row

    attendance_mark(attendance=a1, status="absent", by=front_desk)
    assert not FollowUp.objects.filter(kind="consecutive_absences").exists()
    attendance_mark(attendance=a2, status="absent", by=front_desk)

    escalation = FollowUp.objects.get(kind="consecutive_absences")
    assert escalation.assignee == director
    assert FollowUp.objects.filter(kind="unexcused_absence").count() == 2


def test_it_does_not_escalate_when_the_participant_came_in_between(track, clinician, front_desk,
                                                                   director):
    a1, a2 = _two_evenings(track, clinician)
    attendance_mark(attendance=a1, status="present", by=front_desk)
    attendance_mark(attendance=a2, status="absent", by=front_desk)
    assert not FollowUp.objects.filter(kind="consecutive_absences").exists()


def test_it_resolves_a_follow_up_with_an_outcome_note(group_session, front_desk, clinician):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", by=front_desk)
    followup = FollowUp.objects.get()

    followup_resolve(followup=followup, outcome_note="Reached by phone; back Wednesday.",
                     by=clinician)

    followup.refresh_from_db()
    assert followup.status == "resolved"
    assert followup.resolved_by == clinician and followup.resolved_at is not None


def test_it_refuses_an_outcome_note_from_front_desk(group_session, front_desk):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", by=front_desk)
    followup = FollowUp.objects.get()

    with pytest.raises(ValidationError) as caught:
        followup_resolve(followup=followup, outcome_note="Called", by=front_desk)

    assert caught.value.code == "clinical_note_forbidden"
    followup.refresh_from_db()
    assert followup.status == "open" and followup.outcome_note == ""


def test_it_requires_an_outcome_note(group_session, front_desk, clinician):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", by=front_desk)
    with pytest.raises(ValidationError):
        followup_resolve(followup=FollowUp.objects.get(), outcome_note="   ", by=clinician)


def test_it_lets_the_database_refuse_a_second_open_follow_up_for_one_absence(group_session):
    from django.db import IntegrityError, transaction

    _session, (first, *_rest) = group_session
    fields = {"participant": first.participant, "kind": "unexcused_absence", "attendance": first,
              "missed_on": MONDAY}
    FollowUp.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUp.objects.create(**fields)
    FollowUp.objects.filter(attendance=first).update(status="resolved",
                                                     resolved_at=dt.datetime.now(dt.UTC))
    FollowUp.objects.create(**fields)  # a resolved one no longer blocks a new one
    assert FollowUp.objects.count() == 2
