"""Each excused-absence request keeps its attendance's session's site and start
(ExcusedAbsenceRequest.session_site, .session_starts_at), kept by the database's triggers on
every write path: created by the service, the ORM, in bulk or in plain SQL; its attendance row
moved to another session; its session rescheduled (by the session change service, a queryset
update or a full save) or moved to another site; the columns written wrong by hand. After each,
the kept values equal the live ones, and Today lists the requests at the user's sites in the
order of their sessions (a request missing, or in the wrong place, is what a user would see)."""
import datetime as dt
import re

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions.models import Attendance, ExcusedAbsenceRequest, TherapySession
from sessions.services.excuses import excuse_request
from sessions.services.session_change import session_change
from tests import factories
from tests.auth import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _stored() -> dict[int, tuple]:
    return {pk: (site, start) for pk, site, start in ExcusedAbsenceRequest.objects.values_list(
        "pk", "session_site_id", "session_starts_at")}


def _live() -> dict[int, tuple]:
    """What each request's site and start must be, read from its attendance's session."""
    return {pk: (site, start) for pk, site, start in ExcusedAbsenceRequest.objects.values_list(
        "pk", "attendance__session__site_id", "attendance__session__starts_at")}


def _in_days(days: float, *, site=None) -> TherapySession:
    starts_at = (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)
    track = factories.TrackFactory(**({"site": site} if site else {}))
    return factories.TherapySessionFactory(track=track, starts_at=starts_at,
                                           ends_at=starts_at + dt.timedelta(hours=3))


def _request(session, *, name: str = "Ana", **fields) -> ExcusedAbsenceRequest:
    row = factories.AttendanceFactory(
        session=session, participant=factories.ParticipantFactory(first_name=name))
    return ExcusedAbsenceRequest.objects.create(
        attendance=row, reason="Doctor", requested_at=timezone.now(), **fields)


def test_it_is_the_sessions_site_and_start_from_every_way_of_creating_one(site, front_desk):
    first, second = _in_days(10, site=site), _in_days(11)
    created = _request(first)
    assert created.session_site_id is None  # the database holds it, not the saved instance
    created.refresh_from_db()
    assert (created.session_site_id, created.session_starts_at) == (site.pk, first.starts_at)

    asked = excuse_request(attendance=factories.AttendanceFactory(session=second),
                           reason="Work", by=front_desk)
    bulk = ExcusedAbsenceRequest.objects.bulk_create([
        ExcusedAbsenceRequest(attendance=factories.AttendanceFactory(session=session),
                              reason="Family", requested_at=timezone.now())
        for session in (first, second)])
    with connection.cursor() as cursor:  # as bench/history.py writes them
        cursor.execute(
            "INSERT INTO iop_sessions_excusedabsencerequest (code, reason, status, requested_at,"
            " decision_note, attendance_id) VALUES (gen_random_uuid(), 'Ill', 'pending', now(),"
            " '', %s)", [factories.AttendanceFactory(session=second).pk])
    stored = _stored()
    assert stored == _live() and len(stored) == 5
    assert stored[asked.pk] == (second.site_id, second.starts_at)
    assert [stored[r.pk] for r in bulk] == [(site.pk, first.starts_at),
                                            (second.site_id, second.starts_at)]


def test_it_follows_its_attendance_row_to_another_session(site, other_site):
    here, there = _in_days(10, site=site), _in_days(12, site=other_site)
    request = _request(here)
    row = Attendance.objects.get(pk=request.attendance_id)

    row.session = there  # a full save
    row.save()
    assert _stored()[request.pk] == (other_site.pk, there.starts_at)
    Attendance.objects.filter(pk=row.pk).update(session=here)  # a queryset update
    assert _stored()[request.pk] == (site.pk, here.starts_at)
    assert _stored() == _live()


def test_it_follows_its_session_to_another_time_and_site(site, other_site, director):
    session, staying = _in_days(10, site=site), _in_days(20, site=site)
    moved, other = _request(session), _request(staying)

    later = (session.starts_at + dt.timedelta(days=5)).astimezone(site.zone)
    session_change(session=session, starts_at_local=later, by=director, notify=False)
    assert _stored()[moved.pk] == (site.pk, later)

    TherapySession.objects.filter(pk=session.pk).update(  # a queryset update
        starts_at=later + dt.timedelta(hours=2), ends_at=later + dt.timedelta(hours=5))
    assert _stored()[moved.pk] == (site.pk, later + dt.timedelta(hours=2))

    session.refresh_from_db()  # a full save, to another site
    session.site = other_site
    session.starts_at -= dt.timedelta(days=1)
    session.save()
    assert _stored()[moved.pk] == (other_site.pk, session.starts_at)
    assert _stored()[other.pk] == (site.pk, staying.starts_at)
    assert _stored() == _live()


def test_values_written_by_hand_are_put_right(site):
    request = _request(_in_days(10, site=site))
    ExcusedAbsenceRequest.objects.filter(pk=request.pk).update(
        session_starts_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    ExcusedAbsenceRequest.objects.filter(pk=request.pk).update(session_site=None)
    assert _stored() == _live()
    request.refresh_from_db()
    request.status, request.decided_at = "declined", timezone.now()
    request.save()  # the instance's own values, written back by a full save
    assert _stored() == _live()


def _today_order(client) -> list[str]:
    """The first names in Today's box of requests waiting for review, top to bottom."""
    page = client.get(reverse("home")).content.decode()
    box = page.split('id="excuses-heading"')[1].split("</section>")[0]
    return re.findall(r'<a href="[^"]*">(\w+) ', box)


def test_today_lists_them_in_the_order_of_their_sessions_after_each_change(
        director, site, other_site):
    as_director = sign_in(Client(), director)
    ana = _request(_in_days(10, site=site), name="Ana")
    bea = _request(_in_days(12, site=site), name="Bea")
    elsewhere = _in_days(11, site=other_site)
    _request(elsewhere, name="Cy")  # not at the director's site
    assert _today_order(as_director) == ["Ana", "Bea"]

    # Bea's session moved ahead of Ana's.
    session_change(session=bea.attendance.session, by=director, notify=False,
                   starts_at_local=(ana.attendance.session.starts_at - dt.timedelta(days=2))
                   .astimezone(site.zone))
    assert _today_order(as_director) == ["Bea", "Ana"]
    # Ana's row moved to the other site's session: she leaves the director's box.
    Attendance.objects.filter(pk=ana.attendance_id).update(session=elsewhere)
    assert _today_order(as_director) == ["Bea"]
    # The other site's session moves here: Ana and Cy are back, by their session's time
    # (one session: in the order they asked).
    TherapySession.objects.filter(pk=elsewhere.pk).update(site=site)
    assert _today_order(as_director) == ["Bea", "Ana", "Cy"]
    assert _stored() == _live()


def test_the_audit_trail_leaves_out_the_kept_site_and_start(site):
    """The instance a save audits does not hold what the database keeps: an entry would show the
    site and start as emptied on every save of a request made in the same request."""
    request = _request(_in_days(10, site=site))
    request.reason = "Doctor, and then the pharmacy"
    request.save()
    logged = LogEntry.objects.get_for_object(request).order_by("pk")
    assert [entry.action for entry in logged] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert logged[1].changes_dict == {"reason": ["Doctor", "Doctor, and then the pharmacy"]}
    assert all("session_site" not in entry.changes_dict
               and "session_starts_at" not in entry.changes_dict for entry in logged)
    assert _stored() == _live()
