"""Message text is emptied after its retention period; the rows and the audit trail stay."""
import datetime as dt
import logging

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from iop_clinic.celery_app import app as celery_app
from audit.retention import reminder_bodies_purge
from audit.tasks import purge_expired_message_bodies
from sessions.models import AttendanceChange
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
# A model that exists today stands in for the Reminder (body, provider payload) until it lands.
STAND_IN = [("iop_sessions.AttendanceChange", "changed_at", ["old_note", "new_note"])]


@pytest.fixture
def purge_settings(settings):
    settings.RETENTION_PURGE = STAND_IN
    settings.REMINDER_RETENTION_DAYS = 30
    return settings


def change(days_old: float, note: str = "Called +15555550123 about the visit") -> AttendanceChange:
    return AttendanceChange.objects.create(
        attendance=factories.AttendanceFactory(), old_status="expected", new_status="absent",
        old_note="", new_note=note, changed_at=NOW - dt.timedelta(days=days_old))


def test_it_empties_the_listed_fields_of_rows_past_retention_only(purge_settings):
    old, older, recent = change(31), change(400), change(29)

    assert reminder_bodies_purge(now=NOW) == 2

    for row in (old, older):
        row.refresh_from_db()
        assert (row.old_note, row.new_note, row.new_status) == ("", "", "absent")
    recent.refresh_from_db()
    assert recent.new_note.startswith("Called")


def test_it_writes_one_update_per_model_and_audits_each_row(purge_settings):
    rows = [change(40 + n) for n in range(4)]

    with CaptureQueriesContext(connection) as queries:
        reminder_bodies_purge(now=NOW)

    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    entries = LogEntry.objects.filter(content_type__model="attendancechange",
                                      action=LogEntry.Action.UPDATE)
    assert sorted(int(e.object_pk) for e in entries) == sorted(r.pk for r in rows)
    assert all(e.changes_dict == {"old_note": [None, ""], "new_note": [None, ""]}
               for e in entries)
    assert all(e.actor is None for e in entries), "the system did it, not a person"


def test_it_is_idempotent(purge_settings):
    change(45)
    reminder_bodies_purge(now=NOW)

    assert reminder_bodies_purge(now=NOW) == 0
    assert LogEntry.objects.filter(content_type__model="attendancechange").count() == 1


def test_it_warns_about_a_model_that_is_not_installed_and_purges_the_rest(settings, caplog):
    settings.RETENTION_PURGE = [("iop_sessions.NoSuchModel", "created_at", ["body"]),
                                *STAND_IN]
    settings.REMINDER_RETENTION_DAYS = 30
    change(45)

    with caplog.at_level(logging.WARNING, logger="audit.retention"):
        assert reminder_bodies_purge(now=NOW) == 1

    assert "iop_sessions.NoSuchModel is not an installed model" in caplog.text


def test_it_refuses_a_field_that_does_not_exist(settings):
    settings.RETENTION_PURGE = [("iop_sessions.AttendanceChange", "changed_at", ["body"])]

    with pytest.raises(ImproperlyConfigured, match="body"):
        reminder_bodies_purge(now=NOW)


def test_it_refuses_a_field_it_cannot_empty(settings):
    settings.RETENTION_PURGE = [("iop_sessions.AttendanceChange", "changed_at", ["old_status",
                                                                               "changed_at"])]

    with pytest.raises(ImproperlyConfigured, match="changed_at"):
        reminder_bodies_purge(now=NOW)


def test_it_reads_the_period_from_settings(purge_settings):
    purge_settings.REMINDER_RETENTION_DAYS = 90
    change(60)

    assert reminder_bodies_purge(now=NOW) == 0


def test_it_runs_daily_from_beat_through_a_thin_task(purge_settings, time_machine):
    time_machine.move_to(NOW, tick=False)
    change(45)

    entry = next(e for e in celery_app.conf.beat_schedule.values()
                 if e["task"] == "audit.purge_expired_message_bodies")
    assert entry["schedule"].remaining_estimate(NOW) <= dt.timedelta(days=1)
    assert "audit.purge_expired_message_bodies" in celery_app.tasks
    assert purge_expired_message_bodies.apply().get() == 1


def test_it_points_at_the_reminder_model_by_default(settings):
    assert ("reminders.Reminder", "created_at", ["body", "detail"]) in \
        settings.RETENTION_PURGE
    assert settings.REMINDER_RETENTION_DAYS == 30


def test_it_empties_old_reminder_texts_with_the_default_settings(site, time_machine, caplog):
    from reminders.models import Reminder

    def reminder(made: dt.datetime) -> Reminder:
        time_machine.move_to(made, tick=False)
        starts = made + dt.timedelta(days=1)
        return Reminder.objects.create(
            participant=factories.ParticipantFactory(home_site=site), site=site,
            visit_date=starts.date(), kind="day_before", channel="sms", status="sent",
            due_at=made, send_before=starts, sent_at=made,
            body="Hi Avery, see you tomorrow at 6:00 PM. Call +15555550100.",
            detail="queued for +15555550123")

    old, recent = reminder(NOW - dt.timedelta(days=31)), reminder(NOW - dt.timedelta(days=2))
    time_machine.move_to(NOW, tick=False)

    with caplog.at_level(logging.WARNING, logger="audit.retention"):
        assert purge_expired_message_bodies.apply().get() == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.body, old.detail, old.status, old.sent_at) == ("", "", "sent",
                                                                NOW - dt.timedelta(days=31))
    assert recent.body.startswith("Hi Avery")
    assert "not an installed model" not in caplog.text
