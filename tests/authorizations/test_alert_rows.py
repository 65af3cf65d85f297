"""Today's authorization alerts come from rows the database keeps (authorizations 0004): after
every kind of write the alert rule reads, the kept rows are what deriving them again gives, and
Today's box shows what the rule, worked out live, says."""
import datetime as dt

import pytest
from django.db import connection

from authorizations.models import AuthorizationAlertRow, Payer
from authorizations.selectors import AlertKind, authorization_alerts, authorization_alerts_first
from authorizations.services import (
    authorization_save,
    authorization_usage_refresh,
    coverage_set,
)
from tests.authorizations.world import MONDAY, TODAY, build_world
from tests.factories import SiteFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def day(n: int) -> dt.date:
    return MONDAY + dt.timedelta(days=n)


def kept() -> list[tuple]:
    return sorted(AuthorizationAlertRow.objects.values_list(
        "site_id", "enrollment_id", "participant_id", "authorization_id", "payer_id", "kind",
        "on_date", "shown_from", "shown_until"), key=repr)


def shown(site, today=TODAY) -> list[tuple]:
    """What Today's box shows at `site` (every alert, not only the first 25), after checking
    that the kept rows are what deriving them again gives and that the box says what the rule,
    worked out live, says."""
    before = kept()
    with connection.cursor() as cursor:
        cursor.execute("SELECT authorizations_alert_rows_refresh("
                       "ARRAY(SELECT id FROM participants_enrollment)::bigint[])")
    assert kept() == before
    every = authorization_alerts(site_ids=[site.pk], today=today)
    first, count = authorization_alerts_first(site_ids=[site.pk], today=today, shown=1000)
    assert (first, count) == (every, len(every))
    return [(a.kind, a.on_date) for a in first]


@pytest.fixture
def strict():
    payer, _ = Payer.objects.get_or_create(name="Strict Plan (invented)",
                                           defaults={"requires_authorization": True})
    return payer


def test_marks_and_changed_marks_move_the_low_units_alert(
        front_desk, frozen_today, django_capture_on_commit_callbacks):
    from sessions.services.attendance import MarkRequest, attendance_mark, attendance_mark_many

    w = build_world(site=front_desk.sites.first(), alert_units=3)
    w.authorize(units_authorized=5)
    rows = [w.attend(day(n), "expected", hour=8) for n in (7, 8, 9)]
    authorization_usage_refresh(today=TODAY)
    assert shown(w.site) == []

    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark_many(marks=[MarkRequest(r.pk, "present") for r in rows[:2]],
                             by=front_desk, notify=False)
    assert shown(w.site) == [(AlertKind.LOW_UNITS, day(27))]  # 3 of 5 left

    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(attendance=rows[1], status="absent", by=front_desk)
    assert shown(w.site) == []  # 4 left again


def test_authorizations_saved_renewed_and_deleted_move_their_alerts(frozen_today):
    w = build_world(review_days=7)
    auth = authorization_save(enrollment=w.enrollment, payer=w.payer, number="A-1", unit="day",
                              service_code="H0015", units_authorized=10, start_date=MONDAY,
                              end_date=TODAY - dt.timedelta(days=1), status="approved")
    assert shown(w.site) == [(AlertKind.EXPIRED, TODAY - dt.timedelta(days=1))]

    renewal = authorization_save(enrollment=w.enrollment, payer=w.payer, number="A-2",
                                 unit="day", service_code="H0015", units_authorized=10,
                                 start_date=TODAY, end_date=TODAY + dt.timedelta(days=30),
                                 next_review_date=TODAY + dt.timedelta(days=5),
                                 status="approved")
    assert shown(w.site) == [(AlertKind.REVIEW_DUE, TODAY + dt.timedelta(days=5))]

    authorization_save(enrollment=w.enrollment, authorization=renewal,
                       next_review_date=TODAY + dt.timedelta(days=20))
    assert shown(w.site) == []  # the review is further off than the program's 7 days
    assert shown(w.site, today=TODAY + dt.timedelta(days=13)) == [
        (AlertKind.REVIEW_DUE, TODAY + dt.timedelta(days=20))]  # ... until it is not

    renewal.delete()
    assert shown(w.site) == [(AlertKind.EXPIRED, auth.end_date)]


def test_a_discharge_clears_the_alerts_and_coverage_raises_or_clears_a_missing_one(
        frozen_today, strict):
    from sessions.services.enrollment import enrollment_discharge

    w = build_world()
    coverage_set(enrollment=w.enrollment, payer=strict)
    assert shown(w.site) == [(AlertKind.MISSING, MONDAY)]
    coverage_set(enrollment=w.enrollment, payer=None)
    assert shown(w.site) == []

    coverage_set(enrollment=w.enrollment, payer=strict)
    Payer.objects.filter(pk=strict.pk).update(requires_authorization=False)
    assert shown(w.site) == []
    Payer.objects.filter(pk=strict.pk).update(requires_authorization=True)
    w.authorize(payer=strict, units_authorized=1)
    authorization_usage_refresh(today=TODAY)
    assert shown(w.site) == [(AlertKind.LOW_UNITS, day(27))]

    enrollment_discharge(enrollment=w.enrollment, discharge_date=TODAY,
                         reason="against_advice")
    assert shown(w.site) == []


def test_program_settings_and_a_track_moved_to_another_site_move_the_alerts(frozen_today):
    w = build_world(alert_units=0, review_days=0)
    w.authorize(units_authorized=3, next_review_date=TODAY + dt.timedelta(days=3))
    authorization_usage_refresh(today=TODAY)
    assert shown(w.site) == []

    program = w.track.program
    program.authorization_alert_units, program.authorization_review_days = 3, 7
    program.save()
    assert shown(w.site) == [(AlertKind.REVIEW_DUE, TODAY + dt.timedelta(days=3)),
                             (AlertKind.LOW_UNITS, day(27))]

    elsewhere = SiteFactory(time_zone="America/New_York")
    w.track.site = elsewhere
    w.track.save()
    assert shown(w.site) == []
    assert len(shown(elsewhere)) == 2


def test_the_usage_refresh_of_unchanged_usage_leaves_the_rows_alone(frozen_today):
    w = build_world(alert_units=3)
    w.authorize(units_authorized=3)
    authorization_usage_refresh(today=TODAY)
    ids = sorted(AuthorizationAlertRow.objects.values_list("pk", flat=True))
    assert shown(w.site) == [(AlertKind.LOW_UNITS, day(27))]
    ids = sorted(AuthorizationAlertRow.objects.values_list("pk", flat=True))

    authorization_usage_refresh(today=TODAY)  # as beat does every few minutes

    assert sorted(AuthorizationAlertRow.objects.values_list("pk", flat=True)) == ids
