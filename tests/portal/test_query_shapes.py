"""The portal's queries are built once a process and filtered per page (portal/selectors.py,
_shape): each participant still gets exactly their own rows, and the shared query keeps none."""
import datetime as dt

import pytest
from django.utils import timezone

from portal import selectors
from sessions.models import Attendance, AttendanceStatus

pytestmark = pytest.mark.django_db


def _fresh(participant, **lookups):
    return list(Attendance.objects.filter(participant=participant, **lookups)
                .order_by("session__starts_at", "session__pk")
                .values_list("session_id", "status"))


def test_it_gives_each_participant_their_own_rows_from_the_shared_shapes(alice, bob, now):
    theirs = Attendance.objects.filter(participant=bob).order_by("session__starts_at")
    theirs.filter(pk=theirs[5].pk).update(status=AttendanceStatus.EXCUSED)  # a visit ahead
    moment = timezone.now()  # four visits are over, five ahead

    for person in (alice, bob, alice):  # the shapes are built by the first call, then reused
        state = selectors.portal_state(participant=person)
        ahead, past = selectors.home_visits_for(state=state, now=moment, limit=4)
        feed = selectors.feed_events_for(state=state, now=moment)

        assert [(v.session_id, v.status) for v in ahead] == _fresh(
            person, session__ends_at__gte=moment)
        assert [(v.starts, v.status) for v in past] == [
            (a.session.starts_at.astimezone(person.zone), a.status) for a in
            Attendance.objects.filter(participant=person, session__ends_at__lt=moment)
            .select_related("session").order_by("-session__starts_at")[:4]]
        assert [e.session_id for e in feed] == [s for s, _ in _fresh(
            person, session__ends_at__gte=moment - dt.timedelta(days=selectors.FEED_PAST_DAYS))]
        assert state.enrollment.participant_id == person.pk
        assert len(ahead) == 5 and len(past) == 4 and feed
        assert (AttendanceStatus.EXCUSED in {v.status for v in ahead}) == (person == bob)
    for shape in (selectors._state_rows, selectors._feed_rows, selectors._feed_state_rows,
                  selectors._reminder_rows):
        assert shape()._result_cache is None  # a shape holds no one's rows
