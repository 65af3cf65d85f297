"""The chart's coming and past visits, consents, follow-ups and waiting excuse requests, read in
one SQL statement (sessions/selectors/chart.py), are the rows the five querysets it replaced
read, in the same order, with the same make-up days."""
import datetime as dt
import itertools

import pytest
from django.db.models import F, OuterRef, Q, Subquery

from participants.models import ContactConsent
from sessions.models import (
    Attendance, AttendanceStatus, ExcusedAbsenceRequest, ExcuseStatus, FollowUp, SessionStatus,
)
from sessions.selectors import chart
from sessions.selectors.makeups import live_makeups
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 11)
_FIELDS = ("pk", "status", "makeup_for_id", "session_id", "session__title",
           "session__session_type__name", "session__local_date", "session__starts_at")


def _as_the_querysets_read_them(participant, today):
    visits = Attendance.objects.filter(participant=participant)
    upcoming = (visits.filter(session__local_date__gte=today,
                              session__status=SessionStatus.SCHEDULED)
                .exclude(status__in=AttendanceStatus.marked())
                .order_by("session__starts_at", "pk")
                .values(*_FIELDS, "session__site__time_zone",
                        "session__room__name")[:chart.CHART_UPCOMING_LIMIT])
    history = (visits.filter(Q(session__local_date__lt=today)
                             | Q(status__in=AttendanceStatus.marked()))
               .annotate(made_up_on=Subquery(
                   live_makeups().filter(makeup_for=OuterRef("pk"))
                   .order_by("session__starts_at").values("session__local_date")[:1]))
               .order_by("-session__starts_at", "-pk")
               .values(*_FIELDS, "minutes_attended", "session__status", "session__kind",
                       "made_up_on")[:chart.CHART_HISTORY_LIMIT])
    return list(upcoming), list(history)


def _consents_and_followups_as_the_querysets_read_them(participant):
    consents = participant.consents.order_by("channel", "-given_at")
    followups = participant.followups.order_by("status", "-created_at").values(
        "pk", "kind", "status", "created_at", "outcome_note",
        "assignee__first_name", "assignee__last_name")
    return list(consents), list(followups)


def _consent_fields(consents):
    return [{f.attname: getattr(c, f.attname) for f in ContactConsent._meta.concrete_fields}
            for c in consents]


def _add_consents_and_followups(person, count):
    """`count` consents and follow-ups of each kind the chart tells apart: standing and revoked,
    open and resolved, with and without an assignee and a note."""
    staff = factories.StaffFactory(first_name="Ana <b>", last_name="Ruiz")
    first = dt.datetime(2026, 1, 5, 15, 30, tzinfo=dt.UTC)
    for n in range(count):
        given = first + dt.timedelta(days=n)
        channel = ("sms", "email")[n % 2]
        last_of_channel = n >= count - 2
        factories.ContactConsentFactory(
            participant=person, channel=channel, given_at=given,
            source=("intake", "portal")[n % 2],
            revoked_at=None if last_of_channel else given + dt.timedelta(hours=n + 1),
            revoked_source="" if last_of_channel else "staff")
        resolved = n % 3 == 1
        followup = FollowUp.objects.create(
            participant=person, kind=("cant_come", "below_minimum_hours")[n % 2],
            assignee=staff if n % 2 else None, status="resolved" if resolved else "open",
            resolved_at=given if resolved else None,
            outcome_note=f"Called <{n}> & left a note" if resolved else "")
        FollowUp.objects.filter(pk=followup.pk).update(
            created_at=given + dt.timedelta(minutes=7 * n))


@pytest.fixture
def person():
    """Five weeks of visits around TODAY of every kind the chart tells apart."""
    site = factories.SiteFactory(time_zone="America/Chicago")
    track = factories.TrackFactory(site=site)
    room = factories.RoomFactory(site=site, name="Oak <room>")
    person = factories.ParticipantFactory(home_site=site)
    other = factories.ParticipantFactory(home_site=site)
    statuses = itertools.cycle(["expected", "present", "absent", "excused", "late",
                                "cancelled", "left_early", "expected"])
    rows = []
    for n in range(40):
        day = TODAY + dt.timedelta(days=n - 22)
        # Two sessions at the same hour on some days: the order falls back on the row's id.
        for hour in ((23, 23) if n % 7 == 0 else (23,)):
            starts = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
            session = factories.TherapySessionFactory(
                track=track, site=site, starts_at=starts, local_date=day,
                title="" if n % 3 == 0 else f"Group {n}", room=room if n % 2 else None,
                kind="workshop" if n % 5 == 0 else "group",
                status=SessionStatus.CANCELLED if n % 9 == 4 else SessionStatus.SCHEDULED)
            status = next(statuses)
            if day >= TODAY:  # coming: mostly expected, some excused ahead (marked: past list)
                status = "excused" if n % 6 == 0 else "expected"
            rows.append(factories.AttendanceFactory(
                session=session, participant=person, status=status,
                minutes_attended=90 if status in ("present", "late") else None))
            factories.AttendanceFactory(session=session, participant=other, status="present")
    missed = [r for r in rows if r.status in ("absent", "excused")]
    hosts = [r for r in rows if r.session.local_date >= TODAY and r.status == "expected"
             and r.session.status == SessionStatus.SCHEDULED]
    # A live make-up, a later second one (the earlier day wins), one the clinic cancelled and
    # one missed too (neither counts), and a make-up of a make-up.
    for row, host in zip(missed[:4], hosts):
        Attendance.objects.filter(pk=host.pk).update(makeup_for=row)
    Attendance.objects.filter(pk=hosts[4].pk).update(makeup_for=missed[0])
    Attendance.objects.filter(pk=hosts[5].pk).update(makeup_for=missed[4], status="absent")
    cancelled_host = next(r for r in rows if r.session.status == SessionStatus.CANCELLED)
    Attendance.objects.filter(pk=cancelled_host.pk).update(makeup_for=missed[5])
    Attendance.objects.filter(pk=hosts[6].pk).update(makeup_for=hosts[0])
    return person


@pytest.mark.parametrize("limits", [(30, 60), (4, 5), (100, 100)])
def test_it_reads_what_the_querysets_read(person, monkeypatch, limits):
    monkeypatch.setattr(chart, "CHART_UPCOMING_LIMIT", limits[0])
    monkeypatch.setattr(chart, "CHART_HISTORY_LIMIT", limits[1])

    lists = chart.chart_lists(participant_id=person.pk, today=TODAY)

    assert (lists.upcoming, lists.history) == _as_the_querysets_read_them(person, TODAY)
    upcoming, history = lists.upcoming, lists.history
    assert upcoming and history
    if limits == (100, 100):
        assert any(v["made_up_on"] for v in history)
        assert any(v["session__room__name"] is None for v in upcoming)
        assert any(v["session__status"] == SessionStatus.CANCELLED for v in history)


@pytest.mark.parametrize("count", [1, 7])
def test_it_reads_the_consents_and_followups_the_querysets_read(person, count):
    _add_consents_and_followups(person, count)
    _add_consents_and_followups(factories.ParticipantFactory(), 3)  # someone else's

    lists = chart.chart_lists(participant_id=person.pk, today=TODAY)

    consents, followups = _consents_and_followups_as_the_querysets_read_them(person)
    assert len(lists.consents) == len(lists.followups) == count
    assert _consent_fields(lists.consents) == _consent_fields(consents)
    assert all(not c._state.adding for c in lists.consents)
    assert lists.followups == followups
    if count == 7:
        assert any(c.revoked_at for c in lists.consents)
        assert any(f["assignee__first_name"] for f in lists.followups)
        assert any(f["outcome_note"] for f in lists.followups)


def _excuses_as_the_queryset_reads_them(participant, limit):
    return list(ExcusedAbsenceRequest.objects
                .filter(status=ExcuseStatus.PENDING, attendance__participant=participant)
                # The page's queryset left two visits at the same time in either order; the
                # statement orders them as asked.
                .order_by("attendance__session__starts_at", "pk")
                .values("code", "requested_at",
                        local_date=F("attendance__session__local_date"),
                        session_type=F("attendance__session__session_type__name"))[:limit])


@pytest.mark.parametrize("limit", [50, 3])
def test_it_reads_the_waiting_excuse_requests_the_queryset_read(person, monkeypatch, limit):
    monkeypatch.setattr(chart, "CHART_EXCUSES_LIMIT", limit)
    visits = list(Attendance.objects.filter(participant=person).order_by("-pk"))
    asked = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    for n, visit in enumerate(visits[:12]):  # created out of the visits' order
        decided = n % 4 == 3  # answered already: not shown
        ExcusedAbsenceRequest.objects.create(
            attendance=visit, reason="Work", requested_at=asked + dt.timedelta(hours=n),
            status=ExcuseStatus.APPROVED if decided else ExcuseStatus.PENDING,
            decided_at=asked if decided else None)
    someone_else = Attendance.objects.exclude(participant=person).first()
    ExcusedAbsenceRequest.objects.create(attendance=someone_else, reason="Work",
                                         requested_at=asked)

    excuses = chart.chart_lists(participant_id=person.pk, today=TODAY).excuses

    assert excuses == _excuses_as_the_queryset_reads_them(person, limit)
    assert len(excuses) == min(limit, 9)


def test_a_participant_without_visits_has_none(person):
    nobody = factories.ParticipantFactory()
    lists = chart.chart_lists(participant_id=nobody.pk, today=TODAY)
    assert (lists.upcoming, lists.history, lists.consents, lists.followups,
            lists.excuses) == ([], [], [], [], [])
