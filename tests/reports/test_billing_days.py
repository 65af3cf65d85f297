"""The billing days (reports.BillingDay) are kept by triggers through every change that moves a
billing line, and the billing report, its lines and its export read from them what the
attendance rows themselves give (the live query the report ran before)."""
import datetime as dt
import importlib
import random
import sqlite3
from collections import defaultdict

import pytest
from django.db import connection

from participants.models import Enrollment
from programs.models import SessionType
from reports import exports
from reports import selectors as reports
from reports.models import WEEKDAYS, BillingDay, BillingLineRows, BillingWeek, BillingWeekSums
from sessions.models import Attendance, AttendanceStatus, TherapySession
from tests import factories
from tests.reports import test_billing_lines as oracle

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

clinic = oracle.clinic  # the oracle's invented clinic: codes, rules, odd lengths, personal sessions
FILTERS = ["none", "track", "program", "clinician", "last week", "mid-week", "in a week",
           "not held yet", "both sites"]


def _scopes(clinic):
    other_site = clinic["tracks"][2].site_id
    return [oracle._scope(clinic, **{
        "none": {}, "track": {"track_id": clinic["tracks"][0].pk},
        "program": {"program_id": clinic["p2"].pk}, "clinician": {"clinician_id": clinic["kim"].pk},
        "last week": {"date_from": dt.date(2026, 2, 23)},
        # Weeks cut on both sides (the summary counts the days of such weeks the range holds):
        # from a Tuesday to a Thursday two weeks later, from a Wednesday to the Thursday, and
        # a range that starts after today.
        "mid-week": {"date_from": dt.date(2026, 2, 3), "today": dt.date(2026, 2, 19)},
        "in a week": {"date_from": dt.date(2026, 2, 11), "today": dt.date(2026, 2, 12)},
        "not held yet": {"date_from": dt.date(2026, 2, 20), "today": dt.date(2026, 2, 19)},
        "both sites": {"site_ids": (clinic["site"].pk, other_site),
                       "date_from": dt.date(2026, 1, 26), "today": dt.date(2026, 3, 2)},
    }[name]) for name in FILTERS]


def _live_days() -> dict[tuple, tuple[int, int]]:
    """What the table must hold, counted in Python from the rows: (date, participant, code,
    site, track) -> (sessions, microseconds), rows of zeros left out."""
    days = defaultdict(lambda: [0, 0])
    for row in Attendance.objects.select_related("session__session_type", "enrollment"):
        session = row.session
        code = session.session_type.service_code
        if (row.status not in AttendanceStatus.attended() or not code
                or session.status != "scheduled"):
            continue
        track = session.track_id or (row.enrollment.track_id if row.enrollment else None)
        length = (session.ends_at - session.starts_at) // dt.timedelta(microseconds=1)
        day = days[(session.local_date, row.participant_id, code, session.site_id, track)]
        day[0] += 1
        day[1] += (row.minutes_attended * 60_000_000 if row.minutes_attended is not None
                   else length)
    return {key: tuple(value) for key, value in days.items()}


def _stored_days() -> dict[tuple, tuple[int, int]]:
    stored = {}
    for row in BillingDay.objects.all():
        key = (row.local_date, row.participant_id, row.service_code, row.site_id, row.track_id)
        assert key not in stored
        if (row.sessions, row.length) != (0, 0):
            stored[key] = (row.sessions, row.length)
    return stored


def _weeks_of(days: dict[tuple, tuple[int, int]]) -> dict[tuple, dict[str, int]]:
    """What the weeks table must hold: the days summed per (Monday, participant, code, site,
    track), each day's sums beside the week's (sums of zero left out)."""
    weeks = defaultdict(lambda: defaultdict(int))
    for (day, *key), (sessions, length) in days.items():
        week, weekday = weeks[(day - dt.timedelta(days=day.weekday()), *key)], WEEKDAYS[
            day.weekday()]
        for column, value in (("sessions", sessions), ("length", length)):
            week[column] += value
            week[f"{column}_{weekday}"] += value
    return {key: {column: value for column, value in sums.items() if value}
            for key, sums in weeks.items()}


def _stored_weeks() -> dict[tuple, dict[str, int]]:
    stored = {}
    for row in BillingWeek.objects.all():
        key = (row.week, row.participant_id, row.service_code, row.site_id, row.track_id)
        assert key not in stored
        sums = {column: getattr(row, column) for column in (
            "sessions", "length", *(f"{c}_{day}" for c in ("sessions", "length")
                                    for day in WEEKDAYS))}
        if any(sums.values()):
            stored[key] = {column: value for column, value in sums.items() if value}
    return stored


def _line_rows_of(weeks: dict[tuple, dict[str, int]]) -> dict[tuple, int]:
    """Each line's (Monday, participant, code) number of week rows with sessions."""
    rows = defaultdict(int)
    for (week, participant, code, _site, _track), sums in weeks.items():
        if sums.get("sessions"):
            rows[(week, participant, code)] += 1
    return dict(rows)


def _stored_line_rows() -> dict[tuple, int]:
    return {(row.week, row.participant_id, row.service_code): row.rows
            for row in BillingLineRows.objects.exclude(rows=0)}


def _week_sums_of(weeks: dict[tuple, dict[str, int]]) -> dict[tuple, tuple[int, ...]]:
    """What the weeks' sums must hold, per (Monday, code, site, track, length): at length -1
    the week rows with sessions (row_days 0, rows, sessions, days with sessions, minutes
    rounded half up a row), at a day's microseconds the rows' days of that length
    (row_days); sums of zero left out."""
    sums = defaultdict(lambda: [0, 0, 0, 0, 0])
    for (week, _participant, code, site, track), row in weeks.items():
        if not row.get("sessions"):
            continue
        own = sums[(week, code, site, track, -1)]
        own[1] += 1
        own[2] += row["sessions"]
        own[3] += sum(1 for day in WEEKDAYS if row.get(f"sessions_{day}"))
        own[4] += (row.get("length", 0) + 30_000_000) // 60_000_000
        for day in WEEKDAYS:
            if row.get(f"length_{day}"):
                sums[(week, code, site, track, row[f"length_{day}"])][0] += 1
    return {key: tuple(value) for key, value in sums.items() if any(value)}


def _stored_week_sums() -> dict[tuple, tuple[int, ...]]:
    stored = {}
    for row in BillingWeekSums.objects.all():
        key = (row.week, row.service_code, row.site_id, row.track_id, row.length)
        assert key not in stored
        value = (row.row_days, row.rows, row.sessions, row.days, row.minutes)
        if any(value):
            stored[key] = value
    return stored


def _lines(scope, *, live: bool) -> list[reports.BillingLine]:
    with connection.cursor() as cursor:
        cursor.execute(*reports.billing_lines_sql(scope, live=live))
        return [reports.billing_line(row) for row in cursor.fetchall()]


def _assert_same(clinic) -> None:
    assert _stored_days() == _live_days()
    assert _stored_weeks() == _weeks_of(_live_days())
    assert _stored_line_rows() == _line_rows_of(_weeks_of(_live_days()))
    assert _stored_week_sums() == _week_sums_of(_weeks_of(_live_days()))
    for scope in _scopes(clinic):
        lines = _lines(scope, live=False)
        assert lines == _lines(scope, live=True)
        report, live = (reports.billing_report(scope=scope, line_limit=25, live=flag)
                        for flag in (False, True))
        assert (report.summary, report.lines, report.line_count) == (
            live.summary, live.lines, live.line_count)
        # Whole numbers, as the days gave them (a Decimal would compare equal and print the
        # same, yet is not what the report's callers and exports were written for).
        assert {type(value) for row in report.summary for value in (
            row.participants, row.sessions, row.days, row.minutes, row.units)} <= {int}
        # "the first 25 of N lines": N is every line of the range's last week.
        last_monday = scope.date_to - dt.timedelta(days=scope.date_to.weekday())
        assert report.line_count == len([line for line in lines
                                         if line.week_start == last_monday])
        assert report.lines == [line for line in lines if line.week_start == last_monday][:25]
    # The export writes the same lines (the last scope's: both sites, every week).
    (section,) = exports._billing(scope, count=True)
    assert section.count == len(lines)
    assert [row[:8] + row[9:] for row in section.rows] == [
        [line.week_start, line.record_number, line.participant, line.service_code, line.unit,
         line.sessions, line.days, line.minutes, line.units] for line in lines]


def _attended(rng) -> dict:
    return {"status": rng.choice(list(AttendanceStatus.attended())),
            "minutes_attended": rng.choice([None, 0, 45, 181])}


def test_it_keeps_the_days_and_the_report_equal_to_the_rows_through_every_kind_of_change(
        clinic):
    rng = random.Random(18)
    site, tracks = clinic["site"], clinic["tracks"]
    assert BillingDay.objects.exists()
    _assert_same(clinic)

    # Marks, unmarks and minutes edits one row at a time (the ORM's save, as the roll call).
    expected = list(Attendance.objects.filter(status="expected").order_by("pk")[:6])
    attended = list(Attendance.objects.filter(status__in=reports.ATTENDED).order_by("pk")[:12])
    for row in expected:
        row.status, row.minutes_attended = _attended(rng).values()
        row.save()
    for row in attended[:4]:
        row.status, row.minutes_attended = "expected", None
        row.save()
    for row in attended[4:8]:
        row.minutes_attended = rng.choice([0, 30, 200])
        row.save(update_fields=["minutes_attended"])
    for row in attended[8:]:
        row.status, row.minutes_attended = "absent", None
        row.save()
    _assert_same(clinic)

    # A whole session marked at once, and rows moved to another session (QuerySet.update).
    sessions = list(TherapySession.objects.filter(site=site, status="scheduled",
                                                  local_date__lte=oracle.TODAY)
                    .exclude(session_type__service_code="").order_by("pk"))
    Attendance.objects.filter(session=sessions[0]).update(status="present", minutes_attended=None)
    Attendance.objects.filter(session=sessions[1]).update(status="late", minutes_attended=50)
    taken = set(Attendance.objects.filter(session=sessions[3]).values_list("participant_id",
                                                                           flat=True))
    Attendance.objects.filter(session=sessions[2]).exclude(participant_id__in=taken).update(
        session=sessions[3])
    Attendance.objects.filter(session=sessions[4]).update(note="called back")  # moves nothing
    _assert_same(clinic)

    # Sessions rescheduled to another day (and length), cancelled, restored, moved to another
    # track, site or type: saved one at a time, then by QuerySet.update.
    moved = sessions[5]
    moved.starts_at += dt.timedelta(days=1, minutes=30)
    moved.ends_at += dt.timedelta(days=1, minutes=47)
    moved.local_date += dt.timedelta(days=1)
    moved.save()
    cancelled = sessions[6]
    cancelled.status, cancelled.cancel_reason = "cancelled", "Facilitator ill"
    cancelled.save()
    restored = TherapySession.objects.filter(status="cancelled", site=site).first()
    restored.status, restored.cancel_reason = "scheduled", ""
    restored.save()
    TherapySession.objects.filter(pk=sessions[7].pk).update(track=tracks[1])
    TherapySession.objects.filter(pk=sessions[8].pk).update(site=tracks[2].site)
    TherapySession.objects.filter(pk=sessions[9].pk).update(
        session_type=SessionType.objects.filter(service_code="").first())
    TherapySession.objects.filter(track=tracks[1], local_date=dt.date(2026, 2, 10)).update(
        local_date=dt.date(2026, 2, 11), starts_at=oracle._at(dt.date(2026, 2, 11), 8),
        ends_at=oracle._at(dt.date(2026, 2, 11), 10))
    # Some participants' weeks now have rows at two tracks or sites: the summary groups
    # those lines before adding them up.
    assert max(_stored_line_rows().values()) > 1
    _assert_same(clinic)

    # A session type's service code changed, removed, and given back.
    h2019 = SessionType.objects.get(service_code="H2019")
    h2019.service_code = "H2020"
    h2019.save()
    group_type = SessionType.objects.get(service_code="90853")
    SessionType.objects.filter(pk=group_type.pk).update(service_code="")
    _assert_same(clinic)
    SessionType.objects.filter(pk=group_type.pk).update(service_code="90853")
    _assert_same(clinic)

    # An enrollment transferred to another track: its rows at personal sessions follow it.
    personal = Attendance.objects.filter(session__track__isnull=True, status__in=reports.ATTENDED,
                                         session__site=site).select_related("enrollment").first()
    enrollment = personal.enrollment
    enrollment.track = tracks[1] if enrollment.track_id != tracks[1].pk else tracks[0]
    enrollment.save()
    Enrollment.objects.filter(pk=enrollment.pk).update(track=tracks[0])
    # ...and a row moved to another enrollment, and one left with none.
    other = Enrollment.objects.exclude(pk=enrollment.pk).filter(participant__home_site=site).first()
    Attendance.objects.filter(pk=personal.pk).update(enrollment=other)
    ids = list(Attendance.objects.filter(session__track__isnull=True, status__in=reports.ATTENDED)
               .exclude(pk=personal.pk).order_by("pk").values_list("pk", flat=True)[:2])
    Attendance.objects.filter(pk__in=ids).update(enrollment=None)
    _assert_same(clinic)

    # bulk_create of attended and expected rows, as schedule generation and imports write.
    people = [factories.ParticipantFactory(home_site=site, last_name="Bulk") for _ in range(3)]
    new_enrollments = [factories.EnrollmentFactory(participant=p, track=tracks[0]) for p in people]
    Attendance.objects.bulk_create([
        Attendance(session=session, participant=e.participant, enrollment=e,
                   **(_attended(rng) if rng.random() < 0.7 else {"status": "expected"}))
        for e in new_enrollments for session in rng.sample(sessions[10:], 8)])
    _assert_same(clinic)

    # Deletes: some rows, a session with its rows (Django's cascade), an enrollment (its rows
    # keep counting with no track) and a participant with everything of theirs.
    Attendance.objects.filter(pk__in=Attendance.objects.filter(status__in=reports.ATTENDED)
                              .order_by("?").values("pk")[:10]).delete()
    sessions[11].delete()
    Enrollment.objects.filter(pk=new_enrollments[0].pk).delete()
    people[0].delete()  # its only enrollment deleted first (enrollments are protected)
    _assert_same(clinic)


def test_it_rolls_back_with_the_rows_it_sums(clinic):
    from django.db import transaction

    before = _stored_days()
    with pytest.raises(RuntimeError), transaction.atomic():
        Attendance.objects.update(status="present", minutes_attended=5)
        TherapySession.objects.update(status="scheduled", cancel_reason="")
        assert _stored_days() != before
        raise RuntimeError
    assert _stored_days() == before
    _assert_same(clinic)


def test_the_weeks_backfill_sums_the_days_already_there(clinic):
    """The migration that adds the weeks fills them from the days it finds: the same weeks as
    the triggers keep."""
    migration = importlib.import_module("reports.migrations.0005_billing_week")
    kept = _stored_weeks(), _stored_line_rows()
    assert all(kept) and max(kept[1].values()) == 1
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reports_billing_week; DELETE FROM reports_billing_line_rows")
        cursor.execute(migration.BACKFILL)
    assert (_stored_weeks(), _stored_line_rows()) == kept


def test_the_week_sums_backfill_adds_up_the_weeks_already_there(clinic):
    """The migration that adds the weeks' sums fills them from the weeks it finds: the same
    sums as the triggers keep."""
    migration = importlib.import_module("reports.migrations.0006_billing_week_sums")
    kept = _stored_week_sums()
    assert kept
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reports_billing_week_sums")
        cursor.execute(migration.BACKFILL)
    assert _stored_week_sums() == kept


def test_the_summary_of_whole_weeks_reads_their_sums(clinic):
    """The weeks a range holds whole come from their sums (a caseload's from the weeks'
    rows): with the sums emptied, the summary of those weeks is no longer the live one."""
    scope = _scopes(clinic)[FILTERS.index("both sites")]
    live = reports.billing_report(scope=scope, live=True).summary
    assert reports.billing_report(scope=scope).summary == live
    BillingWeekSums.objects.all().delete()
    assert reports.billing_report(scope=scope).summary != live


def test_the_embedded_defaults_row_triggers_keep_the_same_sums_on_sqlite():
    """`make run`'s SQLite has no statement triggers: the migration installs one a row there.
    Random writes to bare attendance, session, type and enrollment tables must leave the days
    equal to the rows summed afresh (a row of zeros counts as none)."""
    migration = importlib.import_module("reports.migrations.0003_billing_day")
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE iop_sessions_attendance (id INTEGER PRIMARY KEY, session_id int, "
        "participant_id int, enrollment_id int, status text, minutes_attended int);"
        "CREATE TABLE iop_sessions_therapysession (id INTEGER PRIMARY KEY, local_date text, "
        "site_id int, track_id int, session_type_id int, status text, starts_at text, "
        "ends_at text);"
        "CREATE TABLE programs_sessiontype (id INTEGER PRIMARY KEY, service_code text);"
        "CREATE TABLE participants_enrollment (id INTEGER PRIMARY KEY, track_id int);"
        "CREATE TABLE reports_billing_day (id INTEGER PRIMARY KEY, local_date text, "
        "participant_id int, service_code text, site_id int, track_id int, sessions int, "
        "length int);")
    rng = random.Random(3)
    statuses = [status for status, _ in AttendanceStatus.choices]

    def session_values():
        day = dt.date(2026, 3, rng.randint(1, 3))
        starts = dt.datetime.combine(day, dt.time(rng.randint(8, 18)))
        ends = starts + dt.timedelta(minutes=rng.choice([45, 60, 95]), seconds=rng.choice([0, 20]))
        return (day.isoformat(), rng.randint(1, 2), rng.choice([None, 1, 2]), rng.randint(1, 3),
                rng.choice(["scheduled", "scheduled", "cancelled"]), starts.isoformat(" "),
                ends.isoformat(" "))

    def attendance_values():
        status = rng.choice(statuses)
        return (rng.randint(1, 7), rng.randint(1, 4), rng.choice([None, 1, 2, 3]), status,
                rng.choice([None, 30, 200]) if status in reports.ATTENDED else None)

    session_sql = ("INSERT INTO iop_sessions_therapysession (local_date, site_id, track_id, "
                   "session_type_id, status, starts_at, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
    attendance_sql = ("INSERT INTO iop_sessions_attendance (session_id, participant_id, "
                      "enrollment_id, status, minutes_attended) VALUES (?, ?, ?, ?, ?)")
    db.executemany("INSERT INTO programs_sessiontype (service_code) VALUES (?)",
                   [("H0015",), ("90853",), ("",)])
    db.executemany("INSERT INTO participants_enrollment (track_id) VALUES (?)",
                   [(1,), (2,), (None,)])
    # Rows written before the migration are summed by its backfill.
    db.executemany(session_sql, [session_values() for _ in range(6)])
    db.executemany(attendance_sql, [attendance_values() for _ in range(8)])
    for statement in migration.SQLITE_FORWARD:
        db.execute(statement)
    for _ in range(400):
        action = rng.choice(["add row", "add row", "add row", "mark", "mark", "delete row",
                             "move session", "code", "transfer", "add session",
                             "delete session"])
        ids = [row[0] for row in db.execute("SELECT id FROM iop_sessions_attendance")]
        if action == "add row" or not ids:
            db.execute(attendance_sql, attendance_values())
        elif action == "mark":
            db.execute("UPDATE iop_sessions_attendance SET session_id = ?, participant_id = ?, "
                       "enrollment_id = ?, status = ?, minutes_attended = ? WHERE id = ?",
                       (*attendance_values(), rng.choice(ids)))
        elif action == "delete row":
            db.execute("DELETE FROM iop_sessions_attendance WHERE id = ?", (rng.choice(ids),))
        elif action == "move session":
            db.execute("UPDATE iop_sessions_therapysession SET local_date = ?, site_id = ?, "
                       "track_id = ?, session_type_id = ?, status = ?, starts_at = ?, "
                       "ends_at = ? WHERE id = ?", (*session_values(), rng.randint(1, 6)))
        elif action == "code":
            db.execute("UPDATE programs_sessiontype SET service_code = ? WHERE id = ?",
                       (rng.choice(["H0015", "H2019", "90853", ""]), rng.randint(1, 3)))
        elif action == "transfer":
            db.execute("UPDATE participants_enrollment SET track_id = ? WHERE id = ?",
                       (rng.choice([None, 1, 2, 3]), rng.randint(1, 3)))
        elif action == "add session":
            db.execute("DELETE FROM iop_sessions_therapysession WHERE id > 6")
            db.execute(session_sql.replace("(local_date", "(id, local_date").replace(
                "VALUES (?", "VALUES (7, ?"), session_values())
        else:  # a session deleted, its rows first (as Django's cascade)
            db.execute("DELETE FROM iop_sessions_attendance WHERE session_id = 7")
            db.execute("DELETE FROM iop_sessions_therapysession WHERE id = 7")
    attended = "a.status IN ('present', 'late', 'left_early')"
    length = ("((CAST(strftime('%s', s.ends_at) AS integer) "
              "- CAST(strftime('%s', s.starts_at) AS integer)) * 1000000)")
    live = {row[:5]: row[5:] for row in db.execute(
        "SELECT s.local_date, a.participant_id, st.service_code, s.site_id, "
        "COALESCE(s.track_id, e.track_id), "
        f"COUNT(*), SUM(COALESCE(a.minutes_attended * 60000000, {length})) "
        "FROM iop_sessions_attendance a JOIN iop_sessions_therapysession s "
        "ON s.id = a.session_id JOIN programs_sessiontype st ON st.id = s.session_type_id "
        "LEFT JOIN participants_enrollment e ON e.id = a.enrollment_id "
        f"WHERE {attended} AND s.status = 'scheduled' AND st.service_code <> '' "
        "GROUP BY 1, 2, 3, 4, 5")}
    stored = [(row[:5], row[5:]) for row in db.execute(
        "SELECT local_date, participant_id, service_code, site_id, track_id, sessions, length "
        "FROM reports_billing_day") if any(row[5:])]
    assert dict(stored) == live
    assert len(stored) == len(live) >= 5
    assert any(key[4] is None for key in live)  # a track-less row merged, not duplicated
